import { diag, DiagLogLevel, SpanStatusCode, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CostspanError, usdToPico } from '@costspan/core';
import type { PriceSource } from '@costspan/pricing';
import { createHarness } from '../__fixtures__/harness.js';
import { canonicalJson, serializeEvent, type CostEvent } from '../events/cost-event.js';
import { CostTracker } from '../events/cost-tracker.js';
import type { AgentRun } from '../tracing/cost-tracer.js';

afterEach(() => {
  diag.disable();
});

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

  it('a child that ends after its parent is not lost: token event plus late attribution', async () => {
    const harness = createHarness();
    const otelTracer = harness.provider.getTracer('other');
    let lateSpan: ReturnType<typeof otelTracer.startSpan> | undefined;
    harness.tracer.agentRun('impatient', { principal: { teamId: 'search' } }, (run) => {
      run.step('quick', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 }));
      lateSpan = otelTracer.startSpan(
        'background chat',
        {
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.request.model': 'gpt-4o',
            'gen_ai.provider.name': 'openai',
            'gen_ai.usage.input_tokens': 10,
            'gen_ai.usage.output_tokens': 5,
            'gen_ai.usage.cost.amount': 0.0002,
            'gen_ai.usage.cost.source': 'provider',
          },
        },
        trace.setSpan(run.context, run.span),
      );
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

describe('pricing', () => {
  const table: PriceSource = {
    price(request) {
      if (request.model !== 'gpt-4o') return { status: 'unpriced', reason: 'unknown model' };
      return {
        status: 'priced',
        pricingDate: '2026-03-04',
        tier: { system: 'openai', model: 'gpt-4o', input_per_million_usd: 2.5, output_per_million_usd: 10, effective_date: '2024-08-06' },
        cost: {
          input: (BigInt(request.usage.input) * usdToPico(2.5)) / 1_000_000n,
          output: (BigInt(request.usage.output) * usdToPico(10)) / 1_000_000n,
          reasoning: 0n,
          cachedDiscount: 0n,
        },
      };
    },
  };

  it('prices usage from the price source and snapshots the tier', async () => {
    const harness = createHarness({ priceSource: table });
    harness.tracer.agentRun('priced', (run) =>
      run.step('chat', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 })),
    );
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.cost).toEqual({
      input_cost_usd: 0.00125,
      output_cost_usd: 0.002,
      total_cost_usd: 0.00325,
      pricing_date: '2026-03-04',
    });
    expect(token?.payload.pricing_tier?.input_per_million_usd).toBe(2.5);
    expect(harness.span('chat').attributes['llm.cost.pricing.status']).toBe('priced');
    expect(harness.span('chat').attributes['gen_ai.usage.cost.source']).toBe('local');
  });

  it('a caller-given cost wins over the table', async () => {
    const harness = createHarness({ priceSource: table });
    harness.tracer.agentRun('given', (run) =>
      run.step('chat', (step) =>
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }).setCost({ inputUsd: 0.1, outputUsd: 0 }),
      ),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')[0]?.payload.cost.total_cost_usd).toBe(0.1);
    expect(harness.span('chat').attributes['llm.cost.pricing.status']).toBe('caller');
  });

  it('splits a reported total in the table proportions, summing exactly', async () => {
    const harness = createHarness({ priceSource: table });
    harness.tracer.agentRun('gateway', (run) =>
      run.step('chat', (step) =>
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }).setCost({ totalUsd: 0.0065 }, 'provider'),
      ),
    );
    await harness.flush();
    // The table says 0.00125 + 0.002; the gateway charged twice that.
    expect(harness.events.getEvents('llm.cost.token.recorded')[0]?.payload.cost).toEqual({
      input_cost_usd: 0.0025,
      output_cost_usd: 0.004,
      total_cost_usd: 0.0065,
    });
    expect(harness.span('chat').attributes['llm.cost.pricing.status']).toBe('provider');
  });

  it('an unknown model costs 0, is marked unpriced on span and event, and warns once per model', async () => {
    const warnings: string[] = [];
    diag.setLogger(
      {
        verbose: () => undefined,
        debug: () => undefined,
        info: () => undefined,
        warn: (...parts: unknown[]) => warnings.push(parts.join(' ')),
        error: () => undefined,
      },
      DiagLogLevel.WARN,
    );
    const harness = createHarness({ priceSource: table });
    harness.tracer.agentRun('mystery', (run) => {
      for (let index = 0; index < 5; index += 1) {
        run.step('chat', (step) => step.setModel('my-fine-tune', 'acme').setTokenUsage({ input: 10, output: 10 }));
      }
    });
    await harness.flush();
    expect(warnings.filter((message) => message.includes('my-fine-tune'))).toHaveLength(1);
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens.every((event) => event.payload.pricing_status === 'unpriced' && event.payload.cost.total_cost_usd === 0)).toBe(true);
    expect(
      harness.spans
        .getFinishedSpans()
        .filter((span) => span.name === 'chat')
        .every((span) => span.attributes['llm.cost.pricing.status'] === 'unpriced'),
    ).toBe(true);
    expect(harness.events.getEvents('llm.cost.session.recorded')[0]?.payload.unpriced_call_count).toBe(5);
    expect(harness.processor.stats().unpricedCalls).toBe(5);
  });

  it('prices spans from other instrumentation that set gen_ai.usage.*', async () => {
    const harness = createHarness({ priceSource: table });
    const other = harness.provider.getTracer('@opentelemetry/instrumentation-openai');
    await harness.tracer.agentRun('mixed', async (run) => {
      // The foreign span is a child of the run through the active context, as auto-instrumentation would be.
      other.startActiveSpan(
        'chat gpt-4o',
        {
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.provider.name': 'openai',
            'gen_ai.request.model': 'gpt-4o',
            'gen_ai.usage.input_tokens': 1000,
            'gen_ai.usage.output_tokens': 500,
          },
        },
        (span) => span.end(),
      );
      run.step('own', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 }));
    });
    await harness.flush();
    expect(harness.span('chat gpt-4o').attributes['gen_ai.usage.cost.amount']).toBe(0.0075);
    expect(harness.span('invoke_agent mixed').attributes['llm.cost.inclusive.total_usd']).toBe(0.0085);
  });
});

describe('other instrumentation inside a costspan step', () => {
  const anthropicSpan = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'anthropic',
    'gen_ai.request.model': 'claude-sonnet-4',
    'gen_ai.usage.input_tokens': 1000,
    'gen_ai.usage.output_tokens': 100,
    'gen_ai.usage.cost.amount': 0.0045,
    'gen_ai.usage.cost.source': 'provider',
  };

  it('counts a call once when the step records it and an instrumentation span reports it too', async () => {
    const harness = createHarness();
    const sdkTracer = harness.provider.getTracer('@anthropic-ai/sdk');
    await harness.tracer.agentRun('dedup', (run) =>
      run.step('call', async (step) => {
        // The client library's own span, as @anthropic-ai/sdk emits by default.
        sdkTracer.startActiveSpan('anthropic.messages.create', { attributes: anthropicSpan }, (span) => span.end());
        step.recordUsage({
          model: 'claude-sonnet-4',
          provider: 'anthropic',
          usage: { input: 1000, output: 100 },
          cost: { inputUsd: 0.003, outputUsd: 0.0015 },
        });
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(1);
    expect(harness.span('invoke_agent dedup').attributes['llm.cost.inclusive.total_usd']).toBe(0.0045);
    expect(harness.span('invoke_agent dedup').attributes['llm.cost.inclusive.call_count']).toBe(1);
    expect(harness.processor.stats().duplicateCalls).toBe(1);
  });

  it("books the instrumentation's call when the step records nothing itself", async () => {
    const harness = createHarness();
    const sdkTracer = harness.provider.getTracer('@anthropic-ai/sdk');
    harness.tracer.agentRun('auto', { principal: { userId: 'ann' } }, (run) =>
      run.step('call', () => {
        sdkTracer.startActiveSpan('anthropic.messages.create', { attributes: anthropicSpan }, (span) => span.end());
      }),
    );
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.model.name).toBe('claude-sonnet-4');
    expect(token?.payload.span_id).toBe(harness.span('anthropic.messages.create').spanContext().spanId);
    expect(harness.span('invoke_agent auto').attributes['llm.cost.inclusive.total_usd']).toBe(0.0045);
    expect(harness.span('invoke_agent auto').attributes['llm.cost.own.total_usd']).toBe(0.0045);
    expect(harness.events.getEvents('llm.cost.attributed')[0]?.payload.cost.total_cost_usd).toBe(0.0045);
    expect(harness.processor.stats().duplicateCalls).toBe(0);
  });

  it('reads the cache and provider attributes the AI SDK and the Anthropic SDK write', async () => {
    const requests: unknown[] = [];
    const harness = createHarness({
      priceSource: { price: (request) => (requests.push(request), { status: 'unpriced', reason: 'test' }) },
    });
    const other = harness.provider.getTracer('ai');
    harness.tracer.agentRun('attrs', (run) => {
      other
        .startSpan(
          'ai.generateText.doGenerate',
          {
            attributes: {
              'gen_ai.system': 'openai.chat',
              'gen_ai.request.model': 'gpt-4o',
              'gen_ai.usage.input_tokens': 100,
              'gen_ai.usage.output_tokens': 50,
              'ai.usage.inputTokenDetails.cacheReadTokens': 60,
              'ai.usage.outputTokenDetails.reasoningTokens': 20,
            },
          },
          run.context,
        )
        .end();
      other
        .startSpan(
          'anthropic.messages.create',
          {
            attributes: {
              'gen_ai.system': 'anthropic',
              'gen_ai.request.model': 'claude',
              'gen_ai.usage.input_tokens': 100,
              'gen_ai.usage.output_tokens': 5,
              'gen_ai.usage.cache_write.input_tokens': 40,
              'anthropic.usage.cache_creation.ephemeral_1h_input_tokens': 10,
            },
          },
          run.context,
        )
        .end();
      other
        .startSpan(
          'vertex',
          {
            attributes: {
              'gen_ai.system': 'gcp.gemini',
              'gen_ai.request.model': 'gemini-2.5-pro',
              'gen_ai.usage.input_tokens': 1,
              'gen_ai.usage.output_tokens': 1,
            },
          },
          run.context,
        )
        .end();
    });
    expect(requests).toEqual([
      expect.objectContaining({ provider: 'openai', usage: { input: 100, output: 50, cacheRead: 60, reasoning: 20 } }),
      expect.objectContaining({ provider: 'anthropic', usage: { input: 100, output: 5, cacheWrite: 40, cacheWrite1h: 10 } }),
      expect.objectContaining({ provider: 'gcp.gemini' }),
    ]);
  });
});

describe('events and attribution', () => {
  it('attributes a root run to every target of its principal, inherited by nested runs', async () => {
    const harness = createHarness();
    const tracker = new CostTracker();
    const withTracker = createHarness({ listeners: [tracker] });
    for (const { tracer } of [harness, withTracker]) {
      await tracer.agentRun(
        'support',
        { principal: { userId: 'alice', teamId: 'search', orgId: 'acme', tags: { env: 'prod' } } },
        async (run) => {
          run.step('plan', (step) => step.setCost({ inputUsd: 0.002, outputUsd: 0.001 }));
          run.agentRun('helper', { principal: { userId: 'bob' } }, (helper) =>
            helper.step('call', (step) => step.setCost({ inputUsd: 0.004, outputUsd: 0 })),
          );
        },
      );
    }
    await harness.flush();
    const attributed = harness.events.getEvents('llm.cost.attributed');
    const byTarget = Object.fromEntries(attributed.map((event) => [event.payload.attribution_target, event.payload.cost]));
    expect(byTarget['user:alice']).toEqual({ input_cost_usd: 0.002, output_cost_usd: 0.001, total_cost_usd: 0.003 });
    expect(byTarget['user:bob']?.total_cost_usd).toBe(0.004);
    expect(byTarget['team:search']?.total_cost_usd).toBe(0.007);
    expect(byTarget['org:acme']?.total_cost_usd).toBe(0.007);
    expect(byTarget['tag:env=prod']?.total_cost_usd).toBe(0.007);
    for (const event of attributed) {
      expect(event.payload.attribution_type).toBe('direct');
      expect(event.payload.source_event_ids?.length).toBeGreaterThan(0);
    }
    const token = harness.events.getEvents('llm.cost.token.recorded').find((event) => event.payload.agent_name === 'helper') as CostEvent;
    expect(token.actor_id).toBe('bob');
    expect(token.team_id).toBe('search');
    expect(token.org_id).toBe('acme');
    expect(token.tags).toEqual({ env: 'prod' });
    expect(token.payload.scope).toBe('support/helper/call');
    const supportRunId = harness.events.getEvents('llm.cost.session.recorded')[0]?.payload.agent_run_id;
    expect(token.payload.parent_run_id).toBe(supportRunId);

    const summary = tracker.summary();
    expect(summary.totalCostUsd).toBe(0.007);
    expect(summary.byAgent).toEqual({
      helper: expect.objectContaining({ totalCostUsd: 0.004, calls: 1 }),
      support: expect.objectContaining({ totalCostUsd: 0.003, calls: 1 }),
    });
    expect(summary.byScope['support/plan']?.totalCostUsd).toBe(0.003);
    expect(summary.byPrincipal['team:search']?.totalCostUsd).toBe(0.007);
    expect(summary.runs).toBe(1);
  });

  it('every event has a ULID id, a 6-digit UTC timestamp, trace and span ids', async () => {
    const harness = createHarness();
    harness.tracer.agentRun(
      'ids',
      { principal: { userId: 'u', orgId: 'o', teamId: 't', tags: { z: '1', a: '2' } }, sessionId: 'chat-1' },
      (run) =>
        run.step('s', (step) =>
          step
            .setModel('gpt-4o', 'openai')
            .setTokenUsage({ input: 10, output: 5, cacheRead: 4, reasoning: 1 })
            .setCost({ inputUsd: 0.001, outputUsd: 0, cachedDiscountUsd: 0.0001, reasoningUsd: 0.0002 }),
        ),
    );
    await harness.flush();
    const events = harness.events.getEvents();
    expect(events.map((event) => event.event_type)).toEqual([
      'llm.cost.token.recorded',
      'llm.cost.session.recorded',
      'llm.cost.attributed',
      'llm.cost.attributed',
      'llm.cost.attributed',
      'llm.cost.attributed',
      'llm.cost.attributed',
    ]);
    const ids = events.map((event) => event.event_id);
    expect([...ids].sort()).toEqual(ids);
    for (const event of events) {
      expect(event.event_id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
      expect(event.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      expect(event.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(event.source).toBe('test-app@1.0.0');
      // Built in key order: canonical serialisation is the native one (the fast path).
      expect(canonicalJson(event)).toBe(JSON.stringify(event));
      expect(serializeEvent(event)).toBe(JSON.stringify(event));
    }
  });

  it('derives the source from the resource when none is given', async () => {
    const { resourceFromAttributes } = await import('@opentelemetry/resources');
    const { BasicTracerProvider } = await import('@opentelemetry/sdk-trace-base');
    const { CostSpanProcessor } = await import('./cost-span-processor.js');
    const { InMemoryEventExporter } = await import('../export/in-memory-event-exporter.js');
    const { createCostTracer } = await import('../tracing/cost-tracer.js');
    const events = new InMemoryEventExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '2.3.4' }),
      spanProcessors: [new CostSpanProcessor({ exporters: [events] })],
    });
    createCostTracer({ tracerProvider: provider }).agentRun('r', (run) =>
      run.step('s', (step) => step.setCost({ inputUsd: 0, outputUsd: 0 })),
    );
    await provider.forceFlush();
    expect(events.getEvents()[0]?.source).toBe('checkout@2.3.4');
  });
});

describe('bounded memory', () => {
  it('forgets the oldest spans past maxOpenSpans and reports it', async () => {
    const warn = vi.fn();
    diag.setLogger(
      { verbose: () => undefined, debug: () => undefined, info: () => undefined, warn, error: () => undefined },
      DiagLogLevel.WARN,
    );
    const harness = createHarness({ maxOpenSpans: 100 });
    const other = harness.provider.getTracer('leaky');
    harness.tracer.agentRun('leaky-run', (run) => {
      for (let index = 0; index < 1000; index += 1) other.startSpan(`never-ends-${index}`, {}, run.context);
    });
    expect(harness.processor.stats().openSpans).toBeLessThanOrEqual(100);
    expect(harness.processor.stats().evictedSpans).toBeGreaterThan(0);
    expect(warn).toHaveBeenCalled();
  });

  it('releases every span of finished runs', async () => {
    const harness = createHarness();
    for (let index = 0; index < 50; index += 1) {
      await harness.tracer.agentRun('r', async (run) => {
        run.agentRun('child', (child) => child.step('s', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })));
      });
    }
    expect(harness.processor.stats().openSpans).toBe(0);
  });
});
