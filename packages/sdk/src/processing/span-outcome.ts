import { SpanStatusCode, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { parseUsd, picoToUsd } from '@costspan/core';
import { ATTR } from '../attributes.js';
import { notice } from '../notice.js';
import type { BudgetRefusalWire } from '../events/cost-event.js';
import { providerOf, stringAttribute } from './foreign-span-call.js';
import type { OpenCall, StepState } from '../tracing/span-state.js';
import type { SpanNode } from './span-tree.js';

/** A model call that ran but reported no usage, as its span says (`llm.cost.usage.missing`). */
export interface UsageMissing {
  model: string | undefined;
  provider: string | undefined;
  /** `not_reported`, `stream_incomplete`, `invalid`, ... */
  reason: string;
}

/**
 * The call without usage a span (a step, or another instrumentation's span) reports, if any. A
 * costspan step whose calls were counted one by one (`countUsageMissing`) is read with
 * {@link countedMissingOf} instead: its attribute stands for those calls, not one more.
 */
export function usageMissingFromSpan(span: ReadableSpan, state: StepState | undefined): UsageMissing | undefined {
  const attributes = span.attributes;
  if (attributes[ATTR.USAGE_MISSING] !== true) return undefined;
  const reason = stringAttribute(attributes, ATTR.USAGE_MISSING_REASON);
  return {
    model: state?.current.model ?? stringAttribute(attributes, ATTR.REQUEST_MODEL) ?? stringAttribute(attributes, ATTR.RESPONSE_MODEL),
    provider: state?.current.provider ?? providerOf(attributes),
    // Causes are keys of once-per-cause notices: keep them to a short, known shape.
    reason: reason !== undefined && /^[a-z_]{1,40}$/.test(reason) ? reason : 'not_reported',
  };
}

/**
 * The call of a costspan step that named its model (`setModel`) but recorded no usage, cost or
 * call, and whose tree below recorded none either: its usage was never recorded, so it counts as
 * missing (`not_recorded`) instead of passing as a free call. A failed step is left out: its call
 * raised, and providers do not bill a failed call as a rule.
 */
export function unrecordedCallOf(span: ReadableSpan, state: StepState | undefined, node: SpanNode | undefined): UsageMissing | undefined {
  if (state === undefined || span.status.code === SpanStatusCode.ERROR) return undefined;
  const current = state.current;
  if (current.model === undefined || state.calls.length > 0 || current.usage !== undefined || current.cost !== undefined) return undefined;
  // A call still open is the named one: it is counted as such (openCallsOf), not twice.
  if (state.openCalls !== undefined && state.openCalls.size > 0) return undefined;
  if (node !== undefined && node.inclusive.callCount > 0) return undefined;
  return { model: current.model, provider: current.provider, reason: 'not_recorded' };
}

/**
 * The calls a step started and never finished (`openCall` of `@costspan/sdk/internal`): a stream
 * the caller stopped reading, never ended nor returned, whose usage never arrived. Each is one
 * call with usage missing (`stream_incomplete`), whatever else the step recorded.
 */
export function openCallsOf(state: StepState): UsageMissing[] {
  return missingOf(state, state.openCalls ?? [], () => 'stream_incomplete');
}

/**
 * The calls without usage a step counted one by one (`countUsageMissing` of
 * `@costspan/sdk/internal`, which the integrations call wherever they set `llm.cost.usage.missing`):
 * two streams left early, or two responses without usage, are two calls, each with its own reason.
 */
export function countedMissingOf(state: StepState): UsageMissing[] {
  // Causes are keys of once-per-cause notices: keep them to a short, known shape.
  return missingOf(state, state.missingCalls ?? [], (call) => (/^[a-z_]{1,40}$/.test(call.reason) ? call.reason : 'not_reported'));
}

/** Each of `calls` as a call without usage, named by the step's model where it names none. */
function missingOf<Call extends OpenCall>(state: StepState, calls: Iterable<Call>, reasonOf: (call: Call) => string): UsageMissing[] {
  const missing: UsageMissing[] = [];
  for (const call of calls) {
    missing.push({ model: call.model ?? state.current.model, provider: call.provider ?? state.current.provider, reason: reasonOf(call) });
  }
  return missing;
}

/**
 * The budget refusal a step span carries (`llm.cost.budget.*`, written by the tracer when
 * `reserve` is refused), in its wire form with keys in sorted order. Amounts are exact
 * decimal strings on the span and exact-to-the-pico numbers on the wire.
 */
export function budgetRefusalFromAttributes(attributes: Attributes, node: SpanNode): BudgetRefusalWire | undefined {
  if (attributes[ATTR.BUDGET_REFUSED] !== true) return undefined;
  const text = (key: string, fallback: string): string => stringAttribute(attributes, key) ?? fallback;
  const refusal = {
    agent_run_id: node.run.runId,
    attempted: amount(attributes[ATTR.BUDGET_REFUSED_ATTEMPTED]),
    current: amount(attributes[ATTR.BUDGET_REFUSED_CURRENT]),
    limit: amount(attributes[ATTR.BUDGET_REFUSED_LIMIT]),
    limit_type: text(ATTR.BUDGET_REFUSED_LIMIT_TYPE, 'unknown'),
  } as BudgetRefusalWire;
  // Spent and reserved apart (their sum is `current`), when the budget reported them.
  if (attributes[ATTR.BUDGET_REFUSED_RESERVED] !== undefined) refusal.reserved = amount(attributes[ATTR.BUDGET_REFUSED_RESERVED]);
  refusal.scope = text(ATTR.BUDGET_REFUSED_SCOPE, 'unknown');
  if (attributes[ATTR.BUDGET_REFUSED_SPENT] !== undefined) refusal.spent = amount(attributes[ATTR.BUDGET_REFUSED_SPENT]);
  refusal.step = node.name;
  refusal.unit = text(ATTR.BUDGET_REFUSED_UNIT, 'usd');
  refusal.window = text(ATTR.BUDGET_REFUSED_WINDOW, 'unknown');
  return refusal;
}

function amount(value: unknown): number {
  // Through pico-dollars: `0.1` stays 0.1, not its float noise, for USD and token counts alike.
  const text = typeof value === 'number' && Number.isFinite(value) && value >= 0 ? String(value) : typeof value === 'string' ? value : '0';
  return picoToUsd(parseUsd(text) ?? 0n);
}

/** Tells a person, once per provider and reason, that calls ran without usage, and how to fix it. */
export function noticeUsageMissing(missing: UsageMissing): void {
  const provider = missing.provider ?? 'unknown';
  const fix =
    missing.reason === 'stream_incomplete'
      ? 'Read streams to their end inside the step (for OpenAI streams with stream_options: { include_usage: true }, includeStreamUsage in the integrations), or record the usage with step.setTokenUsage.'
      : missing.reason === 'not_reported'
        ? 'For OpenAI streams set stream_options: { include_usage: true } (includeStreamUsage in the integrations), or record the usage with step.setTokenUsage.'
        : missing.reason === 'not_recorded'
          ? 'A step named its model with setModel but recorded no usage: record it with step.setTokenUsage (or an integration) inside the step.'
          : 'Record the usage with step.setTokenUsage.';
  notice(
    `usage_missing:${provider}:${missing.reason}`,
    `a call of provider "${provider}"${missing.model === undefined ? '' : ` to model "${missing.model}"`} reported no usage (${missing.reason}): it is counted in usage_missing_call_count, without tokens or cost, so totals are low. ${fix}`,
  );
}
