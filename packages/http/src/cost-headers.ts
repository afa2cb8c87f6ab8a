import type { RequestCost } from './request-cost-recorder.js';

/** Names of the headers (and trailers) that carry a request's cost. */
export const COST_HEADERS: {
  readonly costUsd: 'x-costspan-cost-usd';
  readonly inputTokens: 'x-costspan-input-tokens';
  readonly outputTokens: 'x-costspan-output-tokens';
  readonly totalTokens: 'x-costspan-total-tokens';
  readonly calls: 'x-costspan-calls';
  readonly unpricedCalls: 'x-costspan-unpriced-calls';
  readonly runId: 'x-costspan-run-id';
  readonly serverTiming: 'server-timing';
} = {
  costUsd: 'x-costspan-cost-usd',
  inputTokens: 'x-costspan-input-tokens',
  outputTokens: 'x-costspan-output-tokens',
  totalTokens: 'x-costspan-total-tokens',
  calls: 'x-costspan-calls',
  unpricedCalls: 'x-costspan-unpriced-calls',
  runId: 'x-costspan-run-id',
  serverTiming: 'server-timing',
};

/** Name of the final SSE event of a streamed `text/event-stream` response. */
export const SSE_COST_EVENT = 'costspan-cost';

/** Trailer names declared (`Trailer:`) on a streamed response before its body. */
export const TRAILER_NAMES: readonly string[] = [
  COST_HEADERS.costUsd,
  COST_HEADERS.inputTokens,
  COST_HEADERS.outputTokens,
  COST_HEADERS.totalTokens,
  COST_HEADERS.calls,
  COST_HEADERS.unpricedCalls,
  COST_HEADERS.serverTiming,
];

/**
 * The cost headers of a request: exact USD, token counts, calls, and a `Server-Timing` metric
 * `llm-cost;desc="0.0065"` (browsers' dev tools show it; the value is USD, not a duration).
 * `x-costspan-unpriced-calls` only when some call could not be priced.
 */
export function costHeaders(cost: RequestCost): Record<string, string> {
  const headers: Record<string, string> = {
    [COST_HEADERS.costUsd]: cost.costUsd,
    [COST_HEADERS.inputTokens]: String(cost.inputTokens),
    [COST_HEADERS.outputTokens]: String(cost.outputTokens),
    [COST_HEADERS.totalTokens]: String(cost.totalTokens),
    [COST_HEADERS.calls]: String(cost.calls),
    [COST_HEADERS.serverTiming]: serverTimingEntry(cost),
  };
  if (cost.unpricedCalls > 0) headers[COST_HEADERS.unpricedCalls] = String(cost.unpricedCalls);
  return headers;
}

/** `llm-cost;desc="0.0065"`: the `Server-Timing` entry for a cost. */
export function serverTimingEntry(cost: RequestCost): string {
  return `llm-cost;desc="${cost.costUsd}"`;
}

/** Appends our entry to an existing `Server-Timing` value, keeping the application's own metrics. */
export function mergeServerTiming(existing: unknown, cost: RequestCost): string {
  const entry = serverTimingEntry(cost);
  const previous = Array.isArray(existing)
    ? existing.join(', ')
    : typeof existing === 'string' || typeof existing === 'number'
      ? String(existing)
      : '';
  return previous === '' ? entry : `${previous}, ${entry}`;
}

/** The JSON body of the final SSE event. */
export function costEventData(cost: RequestCost): Record<string, string | number> {
  const data: Record<string, string | number> = {
    run_id: cost.runId,
    cost_usd: cost.costUsd,
    input_tokens: cost.inputTokens,
    output_tokens: cost.outputTokens,
    total_tokens: cost.totalTokens,
    calls: cost.calls,
  };
  if (cost.unpricedCalls > 0) data.unpriced_calls = cost.unpricedCalls;
  return data;
}

/** `event: costspan-cost\ndata: {...}\n\n`, preceded by a blank line so it never joins an unterminated event. */
export function sseCostEventText(cost: RequestCost): string {
  return `\nevent: ${SSE_COST_EVENT}\ndata: ${JSON.stringify(costEventData(cost))}\n\n`;
}

/** True for a `text/event-stream` content type. */
export function isEventStream(contentType: unknown): boolean {
  const first: unknown = Array.isArray(contentType) ? contentType[0] : contentType;
  const value = typeof first === 'string' ? first : '';
  return /^\s*text\/event-stream\b/i.test(value);
}
