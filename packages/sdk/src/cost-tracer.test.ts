import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { CostspanError, usdToPico } from '@costspan/core';
import { createHarness } from './__fixtures__/harness.js';
import type { BudgetGate, BudgetReservation, BudgetReserveRequest, BudgetSpend } from './budget-gate.js';
import { createCostTracer } from './cost-tracer.js';

class RecordingGate implements BudgetGate {
  readonly reserved: BudgetReserveRequest[] = [];
  readonly recorded: BudgetSpend[] = [];
  readonly released: BudgetReservation[] = [];
  private next = 0;
  constructor(private readonly limitPico = 10n ** 18n) {}

  reserve(request: BudgetReserveRequest): Promise<BudgetReservation> {
    // Refuses once the limit is reached (spanforge's check_before); the real BudgetGuard lives in @costspan/budget.
    const spent = this.recorded.reduce((sum, spend) => sum + spend.usd, 0n);
    if (spent >= this.limitPico) {
      return Promise.reject(new CostspanError({ code: 'budget_exceeded', message: 'over budget' }));
    }
    this.reserved.push(request);
    this.next += 1;
    return Promise.resolve({ id: `r${this.next}` });
  }
  record(spend: BudgetSpend): void {
    this.recorded.push(spend);
  }
  release(reservation: BudgetReservation): void {
    this.released.push(reservation);
  }
}

describe('budget integration', () => {
  it('reserves before a call and settles the reservation with the priced cost', async () => {
    const harness = createHarness();
    const gate = new RecordingGate();
    await harness.tracer.agentRun('guarded', { principal: { userId: 'alice' }, budget: gate }, async (run) => {
      await run.step('call', async (step) => {
        await step.reserve({ estimatedUsd: 0.01 });
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }).setCost({ inputUsd: 0.00125, outputUsd: 0.002 });
      });
      run.agentRun('nested', (nested) => nested.step('unreserved', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })));
    });
    expect(gate.reserved).toEqual([expect.objectContaining({ principal: { userId: 'alice' }, agentName: 'guarded', estimatedUsd: usdToPico(0.01) })]);
    expect(gate.recorded).toHaveLength(2);
    expect(gate.recorded[0]).toMatchObject({ usd: usdToPico(0.00325), tokens: 700, reservation: { id: 'r1' } });
    // Nested runs inherit the budget and the principal; spends without a reservation are booked directly.
    expect(gate.recorded[1]).toMatchObject({ usd: usdToPico(0.001), agentName: 'nested', principal: { userId: 'alice' } });
    expect(gate.recorded[1]?.reservation).toBeUndefined();
    expect(gate.recorded[1]?.rootRunId).toBe(gate.recorded[0]?.runId);
  });

  it("settles a step's reservation with a call another instrumentation reported", async () => {
    const harness = createHarness();
    const gate = new RecordingGate();
    const sdkTracer = harness.provider.getTracer('@anthropic-ai/sdk');
    await harness.tracer.agentRun('auto', { budget: gate }, (run) =>
      run.step('call', async (step) => {
        await step.reserve({ estimatedUsd: 0.01 });
        sdkTracer.startActiveSpan('anthropic.messages.create', { attributes: { 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5, 'gen_ai.usage.cost.amount': 0.002, 'gen_ai.usage.cost.source': 'provider' } }, (span) => span.end());
      }),
    );
    expect(gate.recorded).toEqual([expect.objectContaining({ usd: usdToPico(0.002), tokens: 15, reservation: { id: 'r1' } })]);
    expect(gate.released).toHaveLength(0);
  });

  it('releases a reservation whose call never happened', async () => {
    const harness = createHarness();
    const gate = new RecordingGate();
    await expect(
      harness.tracer.agentRun('failing', { budget: gate }, (run) =>
        run.step('call', async (step) => {
          await step.reserve({ estimatedUsd: 0.01 });
          throw new Error('provider down');
        }),
      ),
    ).rejects.toThrow('provider down');
    expect(gate.released).toEqual([{ id: 'r1' }]);
    expect(gate.recorded).toHaveLength(0);
  });

  it('stops the call before it is made when the budget refuses', async () => {
    const harness = createHarness();
    const gate = new RecordingGate(usdToPico(0.005));
    let calls = 0;
    const answer = await harness.tracer.agentRun('limited', { budget: gate }, async (run) => {
      for (let index = 0; index < 3; index += 1) {
        try {
          await run.step(`call-${index}`, async (step) => {
            await step.reserve({ estimatedUsd: 0.00325 });
            calls += 1;
            step.setCost({ inputUsd: 0.00125, outputUsd: 0.002 });
          });
        } catch (error) {
          if (CostspanError.isInstance(error) && error.code === 'budget_exceeded') return `stopped after ${calls}`;
          throw error;
        }
      }
      return 'not stopped';
    });
    expect(answer).toBe('stopped after 2');
    expect(calls).toBe(2);
  });

  it('estimates the reservation from the prompt with @costspan/pricing', async () => {
    const harness = createHarness();
    const gate = new RecordingGate();
    await harness.tracer.agentRun('estimated', { budget: gate }, (run) =>
      run.step('call', async (step) => {
        await step.reserve({ model: 'gpt-4o', provider: 'openai', input: 'hello world', maxOutputTokens: 1000 });
      }),
    );
    const [request] = gate.reserved;
    // 1000 output tokens at $10/M is $0.01, plus a few input tokens at $2.50/M.
    expect(request?.estimatedUsd).toBeGreaterThan(usdToPico(0.01));
    expect(request?.estimatedUsd).toBeLessThan(usdToPico(0.0101));
    expect(request?.estimatedTokens).toBeGreaterThan(1000);
    expect(gate.released).toHaveLength(1);
  });

  it('validates estimates', async () => {
    const harness = createHarness();
    await harness.tracer.agentRun('bad', (run) =>
      run.step('s', async (step) => {
        await expect(step.reserve({ estimatedUsd: -1 })).rejects.toMatchObject({ code: 'invalid_cost', field: 'estimatedUsd' });
        await expect(step.reserve({ estimatedTokens: 1.5 })).rejects.toMatchObject({ code: 'invalid_tokens' });
      }),
    );
  });
});

describe('without an OpenTelemetry SDK', () => {
  it('runs on the no-op global provider: values pass through, nothing throws', async () => {
    trace.disable();
    const tracer = createCostTracer();
    const result = await tracer.agentRun('noop', async (run) =>
      run.step('s', (step) => {
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1, output: 1 });
        return 'ok';
      }),
    );
    expect(result).toBe('ok');
  });
});

describe('active run and step', () => {
  it('finds the step whose callback is running, and none in a nested run', async () => {
    const harness = createHarness();
    await harness.tracer.agentRun('outer', async (run) => {
      expect(harness.tracer.activeStep()).toBeUndefined();
      await run.step('s', async (step) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        expect(harness.tracer.activeStep()).toBe(step);
        expect(harness.tracer.activeRun()).toBe(run);
        run.agentRun('inner', (inner) => {
          expect(harness.tracer.activeRun()).toBe(inner);
          expect(harness.tracer.activeStep()).toBeUndefined();
        });
      });
    });
    expect(harness.tracer.activeRun()).toBeUndefined();
  });
});

describe('nesting', () => {
  it('nests a step inside a step when a context manager is active', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('outer', (run) =>
      run.step('parent-step', () => harness.tracer.step('inner-step', (inner) => inner.setCost({ inputUsd: 0.001, outputUsd: 0 }))),
    );
    await harness.flush();
    expect(harness.span('inner-step').parentSpanContext?.spanId).toBe(harness.span('parent-step').spanContext().spanId);
    expect(harness.span('invoke_agent outer').attributes['llm.cost.own.total_usd']).toBe(0.001);
  });

  it('nests explicitly even without a context manager', async () => {
    const { context } = await import('@opentelemetry/api');
    context.disable();
    try {
      const harness = createHarness({}, false);
      await harness.tracer.agentRun('root', async (run) => {
        await run.agentRun('child', async (child) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          child.step('s', (step) => step.setCost({ inputUsd: 0.002, outputUsd: 0 }));
        });
      });
      await harness.flush();
      expect(harness.span('invoke_agent root').attributes['llm.cost.inclusive.total_usd']).toBe(0.002);
    } finally {
      const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    }
  });
});
