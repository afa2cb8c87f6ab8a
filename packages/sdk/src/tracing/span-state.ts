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
}

/** What an agent run carries beyond its span attributes. */
export interface RunState {
  budget: BudgetGate | undefined;
}

// Keyed by the span object itself: entries vanish with their spans, so nothing leaks,
// and no OpenTelemetry global is needed to connect the tracer to the processor.
export const stepStates: WeakMap<object, StepState> = new WeakMap();
export const runStates: WeakMap<object, RunState> = new WeakMap();
