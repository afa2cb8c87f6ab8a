import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness } from './__fixtures__/harness.js';
import { startFixtureServer, type FixtureServer } from './__fixtures__/fixture-server.js';
import { instrumentAnthropic } from './instrument-client.js';
import { recordAnthropicUsage, trackAnthropicStream } from './record-anthropic-usage.js';

let server: FixtureServer;
let client: Anthropic;

beforeAll(async () => {
  server = await startFixtureServer();
  // The SDK's own tracing is off, as the README advises when recording with costspan's helpers.
  client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: server.origin, maxRetries: 0, openTelemetry: false });
});

afterAll(async () => {
  await server.close();
});

const request = {
  model: 'claude-sonnet-4-20250514',
  max_tokens: 1024,
  messages: [{ role: 'user' as const, content: 'Summarise clause 7.' }],
};

// claude-sonnet-4: $3 input, $15 output, $0.30 cache read, $3.75 5-minute write, $6 1-hour write, per million tokens.
// Message fixture: 1200 uncached + 10000 cache read + 1000 5m write + 2000 1h write in, 450 out:
//   0.0036 + 0.003 + 0.00375 + 0.012 + 0.00675 = 0.0291
const MESSAGE_COST = {
  input_cost_usd: 0.04935, // 11200 × 3 + 1000 × 3.75 + 2000 × 6
  cached_discount_usd: 0.027, // 10000 × (3 − 0.30)
  output_cost_usd: 0.00675,
  total_cost_usd: 0.0291,
};
// Stream fixture: 25 uncached + 2048 cache read in, 180 out of which 120 thinking:
//   0.000075 + 0.0006144 + 0.0027 = 0.0033894
const STREAM_COST = {
  input_cost_usd: 0.006219, // 2073 × 3
  cached_discount_usd: 0.0055296, // 2048 × 2.70
  output_cost_usd: 0.0009, // 60 × 15
  reasoning_cost_usd: 0.0018, // 120 × 15
  total_cost_usd: 0.0033894,
};

describe('recordAnthropicUsage', () => {
  it('adds cache reads and writes to input, with 1-hour writes in their own bucket', async () => {
    server.enqueue('/v1/messages', 'anthropic-message.json');
    const harness = createHarness();
    await harness.tracer.agentRun('legal', (run) =>
      run.step('summarise', async (step) => {
        const message = await client.messages.create(request);
        expect(recordAnthropicUsage(step, message)).toEqual({
          model: 'claude-sonnet-4-20250514',
          provider: 'anthropic',
          responseModel: 'claude-sonnet-4-20250514',
          usage: { input: 14200, output: 450, cacheRead: 10000, cacheWrite: 3000, cacheWrite1h: 2000 },
          serviceTier: 'standard',
        });
      }),
    );
    await harness.flush();

    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toEqual({
      input_tokens: 14200,
      output_tokens: 450,
      total_tokens: 14650,
      cached_tokens: 10000,
      cache_creation_tokens: 3000,
    });
    expect(token?.payload.cost).toMatchObject(MESSAGE_COST);
    const span = harness.span('summarise');
    expect(span.attributes['gen_ai.usage.input_tokens']).toBe(14200);
    expect(span.attributes['gen_ai.usage.cache_creation.input_tokens']).toBe(3000);
    expect(span.attributes['anthropic.response.service_tier']).toBe('standard');
  });

  it('a message streamed with messages.stream(): the SDK accumulates message_delta usage into finalMessage()', async () => {
    server.enqueue('/v1/messages', 'anthropic-message-stream.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('billing', (run) =>
      run.step('total', async (step) => {
        recordAnthropicUsage(step, await client.messages.stream(request).finalMessage());
      }),
    );
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toEqual({
      input_tokens: 2073,
      output_tokens: 180,
      total_tokens: 2253,
      cached_tokens: 2048,
      reasoning_tokens: 120,
    });
    expect(token?.payload.cost).toMatchObject(STREAM_COST);
  });
});

describe('trackAnthropicStream', () => {
  it('records message_start input counts updated by the cumulative message_delta', async () => {
    server.enqueue('/v1/messages', 'anthropic-message-stream.sse');
    const harness = createHarness();
    const text = await harness.tracer.agentRun('billing', (run) =>
      run.step('total', async (step) => {
        const stream = await client.messages.create({ ...request, stream: true });
        let content = '';
        for await (const event of trackAnthropicStream(step, stream)) {
          if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') content += event.delta.text;
        }
        return content;
      }),
    );
    await harness.flush();
    expect(text).toBe('The invoice total is 1,240 EUR.');
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.cost).toMatchObject(STREAM_COST);
    expect(token?.payload.model).toEqual({ name: 'claude-sonnet-4-20250514', system: 'anthropic' });
  });

  it('a stream left before message_delta is marked incomplete, not recorded at its partial count', async () => {
    server.enqueue('/v1/messages', 'anthropic-message-stream.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('billing', (run) =>
      run.step('total', async (step) => {
        const stream = await client.messages.create({ ...request, stream: true });
        for await (const event of trackAnthropicStream(step, stream)) {
          if (event.type === 'content_block_delta') break;
        }
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(0);
    expect(harness.span('total').attributes['llm.cost.usage.missing_reason']).toBe('stream_incomplete');
  });
});

describe('instrumentAnthropic', () => {
  it('records create(), stream() and create({ stream: true }) once each', async () => {
    server.enqueue('/v1/messages', 'anthropic-message.json', 'anthropic-message-stream.sse', 'anthropic-message-stream.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('auto', (run) =>
      run.step('calls', async (step) => {
        const anthropic = instrumentAnthropic(client, { getStep: () => step });
        await anthropic.messages.create(request);
        const final = await anthropic.messages.stream(request).finalMessage();
        expect(final.usage.output_tokens).toBe(180);
        const stream = await anthropic.messages.create({ ...request, stream: true });
        for await (const event of stream) void event;
      }),
    );
    await harness.flush();
    const costs = harness.events.getEvents('llm.cost.token.recorded').map((token) => token.payload.cost.total_cost_usd);
    expect(costs).toEqual([0.0291, 0.0033894, 0.0033894]);
    // 0.0291 + 2 × 0.0033894
    expect(harness.span('invoke_agent auto').attributes['llm.cost.inclusive.total_usd']).toBe(0.0358788);
  });
});

describe("the Anthropic SDK's own spans (@anthropic-ai/sdk 0.134+)", () => {
  it('are counted once when a helper records the same call on the enclosing step', async () => {
    server.enqueue('/v1/messages', 'anthropic-message.json');
    const harness = createHarness();
    const traced = new Anthropic({
      apiKey: 'sk-ant-test',
      baseURL: server.origin,
      maxRetries: 0,
      openTelemetry: { tracerProvider: harness.provider },
    });
    await harness.tracer.agentRun('twice', (run) =>
      run.step('summarise', async (step) => {
        recordAnthropicUsage(step, await traced.messages.create(request));
      }),
    );
    await harness.flush();

    const sdkSpan = harness.span('anthropic.messages.create');
    expect(sdkSpan.parentSpanContext?.spanId).toBe(harness.span('summarise').spanContext().spanId);
    expect(sdkSpan.attributes).toMatchObject({
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.usage.input_tokens': 14200,
      'gen_ai.usage.output_tokens': 450,
      'gen_ai.usage.cache_read.input_tokens': 10000,
      // Not the name the processor reads (gen_ai.usage.cache_creation.input_tokens), and the TTL split is vendor-specific.
      'gen_ai.usage.cache_write.input_tokens': 3000,
      'anthropic.usage.cache_creation.ephemeral_1h_input_tokens': 2000,
    });
    // The step recorded the call itself, so the processor drops the SDK span's copy (counted, not priced).
    expect(sdkSpan.attributes['gen_ai.usage.cost.amount']).toBeUndefined();
    expect(harness.processor.stats().duplicateCalls).toBe(1);
    const run = harness.span('invoke_agent twice');
    expect(run.attributes['llm.cost.inclusive.call_count']).toBe(1);
    expect(run.attributes['llm.cost.inclusive.total_usd']).toBe(0.0291);
  });
});
