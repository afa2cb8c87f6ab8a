// The circuit breaker in front of the store: open once a hard limit is used up (refusing locally,
// without a round trip), half-open after the cooldown, closed on the next success.
import { describe, expect, it, vi } from 'vitest';
import { InMemoryBudgetStore } from './in-memory-budget-store.js';
import { clockedGuard, directSpend, refusal } from './__fixtures__/guard-fixtures.js';

describe('circuit breaker', () => {
  it('opens when a hard limit is used up, refuses locally, half-opens after the cooldown and closes on success', async () => {
    const store = new InMemoryBudgetStore();
    const reserveSpy = vi.spyOn(store, 'reserve');
    const { guard, advance } = clockedGuard({ limits: { user: { daily: { usd: 1 } } }, store, circuitBreaker: { cooldownMs: 10_000 } });
    const alice = { userId: 'alice' };
    const big = await guard.reserve({ principal: alice, estimatedUsd: 1 });
    expect(guard.circuitState(alice)).toBe('CLOSED');
    expect((await refusal(guard.reserve({ principal: alice, estimatedUsd: 0.01 }))).limitType).toBe('user_daily');
    expect(guard.circuitState(alice)).toBe('OPEN');
    expect((await guard.getBudget(alice)).circuit).toBe('OPEN');
    const calls = reserveSpy.mock.calls.length;
    const open = await refusal(guard.reserve({ principal: alice, estimatedUsd: 0.01 }));
    expect(open).toMatchObject({ limitType: 'circuit_breaker', trippedBy: 'user_daily', scope: 'user:alice', limit: 1, current: 1 });
    expect(reserveSpy.mock.calls.length).toBe(calls); // refused without asking the store
    // Other users are not affected.
    await expect(guard.reserve({ principal: { userId: 'bob' }, estimatedUsd: 0.5 })).resolves.toBeDefined();
    expect(guard.circuitState({ userId: 'bob' })).toBe('CLOSED');
    advance(10_000);
    expect(guard.circuitState(alice)).toBe('HALF_OPEN');
    expect((await refusal(guard.reserve({ principal: alice, estimatedUsd: 0.01 }))).limitType).toBe('user_daily');
    expect(guard.circuitState(alice)).toBe('OPEN');
    await guard.release(big); // budget given back here: ask the store again at once
    expect(guard.circuitState(alice)).toBe('HALF_OPEN');
    await expect(guard.reserve({ principal: alice, estimatedUsd: 0.01 })).resolves.toBeDefined();
    expect(guard.circuitState(alice)).toBe('CLOSED');
  });

  it('does not open when only a large estimate does not fit', async () => {
    const { guard } = clockedGuard({ limits: { global: { daily: { usd: 1 } } } });
    await guard.reserve({ estimatedUsd: 0.9 });
    expect((await refusal(guard.reserve({ estimatedUsd: 0.5 }))).limitType).toBe('daily');
    expect(guard.circuitState()).toBe('CLOSED');
    await expect(guard.reserve({ estimatedUsd: 0.1 })).resolves.toBeDefined();
  });

  it('reopens when the half-open trial is refused', async () => {
    const { guard, advance } = clockedGuard({ limits: { global: { daily: { usd: 1 } } }, circuitBreaker: { cooldownMs: 1000 } });
    guard.record(directSpend(1));
    await guard.flush();
    await refusal(guard.reserve({ estimatedUsd: 0.1 }));
    advance(1000);
    expect(guard.circuitState()).toBe('HALF_OPEN');
    expect((await refusal(guard.reserve({ estimatedUsd: 0.1 }))).limitType).toBe('daily');
    expect(guard.circuitState()).toBe('OPEN');
  });

  it('can be disabled', async () => {
    const { guard } = clockedGuard({ limits: { global: { daily: { usd: 1 } } }, circuitBreaker: false });
    const held = await guard.reserve({ estimatedUsd: 1 });
    expect((await refusal(guard.reserve({ estimatedUsd: 0.5 }))).limitType).toBe('daily');
    expect((await refusal(guard.reserve({ estimatedUsd: 0.5 }))).limitType).toBe('daily');
    await guard.release(held);
    await expect(guard.reserve({ estimatedUsd: 0.5 })).resolves.toBeDefined();
    expect(guard.circuitState()).toBe('CLOSED');
  });
});
