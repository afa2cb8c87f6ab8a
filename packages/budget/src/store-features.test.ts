import { describe, expect, it } from 'vitest';
import { BudgetGuard } from './budget-guard.js';
import type { BudgetAlert } from './budget-guard-types.js';
import type { BudgetStore } from './budget-store.js';
import { InMemoryBudgetStore } from './in-memory-budget-store.js';
import { minimalStore } from './__fixtures__/guard-fixtures.js';

const T0 = Date.UTC(2026, 2, 4, 12, 0, 0);

/** A store written for the first interface: reserve, commit, read and close only. */
const firstInterfaceStore = (): BudgetStore => minimalStore();

describe('stores without the optional methods', () => {
  it('keep enforcing limits and firing alerts; setLimit and reset say the store lacks them', async () => {
    const alerts: BudgetAlert[] = [];
    const guard = new BudgetGuard({
      store: firstInterfaceStore(),
      limits: { global: { daily: { usd: 1, alertAt: [{ fraction: 0.5 }] } } },
      now: () => T0,
      onAlert: (alert) => alerts.push(alert),
      onError: () => undefined,
    });
    await guard.settle(await guard.reserve({ estimatedUsd: 0.6, agentName: 'bot' }), 0.6);
    expect(alerts).toHaveLength(1);
    await expect(guard.reserve({ estimatedUsd: 0.5 })).rejects.toMatchObject({ code: 'budget_exceeded' });
    await expect(guard.setLimit({ userId: 'alice' }, { daily: { usd: 1 } })).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringContaining('setLimit'),
    });
    await expect(guard.reset()).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(await guard.listLimits()).toEqual([]);
  });
});

describe('a store that cannot read overrides', () => {
  function overridesDown(): BudgetStore {
    const memory = new InMemoryBudgetStore();
    return Object.assign(memory, { getLimits: () => Promise.reject(new Error('connection reset')) });
  }

  it('refuses with budget_unavailable, or admits with failOpen (unbacked, reported)', async () => {
    const closed = new BudgetGuard({ store: overridesDown(), limits: { user: { daily: { usd: 1 } } }, onError: () => undefined });
    await expect(closed.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.1 })).rejects.toMatchObject({
      code: 'budget_unavailable',
    });
    const errors: unknown[] = [];
    const open = new BudgetGuard({
      store: overridesDown(),
      limits: { user: { daily: { usd: 1 } } },
      failOpen: true,
      onError: (error) => errors.push(error),
    });
    const reservation = await open.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.1 });
    expect(reservation.backed).toBe(true); // the store's reserve still answered, with the defaults
    expect(errors).toEqual([expect.objectContaining({ code: 'budget_unavailable', message: expect.stringContaining('connection reset') })]);
    // limitOverrides: false never reads them.
    const without = new BudgetGuard({ store: overridesDown(), limits: { user: { daily: { usd: 1 } } }, limitOverrides: false });
    await without.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.1 });
  });
});

describe('InMemoryBudgetStore history and claims', () => {
  it('keeps the newest samples only, and claims a key once until it expires', async () => {
    const store = new InMemoryBudgetStore();
    for (let at = 0; at < 5; at += 1) await store.addSample('a', { pico: BigInt(at), tokens: 0n, at }, 3);
    expect((await store.readSamples('a')).map((sample) => sample.at)).toEqual([4, 3, 2]);
    expect(await store.claimOnce('k', 0)).toBe(true);
    expect(await store.claimOnce('k', 0)).toBe(false);
    expect(await store.claimOnce('short', 1)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await store.claimOnce('short', 1)).toBe(true);
  });
});

describe('InMemoryBudgetStore bounds', () => {
  it('keeps at most 10 000 histories, dropping the least recently written', async () => {
    const store = new InMemoryBudgetStore();
    for (let index = 0; index <= 10_000; index += 1) await store.addSample(`agent-${index}`, { pico: 1n, tokens: 1n, at: index }, 1);
    expect(await store.readSamples('agent-0')).toEqual([]);
    expect(await store.readSamples('agent-10000')).toHaveLength(1);
  });
});
