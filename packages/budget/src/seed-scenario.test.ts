// The seeds' scenario (SynapseKit BudgetGuard): gpt-4o calls of 500 input / 200 output tokens at
// $2.50 / $10 per million tokens cost $0.00325 each; running totals 0.00325, 0.0065, 0.00975.
import { describe, expect, it } from 'vitest';
import { priceTokens, usdToPico } from '@costspan/core';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { BudgetGuard } from './budget-guard.js';
import { type BudgetAlert } from './budget-guard-types.js';

const CALL_COST = priceTokens(500, usdToPico(2.5)) + priceTokens(200, usdToPico(10));
const principal = { userId: 'alice' };

function spend() {
  return { principal, runId: 'run', rootRunId: 'run', agentName: 'qa', usd: CALL_COST, tokens: 700, timestamp: 0 };
}

/** Makes up to three calls; returns how many were made before the guard refused one. */
async function threeCalls(guard: BudgetGuard, estimate: bigint | undefined): Promise<{ made: number; refusal?: BudgetExceededError }> {
  let made = 0;
  for (let call = 0; call < 3; call += 1) {
    let reservation;
    try {
      reservation = await guard.reserve({ principal, ...(estimate === undefined ? {} : { estimatedUsd: estimate }) });
    } catch (error) {
      if (BudgetExceededError.isInstance(error)) return { made, refusal: error };
      throw error;
    }
    made += 1; // the model call happens here
    guard.record({ ...spend(), reservation });
    await guard.flush();
  }
  return { made };
}

describe('seed scenario: three gpt-4o calls of $0.00325', () => {
  it('costs $0.00325 per call', () => {
    expect(CALL_COST).toBe(usdToPico('0.00325'));
  });

  it('a soft threshold of $0.005 alerts exactly once, after the second call', async () => {
    const alerts: BudgetAlert[] = [];
    const guard = new BudgetGuard({ limits: { user: { daily: { alertAt: [{ usd: 0.005 }] } } }, onAlert: (alert) => alerts.push(alert) });
    const afterEachCall: number[] = [];
    for (let call = 0; call < 3; call += 1) {
      guard.record(spend());
      await guard.flush();
      afterEachCall.push(alerts.length);
    }
    expect(afterEachCall).toEqual([0, 1, 1]);
    expect(alerts[0]).toMatchObject({ threshold: 0.005, spent: 0.0065, limitType: 'user_daily', scope: 'user:alice' });
    expect((await guard.getBudget(principal)).limits[0]).toMatchObject({ spent: 0.00975, limit: undefined });
  });

  it('a hard limit of $0.005 refuses the third call before it is made (calls reserved without an estimate)', async () => {
    // Default check: a used-up budget (spent >= limit) refuses every call, estimated or not.
    const guard = new BudgetGuard({ limits: { user: { daily: { usd: 0.005 } } } });
    const { made, refusal } = await threeCalls(guard, undefined);
    expect(made).toBe(2);
    expect(refusal).toMatchObject({ limitType: 'user_daily', limit: 0.005, current: 0.0065, attempted: 0 });
    expect(refusal?.currentExact).toBe(usdToPico('0.0065'));
  });

  it("with estimates equal to the actual cost, limitCheck 'exhausted' refuses the third call (check_before semantics)", async () => {
    const guard = new BudgetGuard({ limits: { user: { daily: { usd: 0.005 } } }, limitCheck: 'exhausted' });
    const { made, refusal } = await threeCalls(guard, CALL_COST);
    expect(made).toBe(2);
    expect(refusal).toMatchObject({ limitType: 'user_daily', current: 0.0065, attempted: 0.00325 });
  });

  it("with estimates, the default 'projected' check already refuses the second call, which would overspend", async () => {
    const guard = new BudgetGuard({ limits: { user: { daily: { usd: 0.005 } } } });
    const { made, refusal } = await threeCalls(guard, CALL_COST);
    expect(made).toBe(1);
    expect(refusal).toMatchObject({ limitType: 'user_daily', current: 0.00325, attempted: 0.00325, remaining: 0.00175 });
  });

  it('a per-request limit compares each estimate on its own', async () => {
    const guard = new BudgetGuard({ limits: { perRequest: { usd: 0.003 } } });
    await expect(guard.reserve({ principal, estimatedUsd: CALL_COST })).rejects.toMatchObject({ limitType: 'per_request', limit: 0.003 });
  });
});
