import { createServer } from 'node:http';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { CostSpanProcessor, createCostTracer, setNoticeHandler, type CostspanNotice } from '@costspan/sdk';
import { resetNotices } from '@costspan/sdk/internal';
import { listen, twoCalls } from './__fixtures__/http-harness.js';
import { costspanNodeHandler } from './node-handler.js';
import { RequestCostRecorder } from './request-cost-recorder.js';

afterEach(() => {
  setNoticeHandler(undefined);
  resetNotices();
});

describe('RequestCostRecorder', () => {
  it('tells once when it is not a listener of the tracer’s processor, instead of silently answering $0', async () => {
    const notices: CostspanNotice[] = [];
    setNoticeHandler((notice) => notices.push(notice));
    const recorder = new RequestCostRecorder();
    const provider = new BasicTracerProvider({ spanProcessors: [new CostSpanProcessor({ source: 'http-test@1.0.0', exporters: [] })] });
    const tracer = createCostTracer({ tracerProvider: provider });
    const listener = costspanNodeHandler({ tracer, recorder }, async (_incoming, response) => {
      await twoCalls(tracer);
      response.end('ok');
    });
    const server = await listen(createServer((incoming, response) => void listener(incoming, response)));
    try {
      for (let index = 0; index < 3; index += 1) expect((await request(server.origin)).headers['x-costspan-cost-usd']).toBe('0');
    } finally {
      await server.close();
    }
    expect(notices.map((notice) => notice.cause)).toEqual(['http_recorder_not_listening']);
  });

  it('is quiet when registered, even for requests without model calls; counts unpriced calls', async () => {
    const notices: CostspanNotice[] = [];
    setNoticeHandler((notice) => notices.push(notice));
    const recorder = new RequestCostRecorder();
    const provider = new BasicTracerProvider({
      spanProcessors: [new CostSpanProcessor({ source: 'http-test@1.0.0', exporters: [], listeners: [recorder] })],
    });
    const tracer = createCostTracer({ tracerProvider: provider });
    const listener = costspanNodeHandler({ tracer, recorder }, async (incoming, response) => {
      if (incoming.url === '/unpriced') {
        tracer.step('call', (step) => step.setModel('no-such-model-xyz', 'acme').setTokenUsage({ input: 10, output: 5 }));
      }
      response.end('ok');
    });
    const server = await listen(createServer((incoming, response) => void listener(incoming, response)));
    try {
      const plain = await request(server.origin);
      expect(plain.headers['x-costspan-cost-usd']).toBe('0');
      expect(plain.headers['x-costspan-unpriced-calls']).toBeUndefined();
      const unpriced = await request(`${server.origin}/unpriced`);
      expect(unpriced.headers['x-costspan-unpriced-calls']).toBe('1');
      expect(unpriced.headers['x-costspan-total-tokens']).toBe('15');
    } finally {
      await server.close();
    }
    expect(notices.map((notice) => notice.cause).filter((cause) => cause.startsWith('http_'))).toEqual([]);
  });

  it('keeps apart requests that share a propagated trace id, by their runs', () => {
    const recorder = new RequestCostRecorder();
    recorder.begin('run-a', 'trace-1');
    recorder.begin('run-b', 'trace-1');
    const token = (runId: string, parentRunId: string | undefined, cost: number) =>
      ({
        event_type: 'llm.cost.token.recorded',
        trace_id: 'trace-1',
        payload: {
          cost: { input_cost_usd: cost, output_cost_usd: 0, total_cost_usd: cost },
          token_usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
          model: { system: 'openai', name: 'gpt-4o' },
          agent_run_id: runId,
          ...(parentRunId === undefined ? {} : { parent_run_id: parentRunId }),
        },
      }) as never;
    recorder.onEvent(token('run-a', undefined, 0.1));
    recorder.onEvent(token('nested-b', 'run-b', 0.2));
    recorder.onEvent(token('deeper-b', 'nested-b', 0.4));
    expect(recorder.current('run-a').costUsd).toBe('0.1');
    expect(recorder.current('run-b').costUsd).toBe('0.6');
    expect(recorder.current('run-b').calls).toBe(2);
  });

  it('past maxOpenRequests forgets the oldest request and tells once', () => {
    const notices: CostspanNotice[] = [];
    setNoticeHandler((notice) => notices.push(notice));
    const recorder = new RequestCostRecorder({ maxOpenRequests: 2 });
    for (const runId of ['a', 'b', 'c', 'd']) recorder.begin(runId, `trace-${runId}`);
    expect(recorder.end('a')).toBe(false);
    expect(recorder.end('b')).toBe(false);
    expect(notices.map((notice) => notice.cause)).toEqual(['http_requests_evicted']);
  });
});
