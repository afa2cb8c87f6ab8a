import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { CostspanError, MAX_TIMER_MILLIS } from '@costspan/core';
import { BudgetGuard } from './budget-guard.js';
import { RedisBudgetStore } from './redis-budget-store.js';
import { RedisClusterBudgetStore } from './redis-cluster-budget-store.js';

// The numeric options of the guard and the Redis stores, checked at construction: a bad value is
// refused with the option's name, never replaced by the default. Nothing here connects anywhere.

const limits = { user: { daily: { usd: 1 } } };
// Refused before a client is created, so these never connect.
const redisStore = (options: Record<string, unknown>) => new RedisBudgetStore({ url: 'redis://127.0.0.1:1', ...options });
const clusterStore = (options: Record<string, unknown>) => new RedisClusterBudgetStore({ nodes: ['127.0.0.1:1'], ...options });

/** Options that are a timer's delay: a number from 1 to 2^31 − 1 ms (a longer delay fires after 1 ms). */
const delays: [string, string, (value: unknown) => unknown][] = [
  ['RedisBudgetStore', 'timeoutMs', (value) => redisStore({ timeoutMs: value })],
  ['RedisBudgetStore', 'connectTimeoutMs', (value) => redisStore({ connectTimeoutMs: value })],
  ['RedisClusterBudgetStore', 'timeoutMs', (value) => clusterStore({ timeoutMs: value })],
  ['RedisClusterBudgetStore', 'connectTimeoutMs', (value) => clusterStore({ connectTimeoutMs: value })],
  ['BudgetGuard', 'flushTimeoutMs', (value) => new BudgetGuard({ limits, flushTimeoutMs: value as number })],
];

/** Whole-number options: a safe integer from their least value. */
const integers: [string, string, (value: unknown) => unknown][] = [
  ['RedisClusterBudgetStore', 'waitForReplicas', (value) => clusterStore({ waitForReplicas: value })],
  ['BudgetGuard', 'history.keep', (value) => new BudgetGuard({ limits, history: { keep: value as number } })],
  ['BudgetGuard', 'history.minSamples', (value) => new BudgetGuard({ limits, history: { minSamples: value as number } })],
];

function refusalOf(build: () => unknown): unknown {
  try {
    build();
  } catch (error) {
    return error;
  }
  return new Error('expected a refusal');
}

describe('numeric options are refused when out of range, naming the option', () => {
  describe.each(delays)('%s %s (a timer delay)', (_, field, build) => {
    it.each([Number.NaN, Number.POSITIVE_INFINITY, -1, 0, 0.5, '10', null, 2 ** 31, MAX_TIMER_MILLIS + 1])('refuses %s', (value) => {
      const error = refusalOf(() => build(value));
      expect(CostspanError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'invalid_argument', field });
    });
  });

  describe.each(integers)('%s %s (a whole number)', (_, field, build) => {
    it.each([Number.NaN, Number.POSITIVE_INFINITY, -1, 1.5, '10', null, 2 ** 53])('refuses %s', (value) => {
      const error = refusalOf(() => build(value));
      expect(CostspanError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'invalid_argument', field });
    });
  });

  it('accepts the edges: delays of 1 and 2^31 − 1 ms, waitForReplicas 0, history sizes of 1', () => {
    const client = new Redis({ lazyConnect: true });
    try {
      for (const timeoutMs of [1, MAX_TIMER_MILLIS]) {
        expect(() => new RedisBudgetStore({ client, timeoutMs, connectTimeoutMs: timeoutMs })).not.toThrow();
        expect(() => new BudgetGuard({ limits, flushTimeoutMs: timeoutMs })).not.toThrow();
      }
      expect(() => new BudgetGuard({ limits, history: { keep: 1, minSamples: 1 } })).not.toThrow();
      expect(refusalOf(() => clusterStore({ waitForReplicas: 0, nodes: [] }))).toMatchObject({ field: 'nodes' }); // past the check
    } finally {
      client.disconnect();
    }
  });

  it('keeps TTLs that are never a timer delay open past 2^31 − 1 ms: reservationTtlMs and sessionTtlMs of 30 days', () => {
    const thirtyDays = 30 * 86_400_000;
    expect(thirtyDays).toBeGreaterThan(MAX_TIMER_MILLIS);
    expect(() => new BudgetGuard({ limits, reservationTtlMs: thirtyDays, sessionTtlMs: thirtyDays })).not.toThrow();
  });
});
