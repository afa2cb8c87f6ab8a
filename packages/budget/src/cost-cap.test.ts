import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { usdToPico } from '@costspan/core';
import { CostSpanProcessor, InMemoryEventExporter, createCostTracer } from '@costspan/sdk';
import { withCostCap } from './cost-cap.js';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const tracer = createCostTracer({
  tracerProvider: new BasicTracerProvider({
    spanProcessors: [new CostSpanProcessor({ source: 'cost-cap-test@1.0.0', exporters: [new InMemoryEventExporter()] })],
  }),
});

/** One eval case through the SDK: `calls` gpt-4o calls of 500/200 tokens ($0.00325 each), each reserved first. */
function evalCase(calls: number) {
  return withCostCap({ maxUsd: 0.007 }, (budget) =>
    tracer.agentRun('eval-case', { budget }, async (run) => {
      for (let index = 0; index < calls; index += 1) {
        await run.step(`call-${index}`, async (step) => {
          await step.reserve({ estimatedUsd: 0.00325 });
          step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }).setCost({ inputUsd: 0.00125, outputUsd: 0.002 });
        });
      }
      return `${calls} calls`;
    }),
  );
}

describe('withCostCap', () => {
  // In a vitest loop: each case has its own cap, nothing carries over from one case to the next.
  it.each([
    { calls: 1, result: '1 calls', cost: '0.00325', capped: false },
    { calls: 2, result: '2 calls', cost: '0.0065', capped: false },
    { calls: 3, result: undefined, cost: '0.0065', capped: true },
  ])('case with $calls calls under a $0.007 cap', async ({ calls, result, cost, capped }) => {
    const outcome = await evalCase(calls);
    expect(outcome).toMatchObject({ result, costPico: usdToPico(cost), tokens: Math.min(calls, 2) * 700, maxUsd: 0.007 });
    expect(outcome.refusal !== undefined).toBe(capped);
    if (capped) expect(outcome.refusal).toMatchObject({ limitType: 'total', attemptedExact: usdToPico('0.00325') });
  });

  it('runs cases in parallel without sharing budgets, and lets other errors through', async () => {
    const outcomes = await Promise.all([evalCase(2), evalCase(2), evalCase(3)]);
    expect(outcomes.map((outcome) => outcome.costUsd)).toEqual([0.0065, 0.0065, 0.0065]);
    await expect(withCostCap({ maxUsd: 1 }, () => Promise.reject(new Error('model down')))).rejects.toThrow('model down');
    await expect(withCostCap({ maxUsd: -1 }, () => 1)).rejects.toMatchObject({ field: 'maxUsd' });
  });
});
