import { createServer, type Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetGuard, type BudgetStore } from '@costspan/budget';
import { CostspanError } from '@costspan/core';
import { setNoticeHandler, type CostspanNotice } from '@costspan/sdk';
import { resetNotices } from '@costspan/sdk/internal';
import { createHttpHarness, listen, type HttpHarness } from './__fixtures__/http-harness.js';
import { createCostEndpoint, type CostEndpoint } from './cost-endpoint.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

// 2026-03-10 12:00 UTC: day 10 of a 31-day month.
const NOW = Date.UTC(2026, 2, 10, 12);

/** Three runs: alice on Mar 10 (two gpt-4o calls, $0.00675), bob on Mar 10 (claude, $0.0105), carol on Mar 2 ($0.00325). */
async function seed(harness: HttpHarness): Promise<void> {
  const at = (day: number): void => {
    clock = Date.UTC(2026, 2, day, 9);
  };
  let clock = NOW;
  const realNow = Date.now;
  Date.now = () => clock;
  try {
    at(10);
    await harness.tracer.agentRun('support', { principal: { userId: 'alice', orgId: 'acme' } }, async (run) => {
      run.step('plan', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }));
      run.step('answer', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1000, output: 100 }));
    });
    await harness.tracer.agentRun('research', { principal: { userId: 'bob', orgId: 'acme' } }, async (run) => {
      // $3 / $15 per 1M: 1000 in + 500 out = $0.003 + $0.0075.
      run.step('read', (step) => step.setModel('claude-3-5-sonnet-20241022', 'anthropic').setTokenUsage({ input: 1000, output: 500 }));
    });
    at(2);
    await harness.tracer.agentRun('support', { principal: { userId: 'carol' } }, async (run) => {
      run.step('answer', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }));
    });
  } finally {
    Date.now = realNow;
  }
}

const AUTH = (incoming: { header(name: string): string | undefined }) => {
  const token = incoming.header('authorization');
  return token === undefined ? ('unauthenticated' as const) : token === 'Bearer admin';
};

async function mountAll(endpoint: CostEndpoint): Promise<string[]> {
  const origins: string[] = [];
  const add = async (server: Server): Promise<void> => {
    const started = await listen(server);
    closers.push(() => started.close());
    origins.push(started.origin);
  };
  await add(createServer((incoming, response) => void endpoint.node(incoming, response)));
  const app = express();
  app.get('/admin/costs', endpoint.node);
  await add(createServer(app));
  const fastify = Fastify();
  fastify.get('/admin/costs', endpoint.fastify);
  closers.push(() => fastify.close());
  origins.push(await fastify.listen({ port: 0, host: '127.0.0.1' }));
  const hono = new Hono();
  hono.get('/admin/costs', endpoint.hono);
  await add(createAdaptorServer({ fetch: hono.fetch }) as Server);
  return origins;
}

describe('createCostEndpoint', () => {
  it('refuses a budgetTimeoutMs that is not a positive number of milliseconds, naming it', () => {
    const harness = createHttpHarness();
    for (const budgetTimeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '500']) {
      expect(() => createCostEndpoint({ ledger: harness.ledger, authorize: () => true, budgetTimeoutMs } as never)).toThrow(
        expect.objectContaining({ name: 'CostspanError', code: 'invalid_argument', field: 'budgetTimeoutMs' }) as Error,
      );
    }
  });

  it('refuses to mount without an authorize function', () => {
    const harness = createHttpHarness();
    expect(() => createCostEndpoint({ ledger: harness.ledger } as never)).toThrow(CostspanError);
    expect(() => createCostEndpoint({ ledger: harness.ledger } as never)).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'authorize' }) as Error,
    );
  });

  it('serves the admin metrics shape with exact decimal strings, in node:http, Express, Fastify and Hono; 401 and 403 when denied', async () => {
    const harness = createHttpHarness({ now: () => NOW });
    await seed(harness);
    const guard = new BudgetGuard({
      limits: { global: { daily: { usd: 0.05 } }, org: { monthly: { usd: '20' } } },
      now: () => NOW,
      onError: () => undefined,
    });
    await guard.settle(await guard.reserve({ principal: { orgId: 'acme' }, estimatedUsd: 0.02 }), 0.01725, 2100);
    const endpoint = createCostEndpoint({
      ledger: harness.ledger,
      budget: guard,
      authorize: AUTH,
      budgetPrincipal: () => ({ orgId: 'acme' }),
    });
    for (const origin of await mountAll(endpoint)) {
      expect((await request(`${origin}/admin/costs`)).statusCode).toBe(401);
      expect((await request(`${origin}/admin/costs`, { headers: { authorization: 'Bearer guest' } })).statusCode).toBe(403);
      const answer = await request(`${origin}/admin/costs`, { headers: { authorization: 'Bearer admin' } });
      expect(answer.statusCode).toBe(200);
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(await answer.body.json()).toEqual({
        currency: 'USD',
        time_zone: 'UTC',
        day: '2026-03-10',
        month: '2026-03',
        total_cost_today: '0.01725',
        total_cost_month: '0.0205',
        // 0.0205 / 10 days * 31 days
        projected_monthly: '0.06355',
        calls_today: 3,
        calls_month: 4,
        by_provider: {
          anthropic: { cost: '0.0105', calls: 1, input_tokens: 1000, output_tokens: 500 },
          openai: { cost: '0.01', calls: 3, input_tokens: 2000, output_tokens: 500 },
        },
        by_model: {
          'claude-3-5-sonnet-20241022': { cost: '0.0105', calls: 1, input_tokens: 1000, output_tokens: 500 },
          'gpt-4o': { cost: '0.01', calls: 3, input_tokens: 2000, output_tokens: 500 },
        },
        by_agent: {
          support: { cost: '0.01', calls: 3, input_tokens: 2000, output_tokens: 500 },
          research: { cost: '0.0105', calls: 1, input_tokens: 1000, output_tokens: 500 },
        },
        by_principal: {
          'org:acme': { cost: '0.01725' },
          'user:bob': { cost: '0.0105' },
          'user:alice': { cost: '0.00675' },
          'user:carol': { cost: '0.00325' },
        },
        budget: {
          circuit: 'CLOSED',
          limits: [
            {
              limit_type: 'daily',
              scope: 'global',
              window: '2026-03-10',
              unit: 'usd',
              limit: '0.05',
              spent: '0.01725',
              reserved: '0',
              remaining: '0.03275',
            },
            {
              limit_type: 'org_monthly',
              scope: 'org:acme',
              window: '2026-03',
              unit: 'usd',
              limit: '20',
              spent: '0.01725',
              reserved: '0',
              remaining: '19.98275',
            },
          ],
        },
      });
    }
  });

  it('a budget that cannot be read is reported, not thrown; authorize that throws answers 500', async () => {
    const harness = createHttpHarness();
    const failing = { getBudget: () => Promise.reject(new CostspanError({ code: 'budget_unavailable', message: 'redis down' })) };
    const endpoint = createCostEndpoint({ ledger: harness.ledger, budget: failing, authorize: () => true });
    const answer = await endpoint.handle({ method: 'GET', path: '/', header: () => undefined, raw: undefined });
    expect(JSON.parse(answer.body)).toMatchObject({
      total_cost_today: '0',
      projected_monthly: '0',
      budget: { error: 'budget_unavailable' },
    });
    const throwing = createCostEndpoint({
      ledger: harness.ledger,
      authorize: () => {
        throw new Error('no');
      },
    });
    expect((await throwing.handle({ method: 'GET', path: '/', header: () => undefined, raw: undefined })).status).toBe(500);
    expect((await throwing.handle({ method: 'POST', path: '/', header: () => undefined, raw: undefined })).status).toBe(405);
  });

  it('a budget that does not answer within budgetTimeoutMs: the costs are served with budget.error (reason timeout), told once', async () => {
    const notices: CostspanNotice[] = [];
    resetNotices();
    setNoticeHandler((notice) => notices.push(notice));
    try {
      const harness = createHttpHarness({ now: () => NOW });
      await seed(harness);
      // A real guard over a store that accepted the read and never answers (a hung database).
      const hung: BudgetStore = {
        reserve: () => new Promise(() => undefined),
        commit: () => new Promise(() => undefined),
        read: () => new Promise(() => undefined),
        close: () => Promise.resolve(),
      };
      const guard = new BudgetGuard({ store: hung, limits: { global: { daily: { usd: 1 } } }, onError: () => undefined });
      const budgetTimeoutMs = 200;
      const endpoint = createCostEndpoint({ ledger: harness.ledger, budget: guard, authorize: AUTH, budgetTimeoutMs });
      for (const origin of await mountAll(endpoint)) {
        const started = Date.now();
        const answer = await request(`${origin}/admin/costs`, { headers: { authorization: 'Bearer admin' }, headersTimeout: 5000 });
        const elapsed = Date.now() - started;
        expect(answer.statusCode).toBe(200);
        expect(await answer.body.json()).toMatchObject({
          total_cost_today: '0.01725',
          total_cost_month: '0.0205',
          budget: { error: 'budget_unavailable', reason: 'timeout' },
        });
        expect(elapsed).toBeGreaterThanOrEqual(budgetTimeoutMs - 20);
        expect(elapsed).toBeLessThan(budgetTimeoutMs + 800);
      }
      expect(notices.map((notice) => notice.cause)).toEqual(['http_cost_endpoint_budget:timeout']);
      expect(notices[0]?.message).toContain('200 ms');
    } finally {
      setNoticeHandler(undefined);
      resetNotices();
    }
  });

  it('a late budget answer or failure after the timeout is ignored, and a prompt one is still served', async () => {
    const notices: CostspanNotice[] = [];
    resetNotices();
    setNoticeHandler((notice) => notices.push(notice));
    try {
      const harness = createHttpHarness();
      const later = (settle: () => void): Promise<never> =>
        new Promise(() => {
          setTimeout(settle, 150);
        });
      let lateAnswered = false;
      const lateAnswer = {
        getBudget: () =>
          new Promise<{ circuit: string; limits: [] }>((resolve) => {
            setTimeout(() => {
              lateAnswered = true;
              resolve({ circuit: 'CLOSED', limits: [] });
            }, 150);
          }),
      };
      let lateFailed = false;
      const lateFailure = {
        getBudget: () =>
          new Promise<never>((_resolve, reject) => {
            setTimeout(() => {
              lateFailed = true;
              reject(new CostspanError({ code: 'budget_unavailable', message: 'redis answered too late' }));
            }, 150);
          }),
      };
      const lateRequest = { method: 'GET', path: '/', header: () => undefined, raw: undefined };
      for (const budget of [lateAnswer, lateFailure]) {
        const endpoint = createCostEndpoint({ ledger: harness.ledger, budget, authorize: () => true, budgetTimeoutMs: 50 });
        const answer = await endpoint.handle(lateRequest);
        expect(JSON.parse(answer.body)).toMatchObject({ budget: { error: 'budget_unavailable', reason: 'timeout' } });
      }
      // A slow principal counts against the same bound.
      const slowPrincipal = createCostEndpoint({
        ledger: harness.ledger,
        budget: { getBudget: () => Promise.resolve({ circuit: 'CLOSED', limits: [] }) },
        budgetPrincipal: () => later(() => undefined),
        authorize: () => true,
        budgetTimeoutMs: 50,
      });
      expect(JSON.parse((await slowPrincipal.handle(lateRequest)).body)).toMatchObject({ budget: { reason: 'timeout' } });
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect({ lateAnswered, lateFailed }).toEqual({ lateAnswered: true, lateFailed: true });
      // The late failure is not told: only the timeout was, once.
      expect(notices.map((notice) => notice.cause)).toEqual(['http_cost_endpoint_budget:timeout']);
      const prompt = createCostEndpoint({ ledger: harness.ledger, budget: lateAnswer, authorize: () => true, budgetTimeoutMs: 1000 });
      expect(JSON.parse((await prompt.handle(lateRequest)).body)).toMatchObject({ budget: { circuit: 'CLOSED', limits: [] } });
    } finally {
      setNoticeHandler(undefined);
      resetNotices();
    }
  });
});
