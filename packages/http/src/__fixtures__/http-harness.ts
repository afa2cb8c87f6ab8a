import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import {
  CostSpanProcessor,
  InMemoryEventExporter,
  createCostTracer,
  type CostEvent,
  type CostTracer,
  type SessionRecordedPayload,
} from '@costspan/sdk';
import { LiveCostLedger, type LiveCostLedgerOptions } from '../live-cost-ledger.js';
import { RequestCostRecorder } from '../request-cost-recorder.js';

export interface HttpHarness {
  tracer: CostTracer;
  recorder: RequestCostRecorder;
  ledger: LiveCostLedger;
  events: InMemoryEventExporter;
  /** The session event of the root run `runId` (after a flush). */
  session(runId: string): Promise<SessionRecordedPayload>;
}

/** A real provider and cost processor priced by the built-in table, with the recorder and ledger as listeners. */
export function createHttpHarness(ledgerOptions: LiveCostLedgerOptions = {}): HttpHarness {
  const events = new InMemoryEventExporter();
  const recorder = new RequestCostRecorder();
  const ledger = new LiveCostLedger(ledgerOptions);
  const processor = new CostSpanProcessor({ source: 'http-test@1.0.0', exporters: [events], listeners: [recorder, ledger] });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  return {
    tracer: createCostTracer({ tracerProvider: provider }),
    recorder,
    ledger,
    events,
    async session(runId) {
      await processor.forceFlush();
      const sessions = events.getEvents('llm.cost.session.recorded').filter((event) => event.payload.agent_run_id === runId);
      if (sessions.length !== 1) throw new Error(`expected one session event for ${runId}, got ${sessions.length}`);
      return (sessions[0] as CostEvent<'llm.cost.session.recorded'>).payload;
    },
  };
}

/**
 * Two gpt-4o calls priced from the built-in table ($2.50 / $10 per 1M):
 * 500 in + 200 out = $0.00325, 1000 in + 100 out = $0.0035; together $0.00675, 1800 tokens.
 */
export const TWO_CALLS = { costUsd: '0.00675', inputTokens: 1500, outputTokens: 300, totalTokens: 1800 };

export async function firstCall(tracer: CostTracer): Promise<void> {
  await tracer.step('plan', async (step) => {
    step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 });
  });
}

export async function secondCall(tracer: CostTracer): Promise<void> {
  await tracer.step('answer', async (step) => {
    step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1000, output: 100 });
  });
}

export async function twoCalls(tracer: CostTracer): Promise<void> {
  await firstCall(tracer);
  await secondCall(tracer);
}

/** A step whose reservation ($0.002) exceeds a per-request limit of $0.001. */
export async function overBudgetCall(tracer: CostTracer): Promise<void> {
  await tracer.step('expensive', async (step) => {
    await step.reserve({ estimatedUsd: 0.002 });
    step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 });
  });
}

/** Starts `server` on a free 127.0.0.1 port. */
export async function listen(server: Server): Promise<{ origin: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The `data` of the SSE events named `name` in `text`. */
export function sseEvents(text: string, name: string): unknown[] {
  return text
    .split(/\n\n/)
    .map((block) => block.trim())
    .filter((block) => block.split('\n').includes(`event: ${name}`))
    .map((block) => JSON.parse((block.split('\n').find((line) => line.startsWith('data: ')) ?? 'data: null').slice(6)) as unknown);
}
