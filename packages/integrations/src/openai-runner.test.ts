import OpenAI from 'openai';
import type { RunnableToolFunctionWithParse } from 'openai/lib/RunnableFunction';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setNoticeHandler } from '@costspan/sdk';
import { callCounts, captureNotices, createHarness } from './__fixtures__/harness.js';
import { RawFixture, readFixture, startFixtureServer, type FixtureServer } from './__fixtures__/fixture-server.js';
import { sseFixture } from './__fixtures__/sse.js';
import { instrumentOpenAI } from './instrument-client.js';
import { trackOpenAIRunner } from './openai-runner.js';
import { recordOpenAIUsage } from './record-openai-usage.js';

let server: FixtureServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startFixtureServer();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.origin}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await server.close();
});

const messages = [{ role: 'user' as const, content: 'Where is order A-1001?' }];

const lookupOrder: RunnableToolFunctionWithParse<{ orderId: string }> = {
  type: 'function',
  function: {
    name: 'lookupOrder',
    description: 'Finds an order',
    parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
    parse: (text: string) => JSON.parse(text) as { orderId: string },
    function: ({ orderId }: { orderId: string }) => ({ orderId, status: 'shipped' }),
  },
};

/** A Responses API stream of o4-mini with cached and reasoning tokens, from the recorded gpt-4o stream. */
function o4MiniResponseStream(cut?: 'end' | 'hang-up'): RawFixture {
  const usage =
    '"usage":{"input_tokens":1500,"input_tokens_details":{"cached_tokens":1024},"output_tokens":900,"output_tokens_details":{"reasoning_tokens":640},"total_tokens":2400}';
  const text = readFixture('openai-response-stream.sse')
    .replaceAll('"model":"gpt-4o-2024-08-06"', '"model":"o4-mini-2025-04-16"')
    .replace(
      '"usage":{"input_tokens":400,"input_tokens_details":{"cached_tokens":0},"output_tokens":120,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":520}',
      usage,
    );
  if (cut === undefined) return new RawFixture(text, 'text/event-stream');
  // Everything before `response.completed`: the usage never arrives.
  return new RawFixture(text.slice(0, text.indexOf('event: response.completed')), 'text/event-stream', cut === 'hang-up');
}

const chunk = (delta: object, extra: object = {}): object => ({
  id: 'chatcmpl-run1',
  object: 'chat.completion.chunk',
  created: 1741570300,
  model: 'o4-mini-2025-04-16',
  choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
  usage: null,
  ...extra,
});
const finish = (reason: string): object => chunk({}, { choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: reason }] });
const usageChunk = (usage: object): object => chunk({}, { choices: [], usage });

describe('trackOpenAIRunner', () => {
  it('chat.completions.stream(): the final completion with cached tokens, recorded once', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('answer', async (step) => {
        const stream = trackOpenAIRunner(
          step,
          client.chat.completions.stream({ model: 'gpt-4o', messages, stream_options: { include_usage: true } }),
        );
        let text = '';
        for await (const part of stream) text += part.choices[0]?.delta.content ?? '';
        expect(text).toBe('Your parcel arrives tomorrow.');
        await stream.finalChatCompletion();
      }),
    );
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.payload.token_usage).toEqual({ input_tokens: 1200, output_tokens: 50, total_tokens: 1250, cached_tokens: 1024 });
    // 1200 × $2.50/M = 0.003; 1024 cached × $1.25/M = 0.00128 off; 50 × $10/M = 0.0005: 0.00222.
    expect(tokens[0]?.payload.cost).toMatchObject({
      input_cost_usd: 0.003,
      cached_discount_usd: 0.00128,
      output_cost_usd: 0.0005,
      total_cost_usd: 0.00222,
    });
    expect(tokens[0]?.payload.model).toEqual({ name: 'gpt-4o', response_model: 'gpt-4o-2024-08-06', system: 'openai' });
  });

  it('chat.completions.runTools(): each round of the tool loop is one call', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-completion-tool-call.json', 'openai-chat-completion.json');
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('agent', async (step) => {
        const runner = trackOpenAIRunner(step, client.chat.completions.runTools({ model: 'gpt-4o', messages, tools: [lookupOrder] }));
        expect(await runner.finalContent()).toContain('refund');
      }),
    );
    await harness.flush();
    const costs = harness.events.getEvents('llm.cost.token.recorded').map((event) => event.payload.cost.total_cost_usd);
    // Round 1: 820 × 2.50 + 24 × 10 = 0.00229. Round 2: 0.005015 − 0.0024 + 0.003 = 0.005615.
    expect(costs).toEqual([0.00229, 0.005615]);
    expect(harness.span('invoke_agent support').attributes['llm.cost.inclusive.total_usd']).toBe(0.007905);
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload.call_count).toBe(2);
  });

  it('runTools({ stream: true }): streamed rounds with reasoning and cached tokens', async () => {
    server.enqueue(
      '/v1/chat/completions',
      sseFixture(
        [
          chunk({
            role: 'assistant',
            content: null,
            tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'lookupOrder', arguments: '' } }],
          }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '{"orderId":"A-1001"}' } }] }),
          finish('tool_calls'),
          usageChunk({
            prompt_tokens: 900,
            completion_tokens: 300,
            total_tokens: 1200,
            prompt_tokens_details: { cached_tokens: 512 },
            completion_tokens_details: { reasoning_tokens: 256 },
          }),
        ],
        { done: true },
      ),
      sseFixture(
        [
          chunk({ role: 'assistant', content: 'Shipped.' }),
          finish('stop'),
          usageChunk({
            prompt_tokens: 1000,
            completion_tokens: 100,
            total_tokens: 1100,
            prompt_tokens_details: { cached_tokens: 896 },
            completion_tokens_details: { reasoning_tokens: 64 },
          }),
        ],
        { done: true },
      ),
    );
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('agent', async (step) => {
        const runner = trackOpenAIRunner(
          step,
          client.chat.completions.runTools({
            model: 'o4-mini',
            messages,
            tools: [lookupOrder],
            stream: true,
            stream_options: { include_usage: true },
          }),
        );
        expect(await runner.finalContent()).toBe('Shipped.');
      }),
    );
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens.map((event) => event.payload.token_usage)).toEqual([
      { input_tokens: 900, output_tokens: 300, total_tokens: 1200, cached_tokens: 512, reasoning_tokens: 256 },
      { input_tokens: 1000, output_tokens: 100, total_tokens: 1100, cached_tokens: 896, reasoning_tokens: 64 },
    ]);
    // o4-mini $1.10 / $4.40, cached $0.275. Round 1: 900 × 1.10 = 0.00099; 512 × 0.825 = 0.0004224 off;
    // 44 × 4.40 = 0.0001936 output; 256 × 4.40 = 0.0011264 reasoning: 0.0018876.
    // Round 2: 0.0011 − 896 × 0.825 (0.0007392) + 36 × 4.40 (0.0001584) + 64 × 4.40 (0.0002816) = 0.0008008.
    expect(tokens.map((event) => event.payload.cost.total_cost_usd)).toEqual([0.0018876, 0.0008008]);
    expect(tokens.map((event) => event.payload.model.name)).toEqual(['o4-mini', 'o4-mini']);
  });

  it('responses.stream(): the response.completed usage with cached and reasoning tokens', async () => {
    server.enqueue('/v1/responses', o4MiniResponseStream());
    const harness = createHarness();
    await harness.tracer.agentRun('planner', (run) =>
      run.step('plan', async (step) => {
        const stream = trackOpenAIRunner(step, client.responses.stream({ model: 'o4-mini', input: 'Which warehouse?' }));
        await stream.finalResponse();
      }),
    );
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens).toHaveLength(1);
    // 1500 × 1.10 = 0.00165; 1024 × 0.825 = 0.0008448 off; 260 × 4.40 = 0.001144; 640 × 4.40 = 0.002816.
    expect(tokens[0]?.payload.cost).toMatchObject({ reasoning_cost_usd: 0.002816, total_cost_usd: 0.0047652 });
    expect(tokens[0]?.payload.model).toEqual({ name: 'o4-mini', response_model: 'o4-mini-2025-04-16', system: 'openai' });
  });

  it('a stream without include_usage or response.completed is marked not_reported; one cut off stream_incomplete', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-without-usage.sse');
    server.enqueue('/v1/responses', o4MiniResponseStream('end'), o4MiniResponseStream('hang-up'));
    const harness = createHarness();
    await harness.tracer.agentRun('support', async (run) => {
      await run.step('no-usage', async (step) => {
        await trackOpenAIRunner(step, client.chat.completions.stream({ model: 'gpt-4o', messages })).finalChatCompletion();
      });
      await run.step('no-completed', async (step) => {
        const stream = trackOpenAIRunner(step, client.responses.stream({ model: 'o4-mini', input: 'Which warehouse?' }));
        await stream.done();
      });
      await run.step('cut-off', async (step) => {
        const stream = trackOpenAIRunner(step, client.responses.stream({ model: 'o4-mini', input: 'Which warehouse?' }));
        await expect(stream.finalResponse()).rejects.toThrow();
      });
    });
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(0);
    expect(harness.span('no-usage').attributes).toMatchObject({
      'llm.cost.usage.missing': true,
      'llm.cost.usage.missing_reason': 'not_reported',
    });
    expect(harness.span('no-completed').attributes).toMatchObject({ 'llm.cost.usage.missing_reason': 'not_reported' });
    expect(harness.span('cut-off').attributes).toMatchObject({
      'llm.cost.usage.missing': true,
      'llm.cost.usage.missing_reason': 'stream_incomplete',
      'gen_ai.request.model': 'o4-mini',
    });
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload).toMatchObject({ call_count: 3, usage_missing_call_count: 3 });
  });
});

describe('instrumentOpenAI covers the helpers', () => {
  it('stream(), runTools() and responses.stream() through the instrumented client, each request once', async () => {
    server.enqueue(
      '/v1/chat/completions',
      'openai-chat-stream-without-usage.sse',
      'openai-chat-completion-tool-call.json',
      'openai-chat-completion.json',
    );
    server.enqueue('/v1/responses', o4MiniResponseStream());
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('all', async (step) => {
        const openai = instrumentOpenAI(client, { getStep: () => step, includeStreamUsage: true });
        await openai.chat.completions.stream({ model: 'gpt-4o', messages }).finalChatCompletion();
        await openai.chat.completions.runTools({ model: 'gpt-4o', messages, tools: [lookupOrder] }).finalContent();
        await openai.responses.stream({ model: 'o4-mini', input: 'Which warehouse?' }).finalResponse();
      }),
    );
    await harness.flush();
    // includeStreamUsage asked the stream helper for usage.
    expect(server.requests.at(-4)?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const costs = harness.events.getEvents('llm.cost.token.recorded').map((event) => event.payload.cost.total_cost_usd);
    // The fixture server's stream has no usage chunk: the stream is marked, the three others recorded.
    expect(costs).toEqual([0.00229, 0.005615, 0.0047652]);
    expect(harness.span('all').attributes['llm.cost.usage.missing']).toBe(true);
  });
});

describe('OpenAI helpers: each call without usage counted once, whatever else its step recorded', () => {
  afterEach(() => setNoticeHandler(undefined));
  const usage = { prompt_tokens: 10, completion_tokens: 5 };
  const withUsage = { model: 'gpt-4o', messages, stream_options: { include_usage: true } };

  it('a recorded call, then a helper left before its end (tracked or instrumented): 2 calls, 1 with usage missing, told once', async () => {
    const notices = captureNotices();
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse');
    server.enqueue('/v1/responses', o4MiniResponseStream());
    const harness = createHarness();
    const left: Array<{ done(): Promise<void> }> = [];
    harness.tracer.agentRun('left', (run) => {
      run.step('tracked', (step) => {
        recordOpenAIUsage(step, { model: 'gpt-4o', usage });
        // Neither awaited nor read: the step ends before the helper's `end`.
        left.push(trackOpenAIRunner(step, client.chat.completions.stream(withUsage)));
      });
      run.step('instrumented', (step) => {
        recordOpenAIUsage(step, { model: 'o4-mini', usage });
        left.push(instrumentOpenAI(client, { getStep: () => step }).responses.stream({ model: 'o4-mini', input: 'Which warehouse?' }));
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 4, missing: 2, priced: 2, stats: 2 });
    expect(notices.map((notice) => notice.cause)).toEqual(['usage_missing:openai:stream_incomplete']);
    await Promise.all(left.map((runner) => runner.done()));
  });

  it('two helpers ended early (left with break, or cut off), or two completions without usage: 2 calls with usage missing each', async () => {
    const bare = JSON.parse(readFixture('openai-chat-completion.json')) as Record<string, unknown>;
    delete bare['usage'];
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-without-usage.sse', 'openai-chat-stream-without-usage.sse', bare, bare);
    server.enqueue('/v1/responses', o4MiniResponseStream('hang-up'), o4MiniResponseStream('hang-up'));
    const harness = createHarness();
    await harness.tracer.agentRun('missing', async (run) => {
      await run.step('break', async (step) => {
        for (let index = 0; index < 2; index += 1) {
          const stream = trackOpenAIRunner(step, client.chat.completions.stream({ model: 'gpt-4o', messages }));
          for await (const _ of stream) break;
          await stream.done().catch(() => undefined);
        }
      });
      await run.step('cut-off', async (step) => {
        for (let index = 0; index < 2; index += 1) {
          const stream = trackOpenAIRunner(step, client.responses.stream({ model: 'o4-mini', input: 'Which warehouse?' }));
          await expect(stream.finalResponse()).rejects.toThrow();
        }
      });
      await run.step('no-usage', async (step) => {
        for (let index = 0; index < 2; index += 1) {
          await trackOpenAIRunner(step, client.chat.completions.runTools({ model: 'gpt-4o', messages, tools: [lookupOrder] })).done();
        }
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 6, missing: 6, priced: 0, stats: 6 });
  });

  it('a helper read to its end, alone or after a call, counts nothing missing', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('read', async (run) => {
      await run.step('alone', async (step) => {
        await trackOpenAIRunner(step, client.chat.completions.stream(withUsage)).finalChatCompletion();
      });
      await run.step('after a call', async (step) => {
        recordOpenAIUsage(step, { model: 'gpt-4o', usage });
        await trackOpenAIRunner(step, client.chat.completions.stream(withUsage)).finalChatCompletion();
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 3, missing: undefined, priced: 3, stats: 0 });
  });
});
