import { invalidInput } from './costspan-error.js';

// Checks of numeric options, done once at construction: `undefined` is the default, anything
// else out of range is refused (never silently replaced by the default).

/** Longest delay a Node.js timer honours (2^31 − 1 ms, about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MILLIS: number = 2_147_483_647;

/** The default of a numeric option, and the least value it takes (default 1). */
export interface NumericOptionBounds {
  /** The value when the option is `undefined`. */
  fallback: number;
  /** The least value allowed. Default 1. */
  min?: number;
}

/**
 * A whole-number option (a size or a count): `fallback` when `value` is `undefined`, else `value`
 * when it is a safe integer ≥ `min` (default 1). Anything else (`NaN`, `Infinity`, `1.5`, `"10"`,
 * `null`) throws a {@link CostspanError} with code `invalid_argument` naming `field`.
 *
 * @example
 * ```ts
 * this.maxQueueSize = integerOption(options.maxQueueSize, 'maxQueueSize', { fallback: 262_144 });
 * ```
 */
export function integerOption(value: unknown, field: string, { fallback, min = 1 }: NumericOptionBounds): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalidInput('invalid_argument', field, value, `an integer ≥ ${min}`);
  }
  return value;
}

/**
 * A duration option in milliseconds, as a timer takes it: `fallback` when `value` is `undefined`,
 * else `value` when it is a number from `min` (default 1) to {@link MAX_TIMER_MILLIS}; fractions
 * are kept. Anything else (`NaN`, `Infinity`, a negative number, a string, a delay a timer would
 * cut to 1 ms) throws a {@link CostspanError} with code `invalid_argument` naming `field`.
 */
export function millisecondsOption(value: unknown, field: string, { fallback, min = 1 }: NumericOptionBounds): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= min && value <= MAX_TIMER_MILLIS)) {
    throw invalidInput('invalid_argument', field, value, `a number of milliseconds from ${min} to ${MAX_TIMER_MILLIS}`);
  }
  return value;
}
