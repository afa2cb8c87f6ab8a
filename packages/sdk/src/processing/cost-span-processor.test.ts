import { diag, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { CostspanError } from '@costspan/core';
import type { PriceSource } from '@costspan/pricing';
import { createHarness } from '../__fixtures__/harness.js';
import type { AgentRun } from '../tracing/cost-tracer.js';

afterEach(() => {
  diag.disable();
});

/** Options of a provider-costed gpt-4o call span of another instrumentation, as a background task would start it. */
function backgroundChat(costUsd: number): { attributes: Attributes } {
  return {
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.provider.name': 'openai',
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 5,
      'gen_ai.usage.cost.amount': costUsd,
      'gen_ai.usage.cost.source': 'provider',
    },
  };
}

describe('roll-up', () => {
  it('the spanforge multi-agent example: own 0.0015, inclusive 0.00525, on the span and in the session event', async () => {
    const harness = createHarness();
    await harness.tracer.agentRun('parent-agent', async (parent) => {
      parent.step('research', (step) => {
        step.setTokenUsage({ input: 200, output: 100, total: 300 });
        step.setCost({ inputUsd: 0.0005, outputUsd: 0.001 });
      });
      await parent.agentRun('child-summariser', async (child) => {
        child.step('summarise', (step) => {
          step.setTokenUsage({ input: 500, output: 250, total: 750 });
          step.setCost({ inputUsd: 0.00125, outputUsd: 0.0025 });
        });
      });
    });
    await harness.flush();

    const parent = harness.span('invoke_agent parent-agent');
    expect(parent.attributes['llm.cost.own.total_usd']).toBe(0.0015);
    expect(parent.attributes['llm.cost.inclusive.total_usd']).toBe(0.00525);
    expect(String(parent.attributes['llm.cost.inclusive.total_usd'])).toBe('0.00525');
    expect(parent.attributes['llm.cost.inclusive.call_count']).toBe(2);
    expect(parent.attributes['llm.cost.inclusive.input_tokens']).toBe(700);
    const child = harness.span('invoke_agent child-summariser');
    expect(child.attributes['llm.cost.own.total_usd']).toBe(0.00375);
    expect(child.attributes['llm.cost.inclusive.total_usd']).toBe(0.00375);
    // Run spans never carry gen_ai.usage.*: backends that sum it see each call once.
    expect(parent.attributes['gen_ai.usage.cost.amount']).toBeUndefined();
    expect(harness.span('research').attributes['gen_ai.usage.cost.amount']).toBe(0.0015);

    const sessions = harness.events.getEvents('llm.cost.session.recorded');
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.payload.total_cost.total_cost_usd).toBe(0.00525);
    expect(sessions[0]?.payload.call_count).toBe(2);
    expect(sessions[0]?.payload.agent_name).toBe('parent-agent');
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(2);
  });

  it('three steps of 0.005, 0.003 and 0.010 total exactly 0.018', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('sum', (run) => {
      for (const amount of [0.005, 0.003, 0.01]) {
        run.step(`step-${amount}`, (step) => step.setCost({ inputUsd: amount, outputUsd: 0 }));
      }
    });
    await harness.flush();
    expect(harness.span('invoke_agent sum').attributes['llm.cost.inclusive.total_usd']).toBe(0.018);
    expect(harness.events.getEvents('llm.cost.session.recorded')[0]?.payload.total_cost.total_cost_usd).toBe(0.018);
  });

  it('rolls up parallel children and three levels of nesting', async () => {
    const harness = createHarness();
    await harness.tracer.agentRun('root', async (root) => {
      await Promise.all(
        [1, 2, 3].map((index) =>
          root.agentRun(`worker-${index}`, async (worker) => {
            await new Promise((resolve) => setTimeout(resolve, 5 * (4 - index)));
            worker.step('call', (step) => step.setCost({ inputUsd: 0.001 * index, outputUsd: 0 }));
            worker.agentRun(`leaf-${index}`, (leaf) => leaf.step('call', (step) => step.setCost({ inputUsd: 0.0001, outputUsd: 0.0002 })));
          }),
        ),
      );
    });
    await harness.flush();
    expect(harness.span('invoke_agent root').attributes['llm.cost.inclusive.total_usd']).toBe(0.0069);
    expect(harness.span('invoke_agent root').attributes['llm.cost.own.total_usd']).toBe(0);
    expect(harness.span('invoke_agent worker-2').attributes['llm.cost.inclusive.total_usd']).toBe(0.0023);
    expect(harness.span('invoke_agent worker-2').attributes['llm.cost.own.total_usd']).toBe(0.002);
    expect(harness.events.getEvents('llm.cost.session.recorded')).toHaveLength(1);
  });

  it('keeps concurrent root runs apart', async () => {
    const harness = createHarness();
    await Promise.all(
      ['a', 'b', 'c'].map((name, index) =>
        harness.tracer.agentRun(name, { principal: { userId: name } }, async () => {
          for (let call = 0; call < 5; call += 1) {
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
            // tracer.step finds the run through the context manager, as application code would.
            harness.tracer.step('call', (step) => step.setCost({ inputUsd: (index + 1) / 1000, outputUsd: 0 }));
          }
        }),
      ),
    );
    await harness.flush();
    const sessions = harness.events.getEvents('llm.cost.session.recorded');
    expect(Object.fromEntries(sessions.map((event) => [event.payload.agent_name, event.payload.total_cost.total_cost_usd]))).toEqual({
      a: 0.005,
      b: 0.01,
      c: 0.015,
    });
    const attributed = harness.events.getEvents('llm.cost.attributed');
    expect(Object.fromEntries(attributed.map((event) => [event.payload.attribution_target, event.payload.cost.total_cost_usd]))).toEqual({
      'user:a': 0.005,
      'user:b': 0.01,
      'user:c': 0.015,
    });
  });

  it("a call that ends after its nested run counts in the nearest open run's own total, so own sums to the total", async () => {
    const harness = createHarness();
    const otelTracer = harness.provider.getTracer('other');
    await harness.tracer.agentRun('outer', async (run) => {
      run.step('plan', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 }));
      let late: ReturnType<typeof otelTracer.startSpan> | undefined;
      run.agentRun('inner', (inner) => {
        inner.step('draft', (step) => step.setCost({ inputUsd: 0.002, outputUsd: 0 }));
        late = otelTracer.startSpan('background chat', backgroundChat(0.004), trace.setSpan(inner.context, inner.span));
      });
      await Promise.resolve();
      late?.end();
    });
    await harness.flush();
    const outer = harness.span('invoke_agent outer').attributes;
    const inner = harness.span('invoke_agent inner').attributes;
    expect(inner['llm.cost.own.total_usd']).toBe(0.002);
    expect(outer['llm.cost.inclusive.total_usd']).toBe(0.007);
    expect(outer['llm.cost.own.total_usd']).toBe(0.005);
    expect(outer['llm.cost.own.call_count']).toBe(2);
    const session = harness.events.getEvents('llm.cost.session.recorded')[0];
    expect(session?.payload.total_cost.total_cost_usd).toBe(0.007);
    expect(harness.processor.stats().lateSpans).toBe(1);
  });

  it('a child that ends after its parent is not lost: token event plus late attribution', async () => {
    const harness = createHarness();
    const otelTracer = harness.provider.getTracer('other');
    let lateSpan: ReturnType<typeof otelTracer.startSpan> | undefined;
    harness.tracer.agentRun('impatient', { principal: { teamId: 'search' } }, (run) => {
      run.step('quick', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 }));
      lateSpan = otelTracer.startSpan('background chat', backgroundChat(0.0002), trace.setSpan(run.context, run.span));
    });
    lateSpan?.end();
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens).toHaveLength(2);
    const late = tokens.find((event) => event.payload.model.name === 'gpt-4o');
    expect(late?.payload.cost.total_cost_usd).toBe(0.0002);
    expect(late?.payload.pricing_status).toBe('provider');
    const attributed = harness.events.getEvents('llm.cost.attributed');
    expect(
      attributed.map((event) => [event.payload.attribution_target, event.payload.cost.total_cost_usd, event.payload.late ?? false]),
    ).toEqual([
      ['team:search', 0.001, false],
      ['team:search', 0.0002, true],
    ]);
    expect(harness.processor.stats().lateSpans).toBe(1);
    expect(harness.processor.stats().openSpans).toBe(0);
  });

  it('a grandchild that outlives its step still counts toward the open run', async () => {
    const harness = createHarness();
    const otel = harness.provider.getTracer('other');
    let background: ReturnType<typeof otel.startSpan> | undefined;
    await harness.tracer.agentRun('patient', async (run) => {
      run.step('kick-off', (step) => {
        background = otel.startSpan(
          'background',
          {
            attributes: {
              'gen_ai.usage.input_tokens': 1,
              'gen_ai.usage.output_tokens': 1,
              'gen_ai.usage.cost.amount': 0.004,
              'gen_ai.usage.cost.source': 'caller',
            },
          },
          trace.setSpan(run.context, step.span),
        );
      });
      await new Promise((resolve) => setTimeout(resolve, 1));
      background?.end();
    });
    await harness.flush();
    expect(harness.span('invoke_agent patient').attributes['llm.cost.inclusive.total_usd']).toBe(0.004);
    expect(harness.events.getEvents('llm.cost.session.recorded')[0]?.payload.total_cost.total_cost_usd).toBe(0.004);
    expect(harness.processor.stats().lateSpans).toBe(1);
  });

  it('records several calls of one step as separate token events', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('multi', (run) =>
      run.step('tools', (step) => {
        step.recordUsage({
          model: 'gpt-4o',
          provider: 'openai',
          usage: { input: 500, output: 200 },
          cost: { inputUsd: 0.00125, outputUsd: 0.002 },
        });
        step.recordUsage({
          model: 'gpt-4o-mini',
          provider: 'openai',
          usage: { input: 1000, output: 400 },
          cost: { inputUsd: 0.00015, outputUsd: 0.00024 },
        });
      }),
    );
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens.map((event) => event.payload.model.name)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    const step = harness.span('tools');
    expect(step.attributes['gen_ai.usage.input_tokens']).toBe(1500);
    expect(step.attributes['gen_ai.usage.cost.amount']).toBe(0.00364);
    expect(harness.events.getEvents('llm.cost.session.recorded')[0]?.payload.models_used).toEqual(['gpt-4o', 'gpt-4o-mini']);
  });
});

describe('errors and bad input', () => {
  it('a throwing step marks ERROR, still records its cost, and rethrows', async () => {
    const harness = createHarness();
    const failure = new Error('model timed out');
    await expect(
      harness.tracer.agentRun('fragile', async (run) => {
        await run.step('call', async (step) => {
          step.setCost({ inputUsd: 0.002, outputUsd: 0 });
          throw failure;
        });
      }),
    ).rejects.toBe(failure);
    expect(() =>
      harness.tracer.agentRun('sync-fragile', (run) =>
        run.step('call', (step) => {
          step.setCost({ inputUsd: 0.001, outputUsd: 0 });
          throw failure;
        }),
      ),
    ).toThrow(failure);
    await harness.flush();
    expect(harness.span('invoke_agent fragile').status.code).toBe(SpanStatusCode.ERROR);
    const fragileToken = harness.events.getEvents('llm.cost.token.recorded').find((event) => event.payload.scope === 'fragile/call');
    expect(fragileToken?.payload.status).toBe('error');
    expect(harness.events.getEvents('llm.cost.session.recorded').map((event) => event.payload.status)).toEqual(['error', 'error']);
    expect(harness.span('invoke_agent fragile').attributes['llm.cost.inclusive.total_usd']).toBe(0.002);
    expect(harness.events.getEvents('llm.cost.session.recorded')).toHaveLength(2);
  });

  it('passes return values through, sync and async', async () => {
    const harness = createHarness();
    expect(harness.tracer.agentRun('sync', (run) => run.step('s', () => 42))).toBe(42);
    await expect(harness.tracer.agentRun('async', async (run) => run.step('s', async () => 'answer'))).resolves.toBe('answer');
  });

  it('a step outside a run throws a clear error', () => {
    const harness = createHarness();
    expect(() => harness.tracer.step('orphan', () => undefined)).toThrow(/outside an agent run/);
    let ended: AgentRun | undefined;
    harness.tracer.agentRun('done', (run) => {
      ended = run;
    });
    expect(() => ended?.step('late', () => undefined)).toThrow(expect.objectContaining({ code: 'no_active_run' }));
  });

  it.each([
    [{ input: -1, output: 0 }, 'usage.input', '-1'],
    [{ input: 1.5, output: 0 }, 'usage.input', '1.5'],
    [{ input: 1, output: Number.NaN }, 'usage.output', 'NaN'],
    [{ input: 1, output: Number.POSITIVE_INFINITY }, 'usage.output', 'Infinity'],
    [{ input: 10, output: 0, cacheRead: 20 }, 'usage.cacheRead', '20'],
  ])('refuses token usage %j naming %s', (usage, field, value) => {
    const harness = createHarness();
    harness.tracer.agentRun('bad', (run) =>
      run.step('s', (step) => {
        let thrown: unknown;
        try {
          step.setTokenUsage(usage);
        } catch (error) {
          thrown = error;
        }
        expect(CostspanError.isInstance(thrown)).toBe(true);
        expect((thrown as CostspanError).code).toBe('invalid_tokens');
        expect((thrown as CostspanError).field).toBe(field);
        expect((thrown as CostspanError).message).toContain(value);
      }),
    );
  });

  it.each([
    [{ inputUsd: -0.01, outputUsd: 0 }, 'cost.inputUsd'],
    [{ inputUsd: 0, outputUsd: Number.NaN }, 'cost.outputUsd'],
    [{ inputUsd: 0, outputUsd: 0, reasoningUsd: Number.POSITIVE_INFINITY }, 'cost.reasoningUsd'],
    [{ inputUsd: 0.001, outputUsd: 0, cachedDiscountUsd: 0.002 }, 'cost.cachedDiscountUsd'],
  ])('refuses cost %j naming %s', (cost, field) => {
    const harness = createHarness();
    harness.tracer.agentRun('bad', (run) =>
      run.step('s', (step) => {
        expect(() => step.setCost(cost)).toThrow(expect.objectContaining({ code: 'invalid_cost', field }));
      }),
    );
  });

  it('refuses empty names and an invalid source', () => {
    const harness = createHarness();
    expect(() => harness.tracer.agentRun('', () => undefined)).toThrow(expect.objectContaining({ code: 'invalid_name', field: 'name' }));
    expect(() => createHarness({ source: 'no-version' })).toThrow(expect.objectContaining({ code: 'invalid_source' }));
    expect(() => harness.tracer.agentRun('x', { principal: { userId: '' } }, () => undefined)).toThrow(/principal.userId/);
  });

  it('what was recorded before a bad input is kept', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('partial', (run) =>
      run.step('s', (step) => {
        step.recordUsage({ model: 'm', usage: { input: 1, output: 1 }, cost: { inputUsd: 0.001, outputUsd: 0 } });
        expect(() => step.recordUsage({ model: 'm', usage: { input: -5, output: 1 } })).toThrow(CostspanError);
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.session.recorded')[0]?.payload.total_cost.total_cost_usd).toBe(0.001);
  });

  it('a throwing listener or price source never reaches the host application', async () => {
    const errors: unknown[] = [];
    const { setGlobalErrorHandler, loggingErrorHandler } = await import('@opentelemetry/core');
    setGlobalErrorHandler((error) => errors.push(error));
    try {
      const priceSource: PriceSource = {
        price: () => {
          throw new Error('price table broken');
        },
      };
      const harness = createHarness({
        priceSource,
        listeners: [
          {
            onEvent: () => {
              throw new Error('listener broken');
            },
          },
        ],
      });
      harness.tracer.agentRun('robust', (run) =>
        run.step('s', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1, output: 1 })),
      );
      await harness.flush();
      expect(errors.map((error) => (error as Error).message)).toEqual(expect.arrayContaining(['price table broken', 'listener broken']));
      expect(harness.events.getEvents('llm.cost.token.recorded')[0]?.payload.pricing_status).toBe('unpriced');
    } finally {
      setGlobalErrorHandler(loggingErrorHandler());
    }
  });
});
