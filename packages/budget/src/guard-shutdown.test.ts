// BudgetGuard.shutdown is bounded and idempotent (OTel's BindOnceFuture idea): two calls
// close the store once, and a store that hangs or throws never holds up or crashes the host.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BudgetGuard } from './budget-guard.js';
import { InMemoryBudgetStore } from './in-memory-budget-store.js';
import { minimalStore } from './__fixtures__/guard-fixtures.js';

const limits = { global: { daily: { usd: 1 } } };
const spend = { principal: {}, runId: 'r', rootRunId: 'r', agentName: 'a', usd: 1n, tokens: 1, timestamp: 0 };

afterEach(() => {
  vi.restoreAllMocks();
});

async function timed(work: Promise<unknown>): Promise<number> {
  const started = Date.now();
  await work;
  return Date.now() - started;
}

describe('BudgetGuard.shutdown', () => {
  it('two concurrent calls close the store it owns once, and share one promise', async () => {
    const close = vi.spyOn(InMemoryBudgetStore.prototype, 'close');
    const guard = new BudgetGuard({ limits });
    const first = guard.shutdown();
    const second = guard.shutdown();
    expect(second).toBe(first);
    await Promise.all([first, second, guard.shutdown()]);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('closes a store you pass only with closeStore: true, then once', async () => {
    let closes = 0;
    const store = minimalStore({ close: () => Promise.resolve(void (closes += 1)) });
    await new BudgetGuard({ limits, store }).shutdown();
    expect(closes).toBe(0);
    const owning = new BudgetGuard({ limits, store, closeStore: true });
    await Promise.all([owning.shutdown(), owning.shutdown()]);
    expect(closes).toBe(1);
  });

  it('resolves within its timeout when the store close never settles, and says so', async () => {
    const errors: unknown[] = [];
    const store = minimalStore({ close: () => new Promise<void>(() => undefined) });
    const guard = new BudgetGuard({ limits, store, closeStore: true, flushTimeoutMs: 200, onError: (error) => errors.push(error) });
    expect(await timed(guard.shutdown())).toBeLessThan(400);
    expect(errors).toEqual([
      expect.objectContaining({ code: 'shutdown', message: expect.stringContaining('did not close within 200 ms') }),
    ]);
  });

  it('resolves when the store close throws or rejects, reporting the error', async () => {
    for (const close of [
      () => {
        throw new Error('close exploded');
      },
      () => Promise.reject(new Error('close rejected')),
    ]) {
      const errors: unknown[] = [];
      const guard = new BudgetGuard({ limits, store: minimalStore({ close }), closeStore: true, onError: (error) => errors.push(error) });
      await expect(guard.shutdown()).resolves.toBeUndefined();
      expect(errors).toEqual([
        expect.objectContaining({ code: 'budget_unavailable', message: expect.stringMatching(/close (exploded|rejected)/) }),
      ]);
    }
  });

  it('resolves within its timeout when a booking never finishes, counting what may be lost', async () => {
    const errors: unknown[] = [];
    let closes = 0;
    const store = minimalStore({
      commit: () => new Promise(() => undefined),
      close: () => Promise.resolve(void (closes += 1)),
    });
    const guard = new BudgetGuard({ limits, store, closeStore: true, flushTimeoutMs: 200, onError: (error) => errors.push(error) });
    guard.record(spend);
    guard.record(spend);
    expect(await timed(guard.flush())).toBeLessThan(400);
    expect(await timed(guard.shutdown())).toBeLessThan(400);
    expect(closes).toBe(1);
    expect(errors.map((error) => (error as Error).message)).toEqual([
      expect.stringMatching(/^BudgetGuard\.flush: 2 store operation\(s\) did not finish within 200 ms/),
      expect.stringMatching(/^BudgetGuard\.shutdown: 2 store operation\(s\) did not finish within 200 ms/),
    ]);
  });

  it('refuses a flushTimeoutMs that is not a positive number of milliseconds', () => {
    expect(() => new BudgetGuard({ limits, flushTimeoutMs: 0 })).toThrow(expect.objectContaining({ field: 'flushTimeoutMs' }));
  });
});
