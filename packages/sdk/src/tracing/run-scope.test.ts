import { context, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { usdToPico } from '@costspan/core';
import { createHarness, type Harness } from '../__fixtures__/harness.js';
import type { BudgetGate, BudgetReservation, BudgetReserveRequest, BudgetSpend } from '../budget-gate.js';
import type { AgentRun } from './cost-tracer.js';
import { createCostTracer } from './cost-tracer.js';

// This file never installs a context manager: a BasicTracerProvider that was never register()ed,
// the usual setup in scripts and tests. OTel's context then forgets everything, so nesting rests
// on the tracer's own AsyncLocalStorage.

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

function spanforgeChild(harness: Harness): void {
  harness.tracer.agentRun('child-summariser', (child) => {
    child.step('summarise', (step) => {
      step.setTokenUsage({ input: 500, output: 250, total: 750 });
      step.setCost({ inputUsd: 0.00125, outputUsd: 0.0025 });
    });
  });
}

function researchStep(parent: AgentRun): void {
  parent.step('research', (step) => {
    step.setTokenUsage({ input: 200, output: 100, total: 300 });
    step.setCost({ inputUsd: 0.0005, outputUsd: 0.001 });
  });
}

async function expectOneSession(harness: Harness): Promise<void> {
  await harness.flush();
  const sessions = harness.events.getEvents('llm.cost.session.recorded');
  expect(sessions).toHaveLength(1);
  expect(sessions[0]?.payload.total_cost.total_cost_usd).toBe(0.00525);
  const parent = harness.span('invoke_agent parent-agent');
  expect(parent.attributes['llm.cost.inclusive.total_usd']).toBe(0.00525);
  expect(parent.attributes['llm.cost.own.total_usd']).toBe(0.0015);
  // Span parents agree with the cost tree: the child run's span is a child of the parent run's.
  const child = harness.span('invoke_agent child-summariser');
  expect(child.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
  expect(child.spanContext().traceId).toBe(parent.spanContext().traceId);
}

describe('nesting without a context manager', () => {
  it('has no context manager here (the premise of this file)', () => {
    const span = trace.getTracer('probe').startSpan('probe');
    expect(context.with(trace.setSpan(context.active(), span), () => trace.getActiveSpan())).toBeUndefined();
    span.end();
  });

  it('nests tracer.agentRun in the parent run synchronously (spanforge example)', async () => {
    const harness = createHarness({}, false);
    harness.tracer.agentRun('parent-agent', (parent) => {
      researchStep(parent);
      spanforgeChild(harness);
    });
    await expectOneSession(harness);
  });

  it('nests tracer.agentRun in the parent run after an await', async () => {
    const harness = createHarness({}, false);
    await harness.tracer.agentRun('parent-agent', async (parent) => {
      researchStep(parent);
      await tick();
      spanforgeChild(harness);
      await tick();
    });
    await expectOneSession(harness);
  });

  it('finds the active run and step, and tracer.step nests in the run', async () => {
    const harness = createHarness({}, false);
    await harness.tracer.agentRun('outer', async (run) => {
      await tick();
      expect(harness.tracer.activeRun()).toBe(run);
      expect(harness.tracer.activeStep()).toBeUndefined();
      await harness.tracer.step('s', async (step) => {
        await tick();
        expect(harness.tracer.activeStep()).toBe(step);
        expect(harness.tracer.activeRun()).toBe(run);
        step.setCost({ inputUsd: 0.001, outputUsd: 0 });
        harness.tracer.agentRun('inner', (inner) => {
          expect(harness.tracer.activeRun()).toBe(inner);
          expect(harness.tracer.activeStep()).toBeUndefined();
        });
      });
    });
    expect(harness.tracer.activeRun()).toBeUndefined();
    await harness.flush();
    expect(harness.span('s').parentSpanContext?.spanId).toBe(harness.span('invoke_agent outer').spanContext().spanId);
    // A run started inside a step hangs under the step, as under a context manager.
    expect(harness.span('invoke_agent inner').parentSpanContext?.spanId).toBe(harness.span('s').spanContext().spanId);
    expect(harness.events.getEvents('llm.cost.session.recorded')).toHaveLength(1);
  });

  it('nests a step inside a step, as under a context manager', async () => {
    const harness = createHarness({}, false);
    harness.tracer.agentRun('outer', (run) =>
      run.step('parent-step', () => harness.tracer.step('inner-step', (inner) => inner.setCost({ inputUsd: 0.001, outputUsd: 0 }))),
    );
    await harness.flush();
    expect(harness.span('inner-step').parentSpanContext?.spanId).toBe(harness.span('parent-step').spanContext().spanId);
    expect(harness.span('invoke_agent outer').attributes['llm.cost.own.total_usd']).toBe(0.001);
  });

  it('keeps concurrent roots apart', async () => {
    const harness = createHarness({}, false);
    const root = (name: string, usd: number): Promise<void> =>
      harness.tracer.agentRun(name, async () => {
        await tick();
        await harness.tracer.agentRun(`${name}-child`, async () => {
          await tick();
          await harness.tracer.step('call', async (step) => {
            await tick();
            step.setCost({ inputUsd: usd, outputUsd: 0 });
          });
        });
      });
    await Promise.all([root('a', 0.001), root('b', 0.002)]);
    await harness.flush();
    const totals = harness.events
      .getEvents('llm.cost.session.recorded')
      .map((event) => [event.payload.agent_name, event.payload.total_cost.total_cost_usd]);
    expect(totals.sort()).toEqual([
      ['a', 0.001],
      ['b', 0.002],
    ]);
  });

  it('ends the scope with the callback, also when it throws', async () => {
    const harness = createHarness({}, false);
    expect(() =>
      harness.tracer.agentRun('failing', () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(harness.tracer.activeRun()).toBeUndefined();
    await expect(
      harness.tracer.agentRun('rejecting', async () => {
        await tick();
        throw new Error('later');
      }),
    ).rejects.toThrow('later');
    expect(harness.tracer.activeRun()).toBeUndefined();
    expect(() => harness.tracer.step('orphan', () => undefined)).toThrow(expect.objectContaining({ code: 'no_active_run' }));
  });
});

class CountingGate implements BudgetGate {
  readonly reserved: BudgetReserveRequest[] = [];
  readonly recorded: BudgetSpend[] = [];
  reserve(request: BudgetReserveRequest): Promise<BudgetReservation> {
    this.reserved.push(request);
    return Promise.resolve({ id: String(this.reserved.length) });
  }
  record(spend: BudgetSpend): void {
    this.recorded.push(spend);
  }
  release(): void {
    // Nothing held.
  }
}

describe('tracer defaults', () => {
  it('gives root runs the default principal and budget; a run’s own fields win', async () => {
    const harness = createHarness({}, false);
    const gate = new CountingGate();
    const tracer = createCostTracer({ tracerProvider: harness.provider, principal: { orgId: 'acme', teamId: 'search' }, budget: gate });
    await tracer.agentRun('root', { principal: { userId: 'alice', teamId: 'ads' } }, async (run) => {
      expect(run.principal).toEqual({ orgId: 'acme', teamId: 'ads', userId: 'alice' });
      expect(run.budget).toBe(gate);
      await run.step('call', async (step) => {
        await step.reserve({ estimatedUsd: 0.001 });
        step.setCost({ inputUsd: 0.001, outputUsd: 0 });
      });
    });
    expect(gate.reserved).toHaveLength(1);
    expect(gate.recorded[0]?.usd).toBe(usdToPico(0.001));
    const own = createCostTracer({ tracerProvider: harness.provider, budget: gate });
    const other = new CountingGate();
    own.agentRun('explicit', { budget: other }, (run) => expect(run.budget).toBe(other));
  });

  it('refuses an invalid default principal', () => {
    expect(() => createCostTracer({ principal: { userId: '' } })).toThrow(expect.objectContaining({ field: 'principal.userId' }));
  });
});

describe('ScopeContext', () => {
  it('reads, sets and deletes values as an OTel context does, hiding the key it hides', async () => {
    const { ROOT_CONTEXT, createContextKey } = await import('@opentelemetry/api');
    const { ScopeContext, RUN_KEY, STEP_KEY } = await import('./run-scope.js');
    const other = createContextKey('other');
    const base = ROOT_CONTEXT.setValue(other, 'kept').setValue(STEP_KEY, 'outer step');
    const scope = new ScopeContext(base, RUN_KEY, 'run', STEP_KEY);
    expect(scope.getValue(RUN_KEY)).toBe('run');
    expect(scope.getValue(STEP_KEY)).toBeUndefined();
    expect(scope.getValue(other)).toBe('kept');
    const changed = scope.setValue(other, 'changed').setValue(STEP_KEY, 'inner step');
    expect(changed.getValue(other)).toBe('changed');
    expect(changed.getValue(STEP_KEY)).toBe('inner step');
    expect(changed.getValue(RUN_KEY)).toBe('run');
    expect(changed.deleteValue(RUN_KEY).getValue(RUN_KEY)).toBeUndefined();
    // The contexts it was made from are unchanged.
    expect(scope.getValue(other)).toBe('kept');
    expect(base.getValue(STEP_KEY)).toBe('outer step');
  });
});
