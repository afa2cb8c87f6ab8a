import type { CostBreakdownPico, TokenUsage } from '@costspan/pricing';
import type { BudgetGate, BudgetReservation } from '../budget-gate.js';

/** One model call recorded on a step, before the processor prices it. */
export interface RecordedCall {
  model: string;
  provider: string | undefined;
  responseModel: string | undefined;
  usage: TokenUsage;
  totalTokens: number;
  /** Cost given by the caller or reported by the provider; priced from the table when absent. */
  cost: CostBreakdownPico | undefined;
  costSource: 'caller' | 'provider' | undefined;
  /** `cost` is a total only (all in `input`): split it by the table's proportions when possible. */
  costTotalOnly?: boolean | undefined;
  /** The service tier that served the call, as the provider reported it (`flex`, `priority`, `default`, ...). */
  serviceTier?: string | undefined;
}

/** What a step recorded, handed from the tracer to the processor through the span object. */
export interface StepState {
  calls: RecordedCall[];
  /** The call built up by `setModel` / `setTokenUsage` / `setCost`. */
  current: Partial<RecordedCall>;
  reservations: BudgetReservation[];
  /** Calls started and not yet finished ({@link openCall}); absent until a first one opens. */
  openCalls?: Set<OpenCall>;
  /** Calls whose usage was marked missing ({@link countUsageMissing}), each once; absent until a first one. */
  missingCalls?: UsageMissingCall[];
}

/** A model call a step has started and not finished: a stream being read. */
export interface OpenCall {
  /** Read when the step ends: may be set once the stream names its model. */
  model: string | undefined;
  provider: string | undefined;
}

/** A model call of a step that ended without usable usage: a stream left early, a response without usage. */
export interface UsageMissingCall extends OpenCall {
  /** `not_reported`, `stream_incomplete`, `invalid`: a short, known word, the key of its notice. */
  reason: string;
}

/** What an agent run carries beyond its span attributes. */
export interface RunState {
  budget: BudgetGate | undefined;
}

// Keyed by the span object itself: entries vanish with their spans, so nothing leaks,
// and no OpenTelemetry global is needed to connect the tracer to the processor.
export const stepStates: WeakMap<object, StepState> = new WeakMap();
export const runStates: WeakMap<object, RunState> = new WeakMap();

/**
 * Registers `call` as started on `step` and returns the function that closes it: call that once
 * the call's usage is recorded or marked missing, however it ended. A call still open when the
 * step ends (a stream the caller stopped reading, never ended nor returned) is counted by the
 * span processor as one call with usage missing (`stream_incomplete`), beside any the step
 * recorded. Closing twice, or after the step ended, does nothing.
 */
export function openCall(step: { readonly span: object }, call: OpenCall): () => void {
  const state = stepStates.get(step.span);
  if (state === undefined) return () => undefined;
  (state.openCalls ??= new Set()).add(call);
  return () => void state.openCalls?.delete(call);
}

/**
 * Counts `call` on `step` as one call whose usage is missing: the span processor books each call
 * so counted once (`usage_missing_call_count`), in place of the single call that the step span's
 * `llm.cost.usage.missing` attribute stands for, so several such calls of one step are several.
 * Set that attribute as well, for other readers of the span. Once the step has ended, nothing reads it.
 */
export function countUsageMissing(step: { readonly span: object }, call: UsageMissingCall): void {
  const state = stepStates.get(step.span);
  if (state !== undefined) (state.missingCalls ??= []).push(call);
}
