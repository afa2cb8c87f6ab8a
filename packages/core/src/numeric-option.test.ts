import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MILLIS, integerOption, millisecondsOption } from './numeric-option.js';

describe('integerOption', () => {
  it('gives the fallback for undefined and keeps a safe integer ≥ min', () => {
    expect(integerOption(undefined, 'maxQueueSize', { fallback: 7 })).toBe(7);
    expect(integerOption(1, 'maxQueueSize', { fallback: 7 })).toBe(1);
    expect(integerOption(0, 'maxValuesPerKey', { fallback: 100, min: 0 })).toBe(0);
    expect(integerOption(Number.MAX_SAFE_INTEGER, 'maxQueueSize', { fallback: 7 })).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([NaN, Infinity, -Infinity, -1, 0, 1.5, 2 ** 53, '10', null, true, 10n])('refuses %s, naming the field', (value) => {
    expect(() => integerOption(value, 'maxQueueSize', { fallback: 7 })).toThrow(
      expect.objectContaining({ name: 'CostspanError', code: 'invalid_argument', field: 'maxQueueSize' }),
    );
  });

  it('says what is allowed', () => {
    expect(() => integerOption(-1, 'maxValuesPerKey', { fallback: 100, min: 0 })).toThrow('maxValuesPerKey must be an integer ≥ 0; got -1');
  });
});

describe('millisecondsOption', () => {
  it('gives the fallback for undefined and keeps fractions up to the longest timer delay', () => {
    expect(millisecondsOption(undefined, 'exportTimeoutMillis', { fallback: 30_000 })).toBe(30_000);
    expect(millisecondsOption(1, 'exportTimeoutMillis', { fallback: 30_000 })).toBe(1);
    expect(millisecondsOption(250.5, 'exportTimeoutMillis', { fallback: 30_000 })).toBe(250.5);
    expect(millisecondsOption(0, 'blockedWriteTimeoutMillis', { fallback: 2000, min: 0 })).toBe(0);
    expect(millisecondsOption(MAX_TIMER_MILLIS, 'exportTimeoutMillis', { fallback: 30_000 })).toBe(MAX_TIMER_MILLIS);
  });

  it.each([NaN, Infinity, -1, 0, 0.5, MAX_TIMER_MILLIS + 1, '500', null])('refuses %s, naming the field', (value) => {
    expect(() => millisecondsOption(value, 'exportTimeoutMillis', { fallback: 30_000 })).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'exportTimeoutMillis' }),
    );
  });

  it('says what is allowed', () => {
    expect(() => millisecondsOption(Infinity, 'exportTimeoutMillis', { fallback: 30_000 })).toThrow(
      'exportTimeoutMillis must be a number of milliseconds from 1 to 2147483647; got Infinity',
    );
  });
});
