// The budget calls of the seeds' users (trails, SynapseKit, codomyrmex), each with its costspan
// equivalent, as the README shows them.
import { describe, expect, it } from 'vitest';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { BudgetGuard } from './budget-guard.js';
import { withCostCap } from './cost-cap.js';

const T0 = Date.UTC(2026, 2, 4, 12, 0, 0);

describe('trails: set_budget, check_budget, record_spend, get_budget', () => {
  it('sets a budget per principal at run time and answers whether it is within it', async () => {
    const guard = new BudgetGuard({ limits: {}, now: () => T0 });
    const alice = { userId: 'alice' };
    // check_budget(principal) is True when no budget is set
    expect((await guard.check(alice)).allowed).toBe(true);
    // set_budget("alice", usd=5, tokens=1_000_000)
    await guard.setLimit({ userId: 'alice' }, { total: { usd: 5, tokens: 1_000_000 } });
    // record_spend("alice", usd=4.5, tokens=900_000)
    await guard.settle(await guard.reserve({ principal: alice }), 4.5, 900_000);
    expect((await guard.check(alice)).allowed).toBe(true);
    await guard.settle(await guard.reserve({ principal: alice }), 0.5, 1000);
    // check_budget("alice") is False once the budget is used up
    expect((await guard.check(alice)).allowed).toBe(false);
    // get_budget("alice")
    const budget = await guard.getBudget(alice);
    expect(budget.limits.map(({ unit, limit, spent, remaining }) => ({ unit, limit, spent, remaining }))).toEqual([
      { unit: 'usd', limit: 5, spent: 5, remaining: 0 },
      { unit: 'tokens', limit: 1_000_000, spent: 901_000, remaining: 99_000 },
    ]);
  });
});

describe('SynapseKit: check_before, record_spend, daily_spend, circuit_state, reset, max_cost_usd', () => {
  it('BudgetGuard(BudgetLimit(per_request=0.10, per_user=1.00, daily=50.00))', async () => {
    const guard = new BudgetGuard({
      limits: { perRequest: { usd: 0.1 }, user: { daily: { usd: 1 } }, global: { daily: { usd: 50 } } },
      limitCheck: 'exhausted', // SynapseKit refuses once spent >= limit
      now: () => T0,
      onError: () => undefined,
    });
    // guard.check_before(estimated_cost=0.05, user_id="alice")
    expect((await guard.check({ userId: 'alice' }, { estimatedUsd: 0.05 })).allowed).toBe(true);
    // guard.record_spend(0.05, user_id="alice")
    await guard.settle(await guard.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.05 }), 0.05);
    // guard.daily_spend
    expect((await guard.spend({}, 'daily'))[0]?.spent).toBe(0.05);
    // check_before(0.50) raises BudgetExceeded with limit_type "per_request", limit_value, current
    const { refusal } = await guard.check({}, { estimatedUsd: 0.5 });
    expect(refusal).toMatchObject({ limitType: 'per_request', limit: 0.1, current: 0 });
    await expect(guard.reserve({ estimatedUsd: 0.5 })).rejects.toBeInstanceOf(BudgetExceededError);
    // guard.circuit_state
    expect(guard.circuitState({ userId: 'alice' })).toBe('CLOSED');
    // guard.reset()
    await guard.reset();
    expect((await guard.spend({}, 'daily'))[0]?.spent).toBe(0);
  });

  it('per-case max_cost_usd: withCostCap refuses the call that would pass the cap and returns the cost', async () => {
    const dataset = [
      { id: 'short', calls: [0.01, 0.01] },
      { id: 'long', calls: [0.02, 0.02, 0.02] },
    ];
    const results = [];
    for (const item of dataset) {
      const outcome = await withCostCap({ maxUsd: 0.05 }, async (budget) => {
        for (const usd of item.calls) await budget.settle(await budget.reserve({ estimatedUsd: usd }), usd);
        return `${item.id} done`;
      });
      results.push({ id: item.id, result: outcome.result, costUsd: outcome.costUsd, capped: outcome.refusal !== undefined });
    }
    expect(results).toEqual([
      { id: 'short', result: 'short done', costUsd: 0.02, capped: false },
      { id: 'long', result: undefined, costUsd: 0.04, capped: true },
    ]);
  });
});

describe('codomyrmex: can this request proceed, and what remains', () => {
  it('checks a request with an estimated cost against daily, monthly and total caps', async () => {
    const guard = new BudgetGuard({
      limits: { global: { daily: { usd: 1 }, monthly: { usd: 20 }, total: { usd: 100 } } },
      now: () => T0,
    });
    await guard.settle(await guard.reserve({ estimatedUsd: 0.9 }), 0.9);
    const answer = await guard.check({}, { estimatedUsd: 0.2 });
    expect(answer.allowed).toBe(false);
    expect(answer.refusal?.limitType).toBe('daily');
    expect(answer.limits.map(({ limitType, remaining }) => ({ limitType, remaining }))).toEqual([
      { limitType: 'daily', remaining: 0.1 },
      { limitType: 'monthly', remaining: 19.1 },
      { limitType: 'total', remaining: 99.1 },
    ]);
  });
});
