import { diag } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { usdToPico } from '@costspan/core';
import type { PriceSource } from '@costspan/pricing';
import { captureDiagWarnings, createHarness } from '../__fixtures__/harness.js';

afterEach(() => {
  diag.disable();
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
    const warnings = captureDiagWarnings();
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

describe("another instrumentation's agent span with its calls' total usage", () => {
  const usage = {
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.provider.name': 'openai',
    'gen_ai.usage.input_tokens': 1000,
    'gen_ai.usage.output_tokens': 500,
  };
  const agentSpan = (name: string) => ({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name, ...usage });

  it('counts the calls below it once, not the total again', async () => {
    const harness = createHarness();
    const agents = harness.provider.getTracer('agents-framework');
    await harness.tracer.agentRun('host', async () => {
      agents.startActiveSpan('invoke_agent planner', { attributes: agentSpan('planner') }, (agent) => {
        agents.startActiveSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', ...usage } }, (span) => span.end());
        agent.end();
      });
    });
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(1);
    const session = harness.events.getEvents('llm.cost.session.recorded')[0]?.payload;
    expect(session?.call_count).toBe(1);
    expect(session?.total_cost.total_cost_usd).toBe(0.0075);
    expect(harness.span('invoke_agent planner').attributes['gen_ai.usage.cost.amount']).toBeUndefined();
    expect(harness.processor.stats().duplicateCalls).toBe(1);
  });

  it('books its usage when no call below it reported any', async () => {
    const harness = createHarness();
    const agents = harness.provider.getTracer('agents-framework');
    await harness.tracer.agentRun('host', async () => {
      agents.startActiveSpan('invoke_agent solo', { attributes: agentSpan('solo') }, (agent) => {
        agents.startActiveSpan('execute_tool search', { attributes: { 'gen_ai.operation.name': 'execute_tool' } }, (span) => span.end());
        agent.end();
      });
    });
    await harness.flush();
    const session = harness.events.getEvents('llm.cost.session.recorded')[0]?.payload;
    expect(session?.call_count).toBe(1);
    expect(session?.total_cost.total_cost_usd).toBe(0.0075);
    expect(harness.processor.stats().duplicateCalls).toBe(0);
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
    // The call's cost is on exactly one span: the SDK's own, which carries it.
    const costs = harness.spans.getFinishedSpans().filter((span) => span.attributes['gen_ai.usage.cost.amount'] !== undefined);
    expect(costs.map((span) => [span.name, span.attributes['gen_ai.usage.cost.amount']])).toEqual([['anthropic.messages.create', 0.0045]]);
  });

  it('writes the cost of an instrumentation call the step books on the step span when that call span has none', async () => {
    const harness = createHarness();
    const sdkTracer = harness.provider.getTracer('@anthropic-ai/sdk');
    const { 'gen_ai.usage.cost.amount': _amount, 'gen_ai.usage.cost.source': _source, ...usageOnly } = anthropicSpan;
    harness.tracer.agentRun('priced', (run) =>
      run.step('call', () => {
        sdkTracer.startActiveSpan('anthropic.messages.create', { attributes: usageOnly }, (span) => span.end());
        sdkTracer.startActiveSpan('anthropic.messages.create', { attributes: anthropicSpan }, (span) => span.end());
      }),
    );
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens).toHaveLength(2);
    const tablePriced = tokens.find((event) => event.payload.pricing_status === 'priced')?.payload.cost.total_cost_usd;
    expect(tablePriced).toBeGreaterThan(0);
    // Each call's cost on exactly one span: the table-priced one on the step, the provider's on its own span.
    const costs = harness.spans
      .getFinishedSpans()
      .filter((span) => span.attributes['gen_ai.usage.cost.amount'] !== undefined)
      .map((span) => [span.name, span.attributes['gen_ai.usage.cost.amount']]);
    expect(costs).toEqual([
      ['anthropic.messages.create', 0.0045],
      ['call', tablePriced],
    ]);
    expect(harness.span('call').attributes['gen_ai.usage.cost.currency']).toBe('USD');
    expect(harness.span('call').attributes['gen_ai.usage.cost.source']).toBe('local');
    expect(harness.span('call').attributes['llm.cost.pricing.status']).toBe('priced');
    expect(harness.span('invoke_agent priced').attributes['llm.cost.inclusive.total_usd']).toBe(tablePriced! + 0.0045);
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
