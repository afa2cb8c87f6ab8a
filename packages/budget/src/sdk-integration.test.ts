// BudgetGuard behind the SDK: agentRun(name, { principal, budget }, fn) reserves through
// step.reserve and books every priced call through record(), from span processing.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { CostSpanProcessor, InMemoryEventExporter, createCostTracer } from '@costspan/sdk';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { BudgetGuard } from './budget-guard.js';
import { type BudgetAlert } from './budget-guard-types.js';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

function harness() {
  const processor = new CostSpanProcessor({ source: 'budget-test@1.0.0', exporters: [new InMemoryEventExporter()] });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  return createCostTracer({ tracerProvider: provider });
}

async function runThreeCalls(guard: BudgetGuard, estimatedUsd: number | undefined): Promise<number> {
  const tracer = harness();
  let calls = 0;
  await tracer.agentRun('qa', { principal: { userId: 'alice' }, budget: guard }, async (run) => {
    for (let index = 0; index < 3; index += 1) {
      try {
        await run.step(`call-${index}`, async (step) => {
          await step.reserve(estimatedUsd === undefined ? {} : { estimatedUsd });
          calls += 1;
          step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }).setCost({ inputUsd: 0.00125, outputUsd: 0.002 });
        });
      } catch (error) {
        if (BudgetExceededError.isInstance(error)) return;
        throw error;
      }
      await guard.flush();
    }
  });
  await guard.flush();
  return calls;
}

describe('BudgetGuard as the SDK budget', () => {
  it('stops the third call of the seed scenario and alerts once after the second', async () => {
    const alerts: BudgetAlert[] = [];
    const guard = new BudgetGuard({
      limits: { user: { daily: { usd: 0.005 } }, global: { daily: { alertAt: [{ usd: 0.005 }] } } },
      onAlert: (alert) => alerts.push(alert),
    });
    expect(await runThreeCalls(guard, undefined)).toBe(2);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ spent: 0.0065 });
    expect((await guard.getBudget({ userId: 'alice' })).limits[0]).toMatchObject({ spent: 0.0065, reserved: 0 });
  });

  it("with estimates: 'exhausted' stops the third call, the default stops the second", async () => {
    expect(await runThreeCalls(new BudgetGuard({ limits: { user: { daily: { usd: 0.005 } } }, limitCheck: 'exhausted' }), 0.00325)).toBe(2);
    expect(await runThreeCalls(new BudgetGuard({ limits: { user: { daily: { usd: 0.005 } } } }), 0.00325)).toBe(1);
  });

  it('settles reservations (actual replaces the estimate) and enforces session limits by root run', async () => {
    const guard = new BudgetGuard({ limits: { session: { usd: 0.01 } } });
    const tracer = harness();
    let rootRunId = '';
    await tracer.agentRun('outer', { budget: guard }, async (run) => {
      rootRunId = run.id;
      await run.step('call', async (step) => {
        await step.reserve({ estimatedUsd: 0.009 });
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }).setCost({ inputUsd: 0.00125, outputUsd: 0.002 });
      });
    });
    await guard.flush();
    expect((await guard.getBudget({}, { rootRunId })).limits[0]).toMatchObject({ limitType: 'session', spent: 0.00325, reserved: 0 });
  });

  it('applies agent limits and estimates from the agent and step history to step.reserve({}) without an estimate', async () => {
    const guard = new BudgetGuard({ limits: { agent: { daily: { usd: 0.01 } } }, onError: () => undefined });
    const tracer = harness();
    const reserved: string[] = [];
    const source = { reserve: guard.reserve.bind(guard), record: guard.record.bind(guard), release: guard.release.bind(guard) };
    const budget = {
      ...source,
      reserve: async (request: Parameters<BudgetGuard['reserve']>[0]) => {
        const reservation = await source.reserve(request);
        reserved.push(reservation.estimateSource);
        return reservation;
      },
    };
    let calls = 0;
    let attempted: bigint | undefined;
    await tracer.agentRun('qa-bot', { budget }, async (run) => {
      for (let index = 0; index < 5; index += 1) {
        try {
          await run.step('answer', async (step) => {
            await step.reserve({});
            calls += 1;
            step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }).setCost({ inputUsd: 0.00125, outputUsd: 0.002 });
          });
        } catch (error) {
          if (!BudgetExceededError.isInstance(error)) throw error;
          attempted = error.attemptedExact;
          return;
        }
        await guard.flush();
      }
    });
    expect(attempted).toBe(3_250_000_000n);
    // Three calls without history ($0.00975 of $0.01); the fourth reserves the p95 of the agent's `answer` step ($0.00325) and does not fit.
    expect(calls).toBe(3);
    expect(reserved).toEqual(['none', 'none', 'none']);
    expect((await guard.getBudget({}, { agentName: 'qa-bot' })).limits[0]).toMatchObject({ limitType: 'agent_daily', spent: 0.00975 });
  });
});
