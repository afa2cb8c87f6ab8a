// Half-open lets exactly one probe through to the store; concurrent callers are refused
// (circuit_breaker) until it ends, whatever its outcome.
import { describe, expect, it, vi } from 'vitest';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { BudgetGuard } from './budget-guard.js';
import { InMemoryBudgetStore } from './in-memory-budget-store.js';

const T0 = Date.UTC(2026, 2, 4, 12);
const alice = { userId: 'alice' };

function setUp() {
  let now = T0;
  const store = new InMemoryBudgetStore();
  const reserve = vi.spyOn(store, 'reserve');
  const guard = new BudgetGuard({
    limits: { user: { daily: { usd: 1 } } },
    store,
    now: () => now,
    circuitBreaker: { cooldownMs: 1000 },
    onError: () => undefined,
  });
  return { guard, reserve, advance: (ms: number) => (now += ms) };
}

/** Five callers at once; each outcome is `granted` or the refusing limit type / error code. */
async function fiveAtOnce(guard: BudgetGuard): Promise<string[]> {
  const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => guard.reserve({ principal: alice, estimatedUsd: 0.01 })));
  return outcomes
    .map((outcome) => {
      if (outcome.status === 'fulfilled') return 'granted';
      const reason: unknown = outcome.reason;
      return BudgetExceededError.isInstance(reason) ? reason.limitType : String((reason as { code?: string }).code);
    })
    .sort();
}

describe('half-open circuit breaker', () => {
  it('sends one probe to the store, not every concurrent caller, and reopens when the limit is still used up', async () => {
    const { guard, reserve, advance } = setUp();
    const held = await guard.reserve({ principal: alice, estimatedUsd: 1 });
    await expect(guard.reserve({ principal: alice, estimatedUsd: 0.01 })).rejects.toMatchObject({ limitType: 'user_daily' });
    advance(1000);
    expect(guard.circuitState(alice)).toBe('HALF_OPEN');
    reserve.mockClear();
    expect(await fiveAtOnce(guard)).toEqual(['circuit_breaker', 'circuit_breaker', 'circuit_breaker', 'circuit_breaker', 'user_daily']);
    expect(reserve).toHaveBeenCalledTimes(1);
    expect(guard.circuitState(alice)).toBe('OPEN');

    await guard.release(held); // budget given back here: half-open at once
    reserve.mockClear();
    expect(await fiveAtOnce(guard)).toEqual(['circuit_breaker', 'circuit_breaker', 'circuit_breaker', 'circuit_breaker', 'granted']);
    expect(reserve).toHaveBeenCalledTimes(1);
    expect(guard.circuitState(alice)).toBe('CLOSED');
    expect(await fiveAtOnce(guard)).toEqual(['granted', 'granted', 'granted', 'granted', 'granted']);
  });

  it('a probe the store could not answer lets the next caller probe', async () => {
    const { guard, reserve, advance } = setUp();
    await guard.reserve({ principal: alice, estimatedUsd: 1 });
    await expect(guard.reserve({ principal: alice })).rejects.toMatchObject({ limitType: 'user_daily' });
    advance(1000);
    reserve.mockClear();
    reserve.mockRejectedValueOnce(new Error('store down'));
    expect(await fiveAtOnce(guard)).toEqual([
      'budget_unavailable',
      'circuit_breaker',
      'circuit_breaker',
      'circuit_breaker',
      'circuit_breaker',
    ]);
    expect(guard.circuitState(alice)).toBe('HALF_OPEN');
    await expect(guard.reserve({ principal: alice, estimatedUsd: 0.01 })).rejects.toMatchObject({ limitType: 'user_daily' });
    expect(reserve).toHaveBeenCalledTimes(2);
  });

  it('a probe refused only for a too-large estimate leaves it half-open for the next caller', async () => {
    const { guard, reserve, advance } = setUp();
    const held = await guard.reserve({ principal: alice, estimatedUsd: 1 });
    await expect(guard.reserve({ principal: alice })).rejects.toMatchObject({ limitType: 'user_daily' });
    await guard.settle(held, 0.5); // half-opens: $0.50 left
    advance(1);
    await expect(guard.reserve({ principal: alice, estimatedUsd: 0.75 })).rejects.toMatchObject({ limitType: 'user_daily' });
    expect(guard.circuitState(alice)).toBe('HALF_OPEN');
    reserve.mockClear();
    await expect(guard.reserve({ principal: alice, estimatedUsd: 0.25 })).resolves.toMatchObject({ backed: true });
    expect(reserve).toHaveBeenCalledTimes(1);
  });
});
