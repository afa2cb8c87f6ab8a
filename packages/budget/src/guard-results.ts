import type { Principal } from '@costspan/sdk';
import { BudgetExceededError, budgetUnavailable, type BudgetLimitType, type BudgetUnit } from './budget-exceeded-error.js';
import { toDisplay, type ApplicableLimit, type NormalizedLimits } from './budget-limits.js';
import type { BudgetStoreCrossing, BudgetStoreReading, BudgetStoreRefusal } from './budget-store.js';
import type { TripSnapshot } from './circuit-breaker.js';
import type { BudgetAlert, BudgetLimitStatus } from './budget-guard-types.js';
import type { BudgetRefusedCall } from './budget-exceeded-error.js';
import { refuses } from './in-memory-budget-store.js';

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
    // An entry without amounts (`daily: {}`) tracks spend only: both units are shown.
    const trackingOnly =
      amount.limitPico === undefined && amount.limitTokens === undefined && amount.alertsPico.length + amount.alertsTokens.length === 0;
    if (trackingOnly || amount.limitPico !== undefined || amount.alertsPico.length > 0) {
      limits.push(status(limit, 'usd', amount.limitPico, reading.spentPico, reading.reservedPico));
    }
    if (trackingOnly || amount.limitTokens !== undefined || amount.alertsTokens.length > 0) {
      limits.push(status(limit, 'tokens', amount.limitTokens, reading.spentTokens, reading.reservedTokens));
    }
  }
  return limits;
}

/** @internal The refusal of an estimate larger than the per-request limit, if it is. */
export function perRequestRefusal(
  limits: NormalizedLimits,
  pico: bigint,
  tokens: bigint,
  principal: Principal,
  outputTokens?: bigint,
  call?: BudgetRefusedCall,
): BudgetExceededError | undefined {
  const { perRequestPico, perRequestTokens, perRequestOutputTokens } = limits;
  const refuse = (limitType: 'per_request' | 'per_request_output', unit: BudgetUnit, limit: bigint, attempted: bigint) =>
    new BudgetExceededError({
      limitType,
      unit,
      limit,
      current: 0n,
      attempted,
      principal,
      scope: 'request',
      window: 'request',
      ...(call === undefined ? {} : { call }),
    });
  if (perRequestPico !== undefined && pico > perRequestPico) return refuse('per_request', 'usd', perRequestPico, pico);
  if (perRequestTokens !== undefined && tokens > perRequestTokens) return refuse('per_request', 'tokens', perRequestTokens, tokens);
  if (perRequestOutputTokens !== undefined && outputTokens !== undefined && outputTokens > perRequestOutputTokens) {
    return refuse('per_request_output', 'tokens', perRequestOutputTokens, outputTokens);
  }
  return undefined;
}

/**
 * @internal The error of a store refusal, and the breaker to trip when the refusing limit is
 * used up. Only a used-up limit trips it: an estimate too large for what is left must not
 * block the smaller calls that still fit.
 */
export function storeRefusal(
  applicable: readonly ApplicableLimit[],
  refusal: BudgetStoreRefusal,
  pico: bigint,
  tokens: bigint,
  principal: Principal,
  call?: BudgetRefusedCall,
): { error: Error; trip: { key: string; snapshot: TripSnapshot } | undefined } {
  const limit = applicable[refusal.index];
  if (limit === undefined) {
    return { error: budgetUnavailable('reserve', new Error(`store refused unknown counter ${refusal.index}`)), trip: undefined };
  }
  const limitAmount = (refusal.unit === 'usd' ? limit.amount.limitPico : limit.amount.limitTokens) ?? 0n;
  const snapshot: TripSnapshot = {
    limitType: limit.limitType,
    unit: refusal.unit,
    limit: limitAmount,
    current: refusal.current,
    scope: limit.scope,
    window: limit.window,
  };
  const attempted = refusal.unit === 'usd' ? pico : tokens;
  return {
    error: new BudgetExceededError({
      ...snapshot,
      attempted,
      principal,
      ...(refusal.spent === undefined ? {} : { spent: refusal.spent }),
      ...(refusal.reserved === undefined ? {} : { reserved: refusal.reserved }),
      ...(call === undefined ? {} : { call }),
    }),
    trip: refusal.current >= limitAmount ? { key: limit.counter.key, snapshot } : undefined,
  };
}

/** @internal The refusal of a call while the breaker of a used-up limit is open (or its probe is out). */
export function breakerRefusal(
  snapshot: TripSnapshot,
  pico: bigint,
  tokens: bigint,
  principal: Principal,
  call?: BudgetRefusedCall,
): BudgetExceededError {
  const attempted = snapshot.unit === 'usd' ? pico : tokens;
  return new BudgetExceededError({
    ...snapshot,
    limitType: 'circuit_breaker',
    trippedBy: snapshot.limitType,
    attempted,
    principal,
    ...(call === undefined ? {} : { call }),
  });
}

/**
 * @internal The store refusal `reserve` would meet now, from readings of the same counters
 * (the rule every store applies), without reserving.
 */
export function refusalOfReadings(
  applicable: readonly ApplicableLimit[],
  readings: readonly BudgetStoreReading[],
  pico: bigint,
  tokens: bigint,
  check: 'projected' | 'exhausted',
): BudgetStoreRefusal | undefined {
  for (const [index, limit] of applicable.entries()) {
    const reading = readings[index];
    if (reading === undefined) continue;
    const usd = reading.spentPico + reading.reservedPico;
    if (refuses(usd, pico, limit.counter.limitPico, check)) {
      return { index, unit: 'usd', current: usd, spent: reading.spentPico, reserved: reading.reservedPico };
    }
    const used = reading.spentTokens + reading.reservedTokens;
    if (refuses(used, tokens, limit.counter.limitTokens, check)) {
      return { index, unit: 'tokens', current: used, spent: reading.spentTokens, reserved: reading.reservedTokens };
    }
  }
  return undefined;
}
