import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { type CostEvent } from '@costspan/sdk';
import { createEventIdGenerator, formatEventTimestamp } from '@costspan/sdk/internal';
import type { ReceivedLog } from './otlp-receiver.js';

const nextId = createEventIdGenerator();

/** A token event like the golden vector of DESIGN.md, with a fresh id and a trace. */
export function tokenEvent(index = 0): CostEvent<'llm.cost.token.recorded'> {
  return {
    actor_id: 'alice',
    event_id: nextId(),
    event_type: 'llm.cost.token.recorded',
    org_id: 'org_01HX',
    parent_span_id: 'b1b2c3d4e5f6a7b8',
    payload: {
      agent_run_id: `run${index}`,
      cost: { input_cost_usd: 0.0015, output_cost_usd: 0.0006, total_cost_usd: 0.0021 },
      model: { name: 'gpt-4o', system: 'openai' },
      pricing_tier: {
        cached_input_per_million_usd: 1.25,
        effective_date: '2026-03-04',
        input_per_million_usd: 2.5,
        model: 'gpt-4o',
        output_per_million_usd: 10,
        system: 'openai',
      },
      span_id: 'a1b2c3d4e5f6a7b8',
      token_usage: { input_tokens: 500, output_tokens: 200, total_tokens: 700 },
    },
    schema_version: '2.0',
    session_id: 'conv-7',
    source: 'my-app@1.0.0',
    span_id: 'a1b2c3d4e5f6a7b8',
    tags: { env: 'production' },
    team_id: 'search',
    timestamp: '2026-03-04T14:32:11.042817Z',
    trace_id: '0af7651916cd43dd8448eb211c80319c',
  };
}

/** Rebuilds the envelope from a received log record: the inverse of costEventToLogRecord. */
export function eventFromLog(log: ReceivedLog): Record<string, unknown> {
  const { 'event.name': _eventName, ...envelope } = log.attributes;
  const nanos = BigInt(log.timeUnixNano);
  const event: Record<string, unknown> = {
    ...envelope,
    event_type: log.eventName,
    payload: log.body,
    timestamp: formatEventTimestamp([Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)]),
  };
  if (log.traceId !== undefined) event.trace_id = log.traceId;
  if (log.spanId !== undefined) event.span_id = log.spanId;
  return event;
}

/** Collects `diag` messages at warn level and above (and debug when asked). */
export function captureDiag(level: DiagLogLevel = DiagLogLevel.WARN): { messages: string[]; text(): string } {
  const messages: string[] = [];
  const record = (message: string, ...args: unknown[]): void => {
    messages.push(
      [message, ...args.map((arg) => (arg instanceof Error ? arg.message : typeof arg === 'string' ? arg : stringify(arg)))].join(' '),
    );
  };
  const logger: DiagLogger = { error: record, warn: record, info: record, debug: record, verbose: record };
  diag.setLogger(logger, { logLevel: level, suppressOverrideMessage: true });
  return { messages, text: () => messages.join('\n') };
}

/** JSON, or a placeholder for values JSON cannot hold (the exporter's debug log passes live spans, which are circular). */
function stringify(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return '[unserializable]';
  }
}

/** Waits until `condition` holds, polling; fails after `timeoutMillis`. */
export async function waitFor(condition: () => boolean, timeoutMillis = 10_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMillis) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
