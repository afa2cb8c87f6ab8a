import { describe, expect, it } from 'vitest';
import type { BudgetStoreCounter, BudgetStoreReserveRequest } from './budget-store.js';
import { commitArgs, crossingsOf, readingsOf, refusalOf, reserveArgs } from './redis-script-protocol.js';

// The one reader and writer of the budget script's calls, shared by the single-node and the cluster
// store: the layouts below are the ones redis-budget-script.ts documents and parses.

const daily: BudgetStoreCounter = { key: 'user_daily:alice:2026-03-04', limitPico: 5_000_000_000_000n, ttlMs: 90_000_000 };
const rolling: BudgetStoreCounter = {
  key: 'team_rolling:search',
  limitTokens: 1000n,
  ttlMs: 0,
  alertsPico: [1n, 2n],
  alertsTokens: [500n],
  rolling: { windowMs: 600_000, bucketMs: 60_000 },
};

describe('budget script arguments', () => {
  it('reserve: the call, then limit pico, limit tokens, ttl and rolling window per counter', () => {
    const request: BudgetStoreReserveRequest = {
      id: 'r1',
      counters: [daily, rolling],
      pico: 20_000_000_000_000_003n,
      tokens: 7n,
      expiresAt: 1000,
      now: 10,
      check: 'projected',
    };
    expect(reserveArgs(request, request.counters)).toEqual([
      'reserve',
      '10',
      'r1|20000000000000003|7',
      '1000',
      '20000000000000003',
      '7',
      'projected',
      '5000000000000',
      '',
      '90000000',
      '',
      '',
      '',
      '1000',
      '0',
      '600000',
      '60000',
    ]);
    expect(reserveArgs(request, [rolling]).slice(7)).toEqual(['', '1000', '0', '600000', '60000']);
  });

  it('commit: the release member (empty without one), its counter count, the spend, then ttl, alerts and window per spend counter', () => {
    const release = { id: 'r1', keys: ['a'], pico: 3n, tokens: 4n };
    expect(
      commitArgs({ now: 10, release, releaseCount: 1, spend: { counters: [rolling], pico: 9n, tokens: 8n }, spendCounters: [rolling] }),
    ).toEqual(['commit', '10', 'r1|3|4', '1', '9', '8', '0', '1,2', '500', '600000', '60000']);
    expect(commitArgs({ now: 10, release: undefined, releaseCount: 0, spend: undefined, spendCounters: [] })).toEqual([
      'commit',
      '10',
      '',
      '0',
      '0',
      '0',
    ]);
  });
});

describe('budget script replies', () => {
  it('a refusal names the call position of the counter (through a slot group when given) and keeps money exact', () => {
    const reply = ['refused', '1', 'usd', '20000000000000003', '20000000000000001', '2'];
    expect(refusalOf(['ok'])).toBeUndefined();
    expect(refusalOf(reply)).toEqual({
      index: 1,
      unit: 'usd',
      current: 20_000_000_000_000_003n,
      spent: 20_000_000_000_000_001n,
      reserved: 2n,
    });
    expect(refusalOf(reply, [4, 7])).toMatchObject({ index: 7 });
  });

  it('crossings are quadruples mapped to the call positions of the spend counters', () => {
    const reply = ['0', 'usd', '0.5', '600', '1', 'tokens', '0.8', '900'];
    expect(crossingsOf(reply)).toEqual([
      { index: 0, unit: 'usd', threshold: 0.5, spent: 600n },
      { index: 1, unit: 'tokens', threshold: 0.8, spent: 900n },
    ]);
    expect(crossingsOf(reply, [3, 5]).map((crossing) => crossing.index)).toEqual([3, 5]);
  });

  it('readings are sp, st, rp, rt per counter', () => {
    expect(readingsOf(['1', '2', '3', '4', '5', '6', '7', '8'], 2)).toEqual([
      { spentPico: 1n, spentTokens: 2n, reservedPico: 3n, reservedTokens: 4n },
      { spentPico: 5n, spentTokens: 6n, reservedPico: 7n, reservedTokens: 8n },
    ]);
  });

  it('a reply the script cannot give is an error that quotes it (a version mismatch or a foreign key)', () => {
    const bad = [
      () => refusalOf('OK'),
      () => refusalOf([]),
      () => refusalOf(['refused', '0', 'eur', '1', '1', '0']),
      () => refusalOf(['refused', 'x', 'usd', '1', '1', '0']),
      () => refusalOf(['refused', '2', 'usd', '1', '1', '0'], [0, 1]),
      () => crossingsOf(['0', 'usd', '0.5']),
      () => crossingsOf(['-1', 'usd', '0.5', '1']),
      () => crossingsOf(['0', 'pounds', '0.5', '1']),
      () => readingsOf(['1', '2', '3'], 1),
    ];
    for (const decode of bad) expect(decode).toThrow(/^unexpected reply from the budget script: /);
  });
});
