// Exact tests of limit normalisation, counter keys and TTLs, and evaluation at exactly the limit:
// each assertion pins a number a mutant of budget-limits.ts (or the stores' ≤ / <) would change.
import { describe, expect, it } from 'vitest';
import { usdToPico } from '@costspan/core';
import type { BudgetLimitType } from './budget-exceeded-error.js';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { BudgetGuard } from './budget-guard.js';
import {
  applicableLimits,
  normalizeLimits,
  normalizeWindows,
  positivePico,
  positiveTokens,
  toDisplay,
  type BudgetLimits,
} from './budget-limits.js';
import { CalendarWindow } from './calendar-window.js';

const DAY_MS = 86_400_000;
const T0 = Date.UTC(2026, 2, 4, 12);
const ttl = { sessionMs: 3_600_000, minimumMs: 360_000 };
const empty = { alertsPico: [], alertsTokens: [], fractionsPico: [], fractionsTokens: [] };

describe('normalizeLimits', () => {
  it('keeps every entry, in a fixed order, with exact amounts', () => {
    const normalized = normalizeLimits({
      perRequest: { usd: '0.5', tokens: 4000 },
      session: { tokens: 10 },
      tag: { total: { usd: 3 } },
      user: { monthly: { usd: 2 }, daily: { tokens: 7 } },
      global: { daily: { usd: '0.000000000001' } },
    });
    expect(normalized).toStrictEqual({
      perRequestPico: usdToPico('0.5'),
      perRequestTokens: 4000n,
      session: { ...empty, limitTokens: 10n },
      scoped: [
        { kind: 'global', window: 'daily', amount: { ...empty, limitPico: 1n } },
        { kind: 'user', window: 'daily', amount: { ...empty, limitTokens: 7n } },
        { kind: 'user', window: 'monthly', amount: { ...empty, limitPico: usdToPico(2) } },
        { kind: 'tag', window: 'total', amount: { ...empty, limitPico: usdToPico(3) } },
      ],
    });
    expect(normalizeLimits(undefined)).toStrictEqual({ scoped: [] });
    expect(normalizeLimits({ perRequest: { usd: 1 } })).toStrictEqual({ scoped: [], perRequestPico: usdToPico(1) });
    expect(normalizeLimits({ perRequest: { tokens: 1 } })).toStrictEqual({ scoped: [], perRequestTokens: 1n });
  });

  it('refuses limits that are not an object', () => {
    for (const limits of [null, 5, 'x']) {
      expect(() => normalizeLimits(limits as never)).toThrow(expect.objectContaining({ code: 'invalid_argument', field: 'limits' }));
      expect(() => normalizeLimits(limits as never)).toThrow(/an object of limits/);
    }
  });

  it('says what each refused threshold or amount should be, naming its field', () => {
    const refusal = (build: () => unknown): { field?: string; message: string } => {
      try {
        build();
      } catch (error) {
        return error as { code?: string; field?: string; message: string };
      }
      throw new Error('expected a refusal');
    };
    expect(refusal(() => normalizeLimits({ team: { daily: { usd: 1, alertAt: [{ fraction: Number.NaN }] } } }))).toMatchObject({
      field: 'limits.team.daily.alertAt[0].fraction',
      message: expect.stringContaining('a number in (0, 1]'),
    });
    expect(refusal(() => normalizeLimits({ team: { daily: { alertAt: [{ fraction: 0.5 }] } } }))).toMatchObject({
      code: 'invalid_argument',
      field: 'limits.team.daily.alertAt[0].fraction',
      message: expect.stringContaining('used beside a usd or tokens limit'),
    });
    expect(refusal(() => normalizeLimits({ org: { total: { alertAt: [{ pct: 5 } as never] } } })).message).toContain(
      '{ usd }, { tokens } or { fraction }',
    );
    expect(refusal(() => normalizeLimits({ org: { monthly: { alertAt: [{ usd: 0 }] } } }))).toMatchObject({
      field: 'limits.org.monthly.alertAt[0].usd',
      message: expect.stringContaining('a positive amount of USD'),
    });
    expect(refusal(() => positiveTokens(0, 'f')).message).toContain('a positive integer number of tokens');
  });

  it('refuses windows that are not objects, unknown window names and rolling bounds, naming the field and the fix', () => {
    const refusal = (build: () => unknown): { code?: string; field?: string; message: string } => {
      try {
        build();
      } catch (error) {
        return error as { code?: string; field?: string; message: string };
      }
      throw new Error('expected a refusal');
    };
    for (const windows of [null, 5, 'daily']) {
      expect(refusal(() => normalizeWindows('user', windows as never, 'override'))).toMatchObject({
        code: 'invalid_argument',
        field: 'override',
        message: expect.stringContaining('an object of windows ({ daily: { usd: 5 } }, …)'),
      });
    }
    expect(refusal(() => normalizeWindows('user', { fortnightly: { usd: 1 } } as never, 'override'))).toMatchObject({
      field: 'override.fortnightly',
      message: expect.stringContaining('one of the windows hourly, daily'),
    });
    for (const amount of [null, 5]) {
      expect(refusal(() => normalizeWindows('team', { daily: amount } as never, 'limits.team'))).toMatchObject({
        field: 'limits.team.daily',
        message: expect.stringContaining('an object such as { usd: 5 }'),
      });
    }
    // Rolling windows: at least a second; buckets in [1, windowMs]; the default bucket is windowMs / 60, at least 1 s.
    const rolling = (amount: object) =>
      normalizeWindows('user', { rolling: { usd: 1, ...amount } } as never, 'limits.user')[0]?.amount.rolling;
    expect(rolling({ windowMs: 1000 })).toEqual({ windowMs: 1000, bucketMs: 1000 });
    expect(rolling({ windowMs: 3_600_000 })).toEqual({ windowMs: 3_600_000, bucketMs: 60_000 });
    expect(rolling({ windowMs: 5000, bucketMs: 1 })).toEqual({ windowMs: 5000, bucketMs: 1 });
    expect(rolling({ windowMs: 5000, bucketMs: 5000 })).toEqual({ windowMs: 5000, bucketMs: 5000 });
    expect(refusal(() => rolling({ windowMs: 999 }))).toMatchObject({
      field: 'limits.user.rolling.windowMs',
      message: expect.stringContaining('a whole number of milliseconds ≥ 1000'),
    });
    expect(refusal(() => rolling({ windowMs: 1500.5 })).field).toBe('limits.user.rolling.windowMs');
    for (const bucketMs of [0, 5001, 2.5]) {
      expect(refusal(() => rolling({ windowMs: 5000, bucketMs }))).toMatchObject({
        field: 'limits.user.rolling.bucketMs',
        message: expect.stringContaining('a whole number of milliseconds in [1, windowMs]'),
      });
    }
  });

  it('turns fractions into thresholds of both units: ceil for tokens, at least 1', () => {
    const { session } = normalizeLimits({
      session: { usd: 1, tokens: 10, alertAt: [{ fraction: 0.25 }, { fraction: 1 }, { usd: 0.3 }, { tokens: 4 }] },
    });
    expect(session).toStrictEqual({
      limitPico: usdToPico(1),
      limitTokens: 10n,
      alertsPico: [usdToPico(0.25), usdToPico(1), usdToPico(0.3)],
      alertsTokens: [3n, 10n, 4n], // 2.5 tokens round up to 3; 10 × 1 stays 10
      fractionsPico: [0.25, 1, undefined],
      fractionsTokens: [0.25, 1, undefined],
    });
    expect(normalizeLimits({ session: { tokens: 8, alertAt: [{ fraction: 0.25 }] } }).session?.alertsTokens).toEqual([2n]);
    expect(normalizeLimits({ session: { tokens: 1, alertAt: [{ fraction: 0.01 }] } }).session?.alertsTokens).toEqual([1n]);
    expect(normalizeLimits({ session: { usd: '0.000000000001', alertAt: [{ fraction: 0.01 }] } }).session?.alertsPico).toEqual([1n]);
    expect(normalizeLimits({ session: { tokens: 5, alertAt: [{ fraction: 0.5 }] } }).session).toMatchObject({
      alertsPico: [],
      fractionsPico: [],
    });
  });

  it('refuses fractions outside (0, 1] and thresholds of no known kind, naming the field', () => {
    for (const fraction of [0, -0.1, 1.0000001, Number.NaN, Infinity, '0.5']) {
      expect(() => normalizeLimits({ team: { daily: { usd: 1, alertAt: [{ usd: 0.1 }, { fraction: fraction as number }] } } })).toThrow(
        expect.objectContaining({ code: 'invalid_argument', field: 'limits.team.daily.alertAt[1].fraction' }),
      );
    }
    expect(() => normalizeLimits({ org: { total: { usd: 1, alertAt: [{ pct: 5 } as never] } } })).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'limits.org.total.alertAt[0]' }),
    );
    expect(() => normalizeLimits({ org: { total: { alertAt: [{ tokens: 0 }] } } })).toThrow(
      expect.objectContaining({ code: 'invalid_tokens', field: 'limits.org.total.alertAt[0].tokens' }),
    );
  });

  it('positive amounts only: the smallest positive passes, zero and fractions of a token do not', () => {
    expect(positivePico('0.000000000001', 'f')).toBe(1n);
    expect(() => positivePico(0, 'f')).toThrow(expect.objectContaining({ code: 'invalid_argument', field: 'f', value: 0 }));
    expect(positiveTokens(1, 'f')).toBe(1n);
    for (const tokens of [0, -1, 1.5, 2 ** 53, '3']) {
      expect(() => positiveTokens(tokens as number, 'f')).toThrow(expect.objectContaining({ code: 'invalid_tokens', field: 'f' }));
    }
    expect(toDisplay('usd', usdToPico('1.25'))).toBe(1.25);
    expect(toDisplay('tokens', 1234n)).toBe(1234);
  });
});

describe('applicableLimits', () => {
  it('keys, scopes, windows and TTLs of every kind of limit', () => {
    const limits = normalizeLimits({
      session: { usd: 1 },
      global: { daily: { usd: 1 }, monthly: { tokens: 5 }, total: { usd: 1, alertAt: [{ usd: 0.5 }] } },
      user: { daily: { usd: 1 } },
      team: { monthly: { usd: 1 } },
      org: { total: { tokens: 9, alertAt: [{ tokens: 3 }] } },
      tag: { daily: { usd: 1 } },
    });
    const principal = { userId: 'al ice', teamId: 'search', orgId: 'acme', tags: { env: 'prod', tier: 'a/b' } };
    const applicable = applicableLimits(limits, principal, 'run/1', T0, new CalendarWindow('UTC'), ttl);
    expect(applicable.map(({ limitType, scope, window, counter }) => ({ limitType, scope, window, counter }))).toStrictEqual([
      {
        limitType: 'session',
        scope: 'session:run/1',
        window: 'session',
        counter: { key: 'session:run%2F1', ttlMs: 3_600_000, limitPico: usdToPico(1) },
      },
      {
        limitType: 'daily',
        scope: 'global',
        window: '2026-03-04',
        counter: { key: 'daily:2026-03-04', ttlMs: 2 * DAY_MS, limitPico: usdToPico(1) },
      },
      {
        limitType: 'monthly',
        scope: 'global',
        window: '2026-03',
        counter: { key: 'monthly:2026-03', ttlMs: 33 * DAY_MS, limitTokens: 5n },
      },
      {
        limitType: 'total',
        scope: 'global',
        window: 'total',
        counter: { key: 'total', ttlMs: 0, limitPico: usdToPico(1), alertsPico: [usdToPico(0.5)] },
      },
      {
        limitType: 'user_daily',
        scope: 'user:al ice',
        window: '2026-03-04',
        counter: { key: 'user_daily:al%20ice:2026-03-04', ttlMs: 2 * DAY_MS, limitPico: usdToPico(1) },
      },
      {
        limitType: 'team_monthly',
        scope: 'team:search',
        window: '2026-03',
        counter: { key: 'team_monthly:search:2026-03', ttlMs: 33 * DAY_MS, limitPico: usdToPico(1) },
      },
      {
        limitType: 'org_total',
        scope: 'org:acme',
        window: 'total',
        counter: { key: 'org_total:acme', ttlMs: 0, limitTokens: 9n, alertsTokens: [3n] },
      },
      {
        limitType: 'tag_daily',
        scope: 'tag:env=prod',
        window: '2026-03-04',
        counter: { key: 'tag_daily:env%3Dprod:2026-03-04', ttlMs: 2 * DAY_MS, limitPico: usdToPico(1) },
      },
      {
        limitType: 'tag_daily',
        scope: 'tag:tier=a/b',
        window: '2026-03-04',
        counter: { key: 'tag_daily:tier%3Da%2Fb:2026-03-04', ttlMs: 2 * DAY_MS, limitPico: usdToPico(1) },
      },
    ]);
  });

  it('skips what the principal does not have, and a session limit without a root run', () => {
    const limits = normalizeLimits({
      session: { usd: 1 },
      user: { daily: { usd: 1 } },
      team: { daily: { usd: 1 } },
      tag: { total: { usd: 1 } },
    });
    expect(applicableLimits(limits, { teamId: 't' }, undefined, T0, new CalendarWindow(), ttl).map((limit) => limit.limitType)).toEqual([
      'team_daily',
    ]);
  });

  it('a window counter lives at least the reservation TTL plus slack; total never expires', () => {
    const limits = normalizeLimits({ session: { usd: 1 }, global: { daily: { usd: 1 }, monthly: { usd: 1 }, total: { usd: 1 } } });
    const long = { sessionMs: 1000, minimumMs: 3 * DAY_MS };
    expect(applicableLimits(limits, {}, 'r', T0, new CalendarWindow(), long).map((limit) => limit.counter.ttlMs)).toEqual([
      3 * DAY_MS,
      3 * DAY_MS,
      33 * DAY_MS,
      0,
    ]);
  });

  it('uses the time zone for window keys: a Berlin day and month start at local midnight', () => {
    const limits = normalizeLimits({ global: { daily: { usd: 1 }, monthly: { usd: 1 }, total: { usd: 1 } } });
    const berlin = new CalendarWindow('Europe/Berlin');
    const keys = (now: number) => applicableLimits(limits, {}, undefined, now, berlin, ttl).map((limit) => limit.counter.key);
    expect(keys(Date.UTC(2026, 2, 31, 21, 59, 59, 999))).toEqual(['daily:2026-03-31', 'monthly:2026-03', 'total']);
    expect(keys(Date.UTC(2026, 2, 31, 22))).toEqual(['daily:2026-04-01', 'monthly:2026-04', 'total']);
  });
});

/** Every limit type, as limits of $1 (or 1000 tokens) and a principal that has every scope. */
const EVERY_LIMIT: [BudgetLimitType, (amount: { usd?: number; tokens?: number }) => BudgetLimits][] = [
  ['session', (amount) => ({ session: amount })],
  ...(['user', 'team', 'org', 'tag'] as const).flatMap((kind) =>
    (['daily', 'monthly', 'total'] as const).map(
      (window): [BudgetLimitType, (amount: { usd?: number; tokens?: number }) => BudgetLimits] => [
        `${kind}_${window}` as BudgetLimitType,
        (amount) => ({ [kind]: { [window]: amount } }),
      ],
    ),
  ),
  ...(['daily', 'monthly', 'total'] as const).map(
    (window): [BudgetLimitType, (amount: { usd?: number; tokens?: number }) => BudgetLimits] => [
      window,
      (amount) => ({ global: { [window]: amount } }),
    ],
  ),
];
const everyone = { principal: { userId: 'u', teamId: 't', orgId: 'o', tags: { env: 'prod' } }, rootRunId: 'root' };

async function outcome(promise: Promise<unknown>): Promise<string> {
  return await promise.then(
    () => 'granted',
    (error: unknown) => (BudgetExceededError.isInstance(error) ? `${error.limitType}/${error.unit}` : String(error)),
  );
}

describe('evaluation at exactly the limit, for every limit type', () => {
  it.each(EVERY_LIMIT)(
    '%s: an estimate of exactly what is left fits; one pico or token more does not; then nothing fits',
    async (limitType, limits) => {
      for (const unit of ['usd', 'tokens'] as const) {
        const amount = unit === 'usd' ? { usd: 1 } : { tokens: 1000 };
        const exact = unit === 'usd' ? { estimatedUsd: usdToPico(1) } : { estimatedTokens: 1000 };
        const over = unit === 'usd' ? { estimatedUsd: usdToPico(1) + 1n } : { estimatedTokens: 1001 };
        const guard = new BudgetGuard({ limits: limits(amount), now: () => T0, circuitBreaker: false, onError: () => undefined });
        expect(await outcome(guard.reserve({ ...everyone, ...over }))).toBe(`${limitType}/${unit}`);
        expect(await outcome(guard.reserve({ ...everyone, ...exact }))).toBe('granted');
        expect(await outcome(guard.reserve(everyone))).toBe(`${limitType}/${unit}`);
        const exhausted = new BudgetGuard({
          limits: limits(amount),
          now: () => T0,
          limitCheck: 'exhausted',
          circuitBreaker: false,
          onError: () => undefined,
        });
        const almost = unit === 'usd' ? { estimatedUsd: usdToPico(1) - 1n } : { estimatedTokens: 999 };
        await exhausted.reserve({ ...everyone, ...almost });
        expect(await outcome(exhausted.reserve({ ...everyone, ...exact }))).toBe('granted'); // one pico/token was left
        expect(await outcome(exhausted.reserve(everyone))).toBe(`${limitType}/${unit}`);
      }
    },
  );

  it('per_request: an estimate equal to the limit passes, one more is refused', async () => {
    const guard = new BudgetGuard({ limits: { perRequest: { usd: 1, tokens: 1000 } }, onError: () => undefined });
    expect(await outcome(guard.reserve({ estimatedUsd: usdToPico(1), estimatedTokens: 1000 }))).toBe('granted');
    expect(await outcome(guard.reserve({ estimatedUsd: usdToPico(1) + 1n }))).toBe('per_request/usd');
    expect(await outcome(guard.reserve({ estimatedTokens: 1001 }))).toBe('per_request/tokens');
  });
});

describe('windows and scopes of issue 16', () => {
  const ttl = { sessionMs: 86_400_000, minimumMs: 360_000 };

  it('keys every window kind and scope, one counter per scope and window', () => {
    const limits = normalizeLimits({
      global: { hourly: { usd: 1 }, weekly: { usd: 1 }, rolling: { usd: 1, windowMs: 3_600_000 } },
      model: { daily: { usd: 1 } },
      agent: { monthly: { tokens: 5 } },
      userModel: { total: { usd: 1 } },
    });
    const applicable = applicableLimits(limits, { userId: 'a|b' }, undefined, T0, new CalendarWindow('Europe/Berlin'), ttl, {
      model: 'gpt-4o',
      agent: 'triage',
    });
    expect(applicable.map(({ limitType, scope, window, counter }) => [limitType, scope, window, counter.key, counter.ttlMs])).toEqual([
      ['hourly', 'global', expect.stringMatching(/T\d\d\+01:00$/), expect.stringMatching(/^hourly:/), 7_200_000],
      ['weekly', 'global', expect.stringMatching(/^\d{4}-W\d\d$/), expect.stringMatching(/^weekly:\d{4}-W\d\d$/), 8 * DAY_MS],
      ['rolling', 'global', 'rolling:60m', 'rolling:3600000', 3_660_000],
      ['model_daily', 'model:gpt-4o', expect.any(String), expect.stringMatching(/^model_daily:gpt-4o:/), 2 * DAY_MS],
      ['agent_monthly', 'agent:triage', expect.any(String), expect.stringMatching(/^agent_monthly:triage:/), 33 * DAY_MS],
      ['user_model_total', 'user:a|b|model:gpt-4o', 'total', 'user_model_total:a%7Cb|gpt-4o', 0],
    ]);
    expect(applicable[2]?.counter.rolling).toEqual({ windowMs: 3_600_000, bucketMs: 60_000 });
  });

  it('refuses bad rolling windows and output caps, naming the field', () => {
    expect(() => normalizeLimits({ user: { rolling: { usd: 1, windowMs: 10 } } })).toThrow(
      expect.objectContaining({ field: 'limits.user.rolling.windowMs' }),
    );
    expect(() => normalizeLimits({ user: { rolling: { usd: 1, windowMs: 60_000, bucketMs: 120_000 } } })).toThrow(
      expect.objectContaining({ field: 'limits.user.rolling.bucketMs' }),
    );
    expect(() => normalizeLimits({ perRequest: { outputTokens: 1.5 } })).toThrow(
      expect.objectContaining({ code: 'invalid_tokens', field: 'limits.perRequest.outputTokens' }),
    );
    expect(() => normalizeLimits({ model: { yearly: { usd: 1 } } as never })).toThrow(
      expect.objectContaining({ field: 'limits.model.yearly' }),
    );
  });
});
