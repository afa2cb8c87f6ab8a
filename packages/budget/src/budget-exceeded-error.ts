import { CostspanError, formatPico, formatUsd, picoToUsd } from '@costspan/core';
import type { Principal } from '@costspan/sdk';

const BUDGET_BRAND: symbol = Symbol.for('costspan.budget_exceeded');

/**
 * Which limit refused a call: `per_request`, `session`, a principal limit
 * (`user_daily`, `team_monthly`, `org_total`, `tag_daily`, …), a global limit
 * (`daily`, `monthly`, `total`), or `circuit_breaker` while a tripped limit cools down.
 */
export type BudgetLimitType =
  | 'per_request'
  | 'session'
  | 'user_daily'
  | 'user_monthly'
  | 'user_total'
  | 'team_daily'
  | 'team_monthly'
  | 'team_total'
  | 'org_daily'
  | 'org_monthly'
  | 'org_total'
  | 'tag_daily'
  | 'tag_monthly'
  | 'tag_total'
  | 'daily'
  | 'monthly'
  | 'total'
  | 'circuit_breaker';

/** Unit of a limit: dollars (exact amounts in pico-USD) or tokens. */
export type BudgetUnit = 'usd' | 'tokens';

/** Options of {@link BudgetExceededError}. */
export interface BudgetExceededErrorOptions {
  /** The limit that refused the call. */
  limitType: BudgetLimitType;
  /** For `circuit_breaker`: the limit whose breaker is open. */
  trippedBy?: Exclude<BudgetLimitType, 'circuit_breaker'>;
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
  /** The window of the limit: `2026-03-04`, `2026-03`, `total`, `session`, `request`. */
  readonly window: string;

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
