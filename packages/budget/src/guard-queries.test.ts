import { describe, expect, it } from 'vitest';
import { usdToPico } from '@costspan/core';
import type { BudgetExceededError } from './budget-exceeded-error.js';
import { BudgetGuard } from './budget-guard.js';
import type { BudgetGuardOptions } from './budget-guard-types.js';
import { InMemoryBudgetStore } from './in-memory-budget-store.js';
import { clockedGuard, refusal, T0 } from './__fixtures__/guard-fixtures.js';

function makeGuard(options: Partial<BudgetGuardOptions> & Pick<BudgetGuardOptions, 'limits'>) {
  const refusals: BudgetExceededError[] = [];
  const clocked = clockedGuard({ onRefusal: (refusal) => refusals.push(refusal), circuitBreaker: false, ...options });
  return { ...clocked, refusals };
}

describe('guard.check: questions without reserving', () => {
  it('answers allowed or the limit that would refuse, with remaining, and reserves nothing', async () => {
    const { guard, refusals } = makeGuard({ limits: { user: { daily: { usd: 1 } } } });
    const alice = { userId: 'alice' };
    await guard.settle(await guard.reserve({ principal: alice, estimatedUsd: 0.7 }), 0.7);
    const fits = await guard.check(alice, { estimatedUsd: 0.3 });
    expect(fits).toMatchObject({ allowed: true, refusal: undefined, estimatedUsd: 0.3, estimateSource: 'caller' });
    expect(fits.limits[0]).toMatchObject({ limitType: 'user_daily', spent: 0.7, reserved: 0, remaining: 0.3 });
    const tooMuch = await guard.check(alice, { estimatedUsd: 0.31 });
    expect(tooMuch.allowed).toBe(false);
    expect(tooMuch.refusal).toMatchObject({ limitType: 'user_daily', remaining: 0.3, spentExact: usdToPico(0.7), reservedExact: 0n });
    // Nothing was reserved by either check, and a check's refusal is not an event.
    expect((await guard.getBudget(alice)).limits[0]?.reserved).toBe(0);
    expect(refusals).toHaveLength(0);
    await guard.reserve({ principal: alice, estimatedUsd: 0.3 });
  });

  it('prices { model, inputTokens, outputTokens } and refuses an output cap past perRequest.outputTokens', async () => {
    const { guard } = makeGuard({ limits: { perRequest: { outputTokens: 1000 }, global: { daily: { usd: 1 } } } });
    const priced = await guard.check({}, { model: 'gpt-4o', inputTokens: 500, outputTokens: 200 });
    expect(priced).toMatchObject({ allowed: true, estimateSource: 'pricing', estimatedTokens: 700, estimatedPico: usdToPico('0.00325') });
    const capped = await guard.check({}, { model: 'gpt-4o', inputTokens: 10, outputTokens: 4000 });
    expect(capped.refusal).toMatchObject({ limitType: 'per_request_output', unit: 'tokens', limit: 1000, attempted: 4000 });
    await expect(guard.reserve({ model: 'gpt-4o', inputTokens: 10, outputTokens: 4000 })).rejects.toMatchObject({
      limitType: 'per_request_output',
    });
    await expect(guard.check({}, { model: 'no-such-model-xyz', inputTokens: 1 })).rejects.toMatchObject({ code: 'unknown_model' });
  });
});

describe('guard.spend and guard.reset', () => {
  it('reads spend per window and target, and resets a target or everything', async () => {
    const { guard } = makeGuard({ limits: { global: { daily: {} }, user: { daily: { usd: 1 }, monthly: { usd: 10 } } } });
    await guard.settle(await guard.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.2 }), 0.25, 40);
    await guard.settle(await guard.reserve({ principal: { userId: 'bob' }, estimatedUsd: 0.1 }), 0.1);
    expect((await guard.spend({}, 'daily')).map((status) => `${status.unit}:${status.spent}`)).toEqual(['usd:0.35', 'tokens:40']);
    expect(await guard.spend({ userId: 'alice' }, 'monthly')).toEqual([expect.objectContaining({ scope: 'user:alice', spent: 0.25 })]);
    await expect(guard.spend({ userId: 'alice' }, 'weekly')).rejects.toMatchObject({ code: 'invalid_argument', field: 'window' });
    await guard.reset({ userId: 'alice' });
    expect((await guard.spend({ userId: 'alice' }, 'daily'))[0]?.spent).toBe(0);
    expect((await guard.spend({ userId: 'bob' }, 'daily'))[0]?.spent).toBe(0.1);
    await guard.reset();
    expect((await guard.spend({}, 'daily'))[0]?.spent).toBe(0);
  });
});

describe('limits per principal at run time', () => {
  it('setLimit overrides the default for one user, listLimits shows it, removeLimit restores the default', async () => {
    const store = new InMemoryBudgetStore();
    const { guard } = makeGuard({ store, limits: { user: { daily: { usd: 1 }, monthly: { usd: 3 } } } });
    await guard.setLimit({ userId: 'alice' }, { daily: { usd: 0.1, tokens: 1_000_000 } });
    const refused = await refusal(guard.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.2 }));
    expect(refused).toMatchObject({ limitType: 'user_daily', limit: 0.1, scope: 'user:alice' });
    await guard.reserve({ principal: { userId: 'bob' }, estimatedUsd: 0.2 }); // bob keeps the default
    // The monthly default still applies to alice: only the window named was replaced.
    expect(
      (await guard.getBudget({ userId: 'alice' })).limits.map((status) => `${status.limitType}:${status.unit}:${status.limit}`),
    ).toEqual(['user_daily:usd:0.1', 'user_daily:tokens:1000000', 'user_monthly:usd:3']);
    // Another guard on the same store sees it at once.
    const other = new BudgetGuard({ store, limits: { user: { daily: { usd: 1 } } }, now: () => T0, onError: () => undefined });
    expect((await other.check({ userId: 'alice' }, { estimatedUsd: 0.2 })).refusal?.limit).toBe(0.1);
    expect(await guard.listLimits()).toEqual([
      { scope: 'user:alice', target: { userId: 'alice' }, limits: { daily: { usd: 0.1, tokens: 1_000_000 } } },
    ]);
    expect(await guard.removeLimit({ userId: 'alice' })).toBe(true);
    expect(await guard.removeLimit({ userId: 'alice' })).toBe(false);
    await guard.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.2 });
  });

  it('limits a principal with no default, and refuses bad targets and limits naming the field', async () => {
    const { guard } = makeGuard({ limits: {} });
    await guard.setLimit({ teamId: 'search' }, { total: { usd: '0.5' } });
    await expect(guard.reserve({ principal: { teamId: 'search' }, estimatedUsd: 0.6 })).rejects.toMatchObject({ limitType: 'team_total' });
    await expect(guard.setLimit({ userId: 'a', teamId: 'b' }, { daily: { usd: 1 } })).rejects.toMatchObject({ field: 'target' });
    await expect(guard.setLimit({ userId: 'a' }, { daily: { usd: -1 } })).rejects.toMatchObject({ field: 'limits.daily.usd' });
    await expect(guard.setLimit({ userId: 'a' }, { fortnightly: { usd: 1 } } as never)).rejects.toMatchObject({
      field: 'limits.fortnightly',
    });
    await expect(guard.setLimit({ tag: 'no-equals' }, { daily: { usd: 1 } })).rejects.toMatchObject({ field: 'target.tag' });
  });
});

describe('limits per model, per agent and per user per model', () => {
  it('counts each model, agent and user+model on its own budget', async () => {
    const { guard } = makeGuard({
      limits: { model: { daily: { usd: 1 } }, agent: { hourly: { usd: 0.5 } }, userModel: { daily: { usd: 0.3 } } },
    });
    const alice = { userId: 'alice' };
    await guard.settle(await guard.reserve({ principal: alice, model: 'gpt-4o', estimatedUsd: 0.3 }), 0.3);
    // alice's gpt-4o budget is used up; her other model and bob's gpt-4o are not.
    expect(await refusal(guard.reserve({ principal: alice, model: 'gpt-4o', estimatedUsd: 0.01 }))).toMatchObject({
      limitType: 'user_model_daily',
      scope: 'user:alice|model:gpt-4o',
    });
    await guard.reserve({ principal: alice, model: 'gpt-4o-mini', estimatedUsd: 0.01 });
    await guard.settle(await guard.reserve({ principal: { userId: 'bob' }, model: 'gpt-4o', estimatedUsd: 0.3 }), 0.3);
    await guard.setLimit({ model: 'gpt-4o' }, { daily: { usd: 0.6 } });
    expect(await refusal(guard.reserve({ principal: { userId: 'carol' }, model: 'gpt-4o', estimatedUsd: 0.01 }))).toMatchObject({
      limitType: 'model_daily',
      scope: 'model:gpt-4o',
    });
    await guard.settle(await guard.reserve({ agentName: 'triage', estimatedUsd: 0.5 }), 0.5);
    expect(await refusal(guard.reserve({ agentName: 'triage', estimatedUsd: 0.01 }))).toMatchObject({ limitType: 'agent_hourly' });
    await guard.reserve({ agentName: 'writer', estimatedUsd: 0.01 });
  });
});

describe('refusals as events, alerts once per window and threshold', () => {
  it('passes every refusal of reserve to onRefusal with spent, reserved, attempted and the run', async () => {
    const { guard, refusals } = makeGuard({ limits: { user: { daily: { usd: 1 } } } });
    const alice = { userId: 'alice' };
    await guard.settle(await guard.reserve({ principal: alice, estimatedUsd: 0.5 }), 0.5);
    await guard.reserve({ principal: alice, estimatedUsd: 0.25 });
    await refusal(
      guard.reserve({ principal: alice, estimatedUsd: 0.5, runId: 'run-1', rootRunId: 'root-1', agentName: 'bot', step: 'answer' }),
    );
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({
      limitType: 'user_daily',
      window: '2026-03-04',
      spentExact: usdToPico(0.5),
      reservedExact: usdToPico(0.25),
      currentExact: usdToPico(0.75),
      attemptedExact: usdToPico(0.5),
      runId: 'run-1',
      rootRunId: 'root-1',
      agentName: 'bot',
      step: 'answer',
    });
  });

  it('fires 50/80/100 % once per window per threshold, even when spend drops and crosses again', async () => {
    const { guard, alerts, advance } = makeGuard({
      limits: { global: { daily: { usd: 1, alertAt: [{ fraction: 0.5 }, { fraction: 0.8 }, { fraction: 1 }] } } },
    });
    for (const usd of [0.3, 0.3, 0.3]) await guard.settle(await guard.reserve({}), usd);
    expect(alerts.map((alert) => alert.fraction)).toEqual([0.5, 0.8]);
    await guard.reset({});
    for (const usd of [0.6, 0.5]) await guard.settle(await guard.reserve({}), usd);
    expect(alerts.map((alert) => alert.fraction)).toEqual([0.5, 0.8, 1]); // 50 % and 80 % were told today already
    advance(86_400_000);
    await guard.settle(await guard.reserve({}), 0.6);
    expect(alerts.map((alert) => `${alert.fraction}@${alert.window}`).slice(3)).toEqual(['0.5@2026-03-05']);
  });
});

describe('estimates from history', () => {
  it('reserves the decaying p95 of the same agent and step, records the source, and refuses a run that will not fit', async () => {
    const { guard, advance } = makeGuard({ limits: { user: { daily: { usd: 1 } } }, history: { minSamples: 3 } });
    const call = { principal: { userId: 'alice' }, agentName: 'research', step: 'summarize' };
    const first = await guard.reserve(call);
    expect(first).toMatchObject({ estimateSource: 'none', estimatedPico: 0n });
    await guard.settle(first, 0.1, 100);
    for (const usd of [0.12, 0.3, 0.11]) {
      advance(1000);
      await guard.settle(await guard.reserve({ ...call, estimatedUsd: 0.35 }), usd, 100);
    }
    const estimated = await guard.reserve(call);
    expect(estimated).toMatchObject({ estimateSource: 'history', estimatedPico: usdToPico(0.3), estimatedTokens: 100 });
    await guard.release(estimated);
    // Another step of the same agent has its own history.
    expect(await guard.reserve({ ...call, step: 'plan' })).toMatchObject({ estimateSource: 'none' });
    // alice has $0.37 left: history says the next summarize ($0.30) fits, then no more.
    await guard.reserve(call);
    expect(await refusal(guard.reserve(call))).toMatchObject({ limitType: 'user_daily', attemptedExact: usdToPico(0.3) });
    expect((await guard.check({ userId: 'alice' }, { agentName: 'research', step: 'summarize' })).estimateSource).toBe('history');
  });
});
