import { describe, expect, it } from 'vitest';
import { createHarness } from '../__fixtures__/harness.js';
import { activeScope } from './run-scope.js';

// Under a context manager that carries contexts across `await` (the harness installs
// AsyncLocalStorageContextManager), runs and steps travel in the OTel context alone once the
// tracer has seen it work: costspan's own AsyncLocalStorage is not entered, so the host pays for
// one store per promise, not two.

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

describe('runs and steps under a context manager', () => {
  it('stop entering costspan’s own store once the context manager is seen to propagate, and still nest', async () => {
    const harness = createHarness();
    // The first run starts the probe; it settles within a tick.
    await harness.tracer.agentRun('warm-up', async (run) => {
      await run.step('first', async () => undefined);
    });
    await tick();

    const seen: (object | undefined)[] = [];
    await harness.tracer.agentRun('parent', async (parent) => {
      await Promise.all(
        ['a', 'b'].map((name) =>
          parent.step(name, async (step) => {
            await tick();
            seen.push(activeScope.getStore());
            // Found through the OTel context after an await, in parallel steps.
            expect(harness.tracer.activeStep()).toBe(step);
            expect(harness.tracer.activeRun()).toBe(parent);
            step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 100, output: 10 });
          }),
        ),
      );
      await harness.tracer.agentRun('child', async (child) => {
        await tick();
        expect(harness.tracer.activeRun()).toBe(child);
        await harness.tracer.step('inner', async (step) => {
          step.setCost({ inputUsd: 0.001, outputUsd: 0.002 });
        });
      });
    });
    await harness.flush();

    expect(seen).toEqual([undefined, undefined]);
    const parent = harness.span('invoke_agent parent');
    const child = harness.span('invoke_agent child');
    expect(child.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(harness.span('inner').parentSpanContext?.spanId).toBe(child.spanContext().spanId);
    expect(harness.span('a').parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    // The child's $0.003 is in the parent's inclusive total, not its own.
    expect(child.attributes['llm.cost.own.total_usd']).toBe(0.003);
    // Two gpt-4o calls of 100 in / 10 out at $2.50 / $10 per million: $0.00035 each.
    expect(parent.attributes['llm.cost.own.total_usd']).toBe(0.0007);
    expect(parent.attributes['llm.cost.inclusive.total_usd']).toBe(0.0037);
  });
});
