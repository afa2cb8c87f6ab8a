// A call the SDK could not price (unknown model, no price source, no usage) is booked at its
// reservation's estimate, never at $0, and a person hears of it once.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { usdToPico } from '@costspan/core';
import { ATTR, CostSpanProcessor, type Step, InMemoryEventExporter, createCostTracer, type BudgetSpend } from '@costspan/sdk';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { BudgetGuard } from './budget-guard.js';
import { type BudgetGuardOptions } from './budget-guard-types.js';
import { captureNotices } from './__fixtures__/guard-fixtures.js';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const T0 = Date.UTC(2026, 2, 4, 12);
const alice = { userId: 'alice' };
const notices = captureNotices();

function unpriced(extra: Partial<BudgetSpend> = {}): BudgetSpend {
  return {
    principal: alice,
    runId: 'run',
    rootRunId: 'root',
    agentName: 'qa',
    usd: 0n,
    tokens: 700,
    timestamp: T0,
    priced: false,
    ...extra,
  };
}

/** Reserves `estimatedUsd` before each of `calls` calls; each call reports `spend`. Resolves how many ran. */
async function tenCalls(guard: BudgetGuard, spend: (index: number) => Partial<BudgetSpend>, estimatedUsd = 0.004): Promise<number> {
  let ran = 0;
  for (let index = 0; index < 10; index += 1) {
    let reservation;
    try {
      reservation = await guard.reserve({ principal: alice, estimatedUsd, rootRunId: 'root' });
    } catch (error) {
      if (BudgetExceededError.isInstance(error)) continue;
      throw error;
    }
    ran += 1;
    guard.record(unpriced({ reservation, ...spend(index) }));
    await guard.flush();
  }
  return ran;
}

function guardWith(options: Partial<BudgetGuardOptions> = {}) {
  const errors: unknown[] = [];
  const guard = new BudgetGuard({
    limits: { user: { daily: { usd: 0.01 } } },
    now: () => T0,
    onError: (error) => errors.push(error),
    ...options,
  });
  return { guard, errors };
}

describe('unpriced calls, at the guard', () => {
  it('ten unknown-model calls reserved at $0.004 under a $0.01 daily limit: at most 3 run, onError says why once', async () => {
    const { guard, errors } = guardWith();
    const ran = await tenCalls(guard, () => ({ model: 'mystery-model' }));
    expect(ran).toBe(2); // projected: a third $0.004 would make $0.012
    expect((await guard.getBudget(alice)).limits[0]?.exact).toMatchObject({ spent: usdToPico(0.008), reserved: 0n });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'unknown_model', field: 'spend.model', value: 'mystery-model' });
    expect((errors[0] as Error).message).toMatch(/"mystery-model" could not be priced.*reservation estimate, \$0\.004 and 700 tokens/);
    expect(notices).toEqual([]);
  });

  it("with limitCheck 'exhausted' the third call is the last", async () => {
    const { guard } = guardWith({ limitCheck: 'exhausted' });
    expect(await tenCalls(guard, () => ({ model: 'mystery-model' }))).toBe(3);
  });

  it('without onError: one notice per model, naming the limit of the booking and what to do', async () => {
    const { guard } = guardWith({ onError: undefined });
    await tenCalls(guard, (index) => ({ model: index % 2 === 0 ? 'model-a' : 'model-b', tokens: 0 }), 0.001);
    expect(notices.map((notice) => notice.cause)).toEqual(['budget_unpriced:model-a', 'budget_unpriced:model-b']);
    expect(notices[0]?.message).toMatch(/booked at its reservation estimate, \$0\.001 .*register a price/);
  });

  it('a response without usage and a missing price source are the same case: the estimate is booked', async () => {
    const { guard } = guardWith({ limits: { user: { daily: { usd: 1 } } } });
    const reservation = await guard.reserve({ principal: alice, estimatedUsd: 0.25, estimatedTokens: 900 });
    guard.record(unpriced({ reservation, tokens: 0 })); // no usage at all
    const second = await guard.reserve({ principal: alice, estimatedUsd: 0.25, estimatedTokens: 900 });
    guard.record(unpriced({ reservation: second, usd: usdToPico(0.4), tokens: 2000 })); // a partial price above the estimate
    await guard.flush();
    const [usd] = (await guard.getBudget(alice)).limits;
    expect(usd?.exact).toMatchObject({ spent: usdToPico(0.65), reserved: 0n });
  });

  it('books the larger of estimate and reported tokens, and token limits still apply', async () => {
    const { guard } = guardWith({ limits: { user: { daily: { tokens: 2500 } } } });
    const small = await guard.reserve({ principal: alice, estimatedTokens: 100 });
    guard.record(unpriced({ reservation: small, tokens: 700 }));
    const large = await guard.reserve({ principal: alice, estimatedTokens: 1000 });
    guard.record(unpriced({ reservation: large, tokens: 300 }));
    await guard.flush();
    expect((await guard.getBudget(alice)).limits[0]).toMatchObject({ unit: 'tokens', spent: 1700 });
    await guard.reserve({ principal: alice, estimatedTokens: 800 });
    await expect(guard.reserve({ principal: alice, estimatedTokens: 1 })).rejects.toMatchObject({
      limitType: 'user_daily',
      unit: 'tokens',
    });
  });

  it('a priced call keeps booking what it cost, below its estimate too', async () => {
    const { guard, errors } = guardWith();
    const reservation = await guard.reserve({ principal: alice, estimatedUsd: 0.004 });
    guard.record(unpriced({ reservation, priced: true, usd: usdToPico(0.001) }));
    const second = await guard.reserve({ principal: alice, estimatedUsd: 0.004 });
    guard.record(unpriced({ reservation: second, priced: undefined, usd: 0n }));
    await guard.flush();
    expect((await guard.getBudget(alice)).limits[0]?.exact.spent).toBe(usdToPico(0.001));
    expect(errors).toEqual([]);
  });

  it('an unpriced call without an estimate says it was booked at $0 and how to make it count', async () => {
    const { guard, errors } = guardWith();
    const reservation = await guard.reserve({ principal: alice });
    guard.record(unpriced({ reservation, model: 'mystery-model' }));
    guard.record(unpriced({ model: 'other-model' }));
    await guard.flush();
    expect(errors.map((error) => (error as Error).message)).toEqual([
      expect.stringMatching(/its reservation had no estimate, so it was booked at \$0 .*pass estimatedUsd/),
      expect.stringMatching(/it settled no reservation, so it was booked at \$0/),
    ]);
  });
});

describe('unpriced calls, end to end through the SDK processor and tracer', () => {
  const cases: [string, ConstructorParameters<typeof CostSpanProcessor>[0], (step: Step) => void, string][] = [
    [
      'an unknown model',
      {},
      (step) => step.setModel('mystery-model-9000', 'acme').setTokenUsage({ input: 500, output: 200 }),
      'mystery-model-9000',
    ],
    [
      'no price source',
      { priceSource: null },
      (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }),
      'gpt-4o',
    ],
    [
      'a response without usage',
      {},
      (step) => {
        // What an integration marks on a call whose response (e.g. a stream) carried no usage.
        step.setModel('gpt-4o', 'openai').span.setAttribute(ATTR.USAGE_MISSING, true);
      },
      'gpt-4o',
    ],
  ];

  it.each(cases)(
    'ten calls with %s reserved at $0.004 under a $0.01 daily user limit: at most 3 run and a person is told why',
    async (_, options, call, model) => {
      const exporter = new InMemoryEventExporter();
      const processor = new CostSpanProcessor({ source: 'budget-test@1.0.0', exporters: [exporter], ...options });
      const tracer = createCostTracer({ tracerProvider: new BasicTracerProvider({ spanProcessors: [processor] }) });
      const errors: unknown[] = [];
      const guard = new BudgetGuard({ limits: { user: { daily: { usd: 0.01 } } }, onError: (error) => errors.push(error) });
      let ran = 0;
      let refused: unknown;
      await tracer.agentRun('qa', { principal: alice, budget: guard }, async (run) => {
        for (let index = 0; index < 10; index += 1) {
          try {
            await run.step(`call-${index}`, async (step) => {
              await step.reserve({ estimatedUsd: 0.004 });
              ran += 1;
              call(step);
            });
          } catch (error) {
            if (!BudgetExceededError.isInstance(error)) throw error;
            refused = error;
          }
          await guard.flush();
        }
      });
      await guard.flush();
      await processor.shutdown();
      expect(ran).toBeLessThanOrEqual(3);
      expect(ran).toBeGreaterThan(0);
      expect(refused).toMatchObject({ limitType: 'user_daily', scope: 'user:alice' });
      expect(errors).toContainEqual(expect.objectContaining({ code: 'unknown_model', message: expect.stringContaining(`"${model}"`) }));
      expect((await guard.getBudget(alice)).limits[0]?.exact.spent).toBe(usdToPico(0.004) * BigInt(ran));
    },
  );
});
