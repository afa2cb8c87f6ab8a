import { describe, expect, it } from 'vitest';
import { CostspanError, usdToPico } from '@costspan/core';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { BudgetGuard } from './budget-guard.js';
import { type BudgetGuardOptions } from './budget-guard-types.js';
import type { BudgetStore } from './budget-store.js';
import { clockedGuard, directSpend, refusal, T0 } from './__fixtures__/guard-fixtures.js';

describe('input validation', () => {
  it('refuses bad estimates, naming field and value', async () => {
    const { guard } = clockedGuard({ limits: {} });
    await expect(guard.reserve({ estimatedUsd: -1 })).rejects.toMatchObject({ code: 'invalid_cost', field: 'estimatedUsd', value: -1 });
    await expect(guard.reserve({ estimatedUsd: Number.NaN })).rejects.toMatchObject({ code: 'invalid_cost', field: 'estimatedUsd' });
    await expect(guard.reserve({ estimatedUsd: Infinity })).rejects.toMatchObject({ code: 'invalid_cost', field: 'estimatedUsd' });
    await expect(guard.reserve({ estimatedUsd: -5n })).rejects.toMatchObject({ code: 'invalid_cost', field: 'estimatedUsd' });
    await expect(guard.reserve({ estimatedTokens: 1.5 })).rejects.toMatchObject({
      code: 'invalid_tokens',
      field: 'estimatedTokens',
      value: 1.5,
    });
    await expect(guard.reserve({ estimatedTokens: -1 })).rejects.toMatchObject({ code: 'invalid_tokens' });
    await expect(guard.reserve({ principal: { userId: '' } })).rejects.toMatchObject({
      code: 'invalid_argument',
      field: 'principal.userId',
      value: '',
    });
    await expect(guard.reserve({ principal: { teamId: '  ' } })).rejects.toMatchObject({ field: 'principal.teamId' });
    await expect(guard.reserve({ rootRunId: '' })).rejects.toMatchObject({ field: 'rootRunId' });
    await expect(guard.reserve({ estimatedUsd: 'abc' })).rejects.toThrow(/estimatedUsd must be .*"abc"/);
  });

  it('refuses limits that are not positive, naming the field', () => {
    const build = (limits: BudgetGuardOptions['limits']) => () => new BudgetGuard({ limits });
    expect(build({ user: { daily: { usd: 0 } } })).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'limits.user.daily.usd', value: 0 }),
    );
    expect(build({ team: { monthly: { usd: -2 } } })).toThrow(
      expect.objectContaining({ code: 'invalid_cost', field: 'limits.team.monthly.usd' }),
    );
    expect(build({ global: { total: { tokens: 0 } } })).toThrow(
      expect.objectContaining({ code: 'invalid_tokens', field: 'limits.global.total.tokens' }),
    );
    expect(build({ perRequest: { tokens: 2.5 } })).toThrow(expect.objectContaining({ field: 'limits.perRequest.tokens', value: 2.5 }));
    expect(build({ session: { usd: 1, alertAt: [{ fraction: 1.5 }] } })).toThrow(
      expect.objectContaining({ field: 'limits.session.alertAt[0].fraction', value: 1.5 }),
    );
    expect(build({ session: { alertAt: [{ fraction: 0.5 }] } })).toThrow(/beside a usd or tokens limit/);
    expect(() => new BudgetGuard({ limits: {}, timeZone: 'Mars/Olympus' })).toThrow(
      expect.objectContaining({ field: 'timeZone', value: 'Mars/Olympus' }),
    );
    expect(() => new BudgetGuard({ limits: {}, reservationTtlMs: 0 })).toThrow(expect.objectContaining({ field: 'reservationTtlMs' }));
    expect(() => new BudgetGuard({ limits: {}, limitCheck: 'maybe' as never })).toThrow(expect.objectContaining({ field: 'limitCheck' }));
  });

  it('settle validates the actual cost and the reservation', async () => {
    const { guard } = clockedGuard({ limits: { global: { daily: { usd: 1 } } } });
    const reservation = await guard.reserve({ estimatedUsd: 0.1 });
    await expect(guard.settle(reservation, -0.01)).rejects.toMatchObject({ code: 'invalid_cost', field: 'actualUsd' });
    await expect(guard.settle(reservation, 0.01, 0.5)).rejects.toMatchObject({ code: 'invalid_tokens', field: 'actualTokens' });
    await expect(guard.settle({ id: 'forged' }, 0.01)).rejects.toMatchObject({ code: 'invalid_argument', field: 'reservation' });
    await guard.settle(reservation, 0.05);
    await expect(guard.settle(reservation, 0.05)).rejects.toThrow(/not yet settled or released/);
  });
});

describe('limits', () => {
  it('refuses a call whose estimate passes the per-request limit, in USD and tokens', async () => {
    const { guard } = clockedGuard({ limits: { perRequest: { usd: 0.1, tokens: 1000 } } });
    const error = await refusal(guard.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.2 }));
    expect(error).toMatchObject({ code: 'budget_exceeded', limitType: 'per_request', unit: 'usd', limit: 0.1, attempted: 0.2, current: 0 });
    expect(error.limitExact).toBe(usdToPico(0.1));
    expect(error.principal).toEqual({ userId: 'alice' });
    expect(CostspanError.isInstance(error)).toBe(true);
    expect(error).toBeInstanceOf(CostspanError);
    const tokens = await refusal(guard.reserve({ estimatedTokens: 1001 }));
    expect(tokens).toMatchObject({ limitType: 'per_request', unit: 'tokens', limit: 1000, attempted: 1001 });
    await expect(guard.reserve({ estimatedUsd: 0.1, estimatedTokens: 1000 })).resolves.toMatchObject({ estimatedUsd: 0.1 });
  });

  it('keeps each principal in its own budget and reports the limit that refused', async () => {
    const { guard } = clockedGuard({ limits: { user: { daily: { usd: 1 } }, team: { monthly: { usd: 1.5 } } } });
    const alice = { userId: 'alice', teamId: 'search' };
    const bob = { userId: 'bob', teamId: 'search' };
    await guard.settle(await guard.reserve({ principal: alice, estimatedUsd: 0.9 }), 0.9);
    const error = await refusal(guard.reserve({ principal: alice, estimatedUsd: 0.2 }));
    expect(error).toMatchObject({
      limitType: 'user_daily',
      scope: 'user:alice',
      window: '2026-03-04',
      limit: 1,
      current: 0.9,
      attempted: 0.2,
      remaining: 0.1,
    });
    expect(error.message).toContain('user_daily limit of $1.00 for user:alice');
    // Bob has his own daily budget, but shares the team's monthly one.
    await guard.settle(await guard.reserve({ principal: bob, estimatedUsd: 0.5 }), 0.5);
    const team = await refusal(guard.reserve({ principal: bob, estimatedUsd: 0.2 }));
    expect(team).toMatchObject({ limitType: 'team_monthly', scope: 'team:search', window: '2026-03', current: 1.4 });
  });

  it('enforces org, tag, global and session limits', async () => {
    const { guard } = clockedGuard({
      limits: { org: { total: { usd: 5 } }, tag: { daily: { usd: 0.3 } }, global: { monthly: { tokens: 10_000 } }, session: { usd: 0.5 } },
    });
    await guard.settle(await guard.reserve({ principal: { tags: { env: 'prod' } }, estimatedUsd: 0.3 }), 0.3);
    expect(await refusal(guard.reserve({ principal: { tags: { env: 'prod' } }, estimatedUsd: 0.01 }))).toMatchObject({
      limitType: 'tag_daily',
      scope: 'tag:env=prod',
    });
    await expect(guard.reserve({ principal: { tags: { env: 'dev' } }, estimatedUsd: 0.01 })).resolves.toBeDefined();
    await guard.settle(await guard.reserve({ rootRunId: 'run-1', estimatedUsd: 0.4 }), 0.4);
    expect(await refusal(guard.reserve({ rootRunId: 'run-1', estimatedUsd: 0.2 }))).toMatchObject({
      limitType: 'session',
      scope: 'session:run-1',
    });
    await expect(guard.reserve({ rootRunId: 'run-2', estimatedUsd: 0.2 })).resolves.toBeDefined();
    expect(await refusal(guard.reserve({ estimatedTokens: 10_001 }))).toMatchObject({
      limitType: 'monthly',
      unit: 'tokens',
      scope: 'global',
    });
    await guard.settle(await guard.reserve({ principal: { orgId: 'acme' }, estimatedUsd: 4.9 }), 4.9);
    expect(await refusal(guard.reserve({ principal: { orgId: 'acme' }, estimatedUsd: 0.2 }))).toMatchObject({
      limitType: 'org_total',
      window: 'total',
    });
  });

  it('adds money exactly: $0.10 + $0.20 fits a $0.30 limit', async () => {
    const { guard } = clockedGuard({ limits: { global: { daily: { usd: 0.3 } } } });
    await guard.settle(await guard.reserve({ estimatedUsd: 0.1 }), 0.1);
    await guard.settle(await guard.reserve({ estimatedUsd: 0.2 }), 0.2);
    const status = await guard.getBudget();
    expect(status.limits[0]).toMatchObject({ spent: 0.3, remaining: 0 });
    expect(status.limits[0]?.exact.spent).toBe(300_000_000_000n);
  });

  it('counts reservations until settled; actual replaces reserved; release gives back', async () => {
    const { guard } = clockedGuard({ limits: { user: { daily: { usd: 1 } } } });
    const alice = { userId: 'alice' };
    const first = await guard.reserve({ principal: alice, estimatedUsd: 0.6 });
    expect((await guard.getBudget(alice)).limits[0]).toMatchObject({ limitType: 'user_daily', spent: 0, reserved: 0.6, remaining: 0.4 });
    await refusal(guard.reserve({ principal: alice, estimatedUsd: 0.5 }));
    await guard.settle(first, 0.2, 700);
    expect((await guard.getBudget(alice)).limits[0]).toMatchObject({ spent: 0.2, reserved: 0, remaining: 0.8 });
    const second = await guard.reserve({ principal: alice, estimatedUsd: 0.8 });
    await guard.release(second);
    await guard.release(second); // idempotent
    expect((await guard.getBudget(alice)).limits[0]).toMatchObject({ spent: 0.2, reserved: 0, remaining: 0.8 });
  });

  it('lapses reservations after their TTL, and still books a late settlement', async () => {
    const { guard, advance } = clockedGuard({ limits: { global: { daily: { usd: 1 } } }, reservationTtlMs: 1000 });
    const crashed = await guard.reserve({ estimatedUsd: 0.9 });
    expect(crashed.expiresAt).toBe(T0 + 1000);
    await refusal(guard.reserve({ estimatedUsd: 0.2 }));
    advance(999);
    await refusal(guard.reserve({ estimatedUsd: 0.2 }));
    advance(1);
    const fresh = await guard.reserve({ estimatedUsd: 0.2 });
    expect((await guard.getBudget()).limits[0]).toMatchObject({ reserved: 0.2 });
    await guard.settle(crashed, 0.5);
    await guard.release(fresh);
    expect((await guard.getBudget()).limits[0]).toMatchObject({ spent: 0.5, reserved: 0 });
  });

  it('refuses calls without an estimate only once the budget is used up', async () => {
    const { guard } = clockedGuard({ limits: { global: { daily: { usd: 0.5 } } } });
    guard.record(directSpend(0.5));
    await guard.flush();
    expect(await refusal(guard.reserve({}))).toMatchObject({ limitType: 'daily', current: 0.5, attempted: 0 });
  });

  it("limitCheck 'exhausted' admits while something is left (classic check_before)", async () => {
    const { guard } = clockedGuard({ limits: { global: { daily: { usd: 1 } } }, limitCheck: 'exhausted' });
    await guard.settle(await guard.reserve({ estimatedUsd: 0.9 }), 0.9);
    await guard.settle(await guard.reserve({ estimatedUsd: 0.5 }), 0.5);
    expect(await refusal(guard.reserve({ estimatedUsd: 0.01 }))).toMatchObject({ limitType: 'daily', current: 1.4 });
  });
});

describe('windows', () => {
  it('resets daily limits at midnight and monthly ones on the 1st (UTC by default)', async () => {
    const { guard, setNow } = clockedGuard({ limits: { user: { daily: { usd: 1 }, monthly: { usd: 1.5 }, total: { usd: 2 } } } });
    const alice = { userId: 'alice' };
    setNow(Date.UTC(2026, 2, 31, 23, 59, 59, 999));
    await guard.settle(await guard.reserve({ principal: alice, estimatedUsd: 1 }), 1);
    expect((await refusal(guard.reserve({ principal: alice, estimatedUsd: 0.1 }))).limitType).toBe('user_daily');
    setNow(Date.UTC(2026, 3, 1, 0, 0, 0, 0));
    const status = await guard.getBudget(alice);
    expect(status.limits.map((limit) => [limit.limitType, limit.window, limit.spent])).toEqual([
      ['user_daily', '2026-04-01', 0],
      ['user_monthly', '2026-04', 0],
      ['user_total', 'total', 1],
    ]);
    await guard.settle(await guard.reserve({ principal: alice, estimatedUsd: 1 }), 1);
    expect((await refusal(guard.reserve({ principal: alice, estimatedUsd: 0.1 }))).limitType).toBe('user_daily');
    setNow(Date.UTC(2026, 3, 2, 0, 0, 0, 0));
    expect((await refusal(guard.reserve({ principal: alice, estimatedUsd: 0.1 }))).limitType).toBe('user_total');
  });

  it('uses the configured time zone for the boundary', async () => {
    const { guard, setNow } = clockedGuard({ limits: { global: { daily: { usd: 1 } } }, timeZone: 'America/New_York' });
    setNow(Date.UTC(2026, 0, 15, 4, 59, 0)); // 23:59 on Jan 14 in New York (UTC-5)
    await guard.settle(await guard.reserve({ estimatedUsd: 1 }), 1);
    expect(await refusal(guard.reserve({ estimatedUsd: 0.1 }))).toMatchObject({ window: '2026-01-14' });
    setNow(Date.UTC(2026, 0, 15, 5, 0, 0)); // local midnight
    await expect(guard.reserve({ estimatedUsd: 0.1 })).resolves.toBeDefined();
  });
});

describe('alerts', () => {
  it('fire once per crossing per window, for absolute and fractional thresholds', async () => {
    const { guard, alerts, setNow } = clockedGuard({
      limits: { user: { daily: { usd: 1, alertAt: [{ fraction: 0.5 }, { usd: 0.9 }] } } },
    });
    const alice = { userId: 'alice' };
    for (const cost of [0.3, 0.3, 0.3, 0.05]) guard.record(directSpend(cost, alice));
    await guard.flush();
    expect(alerts.map((alert) => [alert.threshold, alert.fraction, alert.spent])).toEqual([
      [0.5, 0.5, 0.6],
      [0.9, undefined, 0.9],
    ]);
    expect(alerts[0]).toMatchObject({
      limitType: 'user_daily',
      scope: 'user:alice',
      window: '2026-03-04',
      unit: 'usd',
      limit: 1,
      principal: alice,
    });
    setNow(T0 + 86_400_000);
    guard.record(directSpend(0.95, alice));
    await guard.flush();
    expect(alerts.slice(2).map((alert) => [alert.window, alert.threshold])).toEqual([
      ['2026-03-05', 0.5],
      ['2026-03-05', 0.9],
    ]);
  });

  it('a throwing or rejecting alert callback never breaks recording', async () => {
    const errors: unknown[] = [];
    const guard = new BudgetGuard({
      limits: { global: { total: { alertAt: [{ usd: 0.1 }, { tokens: 10 }] } } },
      onAlert: (alert) => {
        if (alert.unit === 'usd') throw new Error('pager down');
        return Promise.reject(new Error('webhook down')) as unknown as void;
      },
      onError: (error) => errors.push(error),
    });
    guard.record(directSpend(0.2, {}, 20));
    await guard.flush();
    await Promise.resolve();
    expect(errors.map((error) => (error as Error).message).sort()).toEqual(['pager down', 'webhook down']);
    expect((await guard.getBudget()).limits.map((limit) => [limit.unit, limit.spent])).toEqual([
      ['usd', 0.2],
      ['tokens', 20],
    ]);
  });
});

describe('record (SDK hook)', () => {
  it('books direct spends and settles reservations, never throwing', async () => {
    const { guard, errors } = clockedGuard({ limits: { user: { daily: { usd: 1 } } } });
    const alice = { userId: 'alice' };
    const reservation = await guard.reserve({ principal: alice, estimatedUsd: 0.5 });
    guard.record({ ...directSpend(0.1, alice), reservation });
    guard.record(directSpend(0.2, alice));
    await guard.flush();
    expect((await guard.getBudget(alice)).limits[0]).toMatchObject({ spent: 0.3, reserved: 0 });
    expect(() => guard.record({ ...directSpend(0, alice), usd: -1n })).not.toThrow();
    expect(() => guard.record(null as never)).not.toThrow();
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ code: 'invalid_cost', field: 'spend.usd' });
  });

  it('reports store failures instead of throwing', async () => {
    const broken: BudgetStore = {
      reserve: () => Promise.reject(new Error('connection refused')),
      commit: () => Promise.reject(new Error('connection refused')),
      read: () => Promise.reject(new Error('connection refused')),
      close: () => Promise.resolve(),
    };
    const { guard, errors } = clockedGuard({ limits: { global: { daily: { usd: 1 } } }, store: broken });
    expect(() => guard.record(directSpend(0.1))).not.toThrow();
    await guard.flush();
    expect(errors).toEqual([expect.objectContaining({ code: 'budget_unavailable' })]);
    await expect(guard.reserve({ estimatedUsd: 0.1 })).rejects.toMatchObject({ code: 'budget_unavailable' });
    await expect(guard.getBudget()).rejects.toMatchObject({ code: 'budget_unavailable' });
  });

  it('failOpen admits calls while the store is down and reports it', async () => {
    const broken: BudgetStore = {
      reserve: () => Promise.reject(new Error('timeout')),
      commit: () => Promise.reject(new Error('timeout')),
      read: () => Promise.reject(new Error('timeout')),
      close: () => Promise.resolve(),
    };
    const { guard, errors } = clockedGuard({ limits: { global: { daily: { usd: 1 } } }, store: broken, failOpen: true });
    const reservation = await guard.reserve({ estimatedUsd: 0.1 });
    expect(reservation.backed).toBe(false);
    expect(errors).toEqual([expect.objectContaining({ code: 'budget_unavailable', message: expect.stringContaining('timeout') })]);
    await guard.release(reservation);
  });
});

describe('concurrency', () => {
  it('100 concurrent reservers against a $1 limit never settle more than $1', async () => {
    const { guard } = clockedGuard({ limits: { global: { daily: { usd: 1 } } }, circuitBreaker: false });
    let settled = 0n;
    let granted = 0;
    await Promise.all(
      Array.from({ length: 100 }, async (_, index) => {
        const estimate = usdToPico(0.01 + (index % 7) * 0.01);
        let reservation;
        try {
          reservation = await guard.reserve({ estimatedUsd: estimate });
        } catch (error) {
          if (BudgetExceededError.isInstance(error)) return;
          throw error;
        }
        granted += 1;
        await new Promise((resolve) => setTimeout(resolve, index % 5));
        const actual = (estimate * BigInt(50 + (index % 51))) / 100n;
        settled += actual;
        await guard.settle(reservation, actual);
      }),
    );
    expect(granted).toBeGreaterThan(5);
    expect(settled).toBeLessThanOrEqual(usdToPico(1));
    expect((await guard.getBudget()).limits[0]?.exact.spent).toBe(settled);
  });
});
