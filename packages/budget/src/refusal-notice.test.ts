// A refused budget when nobody passed onError: one notice per limit and scope, never one per call.
import { describe, expect, it } from 'vitest';
import { BudgetGuard } from './budget-guard.js';
import { captureNotices, refusal } from './__fixtures__/guard-fixtures.js';

const T0 = Date.UTC(2026, 2, 4, 12);
const notices = captureNotices();

describe('refusal notices without onError', () => {
  it('tells each limit and scope once, naming the limit and how to raise it or catch the error', async () => {
    const guard = new BudgetGuard({ limits: { user: { daily: { usd: 0.01 } } }, now: () => T0, circuitBreaker: { cooldownMs: 60_000 } });
    const alice = { userId: 'alice' };
    await guard.reserve({ principal: alice, estimatedUsd: 0.01 });
    for (let index = 0; index < 5; index += 1) await refusal(guard.reserve({ principal: alice, estimatedUsd: 0.001 }));
    expect((await refusal(guard.reserve({ principal: alice }))).limitType).toBe('circuit_breaker'); // same cause: no new line
    expect(notices).toHaveLength(1);
    expect(notices[0]?.cause).toBe('budget_refused:user_daily:user:alice');
    expect(notices[0]?.message).toBe(
      'budget: the user_daily limit of $0.01 for user:alice (2026-03-04) refused a call: spent and reserved $0.01, ' +
        'the call asked for $0.001. Raise limits.user.daily.usd in the BudgetGuard limits, or catch BudgetExceededError ' +
        '(code budget_exceeded) around the call; pass onError to BudgetGuard to receive these notices instead.',
    );
    await guard.reserve({ principal: { userId: 'bob' }, estimatedUsd: 0.01 });
    await refusal(guard.reserve({ principal: { userId: 'bob' }, estimatedUsd: 0.01 }));
    expect(notices.map((notice) => notice.cause)).toEqual(['budget_refused:user_daily:user:alice', 'budget_refused:user_daily:user:bob']);
  });

  it('names the option of global, per-request and session limits, in tokens too', async () => {
    const guard = new BudgetGuard({
      limits: { perRequest: { tokens: 100 }, session: { usd: 1 }, global: { monthly: { tokens: 1000 } } },
      now: () => T0,
      circuitBreaker: false,
    });
    await refusal(guard.reserve({ estimatedTokens: 101 }));
    await guard.reserve({ estimatedTokens: 100, rootRunId: 'run-1', estimatedUsd: 1 });
    await refusal(guard.reserve({ estimatedUsd: 0.5, rootRunId: 'run-1' }));
    for (let index = 0; index < 9; index += 1) await guard.reserve({ estimatedTokens: 100 });
    await refusal(guard.reserve({ estimatedTokens: 1 }));
    expect(notices.map((notice) => [notice.cause, /Raise (\S+)/.exec(notice.message)?.[1]])).toEqual([
      ['budget_refused:per_request:request', 'limits.perRequest.tokens'],
      ['budget_refused:session:session:run-1', 'limits.session.usd'],
      ['budget_refused:monthly:global', 'limits.global.monthly.tokens'],
    ]);
    expect(notices[0]?.message).toContain('limit of 100 tokens for request (request)');
  });

  it('says nothing extra when onError is given: the caller handles refusals', async () => {
    const errors: unknown[] = [];
    const guard = new BudgetGuard({ limits: { global: { daily: { usd: 0.01 } } }, now: () => T0, onError: (error) => errors.push(error) });
    await guard.reserve({ estimatedUsd: 0.01 });
    await refusal(guard.reserve({ estimatedUsd: 0.01 }));
    expect(notices).toEqual([]);
    expect(errors).toEqual([]);
  });
});
