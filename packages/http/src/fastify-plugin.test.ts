import { PassThrough } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetGuard } from '@costspan/budget';
import { usdToPico } from '@costspan/core';
import {
  createHttpHarness,
  firstCall,
  overBudgetCall,
  secondCall,
  sseEvents,
  twoCalls,
  TWO_CALLS,
  type HttpHarness,
} from './__fixtures__/http-harness.js';
import { slowBody } from './__fixtures__/slow-body.js';
import { costspanFastify } from './fastify-plugin.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(harness: HttpHarness, options: Partial<Parameters<typeof costspanFastify>[0]> = {}): Promise<string> {
  const app = Fastify();
  apps.push(app);
  await app.register(
    costspanFastify({
      tracer: harness.tracer,
      recorder: harness.recorder,
      name: 'api',
      principal: (incoming) => ({ teamId: String(incoming.raw.headers['x-team']) }),
      ...options,
    }),
  );
  // Registered in a child context: the plugin still applies (not encapsulated).
  await app.register(async (child) => {
    child.post('/chat', async (incoming) => {
      expect(incoming.body).toEqual({ question: 'refund?' });
      await twoCalls(harness.tracer);
      return { answer: 'here' };
    });
  });
  app.get('/stream', (_incoming, reply) => {
    const body = new PassThrough();
    void (async () => {
      await firstCall(harness.tracer);
      body.write('data: {"delta":"Hel"}\n\n');
      await secondCall(harness.tracer);
      body.end('data: {"delta":"lo"}\n\n');
    })();
    return reply.header('content-type', 'text/event-stream').send(body);
  });
  app.get('/expensive', async () => {
    await overBudgetCall(harness.tracer);
    return 'never';
  });
  app.get('/broken', async () => {
    throw new Error('not a budget error');
  });
  return app.listen({ port: 0, host: '127.0.0.1' });
}

describe('costspanFastify', () => {
  it('a request making two model calls (with a JSON body) gets headers equal to the session event total', async () => {
    const harness = createHttpHarness();
    const origin = await start(harness);
    const answer = await request(`${origin}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-team': 'search' },
      body: slowBody(),
    });
    expect(await answer.body.json()).toEqual({ answer: 'here' });
    const session = await harness.session(String(answer.headers['x-costspan-run-id']));
    expect(answer.headers['x-costspan-cost-usd']).toBe(TWO_CALLS.costUsd);
    expect(usdToPico(String(answer.headers['x-costspan-cost-usd']))).toBe(usdToPico(session.total_cost.total_cost_usd));
    expect(answer.headers['x-costspan-input-tokens']).toBe(String(session.total_token_usage.input_tokens));
    expect(answer.headers['server-timing']).toBe(`llm-cost;desc="${TWO_CALLS.costUsd}"`);
    expect(harness.events.getEvents('llm.cost.attributed').map((event) => event.payload.attribution_target)).toEqual(['team:search']);
  });

  it('a streamed SSE payload delivers the cost in trailers and its final event', async () => {
    const harness = createHttpHarness();
    const origin = await start(harness);
    const answer = await request(`${origin}/stream`);
    const text = await answer.body.text();
    const session = await harness.session(String(answer.headers['x-costspan-run-id']));
    expect(answer.trailers['x-costspan-cost-usd']).toBe(TWO_CALLS.costUsd);
    expect(usdToPico(String(answer.trailers['x-costspan-cost-usd']))).toBe(usdToPico(session.total_cost.total_cost_usd));
    expect(sseEvents(text, 'costspan-cost')).toEqual([expect.objectContaining({ cost_usd: TWO_CALLS.costUsd, calls: 2 })]);
  });

  it('a refused budget answers 429 by default; other errors keep Fastify’s handler', async () => {
    const harness = createHttpHarness();
    const guard = new BudgetGuard({ limits: { perRequest: { usd: 0.001 } }, onError: () => undefined });
    const origin = await start(harness, { budget: guard });
    const answer = await request(`${origin}/expensive`);
    expect(answer.statusCode).toBe(429);
    expect(await answer.body.json()).toMatchObject({
      error: { code: 'budget_exceeded', limit_type: 'per_request', unit: 'usd', limit: '0.001', attempted: '0.002' },
    });
    const broken = await request(`${origin}/broken`);
    expect(broken.statusCode).toBe(500);
    expect(await broken.body.json()).toMatchObject({ message: 'not a budget error' });
  });
});
