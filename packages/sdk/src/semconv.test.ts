import { afterEach, describe, expect, it } from 'vitest';
import { createHarness } from './__fixtures__/harness.js';
import { ATTR } from './attributes.js';
import { GEN_AI_LATEST_EXPERIMENTAL, genAiEmitNames } from './semconv.js';
import { createCostTracer, type CostTracer } from './tracing/cost-tracer.js';

const savedOptIn = process.env.OTEL_SEMCONV_STABILITY_OPT_IN;
afterEach(() => {
  if (savedOptIn === undefined) delete process.env.OTEL_SEMCONV_STABILITY_OPT_IN;
  else process.env.OTEL_SEMCONV_STABILITY_OPT_IN = savedOptIn;
});

describe('which GenAI names are emitted (OTEL_SEMCONV_STABILITY_OPT_IN)', () => {
  it('picks the latest experimental set only when the list contains gen_ai_latest_experimental', () => {
    expect(genAiEmitNames(undefined).set).toBe('released');
    expect(genAiEmitNames('').set).toBe('released');
    expect(genAiEmitNames('http,database').set).toBe('released');
    expect(genAiEmitNames('gen_ai_latest_experimental_x').set).toBe('released');
    expect(genAiEmitNames(GEN_AI_LATEST_EXPERIMENTAL).set).toBe('latest_experimental');
    expect(genAiEmitNames(' http , GEN_AI_LATEST_EXPERIMENTAL ').set).toBe('latest_experimental');
    expect(genAiEmitNames(GEN_AI_LATEST_EXPERIMENTAL).cacheWriteInputTokens).toBe('gen_ai.usage.cache_write.input_tokens');
    expect(genAiEmitNames('').cacheWriteInputTokens).toBe('gen_ai.usage.cache_creation.input_tokens');
  });
});

/** One run with a session id and one step with cache writes, through `tracer`; the step span, the run span and the JSONL lines. */
async function runOnce(makeTracer: (harness: ReturnType<typeof createHarness>) => CostTracer) {
  const harness = createHarness();
  const tracer = makeTracer(harness);
  tracer.agentRun('bot', { sessionId: 'conv-42', runId: 'run-1' }, (run) =>
    run.step('answer', (step) => {
      step.setModel('gpt-4o', 'openai');
      step.setTokenUsage({ input: 1000, output: 100, cacheRead: 200, cacheWrite: 300, reasoning: 10 });
    }),
  );
  await harness.flush();
  const lines = harness.events.getEvents().map((event) =>
    JSON.stringify({
      ...event,
      event_id: '*',
      timestamp: '*',
      span_id: '*',
      trace_id: '*',
      parent_span_id: '*',
      payload: { ...event.payload, span_id: '*', latency_ms: 0, session_duration_ms: 0 },
    }),
  );
  return { step: harness.span('answer').attributes, run: harness.span('invoke_agent bot').attributes, lines };
}

describe('GenAI names on costspan spans', () => {
  it('emits the released 1.45.0 names by default', async () => {
    delete process.env.OTEL_SEMCONV_STABILITY_OPT_IN;
    const { step, run } = await runOnce(({ provider }) => createCostTracer({ tracerProvider: provider }));
    expect(step[ATTR.USAGE_CACHE_CREATION_TOKENS]).toBe(300);
    expect(step[ATTR.USAGE_CACHE_WRITE_TOKENS]).toBeUndefined();
    expect(step[ATTR.USAGE_CACHE_READ_TOKENS]).toBe(200);
    expect(step[ATTR.USAGE_REASONING_TOKENS]).toBe(10);
    expect(run[ATTR.SESSION_ID]).toBe('conv-42');
    expect(run[ATTR.CONVERSATION_ID]).toBeUndefined();
  });

  it('emits the latest experimental names instead under gen_ai_latest_experimental, read from the environment once', async () => {
    process.env.OTEL_SEMCONV_STABILITY_OPT_IN = 'http,gen_ai_latest_experimental';
    const { step, run } = await runOnce(({ provider }) => {
      const tracer = createCostTracer({ tracerProvider: provider });
      // Read at construction only: a change afterwards does not switch a tracer's names mid-flight.
      delete process.env.OTEL_SEMCONV_STABILITY_OPT_IN;
      return tracer;
    });
    expect(step[ATTR.USAGE_CACHE_WRITE_TOKENS]).toBe(300);
    expect(step[ATTR.USAGE_CACHE_CREATION_TOKENS]).toBeUndefined();
    expect(step[ATTR.USAGE_INPUT_TOKENS]).toBe(1000);
    expect(run[ATTR.CONVERSATION_ID]).toBe('conv-42');
    // session.id is the session convention's, not governed by the GenAI opt-in: kept for backends that group by it.
    expect(run[ATTR.SESSION_ID]).toBe('conv-42');
  });

  it('takes the opt-in as a tracer option too, and writes the same cost events in both modes', async () => {
    delete process.env.OTEL_SEMCONV_STABILITY_OPT_IN;
    const released = await runOnce(({ provider }) => createCostTracer({ tracerProvider: provider }));
    const experimental = await runOnce(({ provider }) =>
      createCostTracer({ tracerProvider: provider, semconvStabilityOptIn: GEN_AI_LATEST_EXPERIMENTAL }),
    );
    expect(experimental.step[ATTR.USAGE_CACHE_WRITE_TOKENS]).toBe(300);
    expect(experimental.lines.length).toBeGreaterThan(0);
    expect(experimental.lines).toEqual(released.lines);
  });
});

describe('GenAI names on other instrumentations’ spans: both sets read', () => {
  async function foreign(attributes: Record<string, string | number>) {
    const harness = createHarness();
    const other = harness.provider.getTracer('other');
    harness.tracer.agentRun('bot', (run) => {
      other.startSpan('chat gpt-4o', { attributes }, run.context).end();
    });
    await harness.flush();
    return harness.events.getEvents('llm.cost.token.recorded');
  }
  const base = {
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': 1000,
    'gen_ai.usage.output_tokens': 100,
  };

  it('reads cache writes under the released and the experimental name alike', async () => {
    const [released] = await foreign({ ...base, 'gen_ai.usage.cache_creation.input_tokens': 300 });
    const [experimental] = await foreign({ ...base, 'gen_ai.usage.cache_write.input_tokens': 300 });
    expect(released?.payload.token_usage.cache_creation_tokens).toBe(300);
    expect(experimental?.payload.token_usage.cache_creation_tokens).toBe(300);
    expect(experimental?.payload.cost).toEqual(released?.payload.cost);
  });

  it('books a provider-reported gen_ai.usage.cost in USD over the table, as cost source provider', async () => {
    const [token] = await foreign({
      ...base,
      'gen_ai.usage.cost.amount': 0.0123,
      'gen_ai.usage.cost.currency': 'USD',
      'gen_ai.usage.cost.source': 'provider',
    });
    expect(token?.payload.pricing_status).toBe('provider');
    expect(token?.payload.cost.total_cost_usd).toBe(0.0123);
  });

  it('prices by the table a cost computed locally by the other instrumentation, or given in another currency', async () => {
    const [priced] = await foreign(base);
    const [local] = await foreign({ ...base, 'gen_ai.usage.cost.amount': 9, 'gen_ai.usage.cost.source': 'local' });
    const [euro] = await foreign({
      ...base,
      'gen_ai.usage.cost.amount': 9,
      'gen_ai.usage.cost.currency': 'EUR',
      'gen_ai.usage.cost.source': 'provider',
    });
    expect(priced?.payload.pricing_status).toBe('priced');
    expect(local?.payload.pricing_status).toBe('priced');
    expect(local?.payload.cost).toEqual(priced?.payload.cost);
    expect(euro?.payload.pricing_status).toBe('priced');
    expect(euro?.payload.cost).toEqual(priced?.payload.cost);
  });

  it('reads the served tier under its current and its pre-1.37 name, and prices flex at half', async () => {
    const [standard] = await foreign(base);
    const [current] = await foreign({ ...base, 'openai.response.service_tier': 'flex' });
    const [legacy] = await foreign({ ...base, 'gen_ai.openai.response.service_tier': 'flex' });
    expect(current?.payload.service_tier).toBe('flex');
    expect(legacy?.payload.service_tier).toBe('flex');
    expect(standard?.payload.service_tier).toBeUndefined();
    expect((current?.payload.cost.total_cost_usd ?? 0) * 2).toBeCloseTo(standard?.payload.cost.total_cost_usd ?? -1, 12);
  });
});
