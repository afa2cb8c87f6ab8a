import type { Principal } from '@costspan/sdk';
import { BudgetExceededError, type BudgetLimitType, type BudgetUnit } from './budget-exceeded-error.js';
import { toDisplay, type ApplicableLimit } from './budget-limits.js';
import type { BudgetStoreCrossing, BudgetStoreReading } from './budget-store.js';
import type { BudgetAlert, BudgetLimitStatus } from './budget-guard-types.js';

// What BudgetGuard hands back to people: limit statuses, refusals and alerts, built from store readings.

/** @internal One limit's status for getBudget. */
export function status(
  limit: ApplicableLimit,
  unit: BudgetUnit,
  hard: bigint | undefined,
  spent: bigint,
  reserved: bigint,
): BudgetLimitStatus {
  const used = spent + reserved;
  const remaining = hard === undefined ? undefined : hard > used ? hard - used : 0n;
  return {
    limitType: limit.limitType,
    scope: limit.scope,
    window: limit.window,
    unit,
    limit: hard === undefined ? undefined : toDisplay(unit, hard),
    spent: toDisplay(unit, spent),
    reserved: toDisplay(unit, reserved),
    remaining: remaining === undefined ? undefined : toDisplay(unit, remaining),
    exact: { limit: hard, spent, reserved, remaining },
  };
}

/** @internal A refusal of `limitType`. */
export function exceeded(
  limitType: BudgetLimitType,
  unit: BudgetUnit,
  limit: bigint,
  current: bigint,
  attempted: bigint,
  principal: Principal,
  scope: string,
  window: string,
): BudgetExceededError {
  return new BudgetExceededError({ limitType, unit, limit, current, attempted, principal, scope, window });
}

/** @internal The alert of a crossing, or undefined when the crossing names no known threshold. */
export function toAlert(
  applicable: readonly ApplicableLimit[],
  crossing: BudgetStoreCrossing,
  principal: Principal,
): BudgetAlert | undefined {
  const limit = applicable[crossing.index];
  if (limit === undefined) return undefined;
  const usd = crossing.unit === 'usd';
  const threshold = (usd ? limit.amount.alertsPico : limit.amount.alertsTokens)[crossing.threshold];
  if (threshold === undefined) return undefined;
  const hard = usd ? limit.amount.limitPico : limit.amount.limitTokens;
  return {
    limitType: limit.limitType,
    scope: limit.scope,
    window: limit.window,
    unit: crossing.unit,
    threshold: toDisplay(crossing.unit, threshold),
    thresholdExact: threshold,
    fraction: (usd ? limit.amount.fractionsPico : limit.amount.fractionsTokens)[crossing.threshold],
    spent: toDisplay(crossing.unit, crossing.spent),
    spentExact: crossing.spent,
    limit: hard === undefined ? undefined : toDisplay(crossing.unit, hard),
    limitExact: hard,
    principal,
  };
}

/** @internal Status of every limit and unit in `applicable`, from the store's readings (same order). */
export function statusesOf(applicable: readonly ApplicableLimit[], readings: readonly BudgetStoreReading[]): BudgetLimitStatus[] {
  const limits: BudgetLimitStatus[] = [];
  for (const [index, limit] of applicable.entries()) {
    const reading = readings[index];
    if (reading === undefined) continue;
    const { amount } = limit;
    if (amount.limitPico !== undefined || amount.alertsPico.length > 0) {
      limits.push(status(limit, 'usd', amount.limitPico, reading.spentPico, reading.reservedPico));
    }
    if (amount.limitTokens !== undefined || amount.alertsTokens.length > 0) {
      limits.push(status(limit, 'tokens', amount.limitTokens, reading.spentTokens, reading.reservedTokens));
    }
  }
  return limits;
}
