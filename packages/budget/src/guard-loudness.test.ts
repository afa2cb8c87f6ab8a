// A guard is never silently wrong: store failures in the background reach a person once per
// cause even with no onError and no diag logger, and a guard that was shut down refuses new
// reservations instead of starting over from empty counters.
import { afterEach, describe, expect, it } from 'vitest';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { CostspanError } from '@costspan/core';
import { BudgetGuard } from './budget-guard.js';
import type { BudgetStore } from './budget-store.js';
import { InMemoryBudgetStore } from './in-memory-budget-store.js';
import { captureNotices, minimalStore } from './__fixtures__/guard-fixtures.js';

const limits = { global: { daily: { usd: 1 } } };
const spend = { principal: {}, runId: 'r', rootRunId: 'r', agentName: 'a', usd: 1n, tokens: 1, timestamp: 0 };

const notices = captureNotices();
afterEach(() => {
  diag.disable();
});

/** A real in-memory store whose commits fail, as a store that lost its connection does. */
function failingCommitStore(): BudgetStore {
  return minimalStore({ commit: () => Promise.reject(new Error('connection reset')) });
}

function collectingLogger(errors: string[]): DiagLogger {
  const ignore = (): void => undefined;
  // A component logger passes its namespace first, then the message.
  const error = (...parts: unknown[]): void => void errors.push(parts.map(String).join(' '));
  return { error, warn: ignore, info: ignore, debug: ignore, verbose: ignore };
}

describe('store failures in record and release', () => {
  it('with no onError, tell a person once per operation (and still go to diag, once per failure)', async () => {
    const errors: string[] = [];
    diag.setLogger(collectingLogger(errors), DiagLogLevel.ERROR);
    const guard = new BudgetGuard({ limits, store: failingCommitStore() });
    for (let index = 0; index < 3; index += 1) {
      guard.record(spend);
      const reservation = await guard.reserve({ principal: {}, estimatedUsd: 0.01 });
      await guard.release(reservation);
    }
    await guard.flush();
    expect(notices.map((notice) => notice.cause).sort()).toEqual(['budget_store_failed:record', 'budget_store_failed:release']);
    for (const notice of notices) {
      expect(notice.message).toContain('connection reset');
      expect(notice.message).toContain('onError');
    }
    expect(notices.find((notice) => notice.cause.endsWith(':record'))?.message).toMatch(/spend .* not booked/);
    expect(errors.filter((message) => message.includes('connection reset'))).toHaveLength(6);
  });

  it('with onError, every failure goes there and nothing is noticed', async () => {
    const received: unknown[] = [];
    const guard = new BudgetGuard({ limits, store: failingCommitStore(), onError: (error) => received.push(error) });
    guard.record(spend);
    guard.record(spend);
    await guard.release(await guard.reserve({ principal: {}, estimatedUsd: 0.01 }));
    await guard.flush();
    expect(received).toHaveLength(3);
    for (const error of received) expect(error).toMatchObject({ code: 'budget_unavailable' });
    expect(notices).toEqual([]);
  });
});

describe('reserve after shutdown', () => {
  it('refuses with a CostspanError instead of starting over from empty counters', async () => {
    const guard = new BudgetGuard({ limits });
    await guard.reserve({ principal: {}, estimatedUsd: 0.8 });
    await guard.shutdown();
    // The guard-owned in-memory store was closed (emptied): 0.8 more would fit in a fresh one.
    const refused = await guard.reserve({ principal: {}, estimatedUsd: 0.8 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(CostspanError.isInstance(refused)).toBe(true);
    expect(refused).toMatchObject({ code: 'shutdown', message: expect.stringContaining('shut down') });
  });

  it('refuses on a store the guard does not own too, even with failOpen', async () => {
    const guard = new BudgetGuard({ limits, store: new InMemoryBudgetStore(), failOpen: true });
    await guard.shutdown();
    await expect(guard.reserve({ principal: {}, estimatedUsd: 0.1 })).rejects.toMatchObject({ code: 'shutdown' });
  });
});
