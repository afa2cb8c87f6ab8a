import type { PicoUsd } from '@costspan/core';
import type { BudgetReservation as BudgetGateReservation, Principal } from '@costspan/sdk';
import type { BudgetCounterLimitType, BudgetUnit } from './budget-exceeded-error.js';
import type { BudgetExceededError } from './budget-exceeded-error.js';
import type { BudgetLimits } from './budget-limits.js';
import type { BudgetHistoryOptions } from './history-estimate.js';
import type { BudgetLimitCheck, BudgetStore } from './budget-store.js';
import type { CircuitState } from './circuit-breaker.js';

// The public shapes of BudgetGuard's options, inputs and results, apart from the class so each file has one job.

/** Options of {@link BudgetGuard}. */
export interface BudgetGuardOptions {
  /** The limits to enforce (all optional). */
  limits: BudgetLimits;
  /**
   * Where counters live. Default: a new {@link InMemoryBudgetStore} (one
   * process). Use {@link RedisBudgetStore} to share budgets across workers.
   * A store you pass is not closed by {@link BudgetGuard.shutdown} unless
   * `closeStore` is true.
   */
  store?: BudgetStore | undefined;
  /** Whether {@link BudgetGuard.shutdown} closes the store. Default: true for the store the guard creates, false for one you pass. */
  closeStore?: boolean | undefined;
  /**
   * Upper bound of {@link BudgetGuard.flush} and of {@link BudgetGuard.shutdown}
   * (flush and store close together), in ms: past it they resolve anyway and
   * report what did not finish to `onError`. Default 30 000.
   */
  flushTimeoutMs?: number | undefined;
  /** IANA time zone whose midnight and 1st of the month reset daily and monthly limits. Default `UTC`. */
  timeZone?: string | undefined;
  /** Clock (epoch ms). Default `Date.now`; inject one in tests. */
  now?: (() => number) | undefined;
  /** How long an unsettled reservation holds budget (ms). Default 300 000 (5 min). */
  reservationTtlMs?: number | undefined;
  /** How long a session counter lives after its last write (ms). Default 86 400 000 (24 h). */
  sessionTtlMs?: number | undefined;
  /**
   * How a reservation is checked against a limit. Both refuse every call once
   * spent + reserved reaches the limit (also calls without an estimate).
   * - `projected` (default): also refuses a call whose estimate does not fit in
   *   what is left, so the limit is never passed while actual ≤ estimate.
   * - `exhausted`: admits a call as long as something is left, like the classic
   *   `check_before(spent >= limit)`; the last admitted call may pass the limit by
   *   its own cost.
   */
  limitCheck?: BudgetLimitCheck | undefined;
  /**
   * Circuit breaker: once a hard limit is found used up, calls against that limit
   * (that scope and window only) are refused locally for `cooldownMs` (default
   * 60 000), then the store is asked again (HALF_OPEN). Giving budget back in this
   * process half-opens it at once. `false` disables it.
   */
  circuitBreaker?: { cooldownMs?: number } | false | undefined;
  /**
   * What to do when the store cannot be reached in time. `false` (default):
   * `reserve` rejects with a `CostspanError` of code `budget_unavailable`.
   * `true`: the call is allowed (the reservation is not backed by the store) and
   * the error goes to `onError`.
   */
  failOpen?: boolean | undefined;
  /**
   * Called once per window per threshold when spending crosses an alert threshold:
   * once across every process sharing the store (the first to cross claims it
   * atomically, Redis `SET NX`). At least once: when the claim fails or times out
   * (it may still be made once the store answers) the alert fires anyway, and the
   * failure goes to `onError` (a duplicate in that window is possible; a lost alert is not).
   * May throw: errors go to `onError`.
   */
  onAlert?: ((alert: BudgetAlert) => void) | undefined;
  /**
   * Called with every refusal of `reserve` (the same {@link BudgetExceededError} it
   * rejects with: limit, window, spent, reserved, attempted, and the run it was for).
   * May throw: errors go to `onError`.
   */
  onRefusal?: ((refusal: BudgetExceededError) => void) | undefined;
  /**
   * Prices `{ model, inputTokens, outputTokens }` estimates of `check` and `reserve`.
   * Default: `@costspan/pricing`'s default source. Any `PriceSource` fits.
   */
  priceSource?: BudgetPriceSource | undefined;
  /**
   * Estimates from history: a call reserved without an estimate (and without
   * model and tokens) reserves the decaying p95 of what the same agent (and step)
   * cost recently, kept in the store. `false` turns it off.
   */
  history?: BudgetHistoryOptions | false | undefined;
  /**
   * Whether limits set at run time ({@link BudgetGuard.setLimit}) apply: every
   * reserve and settle reads the overrides of its scopes from the store (one more
   * round trip with Redis). `false` skips that read (setLimit still stores them, and
   * a guard with `true` applies them). Default true.
   */
  limitOverrides?: boolean | undefined;
  /**
   * Receives errors that cannot be thrown (record, release, alerts, fail-open).
   * Default: OpenTelemetry `diag`, plus a costspan notice once per kind of failure
   * (e.g. `budget_store_failed:record`), so a failing store is never silent. When
   * given, it receives every such error and no notice is given; it also receives,
   * once per cause, what would otherwise be a costspan notice on standard error: a
   * call that could not be priced and was booked at its estimate (code `unknown_model`).
   */
  onError?: ((error: unknown) => void) | undefined;
}

/** What the caller estimates a call will cost; any superset of the SDK's reserve request. */
export interface BudgetReserveInput {
  /** Who the call is for. Default `{}` (global and session limits only). */
  principal?: Principal;
  /** Estimated cost: USD as a number or decimal string, or exact pico-USD as a `bigint` (what the SDK passes). Default 0. */
  estimatedUsd?: number | string | PicoUsd;
  /** Estimated total tokens (non-negative integer). Default 0. */
  estimatedTokens?: number;
  /** Session (root run) id: the key of `session` limits. */
  rootRunId?: string;
  /** Id of the calling run: linked from refusals. */
  runId?: string;
  /** Name of the calling agent: the key of `agent` limits and of estimates from history. */
  agentName?: string;
  /** Name of the calling step: with `agentName`, the key of estimates from history. */
  step?: string;
  /** Model of the call: the key of `model` and `userModel` limits; with tokens, priced into an estimate. */
  model?: string;
  /** Input tokens of the call, priced with `outputTokens` when no `estimatedUsd` is given. */
  inputTokens?: number;
  /** Output tokens the call may produce (its max tokens): checked against `perRequest.outputTokens`. */
  outputTokens?: number;
}

/** Where the estimate of a reservation came from. */
export type BudgetEstimateSource = 'caller' | 'pricing' | 'history' | 'none';

/** A price source: `@costspan/pricing`'s `PriceSource` or anything shaped like it. */
export interface BudgetPriceSource {
  price(request: {
    model: string;
    usage: { input: number; output: number };
    timestamp: number;
  }):
    | { status: 'priced'; cost: { input: PicoUsd; output: PicoUsd; reasoning: PicoUsd; cachedDiscount: PicoUsd } }
    | { status: 'unpriced'; reason: string };
}

/** What {@link BudgetGuard.check} answers. */
export interface BudgetCheckResult {
  /** Whether `reserve` with the same input would be admitted now. */
  allowed: boolean;
  /** The refusal `reserve` would reject with, when not allowed (nothing is reserved or told). */
  refusal: BudgetExceededError | undefined;
  /** The estimate checked (USD, display) and exact. */
  estimatedUsd: number;
  estimatedPico: PicoUsd;
  /** Tokens checked. */
  estimatedTokens: number;
  /** Where the estimate came from. */
  estimateSource: BudgetEstimateSource;
  /** Every limit that applies, with what remains. */
  limits: BudgetLimitStatus[];
}

/** A granted reservation: pass it to `settle` after the call or to `release` when it was not made. */
export interface BudgetReservation extends BudgetGateReservation {
  /** Unique id. */
  readonly id: string;
  /** Reserved pico-USD. */
  readonly estimatedPico: PicoUsd;
  /** Reserved USD (display). */
  readonly estimatedUsd: number;
  /** Reserved tokens. */
  readonly estimatedTokens: number;
  /** When it lapses by itself (epoch ms). */
  readonly expiresAt: number;
  /** `false` when admitted by `failOpen` while the store was unreachable. */
  readonly backed: boolean;
  /** Where the estimate came from: the caller, pricing of model and tokens, history, or none. */
  readonly estimateSource: BudgetEstimateSource;
}

/** An alert threshold was crossed (fired once per crossing per window). */
export interface BudgetAlert {
  /** The limit entry whose threshold was crossed, e.g. `user_daily`. */
  limitType: BudgetCounterLimitType;
  /** Whose budget: `global`, `user:alice`, `session:<id>`, … */
  scope: string;
  /** The window, e.g. `2026-03-04`. */
  window: string;
  /** `usd` or `tokens`. */
  unit: BudgetUnit;
  /** The threshold (USD or tokens). */
  threshold: number;
  /** The threshold, exact (pico-USD or tokens). */
  thresholdExact: bigint;
  /** The configured fraction, when the threshold was given as one. */
  fraction: number | undefined;
  /** Spent in the window after the call that crossed it. */
  spent: number;
  /** Spent, exact. */
  spentExact: bigint;
  /** The hard limit of the entry, when it has one. */
  limit: number | undefined;
  /** The hard limit, exact. */
  limitExact: bigint | undefined;
  /** Principal of the call that crossed it. */
  principal: Principal;
}

/** One limit's state, as returned by {@link BudgetGuard.getBudget}. */
export interface BudgetLimitStatus {
  /** E.g. `user_daily`, `daily`, `session`. */
  limitType: BudgetCounterLimitType;
  /** Whose budget: `global`, `user:alice`, … */
  scope: string;
  /** The current window: `2026-03-04`, `2026-03`, `total`, `session`. */
  window: string;
  /** `usd` or `tokens`. */
  unit: BudgetUnit;
  /** The hard limit (USD or tokens); `undefined` for an alert-only entry. */
  limit: number | undefined;
  /** Spent in the window. */
  spent: number;
  /** Held by live reservations. */
  reserved: number;
  /** `limit − spent − reserved`, never negative; `undefined` without a hard limit. */
  remaining: number | undefined;
  /** The same amounts, exact (pico-USD or tokens). */
  exact: { limit: bigint | undefined; spent: bigint; reserved: bigint; remaining: bigint | undefined };
}

/** What {@link BudgetGuard.getBudget} returns. */
export interface BudgetStatus {
  /** The worst circuit-breaker state among the principal's limits. */
  circuit: CircuitState;
  /** One entry per limit and unit that applies to the principal. */
  limits: BudgetLimitStatus[];
}
