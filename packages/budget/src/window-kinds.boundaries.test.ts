import { describe, expect, it } from 'vitest';
import { BudgetGuard } from './budget-guard.js';
import type { BudgetWindowLimits } from './budget-limits.js';
import { CalendarWindow } from './calendar-window.js';

// Every window kind at its boundary in Europe/Berlin, each across a DST change:
// spring forward 2026-03-29 (02:00 CET → 03:00 CEST, at 01:00Z), fall back 2026-10-25
// (03:00 CEST → 02:00 CET, at 01:00Z). The user's $1 is used up at `spentAt`; a call is
// refused up to the boundary and admitted from it.

const MINUTE = 60_000;

async function usedUpUntil(window: keyof BudgetWindowLimits, spentAt: number, limits: BudgetWindowLimits) {
  let now = spentAt;
  const guard = new BudgetGuard({ limits: { user: limits }, timeZone: 'Europe/Berlin', now: () => now, onError: () => undefined });
  const alice = { userId: 'alice' };
  await guard.settle(await guard.reserve({ principal: alice, estimatedUsd: 1 }), 1);
  const at = async (epochMs: number) => {
    now = epochMs;
    const checked = await guard.check(alice, { estimatedUsd: 0.01 });
    const status = checked.limits.find((limit) => limit.limitType === `user_${window}`);
    return { allowed: checked.allowed, window: status?.window };
  };
  return at;
}

describe('window kinds at their boundaries in Europe/Berlin, across DST', () => {
  it('hourly: the two 02:00 hours of the fall-back are windows of their own', async () => {
    const at = await usedUpUntil('hourly', Date.UTC(2026, 9, 25, 0, 30), { hourly: { usd: 1 } }); // 02:30 CEST
    expect(await at(Date.UTC(2026, 9, 25, 0, 59, 59, 999))).toEqual({ allowed: false, window: '2026-10-25T02+02:00' });
    expect(await at(Date.UTC(2026, 9, 25, 1, 0))).toEqual({ allowed: true, window: '2026-10-25T02+01:00' }); // 02:00 CET
  });

  it('hourly: the spring-forward jumps from the 01:00 hour to the 03:00 hour', async () => {
    const at = await usedUpUntil('hourly', Date.UTC(2026, 2, 29, 0, 30), { hourly: { usd: 1 } }); // 01:30 CET
    expect(await at(Date.UTC(2026, 2, 29, 0, 59, 59, 999))).toEqual({ allowed: false, window: '2026-03-29T01+01:00' });
    expect(await at(Date.UTC(2026, 2, 29, 1, 0))).toEqual({ allowed: true, window: '2026-03-29T03+02:00' });
  });

  it('daily: the 23-hour day of the spring-forward ends at local midnight', async () => {
    const at = await usedUpUntil('daily', Date.UTC(2026, 2, 28, 23, 0), { daily: { usd: 1 } }); // 00:00 CET on the 29th
    expect(await at(Date.UTC(2026, 2, 29, 21, 59, 59, 999))).toEqual({ allowed: false, window: '2026-03-29' });
    expect(await at(Date.UTC(2026, 2, 29, 22, 0))).toEqual({ allowed: true, window: '2026-03-30' }); // 00:00 CEST
  });

  it('weekly: the ISO week with the spring-forward ends at Monday local midnight', async () => {
    const at = await usedUpUntil('weekly', Date.UTC(2026, 2, 22, 23, 0), { weekly: { usd: 1 } }); // Monday 23 March 00:00 CET
    expect(await at(Date.UTC(2026, 2, 29, 21, 59, 59, 999))).toEqual({ allowed: false, window: '2026-W13' }); // Sunday 23:59:59 CEST
    expect(await at(Date.UTC(2026, 2, 29, 22, 0))).toEqual({ allowed: true, window: '2026-W14' });
  });

  it('weekly: ISO week years differ from calendar years at the turn of the year', () => {
    const berlin = new CalendarWindow('Europe/Berlin');
    expect(berlin.week(Date.UTC(2026, 11, 31, 22, 59))).toBe('2026-W53'); // Thursday 31 Dec 2026, 23:59 CET
    expect(berlin.week(Date.UTC(2027, 0, 3, 22, 59))).toBe('2026-W53'); // Sunday 3 Jan 2027
    expect(berlin.week(Date.UTC(2027, 0, 3, 23, 0))).toBe('2027-W01'); // Monday 4 Jan 2027, 00:00 CET
    expect(berlin.week(Date.UTC(2025, 11, 28, 23, 0))).toBe('2026-W01'); // Monday 29 Dec 2025
  });

  it('monthly: the month with the fall-back ends at local midnight of the 1st (CET)', async () => {
    const at = await usedUpUntil('monthly', Date.UTC(2026, 9, 1, 8, 0), { monthly: { usd: 1 } });
    expect(await at(Date.UTC(2026, 9, 31, 22, 59, 59, 999))).toEqual({ allowed: false, window: '2026-10' });
    expect(await at(Date.UTC(2026, 9, 31, 23, 0))).toEqual({ allowed: true, window: '2026-11' });
  });

  it('total: never resets, through both changes', async () => {
    const at = await usedUpUntil('total', Date.UTC(2026, 2, 28, 12, 0), { total: { usd: 1 } });
    expect(await at(Date.UTC(2026, 2, 29, 1, 0))).toEqual({ allowed: false, window: 'total' });
    expect(await at(Date.UTC(2026, 9, 25, 1, 0))).toEqual({ allowed: false, window: 'total' });
    expect(await at(Date.UTC(2027, 0, 1))).toEqual({ allowed: false, window: 'total' });
  });

  it('rolling: the last 60 minutes are 60 real minutes, though the wall clock goes back an hour', async () => {
    const limits = { rolling: { usd: 1, windowMs: 60 * MINUTE, bucketMs: MINUTE } };
    const at = await usedUpUntil('rolling', Date.UTC(2026, 9, 25, 0, 10, 30), limits); // 02:10:30 CEST, bucket 00:10Z
    // 01:10:59Z reads 02:10 CET: an hour of wall clock is repeated, the window still slides in real time.
    expect(await at(Date.UTC(2026, 9, 25, 1, 10, 59, 999))).toEqual({ allowed: false, window: 'rolling:60m' });
    expect(await at(Date.UTC(2026, 9, 25, 1, 11))).toEqual({ allowed: true, window: 'rolling:60m' });
  });

  it('rolling: across the spring-forward, the spend leaves after 60 real minutes, not at 03:30 local', async () => {
    const limits = { rolling: { usd: 1, windowMs: 60 * MINUTE, bucketMs: MINUTE } };
    const at = await usedUpUntil('rolling', Date.UTC(2026, 2, 29, 0, 30), limits); // 01:30 CET
    expect(await at(Date.UTC(2026, 2, 29, 1, 30, 59, 999))).toEqual({ allowed: false, window: 'rolling:60m' }); // 03:30 CEST
    expect(await at(Date.UTC(2026, 2, 29, 1, 31))).toEqual({ allowed: true, window: 'rolling:60m' });
  });

  it('rolling: slides, so spend booked later stays while older spend leaves', async () => {
    let now = Date.UTC(2026, 9, 25, 0, 0);
    const guard = new BudgetGuard({
      limits: { global: { rolling: { usd: 1, windowMs: 60 * MINUTE } } },
      now: () => now,
      onError: () => undefined,
    });
    await guard.settle(await guard.reserve({ estimatedUsd: 0.6 }), 0.6);
    now += 30 * MINUTE;
    await guard.settle(await guard.reserve({ estimatedUsd: 0.4 }), 0.4);
    expect((await guard.check({}, { estimatedUsd: 0.01 })).allowed).toBe(false);
    now += 31 * MINUTE; // the $0.60 left (its 1-minute bucket ended 61 minutes ago)
    const status = await guard.check({}, { estimatedUsd: 0.6 });
    expect(status).toMatchObject({ allowed: true, limits: [expect.objectContaining({ spent: 0.4, window: 'rolling:60m' })] });
  });
});
