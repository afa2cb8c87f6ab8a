import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { CostspanError } from '@costspan/sdk';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { setNoticeHandler } from '@costspan/sdk';
import { callCounts, captureNotices, createHarness } from './__fixtures__/harness.js';
import { readFixture, startFixtureServer, type FixtureServer } from './__fixtures__/fixture-server.js';
import { aiSdkProviderName, recordAiSdkUsage } from './record-ai-sdk-usage.js';

let server: FixtureServer;
let openai: ReturnType<typeof createOpenAI>;
let anthropic: ReturnType<typeof createAnthropic>;

beforeAll(async () => {
  server = await startFixtureServer();
  openai = createOpenAI({ apiKey: 'sk-test', baseURL: `${server.origin}/v1` });
  anthropic = createAnthropic({ apiKey: 'sk-ant-test', baseURL: `${server.origin}/v1` });
});

afterAll(async () => {
  await server.close();
});

const lookupOrder = tool({
  description: 'Looks an order up',
  inputSchema: z.object({ orderId: z.string() }),
  execute: async ({ orderId }) => ({ orderId, status: 'shipped', shippedOn: '2026-03-02' }),
});

describe('recordAiSdkUsage', () => {
  it('generateText with an OpenAI chat model: cached input from the usage details', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-completion.json');
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('answer', async (step) => {
        const result = await generateText({ model: openai.chat('gpt-4o'), prompt: 'Where is my refund?', maxRetries: 0 });
        expect(await recordAiSdkUsage(step, result)).toEqual([
          { model: 'gpt-4o', provider: 'openai', responseModel: 'gpt-4o-2024-08-06', usage: { input: 2006, output: 300, cacheRead: 1920 } },
        ]);
      }),
    );
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toEqual({ input_tokens: 2006, output_tokens: 300, total_tokens: 2306, cached_tokens: 1920 });
    // Same fixture, same figures as through the openai client: 0.005015 − 0.0024 + 0.003.
    expect(token?.payload.cost.total_cost_usd).toBe(0.005615);
  });

  it('a multi-step tool loop with Anthropic: one call per step, 1-hour cache writes from the raw usage', async () => {
    server.enqueue('/v1/messages', 'anthropic-message-tool-use.json', 'anthropic-message-after-tool.json');
    const harness = createHarness();
    const text = await harness.tracer.agentRun('orders', (run) =>
      run.step('answer', async (step) => {
        const result = await generateText({
          model: anthropic('claude-sonnet-4-20250514'),
          prompt: 'Where is order A-1001?',
          tools: { lookupOrder },
          stopWhen: stepCountIs(5),
          maxRetries: 0,
        });
        expect(result.steps).toHaveLength(2);
        const recorded = await recordAiSdkUsage(step, result);
        expect(recorded.map((call) => call.usage)).toEqual([
          { input: 2500, output: 80, cacheWrite: 2000, cacheWrite1h: 1500 },
          { input: 2620, output: 150, cacheRead: 2000 },
        ]);
        return result.text;
      }),
    );
    await harness.flush();
    expect(text).toContain('arrives tomorrow');
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    // Step 1: 500 × 3 + 500 × 3.75 + 1500 × 6 + 80 × 15 = 0.0015 + 0.001875 + 0.009 + 0.0012 = 0.013575
    // Step 2: 620 × 3 + 2000 × 0.30 + 150 × 15 = 0.00186 + 0.0006 + 0.00225 = 0.00471
    expect(tokens.map((token) => token.payload.cost.total_cost_usd)).toEqual([0.013575, 0.00471]);
    expect(tokens.every((token) => token.payload.model.system === 'anthropic')).toBe(true);
    const run = harness.span('invoke_agent orders');
    expect(run.attributes['llm.cost.inclusive.total_usd']).toBe(0.018285);
    expect(run.attributes['llm.cost.inclusive.call_count']).toBe(2);
  });

  it('streamText: awaits the steps once the stream has been read', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    const text = await harness.tracer.agentRun('streamer', (run) =>
      run.step('answer', async (step) => {
        const result = streamText({ model: openai.chat('gpt-4o'), prompt: 'Where is my parcel?', maxRetries: 0 });
        let content = '';
        for await (const delta of result.textStream) content += delta;
        await recordAiSdkUsage(step, result);
        return content;
      }),
    );
    await harness.flush();
    expect(text).toBe('Your parcel arrives tomorrow.');
    // The AI SDK asks for stream usage itself (stream_options.include_usage).
    expect(server.requests.at(-1)?.body['stream_options']).toEqual({ include_usage: true });
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toEqual({ input_tokens: 1200, output_tokens: 50, total_tokens: 1250, cached_tokens: 1024 });
    expect(token?.payload.cost.total_cost_usd).toBe(0.00222);
  });

  it('streamText that fails at the provider: nothing is thrown that the stream did not throw; usage is missing, not $0', async () => {
    // No fixture queued: the server answers 500. The AI SDK hands the error to onError, the text stream just ends.
    const harness = createHarness();
    const errors: unknown[] = [];
    const outcome = await harness.tracer.agentRun('streamer', (run) =>
      run.step('answer', async (step) => {
        const result = streamText({
          model: openai.chat('gpt-4o'),
          prompt: 'Where?',
          maxRetries: 0,
          onError: ({ error }) => void errors.push(error),
        });
        let content = '';
        for await (const delta of result.textStream) content += delta;
        return { content, recorded: await recordAiSdkUsage(step, result, { model: 'gpt-4o' }) };
      }),
    );
    await harness.flush();
    expect(errors).toHaveLength(1);
    expect(outcome).toEqual({ content: '', recorded: [] });
    expect(harness.span('answer').attributes).toMatchObject({
      'llm.cost.usage.missing': true,
      'llm.cost.usage.missing_reason': 'stream_incomplete',
    });
  });

  it('AI SDK 4 and 5 shapes: providerMetadata cache and reasoning counts; Anthropic counts cache beside input', async () => {
    const harness = createHarness();
    await harness.tracer.agentRun('legacy', (run) =>
      run.step('answer', async (step) => {
        // AI SDK 4, OpenAI: promptTokens includes the cached ones.
        await recordAiSdkUsage(step, {
          usage: { promptTokens: 2006, completionTokens: 300, totalTokens: 2306 },
          providerMetadata: { openai: { cachedPromptTokens: 1920, reasoningTokens: 0 } },
          response: { modelId: 'gpt-4o-2024-08-06' },
        });
        // AI SDK 5, Anthropic: inputTokens leaves cache reads and writes out.
        await recordAiSdkUsage(step, {
          steps: [
            {
              usage: { inputTokens: 1200, outputTokens: 450, totalTokens: 1650, cachedInputTokens: 10000 },
              providerMetadata: {
                anthropic: { cacheCreationInputTokens: 3000, usage: { cache_creation: { ephemeral_1h_input_tokens: 2000 } } },
              },
              response: { modelId: 'claude-sonnet-4-20250514' },
            },
          ],
        });
      }),
    );
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(
      tokens.map((token) => [token.payload.model.system, token.payload.token_usage.input_tokens, token.payload.cost.total_cost_usd]),
    ).toEqual([
      ['openai', 2006, 0.005615],
      ['anthropic', 14200, 0.0291],
    ]);
  });

  it('a gateway-reported cost in providerMetadata wins and is marked provider', async () => {
    const harness = createHarness();
    await harness.tracer.agentRun('gateway', (run) =>
      run.step('answer', async (step) => {
        await recordAiSdkUsage(step, {
          steps: [
            {
              model: { provider: 'openrouter.chat', modelId: 'anthropic/claude-sonnet-4' },
              usage: { inputTokens: 1000, outputTokens: 200, totalTokens: 1200, inputTokenDetails: {}, outputTokenDetails: {} },
              providerMetadata: { openrouter: { usage: { cost: 0.00642 } } },
            },
          ],
        });
      }),
    );
    await harness.flush();
    const span = harness.span('answer');
    expect(span.attributes['gen_ai.usage.cost.amount']).toBe(0.00642);
    expect(span.attributes['gen_ai.usage.cost.source']).toBe('provider');
    expect(span.attributes['gen_ai.provider.name']).toBe('openrouter');
  });

  it('refuses one caller cost for several steps', async () => {
    const harness = createHarness();
    const usage = { inputTokens: 1, outputTokens: 1, inputTokenDetails: {}, outputTokenDetails: {} };
    await harness.tracer.agentRun('strict', (run) =>
      run.step('answer', async (step) => {
        const error: unknown = await recordAiSdkUsage(
          step,
          { steps: [{ usage }, { usage }] },
          { model: 'gpt-4o', cost: { inputUsd: 1, outputUsd: 0 } },
        ).catch((caught: unknown) => caught);
        expect(CostspanError.isInstance(error) && error.code).toBe('invalid_argument');
      }),
    );
  });

  it('maps AI SDK provider ids to gen_ai.provider.name', () => {
    expect(
      ['openai.chat', 'openai.responses', 'anthropic.messages', 'google.generative-ai', 'amazon-bedrock', 'acme.chat'].map(
        aiSdkProviderName,
      ),
    ).toEqual(['openai', 'openai', 'anthropic', 'gcp.gemini', 'aws.bedrock', 'acme']);
  });
});

describe('AI SDK telemetry (experimental_telemetry) priced by the CostSpanProcessor alone', () => {
  it('its doGenerate spans nest under the run, carry gen_ai.usage.* and are priced and rolled up', async () => {
    server.enqueue('/v1/messages', 'anthropic-message-tool-use.json', 'anthropic-message-after-tool.json');
    server.enqueue('/v1/chat/completions', 'openai-chat-completion-tool-call.json');
    const harness = createHarness();
    const tracer = harness.provider.getTracer('ai');
    await harness.tracer.agentRun('telemetry', async () => {
      await generateText({
        model: anthropic('claude-sonnet-4-20250514'),
        prompt: 'Where is order A-1001?',
        tools: { lookupOrder },
        stopWhen: stepCountIs(5),
        maxRetries: 0,
        experimental_telemetry: { isEnabled: true, tracer },
      });
      await generateText({
        model: openai.chat('gpt-4o'),
        prompt: 'Where is order A-1001?',
        maxRetries: 0,
        experimental_telemetry: { isEnabled: true, tracer },
      });
    });
    await harness.flush();

    const spans = harness.spans.getFinishedSpans();
    const run = harness.span('invoke_agent telemetry');
    const outer = spans.filter((span) => span.name === 'ai.generateText');
    expect(outer).toHaveLength(2);
    expect(outer.every((span) => span.parentSpanContext?.spanId === run.spanContext().spanId)).toBe(true);
    // Only the per-call spans carry gen_ai.usage.*; the outer span has ai.usage.* totals, so nothing counts twice.
    expect(outer[0]?.attributes['gen_ai.usage.input_tokens']).toBeUndefined();
    expect(outer[0]?.attributes['ai.usage.inputTokens']).toBe(5120);

    const calls = spans.filter((span) => span.name === 'ai.generateText.doGenerate');
    expect(calls).toHaveLength(3);
    const [first, second, openaiCall] = calls;
    expect(first?.attributes).toMatchObject({
      'gen_ai.system': 'anthropic.messages',
      'gen_ai.request.model': 'claude-sonnet-4-20250514',
      'gen_ai.response.model': 'claude-sonnet-4-20250514',
      'gen_ai.usage.input_tokens': 2500,
      'gen_ai.usage.output_tokens': 80,
      'ai.usage.inputTokenDetails.noCacheTokens': 500,
      'ai.usage.inputTokenDetails.cacheWriteTokens': 2000,
      'ai.usage.inputTokenDetails.cacheReadTokens': 0,
    });
    expect(second?.attributes['ai.usage.inputTokenDetails.cacheReadTokens']).toBe(2000);
    expect(first?.attributes['gen_ai.usage.cache_read.input_tokens']).toBeUndefined();
    expect(first?.attributes['gen_ai.usage.cache_creation.input_tokens']).toBeUndefined();
    expect(openaiCall?.attributes).toMatchObject({
      'gen_ai.system': 'openai.chat',
      'gen_ai.usage.input_tokens': 820,
      'gen_ai.usage.output_tokens': 24,
    });

    // The processor reads the AI SDK's ai.usage.*TokenDetails.* buckets beside gen_ai.usage.*:
    //   step 1: 500 × 3 + 500 × 3.75 (5-minute cache write) + 1500 × 6 (1-hour, from ai.response.providerMetadata)
    //           + 80 × 15 = 0.013575, the figure recordAiSdkUsage books for the same response
    //   step 2: 620 × 3 + 2000 × 0.30 (cache read) + 150 × 15 = 0.00471
    //   openai: 820 × 2.50 + 24 × 10 = 0.00229 (no cache)
    expect(calls.map((span) => span.attributes['gen_ai.usage.cost.amount'])).toEqual([0.013575, 0.00471, 0.00229]);
    expect(calls.map((span) => span.attributes['gen_ai.system'])).toEqual(['anthropic.messages', 'anthropic.messages', 'openai.chat']);
    expect(calls.every((span) => span.attributes['llm.cost.pricing.status'] === 'priced')).toBe(true);
    expect(run.attributes['llm.cost.inclusive.call_count']).toBe(3);
    expect(run.attributes['llm.cost.inclusive.total_usd']).toBe(0.020575);
  });
});

describe('AI SDK: each call without usage counted once, whatever else its step recorded', () => {
  afterEach(() => setNoticeHandler(undefined));
  const prompt = 'Where is my parcel?';

  it('a recorded generateText, then a streamText the step did not wait for: 2 calls, 1 with usage missing, told once', async () => {
    const notices = captureNotices();
    server.enqueue('/v1/chat/completions', 'openai-chat-completion.json', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    let pending: Promise<unknown> | undefined;
    await harness.tracer.agentRun('left', (run) =>
      run.step('answer', async (step) => {
        await recordAiSdkUsage(step, await generateText({ model: openai.chat('gpt-4o'), prompt, maxRetries: 0 }));
        const result = streamText({ model: openai.chat('gpt-4o'), prompt, maxRetries: 0 });
        // Not awaited: the step ends (e.g. returning the stream to its reader) before the usage arrives.
        pending = recordAiSdkUsage(step, result, { model: 'gpt-4o', provider: 'openai' });
      }),
    );
    expect(await callCounts(harness)).toEqual({ calls: 2, missing: 1, priced: 1, stats: 1 });
    expect(notices.map((notice) => notice.cause)).toEqual(['usage_missing:openai:stream_incomplete']);
    expect(notices[0]?.message).toContain('to model "gpt-4o"');
    // Settled after its step: recorded nowhere (counted above), and it resolves, told once: a promise
    // nobody awaits must not reject and crash the process.
    await expect(pending).resolves.toEqual([]);
    expect(notices.map((notice) => notice.cause)).toEqual(['usage_missing:openai:stream_incomplete', 'ai_sdk_usage_after_step']);
    expect(await callCounts(harness)).toEqual({ calls: 2, missing: 1, priced: 1, stats: 1 });
  });

  it('two streamText that fail, or two generateText without usage: 2 calls with usage missing each, told once per cause', async () => {
    const notices = captureNotices();
    const bare = JSON.parse(readFixture('openai-chat-completion.json')) as Record<string, unknown>;
    delete bare['usage'];
    // No stream fixture: the server answers 500 to both streams.
    const harness = createHarness();
    await harness.tracer.agentRun('missing', async (run) => {
      await run.step('failed', async (step) => {
        for (let index = 0; index < 2; index += 1) {
          const result = streamText({ model: openai.chat('gpt-4o'), prompt, maxRetries: 0, onError: () => undefined });
          for await (const _ of result.textStream) continue;
          expect(await recordAiSdkUsage(step, result, { model: 'gpt-4o', provider: 'openai' })).toEqual([]);
        }
      });
      server.enqueue('/v1/chat/completions', bare, bare);
      await run.step('no-usage', async (step) => {
        for (let index = 0; index < 2; index += 1) {
          expect(await recordAiSdkUsage(step, await generateText({ model: openai.chat('gpt-4o'), prompt, maxRetries: 0 }))).toEqual([]);
        }
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 4, missing: 4, priced: 0, stats: 4 });
    expect(notices.map((notice) => notice.cause)).toEqual(['usage_missing:openai:stream_incomplete', 'usage_missing:openai:not_reported']);
  });

  it('a streamText read to its end, alone or after a call, counts nothing missing', async () => {
    server.enqueue(
      '/v1/chat/completions',
      'openai-chat-stream-with-usage.sse',
      'openai-chat-completion.json',
      'openai-chat-stream-with-usage.sse',
    );
    const harness = createHarness();
    await harness.tracer.agentRun('read', async (run) => {
      await run.step('alone', async (step) => {
        await recordAiSdkUsage(step, streamText({ model: openai.chat('gpt-4o'), prompt, maxRetries: 0 }));
      });
      await run.step('after a call', async (step) => {
        await recordAiSdkUsage(step, await generateText({ model: openai.chat('gpt-4o'), prompt, maxRetries: 0 }));
        await recordAiSdkUsage(step, streamText({ model: openai.chat('gpt-4o'), prompt, maxRetries: 0 }));
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 3, missing: undefined, priced: 3, stats: 0 });
  });
});
