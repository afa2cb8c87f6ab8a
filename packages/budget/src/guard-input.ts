import { invalidInput, usdToPico } from '@costspan/core';
import type { BudgetLimitCheck } from './budget-store.js';
import { validateName } from '@costspan/sdk/internal';

// Input checks shared by BudgetGuard's methods: each names the field, never quotes more than the value.

/** @internal USD (number or decimal string) or exact pico-USD as a bigint; `undefined` is 0. */
export function toPico(value: number | string | bigint | undefined, field: string): bigint {
  if (value === undefined) return 0n;
  if (typeof value === 'bigint') {
    if (value < 0n) throw invalidInput('invalid_cost', field, value, 'a non-negative amount of pico-USD');
    return value;
  }
  return usdToPico(value, field);
}

/** @internal */
export function toTokens(value: number | undefined, field: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidInput('invalid_tokens', field, value, 'a non-negative integer number of tokens');
  }
  return value;
}

/** @internal */
export function positiveMs(value: number, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidInput('invalid_argument', field, value, 'a positive number of milliseconds');
  }
  return value;
}

/** @internal */
export function optionalId(value: unknown, field: string): string | undefined {
  return value === undefined ? undefined : validateName(value, field);
}

/** @internal */
export function describeReservation(reservation: unknown): unknown {
  return typeof reservation === 'object' && reservation !== null && 'id' in reservation ? { id: reservation.id } : reservation;
}

/** @internal */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** @internal The `limitCheck` option; default `projected`. */
export function limitCheckOf(value: unknown): BudgetLimitCheck {
  const check = value ?? 'projected';
  if (check !== 'projected' && check !== 'exhausted') {
    throw invalidInput('invalid_argument', 'limitCheck', check, '"projected" or "exhausted"');
  }
  return check;
}

/** @internal The circuit breaker's `cooldownMs`; default 60 000. */
export function cooldownOf(value: unknown): number {
  const cooldown = value ?? 60_000;
  if (typeof cooldown !== 'number' || !Number.isFinite(cooldown) || cooldown < 0) {
    throw invalidInput('invalid_argument', 'circuitBreaker.cooldownMs', cooldown, 'a non-negative number of milliseconds');
  }
  return cooldown;
}
