import { CostspanError, formatPico, formatUsd, picoToUsd } from '@costspan/core';
import type { Principal } from '@costspan/sdk';

const BUDGET_BRAND: symbol = Symbol.for('costspan.budget_exceeded');

/** A window of a limit: calendar hour, day, ISO week, month, forever, or sliding (`rolling`). */
export type BudgetWindowName = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'total' | 'rolling';

/** A scope of principal limits, as written in limit types (`user_model` is per user per model). */
export type BudgetScopeName = 'user' | 'team' | 'org' | 'tag' | 'model' | 'agent' | 'user_model';

/**
 * Which limit refused a call: `per_request` (the estimate), `per_request_output`
 * (the output tokens a call asks for), `session`, a scoped limit
 * (`user_daily`, `team_monthly`, `model_hourly`, `agent_weekly`,
 * `user_model_rolling`, …), a global limit (`daily`, `monthly`, `rolling`, …),
 * or `circuit_breaker` while a tripped limit cools down.
 */
export type BudgetLimitType =
  'per_request' | 'per_request_output' | 'session' | `${BudgetScopeName}_${BudgetWindowName}` | BudgetWindowName | 'circuit_breaker';

/** The limit types that keep a counter in the store (every one but the per-request caps and the breaker). */
export type BudgetCounterLimitType = Exclude<BudgetLimitType, 'per_request' | 'per_request_output' | 'circuit_breaker'>;

/** Unit of a limit: dollars (exact amounts in pico-USD) or tokens. */
export type BudgetUnit = 'usd' | 'tokens';

/** Options of {@link BudgetExceededError}. */
export interface BudgetExceededErrorOptions {
  /** The limit that refused the call. */
  limitType: BudgetLimitType;
  /** For `circuit_breaker`: the limit whose breaker is open. */
  trippedBy?: Exclude<BudgetLimitType, 'circuit_breaker'>;
  /** Of `current`, what was spent (when the store tells). */
  spent?: bigint;
  /** Of `current`, what live reservations held. */
  reserved?: bigint;
  /** The refused call's run (`gen_ai.agent.id`), agent, session, step and model, when known. */
  call?: BudgetRefusedCall;
  /** Unit of the amounts. */
  unit: BudgetUnit;
  /** The limit, exact (pico-USD or tokens). */
  limit: bigint;
  /** Spent plus reserved in the window when the call was refused, exact. */
  current: bigint;
  /** What the refused call asked for, exact. */
  attempted: bigint;
  /** Principal of the refused call. */
  principal: Principal;
  /** Whose budget: `global`, `user:alice`, `tag:env=prod`, `session:<root run id>`, `request`. */
  scope: string;
  /** The window: `2026-03-04` (daily), `2026-03` (monthly), `total`, `session` or `request`. */
  window: string;
}

/** What is known of the refused call, to link the refusal to its run. */
export interface BudgetRefusedCall {
  /** `gen_ai.agent.id` of the calling run. */
  runId?: string;
  /** The root run (session). */
  rootRunId?: string;
  /** Name of the calling agent. */
  agentName?: string;
  /** Name of the calling step. */
  step?: string;
  /** Model of the call. */
  model?: string;
}

/**
 * Thrown (as a rejection of `BudgetGuard.reserve`) when a call would overspend:
 * do not make the call. A {@link CostspanError} with code `budget_exceeded`.
 *
 * Amounts come twice: exact (`limitExact`, `currentExact`, `attemptedExact`,
 * `bigint` pico-USD or tokens, per {@link BudgetExceededError.unit}) and as
 * numbers for display (`limit`, `current`, `attempted`: USD or tokens).
 *
 * @example
 * ```ts
 * try {
 *   await guard.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.05 });
 * } catch (error) {
 *   if (BudgetExceededError.isInstance(error)) console.warn(error.limitType, error.remaining);
 * }
 * ```
 */
export class BudgetExceededError extends CostspanError {
  /** The limit that refused the call. */
  readonly limitType: BudgetLimitType;
  /** For `circuit_breaker`: the limit whose breaker is open; otherwise `undefined`. */
  readonly trippedBy: Exclude<BudgetLimitType, 'circuit_breaker'> | undefined;
  /** `usd` or `tokens`. */
  readonly unit: BudgetUnit;
  /** The limit, in USD or tokens (display). */
  readonly limit: number;
  /** Spent plus reserved when refused, in USD or tokens (display). */
  readonly current: number;
  /** What the call asked for, in USD or tokens (display). */
  readonly attempted: number;
  /** The limit, exact: pico-USD or tokens. */
  readonly limitExact: bigint;
  /** Spent plus reserved when refused, exact. */
  readonly currentExact: bigint;
  /** What the call asked for, exact. */
  readonly attemptedExact: bigint;
  /** What was left (never negative), exact. */
  readonly remainingExact: bigint;
  /** What was left, in USD or tokens (display). */
  readonly remaining: number;
  /** Principal of the refused call. */
  readonly principal: Principal;
  /** Whose budget: `global`, `user:alice`, `session:<id>`, `request`, … */
  readonly scope: string;
  /** The window of the limit: `2026-03-04`, `2026-03`, `2026-W10`, `2026-03-04T10+01:00`, `rolling:60m`, `total`, `session`, `request`. */
  readonly window: string;
  /** Of `currentExact`, what was spent; `undefined` when the store did not tell (per-request and breaker refusals). */
  readonly spentExact: bigint | undefined;
  /** Of `currentExact`, what live reservations held; `undefined` when not told. */
  readonly reservedExact: bigint | undefined;
  /** `gen_ai.agent.id` of the refused call's run, when known: what links the refusal to the run. */
  readonly runId: string | undefined;
  /** Root run (session) of the refused call, when known. */
  readonly rootRunId: string | undefined;
  /** Agent of the refused call, when known. */
  readonly agentName: string | undefined;
  /** Step of the refused call, when known. */
  readonly step: string | undefined;
  /** Model of the refused call, when known. */
  readonly model: string | undefined;

  constructor(options: BudgetExceededErrorOptions) {
    const show = (amount: bigint): string => (options.unit === 'usd' ? formatUsd(amount) : `${amount} tokens`);
    const remaining = options.limit > options.current ? options.limit - options.current : 0n;
    const what =
      options.limitType === 'circuit_breaker' ? `circuit breaker open (${options.trippedBy ?? 'limit'})` : `${options.limitType} limit`;
    super({
      code: 'budget_exceeded',
      field: options.limitType,
      value: options.unit === 'usd' ? formatPico(options.attempted) : Number(options.attempted),
      message:
        `budget exceeded: ${what} of ${show(options.limit)} for ${options.scope} (${options.window}); ` +
        `spent and reserved ${show(options.current)}, this call ${show(options.attempted)}`,
    });
    this.name = 'BudgetExceededError';
    const display = (amount: bigint): number => (options.unit === 'usd' ? picoToUsd(amount) : Number(amount));
    this.limitType = options.limitType;
    this.trippedBy = options.trippedBy;
    this.unit = options.unit;
    this.limitExact = options.limit;
    this.currentExact = options.current;
    this.attemptedExact = options.attempted;
    this.remainingExact = remaining;
    this.limit = display(options.limit);
    this.current = display(options.current);
    this.attempted = display(options.attempted);
    this.remaining = display(remaining);
    this.principal = options.principal;
    this.scope = options.scope;
    this.window = options.window;
    this.spentExact = options.spent;
    this.reservedExact = options.reserved;
    this.runId = options.call?.runId;
    this.rootRunId = options.call?.rootRunId;
    this.agentName = options.call?.agentName;
    this.step = options.call?.step;
    this.model = options.call?.model;
    Object.defineProperty(this, BUDGET_BRAND, { value: true });
  }

  /** True when `error` is a budget refusal, from any copy of the package. */
  static override isInstance(error: unknown): error is BudgetExceededError {
    return CostspanError.isInstance(error) && (error as unknown as Record<symbol, unknown>)[BUDGET_BRAND] === true;
  }
}

/** The store could not be reached in time: a `budget_unavailable` CostspanError. */
export function budgetUnavailable(operation: string, cause: unknown): CostspanError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new CostspanError({
    code: 'budget_unavailable',
    message: `budget store unavailable during ${operation}: ${reason}`,
    cause,
  });
}
