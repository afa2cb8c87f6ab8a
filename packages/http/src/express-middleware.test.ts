import { createServer } from 'node:http';
import { PassThrough } from 'node:stream';
import express from 'express';
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
import { slowBody } from './__fixtures__/slow-body.js';
import { costspanExpress, costspanExpressErrors } from './express-middleware.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(harness: HttpHarness, options: Partial<Parameters<typeof costspanExpress>[0]> = {}): Promise<string> {
  const app = express();
  app.use(costspanExpress({ tracer: harness.tracer, recorder: harness.recorder, name: (incoming) => `api ${incoming.url}`, ...options }));
  // The body parser reads the request's stream events: the run must survive it.
  app.use(express.json());
  app.post('/chat', async (incoming, response) => {
    expect((incoming.body as { question: string }).question).toBe('refund?');
    await twoCalls(harness.tracer);
    response.json({ answer: 'here' });
  });
  app.get('/stream', async (_incoming, response) => {
    response.type('text/event-stream');
    await firstCall(harness.tracer);
    response.write('data: {"delta":"Hel"}\n\n');
    await secondCall(harness.tracer);
    response.write('data: {"delta":"lo"}\n\n');
    response.end();
  });
  app.get('/piped', (_incoming, response) => {
    const body = new PassThrough();
    response.type('text/event-stream');
    body.pipe(response);
    void (async () => {
      await twoCalls(harness.tracer);
      body.end('data: done\n\n');
    })();
  });
  app.get('/expensive', async (_incoming, response) => {
    await overBudgetCall(harness.tracer);
    response.send('never');
  });
  app.use(costspanExpressErrors());
  const server = await listen(createServer(app));
  servers.push(server);
  return server.origin;
}

describe('costspanExpress', () => {
  it('a request making two model calls (after express.json) gets headers equal to the session event total', async () => {
    const harness = createHttpHarness();
    const origin = await start(harness);
    const answer = await request(`${origin}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: slowBody() });
    expect(await answer.body.json()).toEqual({ answer: 'here' });
    const session = await harness.session(String(answer.headers['x-costspan-run-id']));
    expect(session.agent_name).toBe('api /chat');
    expect(answer.headers['x-costspan-cost-usd']).toBe(TWO_CALLS.costUsd);
    expect(usdToPico(String(answer.headers['x-costspan-cost-usd']))).toBe(usdToPico(session.total_cost.total_cost_usd));
    expect(answer.headers['x-costspan-total-tokens']).toBe(String(session.total_token_usage.total_tokens));
    expect(answer.headers['server-timing']).toBe(`llm-cost;desc="${TWO_CALLS.costUsd}"`);
  });

  for (const path of ['/stream', '/piped']) {
    it(`a streamed SSE response (${path}) delivers the cost in trailers and its final event`, async () => {
      const harness = createHttpHarness();
      const origin = await start(harness);
      const answer = await request(`${origin}${path}`);
      const text = await answer.body.text();
      const session = await harness.session(String(answer.headers['x-costspan-run-id']));
      expect(answer.trailers['x-costspan-cost-usd']).toBe(TWO_CALLS.costUsd);
      expect(usdToPico(String(answer.trailers['x-costspan-cost-usd']))).toBe(usdToPico(session.total_cost.total_cost_usd));
      expect(sseEvents(text, 'costspan-cost')).toEqual([
        expect.objectContaining({ cost_usd: TWO_CALLS.costUsd, total_tokens: 1800, calls: 2 }),
      ]);
    });
  }

  it('a refused budget answers the chosen status (402) through costspanExpressErrors', async () => {
    const harness = createHttpHarness();
    const guard = new BudgetGuard({ limits: { perRequest: { usd: 0.001 } }, onError: () => undefined });
    const origin = await start(harness, { budget: () => guard, budgetRefusal: { status: 402 } });
    const answer = await request(`${origin}/expensive`);
    expect(answer.statusCode).toBe(402);
    expect(await answer.body.json()).toMatchObject({
      error: { code: 'budget_exceeded', limit_type: 'per_request', limit: '0.001', attempted: '0.002' },
    });
  });

  it('without the error middleware, a refusal reaches Express as the error it is', async () => {
    const harness = createHttpHarness();
    const guard = new BudgetGuard({ limits: { perRequest: { usd: 0.001 } }, onError: () => undefined });
    const app = express();
    const seen: unknown[] = [];
    app.use(costspanExpress({ tracer: harness.tracer, recorder: harness.recorder, budget: guard }));
    app.get('/', async (_incoming, response) => {
      await overBudgetCall(harness.tracer);
      response.send('never');
    });
    app.use((error: unknown, _incoming: express.Request, response: express.Response, _next: express.NextFunction) => {
      seen.push(error);
      response.status(503).end();
    });
    const server = await listen(createServer(app));
    servers.push(server);
    expect((await request(server.origin)).statusCode).toBe(503);
    expect(seen).toEqual([expect.objectContaining({ code: 'budget_exceeded' })]);
  });
});
