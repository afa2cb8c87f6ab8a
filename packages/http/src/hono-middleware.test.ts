import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetGuard } from '@costspan/budget';
import { usdToPico } from '@costspan/core';
import {
  createHttpHarness,
  firstCall,
  listen,
  overBudgetCall,
  secondCall,
  sseEvents,
  twoCalls,
  TWO_CALLS,
  type HttpHarness,
} from './__fixtures__/http-harness.js';
import { costspanHono } from './hono-middleware.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(harness: HttpHarness, options: Partial<Parameters<typeof costspanHono>[0]> = {}): Promise<string> {
  const app = new Hono();
  app.use(
    '*',
    costspanHono({
      tracer: harness.tracer,
      recorder: harness.recorder,
      name: 'api',
      principal: (context) => ({ orgId: context.req.raw.headers.get('x-org') ?? 'none' }),
      ...options,
    }),
  );
  // Hono's default onError logs every error; a quiet one shows the middleware still answers refusals.
  app.onError((_error, context) => context.text('error', 500));
  app.post('/chat', async (context) => {
    expect(await context.req.json()).toEqual({ question: 'refund?' });
    await twoCalls(harness.tracer);
    context.header('server-timing', 'db;dur=3');
    return context.json({ answer: 'here' });
  });
  app.get('/stream', (context) =>
    streamSSE(context, async (stream) => {
      await firstCall(harness.tracer);
      await stream.writeSSE({ data: '{"delta":"Hel"}' });
      await secondCall(harness.tracer);
      await stream.writeSSE({ data: '{"delta":"lo"}' });
    }),
  );
  app.get('/one-call', async (context) => {
    await firstCall(harness.tracer);
    return context.text('one call');
  });
  app.get('/expensive', async (context) => {
    await overBudgetCall(harness.tracer);
    return context.text('never');
  });
  const server = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
  servers.push(server);
  return server.origin;
}

describe('costspanHono', () => {
  it('a request making two model calls gets headers equal to the session event total', async () => {
    const harness = createHttpHarness();
    const origin = await start(harness);
    const answer = await request(`${origin}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-org': 'acme' },
      body: JSON.stringify({ question: 'refund?' }),
    });
    expect(await answer.body.json()).toEqual({ answer: 'here' });
    const session = await harness.session(String(answer.headers['x-costspan-run-id']));
    expect(answer.headers['x-costspan-cost-usd']).toBe(TWO_CALLS.costUsd);
    expect(usdToPico(String(answer.headers['x-costspan-cost-usd']))).toBe(usdToPico(session.total_cost.total_cost_usd));
    expect(answer.headers['x-costspan-output-tokens']).toBe(String(session.total_token_usage.output_tokens));
    expect(answer.headers['server-timing']).toBe(`db;dur=3, llm-cost;desc="${TWO_CALLS.costUsd}"`);
    expect(harness.events.getEvents('llm.cost.attributed').map((event) => event.payload.attribution_target)).toEqual(['org:acme']);
  });

  it('a streamSSE response ends with a costspan-cost event equal to the session total; the run lasts until the body ends', async () => {
    const harness = createHttpHarness();
    const origin = await start(harness);
    const answer = await request(`${origin}/stream`);
    expect(answer.headers['x-costspan-cost-usd']).toBeUndefined();
    const text = await answer.body.text();
    const session = await harness.session(String(answer.headers['x-costspan-run-id']));
    expect(session.call_count).toBe(2);
    const [event] = sseEvents(text, 'costspan-cost') as Array<{ cost_usd: string }>;
    expect(event).toMatchObject({ cost_usd: TWO_CALLS.costUsd, calls: 2, total_tokens: 1800 });
    expect(usdToPico(String(event?.cost_usd))).toBe(usdToPico(session.total_cost.total_cost_usd));
    expect(text.indexOf('"lo"')).toBeLessThan(text.indexOf('event: costspan-cost'));
  });

  it('a client that leaves mid-stream cancels the body: the run still ends with the calls made so far', async () => {
    const harness = createHttpHarness();
    const app = new Hono();
    app.use('*', costspanHono({ tracer: harness.tracer, recorder: harness.recorder }));
    app.get('/forever', (context) =>
      streamSSE(context, async (stream) => {
        await firstCall(harness.tracer);
        while (!stream.aborted && !stream.closed) {
          await stream.writeSSE({ data: 'tick' });
          await stream.sleep(10);
        }
      }),
    );
    const server = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
    servers.push(server);
    const controller = new AbortController();
    const answer = await request(`${server.origin}/forever`, { signal: controller.signal });
    const runId = String(answer.headers['x-costspan-run-id']);
    for await (const _chunk of answer.body) break;
    controller.abort();
    let session: Awaited<ReturnType<HttpHarness['session']>> | undefined;
    // Bounded: the run ends once the server has cancelled the body (a few ms); 200 tries of 10 ms.
    for (let attempt = 0; attempt < 200 && session === undefined; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      session = await harness.session(runId).catch(() => undefined);
    }
    expect(session?.call_count).toBe(1);
  });

  it('a HEAD request (whose body is never read) ends its run with the response', async () => {
    const harness = createHttpHarness();
    const origin = await start(harness);
    const answer = await request(`${origin}/one-call`, { method: 'HEAD' });
    await answer.body.dump();
    const runId = String(answer.headers['x-costspan-run-id']);
    let session: Awaited<ReturnType<HttpHarness['session']>> | undefined;
    for (let attempt = 0; attempt < 100 && session === undefined; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      session = await harness.session(runId).catch(() => undefined);
    }
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['x-costspan-calls']).toBe('1');
    expect(session?.call_count).toBe(1);
  });

  it('a refused budget answers the chosen status with the limit', async () => {
    const harness = createHttpHarness();
    const guard = new BudgetGuard({ limits: { perRequest: { usd: 0.001 } }, onError: () => undefined });
    for (const [status, expected] of [
      [undefined, 429],
      [402, 402],
    ] as const) {
      const origin = await start(harness, { budget: guard, budgetRefusal: status === undefined ? undefined : { status } });
      const answer = await request(`${origin}/expensive`);
      expect(answer.statusCode).toBe(expected);
      expect(answer.headers['content-type']).toContain('application/json');
      expect(await answer.body.json()).toMatchObject({
        error: { code: 'budget_exceeded', limit_type: 'per_request', limit: '0.001', attempted: '0.002' },
      });
    }
  });
});
