import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { createHarness } from '../__fixtures__/harness.js';
import { createCostTracer } from './cost-tracer.js';

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
