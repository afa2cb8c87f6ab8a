import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { BudgetGuard } from './budget-guard.js';

const LIMIT = 1_000_000n; // pico-USD: small numbers keep shrinking readable

interface Worker {
  estimate: bigint;
  /** Actual cost as a share (0–100 %) of the estimate: actual ≤ reserved. */
  actualPercent: number;
  outcome: 'settle' | 'release' | 'record';
  user: 'alice' | 'bob';
}

const workerArbitrary: fc.Arbitrary<Worker> = fc.record({
  estimate: fc.bigInt({ min: 0n, max: 400_000n }),
  actualPercent: fc.integer({ min: 0, max: 100 }),
  outcome: fc.constantFrom('settle' as const, 'release' as const, 'record' as const),
  user: fc.constantFrom('alice' as const, 'bob' as const),
});

describe('property: settled spend never exceeds a limit', () => {
  it('for random interleavings of reserve / settle / release / record', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(workerArbitrary, { minLength: 1, maxLength: 30 }),
        fc.constantFrom(0, 60_000),
        async (scheduler, workers, cooldownMs) => {
          const guard = new BudgetGuard({
            limits: { global: { daily: { usd: `${LIMIT}e-12` } }, user: { daily: { usd: `${LIMIT / 2n}e-12` } } },
            now: () => Date.UTC(2026, 2, 4),
            circuitBreaker: { cooldownMs },
            onError: (error) => {
              throw error;
            },
          });
          const settledBy = { alice: 0n, bob: 0n };
          const run = async (worker: Worker): Promise<void> => {
            await scheduler.schedule(Promise.resolve(), 'before reserve');
            let reservation;
            try {
              reservation = await guard.reserve({ principal: { userId: worker.user }, estimatedUsd: worker.estimate });
            } catch (error) {
              if (BudgetExceededError.isInstance(error)) return;
              throw error;
            }
            await scheduler.schedule(Promise.resolve(), 'the call');
            const actual = (worker.estimate * BigInt(worker.actualPercent)) / 100n;
            if (worker.outcome === 'release') {
              await guard.release(reservation);
              return;
            }
            settledBy[worker.user] += actual;
            if (worker.outcome === 'settle') await guard.settle(reservation, actual);
            else
              guard.record({
                principal: { userId: worker.user },
                runId: 'r',
                rootRunId: 'r',
                agentName: 'a',
                usd: actual,
                tokens: 0,
                reservation,
                timestamp: 0,
              });
          };
          await scheduler.waitFor(Promise.all(workers.map(run)));
          await guard.flush();
          const total = settledBy.alice + settledBy.bob;
          expect(total).toBeLessThanOrEqual(LIMIT);
          expect(settledBy.alice).toBeLessThanOrEqual(LIMIT / 2n);
          expect(settledBy.bob).toBeLessThanOrEqual(LIMIT / 2n);
          const status = await guard.getBudget({ userId: 'alice' });
          const global = status.limits.find((limit) => limit.limitType === 'daily');
          expect(global?.exact.spent).toBe(total);
          expect(global?.exact.reserved).toBe(0n);
        },
      ),
      { numRuns: 200 },
    );
  });
});
