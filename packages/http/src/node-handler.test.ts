import { createServer } from 'node:http';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetGuard } from '@costspan/budget';
import { usdToPico, type CostspanError } from '@costspan/core';
import { setNoticeHandler, type CostspanNotice } from '@costspan/sdk';
import { resetNotices } from '@costspan/sdk/internal';
import {
  createHttpHarness,
  firstCall,
  listen,
  overBudgetCall,
  secondCall,
  sseEvents,
  twoCalls,
  TWO_CALLS,
} from './__fixtures__/http-harness.js';
import { slowBody } from './__fixtures__/slow-body.js';
import { costspanNodeHandler } from './node-handler.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: ReturnType<typeof costspanNodeHandler>): Promise<string> {
  const server = await listen(createServer((incoming, response) => void handler(incoming, response)));
  servers.push(server);
  return server.origin;
}

describe('costspanNodeHandler', () => {
  it('puts the cost of two model calls on the headers, equal to the session event total', async () => {
    const harness = createHttpHarness();
    const origin = await serve(
      costspanNodeHandler(
        {
          tracer: harness.tracer,
          recorder: harness.recorder,
          name: 'api',
          principal: (incoming) => ({ userId: String(incoming.headers['x-user']) }),
        },
        async (_incoming, response) => {
          await twoCalls(harness.tracer);
          response.writeHead(200, { 'content-type': 'text/plain', 'server-timing': 'db;dur=12' });
          response.end('done');
        },
      ),
    );
    const answer = await request(`${origin}/chat`, { headers: { 'x-user': 'alice' } });
    expect(await answer.body.text()).toBe('done');
    const runId = String(answer.headers['x-costspan-run-id']);
    const session = await harness.session(runId);
    expect(answer.headers['x-costspan-cost-usd']).toBe(TWO_CALLS.costUsd);
    expect(usdToPico(String(answer.headers['x-costspan-cost-usd']))).toBe(usdToPico(session.total_cost.total_cost_usd));
    expect(Number(answer.headers['x-costspan-input-tokens'])).toBe(session.total_token_usage.input_tokens);
    expect(Number(answer.headers['x-costspan-output-tokens'])).toBe(session.total_token_usage.output_tokens);
    expect(Number(answer.headers['x-costspan-total-tokens'])).toBe(session.total_token_usage.total_tokens);
    expect(answer.headers['x-costspan-calls']).toBe('2');
    expect(answer.headers['server-timing']).toBe(`db;dur=12, llm-cost;desc="${TWO_CALLS.costUsd}"`);
    expect(session.agent_name).toBe('api');
    const attributed = harness.events.getEvents('llm.cost.attributed').map((event) => event.payload.attribution_target);
    expect(attributed).toEqual(['user:alice']);
  });

  it('a streamed SSE response carries the cost in trailers and a final costspan-cost event', async () => {
    const harness = createHttpHarness();
    const origin = await serve(
      costspanNodeHandler({ tracer: harness.tracer, recorder: harness.recorder }, async (_incoming, response) => {
        response.setHeader('content-type', 'text/event-stream');
        await firstCall(harness.tracer);
        response.write('data: {"delta":"Hel"}\n\n');
        await secondCall(harness.tracer);
        response.end('data: {"delta":"lo"}\n\n');
      }),
    );
    const answer = await request(`${origin}/stream`);
    expect(answer.headers['x-costspan-cost-usd']).toBeUndefined();
    expect(answer.headers.trailer).toContain('x-costspan-cost-usd');
    const text = await answer.body.text();
    const session = await harness.session(String(answer.headers['x-costspan-run-id']));
    expect(answer.trailers['x-costspan-cost-usd']).toBe(TWO_CALLS.costUsd);
    expect(usdToPico(String(answer.trailers['x-costspan-cost-usd']))).toBe(usdToPico(session.total_cost.total_cost_usd));
    expect(answer.trailers['x-costspan-total-tokens']).toBe(String(session.total_token_usage.total_tokens));
    expect(answer.trailers['server-timing']).toBe(`llm-cost;desc="${TWO_CALLS.costUsd}"`);
    expect(text.indexOf('"lo"')).toBeLessThan(text.indexOf('event: costspan-cost'));
    expect(sseEvents(text, 'costspan-cost')).toEqual([
      { run_id: session.agent_run_id, cost_usd: TWO_CALLS.costUsd, input_tokens: 1500, output_tokens: 300, total_tokens: 1800, calls: 2 },
    ]);
  });

  it('a refused budget answers 429 with the limit as exact decimal strings; the status is the user’s choice', async () => {
    const harness = createHttpHarness();
    const guard = new BudgetGuard({ limits: { perRequest: { usd: 0.001 } }, onError: () => undefined });
    for (const [status, expected] of [
      [undefined, 429],
      [402, 402],
    ] as const) {
      const origin = await serve(
        costspanNodeHandler(
          {
            tracer: harness.tracer,
            recorder: harness.recorder,
            budget: guard,
            budgetRefusal: status === undefined ? undefined : { status },
          },
          async (_incoming, response) => {
            await overBudgetCall(harness.tracer);
            response.end('never');
          },
        ),
      );
      const answer = await request(origin);
      expect(answer.statusCode).toBe(expected);
      expect(await answer.body.json()).toEqual({
        error: {
          code: 'budget_exceeded',
          message: 'The budget for this request is used up.',
          limit_type: 'per_request',
          scope: 'request',
          window: 'request',
          unit: 'usd',
          limit: '0.001',
          current: '0',
          attempted: '0.002',
          remaining: '0.001',
        },
      });
      expect(answer.headers['x-costspan-cost-usd']).toBe('0');
      const session = await harness.session(String(answer.headers['x-costspan-run-id']));
      expect(session.budget_refusals?.[0]?.limit_type).toBe('per_request');
    }
  });

  it("steps started from the request's own 'end' listener (a slow upload) belong to the request", async () => {
    const harness = createHttpHarness();
    const origin = await serve(
      costspanNodeHandler({ tracer: harness.tracer, recorder: harness.recorder }, (incoming, response) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual({ question: 'refund?' });
          twoCalls(harness.tracer).then(
            () => response.end('ok'),
            (error: unknown) => response.writeHead(500).end(String(error)),
          );
        });
      }),
    );
    const answer = await request(origin, { method: 'POST', body: slowBody() });
    expect(await answer.body.text()).toBe('ok');
    expect(answer.headers['x-costspan-cost-usd']).toBe(TWO_CALLS.costUsd);
  });

  it('concurrent requests each get their own cost', async () => {
    const harness = createHttpHarness();
    const origin = await serve(
      costspanNodeHandler({ tracer: harness.tracer, recorder: harness.recorder }, async (incoming, response) => {
        const calls = Number(incoming.headers['x-calls']);
        for (let index = 0; index < calls; index += 1) {
          await firstCall(harness.tracer); // $0.00325 each
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        response.end('ok');
      }),
    );
    const answers = await Promise.all([1, 2, 3, 4].map((calls) => request(origin, { headers: { 'x-calls': String(calls) } })));
    expect(answers.map((answer) => answer.headers['x-costspan-cost-usd'])).toEqual(['0.00325', '0.0065', '0.00975', '0.013']);
    for (const answer of answers) {
      await answer.body.text();
      const session = await harness.session(String(answer.headers['x-costspan-run-id']));
      expect(usdToPico(String(answer.headers['x-costspan-cost-usd']))).toBe(usdToPico(session.total_cost.total_cost_usd));
    }
  });

  it('a principal function that throws, or a principal the SDK refuses, is told once and the request still runs', async () => {
    const notices: CostspanNotice[] = [];
    setNoticeHandler((notice) => notices.push(notice));
    try {
      const harness = createHttpHarness();
      for (const principal of [
        () => {
          throw new Error('no user');
        },
        () => ({ userId: '' }),
      ]) {
        const origin = await serve(
          costspanNodeHandler({ tracer: harness.tracer, recorder: harness.recorder, principal }, async (_incoming, response) => {
            await twoCalls(harness.tracer);
            response.end('ok');
          }),
        );
        const answer = await request(origin);
        expect(await answer.body.text()).toBe('ok');
        expect(answer.headers['x-costspan-cost-usd']).toBe(TWO_CALLS.costUsd);
      }
      expect(notices.map((notice) => notice.cause)).toEqual(['http_option_threw:principal', 'http_run_options:principal']);
    } finally {
      setNoticeHandler(undefined);
      resetNotices();
    }
  });

  it('refuses malformed options with a CostspanError naming the field', () => {
    const harness = createHttpHarness();
    const handler = (): void => undefined;
    expect(() => costspanNodeHandler({ tracer: harness.tracer, recorder: undefined as never }, handler)).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'options.recorder' }) as CostspanError,
    );
    for (const status of [200, null, Number.NaN, '429']) {
      expect(() =>
        costspanNodeHandler({ tracer: harness.tracer, recorder: harness.recorder, budgetRefusal: { status: status as never } }, handler),
      ).toThrow(expect.objectContaining({ code: 'invalid_argument', field: 'options.budgetRefusal.status' }) as CostspanError);
    }
  });
});
