import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setNoticeHandler } from '@costspan/sdk';
import { callCounts, captureNotices, createHarness } from './__fixtures__/harness.js';
import { readFixture, startFixtureServer, type FixtureServer } from './__fixtures__/fixture-server.js';
import { instrumentAnthropic, instrumentOpenAI } from './instrument-client.js';

let server: FixtureServer;
let openaiClient: OpenAI;
let anthropicClient: Anthropic;

beforeAll(async () => {
  server = await startFixtureServer();
  openaiClient = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.origin}/v1`, maxRetries: 0 });
  anthropicClient = new Anthropic({ apiKey: 'sk-ant-test', baseURL: server.origin, maxRetries: 0 });
});

afterAll(async () => {
  await server.close();
});

const messages = [{ role: 'user' as const, content: 'Where is my refund?' }];

describe('instrumented clients and asResponse()', () => {
  it('OpenAI: the raw response keeps its unread body; the call is marked as missing its usage, not $0', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-completion.json');
    const harness = createHarness();
    const body = await harness.tracer.agentRun('raw', (run) =>
      run.step('answer', async (step) => {
        const openai = instrumentOpenAI(openaiClient, { getStep: () => step });
        const response = await openai.chat.completions.create({ model: 'gpt-4o', messages }).asResponse();
        return (await response.json()) as { usage?: unknown };
      }),
    );
    await harness.flush();
    expect(body.usage).toMatchObject({ prompt_tokens: 2006 });
    expect(harness.events.getEvents('llm.cost.token.recorded')).toEqual([]);
    expect(harness.span('answer').attributes).toMatchObject({
      'llm.cost.usage.missing': true,
      'llm.cost.usage.missing_reason': 'not_reported',
      'gen_ai.request.model': 'gpt-4o',
    });
  });

  it('Anthropic: the raw response keeps its unread body; awaiting and withResponse() still record once', async () => {
    server.enqueue('/v1/messages', 'anthropic-message.json', 'anthropic-message.json', 'anthropic-message.json');
    const harness = createHarness();
    const request = { model: 'claude-sonnet-4-20250514', max_tokens: 1024, messages };
    await harness.tracer.agentRun('raw', async (run) => {
      await run.step('raw', async (step) => {
        const anthropic = instrumentAnthropic(anthropicClient, { getStep: () => step });
        const response = await anthropic.messages.create(request).asResponse();
        expect(((await response.json()) as { usage?: unknown }).usage).toBeDefined();
      });
      await run.step('parsed', async (step) => {
        const anthropic = instrumentAnthropic(anthropicClient, { getStep: () => step });
        await anthropic.messages.create(request);
        const { data } = await anthropic.messages.create(request).withResponse();
        expect(data.usage.output_tokens).toBeGreaterThan(0);
      });
    });
    await harness.flush();
    expect(harness.span('raw').attributes['llm.cost.usage.missing']).toBe(true);
    expect(harness.span('parsed').attributes['llm.cost.usage.missing']).toBeUndefined();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(2);
  });
});

describe('an instrumented stream the caller stops reading', () => {
  it('counts its call as usage missing when the step ends, not as a free call', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('left', (run) =>
      run.step('answer', async (step) => {
        const openai = instrumentOpenAI(openaiClient, { getStep: () => step });
        const stream = await openai.chat.completions.create({
          model: 'gpt-4o',
          messages,
          stream: true,
          stream_options: { include_usage: true },
        });
        // One chunk read, then the caller walks away: no break, no return().
        expect((await stream[Symbol.asyncIterator]().next()).done).toBe(false);
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toEqual([]);
    expect(harness.processor.stats().usageMissingCalls).toBe(1);
    expect(harness.events.getEvents('llm.cost.session.recorded')[0]?.payload.usage_missing_call_count).toBe(1);
  });
});

describe('an abandoned stream beside other calls of its step', () => {
  const streamed = { model: 'gpt-4o', messages, stream: true as const, stream_options: { include_usage: true } };
  const anthropicRequest = { model: 'claude-sonnet-4-20250514', max_tokens: 1024, messages, stream: true as const };

  it('OpenAI: a non-stream call, then a stream left unread: 2 calls, 1 with usage missing', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-completion.json', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('mixed', (run) =>
      run.step('answer', async (step) => {
        const openai = instrumentOpenAI(openaiClient, { getStep: () => step });
        await openai.chat.completions.create({ model: 'gpt-4o', messages });
        const stream = await openai.chat.completions.create(streamed);
        // One chunk read, then the caller walks away: no break, no return().
        expect((await stream[Symbol.asyncIterator]().next()).done).toBe(false);
      }),
    );
    expect(await callCounts(harness)).toEqual({ calls: 2, missing: 1, priced: 1, stats: 1 });
  });

  it('OpenAI: two streams, one read to its end, one left unread: 1 priced, 1 missing', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('two', (run) =>
      run.step('answer', async (step) => {
        const openai = instrumentOpenAI(openaiClient, { getStep: () => step });
        const left = await openai.chat.completions.create(streamed);
        expect((await left[Symbol.asyncIterator]().next()).done).toBe(false);
        for await (const chunk of await openai.chat.completions.create(streamed)) void chunk;
      }),
    );
    expect(await callCounts(harness)).toEqual({ calls: 2, missing: 1, priced: 1, stats: 1 });
  });

  it('OpenAI: two streams left unread count as two calls with usage missing', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('both', (run) =>
      run.step('answer', async (step) => {
        const openai = instrumentOpenAI(openaiClient, { getStep: () => step });
        for (let index = 0; index < 2; index += 1) {
          const stream = await openai.chat.completions.create(streamed);
          expect((await stream[Symbol.asyncIterator]().next()).done).toBe(false);
        }
      }),
    );
    expect(await callCounts(harness)).toEqual({ calls: 2, missing: 2, priced: 0, stats: 2 });
  });

  it('Anthropic: a non-stream call and a stream left unread, then two streams with one left: 1 missing each', async () => {
    server.enqueue(
      '/v1/messages',
      'anthropic-message.json',
      'anthropic-message-stream.sse',
      'anthropic-message-stream.sse',
      'anthropic-message-stream.sse',
    );
    const harness = createHarness();
    await harness.tracer.agentRun('mixed', async (run) => {
      await run.step('after a message', async (step) => {
        const anthropic = instrumentAnthropic(anthropicClient, { getStep: () => step });
        await anthropic.messages.create({ ...anthropicRequest, stream: false });
        const stream = await anthropic.messages.create(anthropicRequest);
        expect((await stream[Symbol.asyncIterator]().next()).done).toBe(false);
      });
      await run.step('after a stream', async (step) => {
        const anthropic = instrumentAnthropic(anthropicClient, { getStep: () => step });
        const left = await anthropic.messages.create(anthropicRequest);
        expect((await left[Symbol.asyncIterator]().next()).done).toBe(false);
        for await (const event of await anthropic.messages.create(anthropicRequest)) void event;
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 4, missing: 2, priced: 2, stats: 2 });
  });

  it('a stream read to its end, alone or after a call, counts nothing missing', async () => {
    server.enqueue(
      '/v1/chat/completions',
      'openai-chat-stream-with-usage.sse',
      'openai-chat-completion.json',
      'openai-chat-stream-with-usage.sse',
    );
    server.enqueue('/v1/messages', 'anthropic-message-stream.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('read', async (run) => {
      await run.step('alone', async (step) => {
        const openai = instrumentOpenAI(openaiClient, { getStep: () => step });
        for await (const chunk of await openai.chat.completions.create(streamed)) void chunk;
      });
      await run.step('after a call', async (step) => {
        const openai = instrumentOpenAI(openaiClient, { getStep: () => step });
        await openai.chat.completions.create({ model: 'gpt-4o', messages });
        for await (const chunk of await openai.chat.completions.create(streamed)) void chunk;
      });
      await run.step('anthropic', async (step) => {
        const anthropic = instrumentAnthropic(anthropicClient, { getStep: () => step });
        for await (const event of await anthropic.messages.create(anthropicRequest)) void event;
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 4, missing: undefined, priced: 4, stats: 0 });
  });
});

describe('several calls without usage in one step count one each', () => {
  afterEach(() => setNoticeHandler(undefined));
  const withoutUsage = (name: string): Record<string, unknown> => {
    const body = JSON.parse(readFixture(name)) as Record<string, unknown>;
    delete body['usage'];
    return body;
  };

  it('OpenAI and Anthropic: two streams left with break, two responses without usage: 2 missing each, told once per cause', async () => {
    const notices = captureNotices();
    const bareChat = withoutUsage('openai-chat-completion.json');
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse', 'openai-chat-stream-with-usage.sse', bareChat, bareChat);
    const bareMessage = withoutUsage('anthropic-message.json');
    server.enqueue('/v1/messages', 'anthropic-message-stream.sse', 'anthropic-message-stream.sse', bareMessage, bareMessage);
    const harness = createHarness();
    await harness.tracer.agentRun('missing', async (run) => {
      await run.step('openai', async (step) => {
        const openai = instrumentOpenAI(openaiClient, { getStep: () => step });
        const request = { model: 'gpt-4o', messages, stream: true as const, stream_options: { include_usage: true } };
        for (let index = 0; index < 2; index += 1) for await (const _ of await openai.chat.completions.create(request)) break;
        for (let index = 0; index < 2; index += 1) await openai.chat.completions.create({ model: 'gpt-4o', messages });
      });
      await run.step('anthropic', async (step) => {
        const anthropic = instrumentAnthropic(anthropicClient, { getStep: () => step });
        const request = { model: 'claude-sonnet-4-20250514', max_tokens: 1024, messages };
        for (let index = 0; index < 2; index += 1)
          for await (const _ of await anthropic.messages.create({ ...request, stream: true })) break;
        for (let index = 0; index < 2; index += 1) await anthropic.messages.create(request);
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 8, missing: 8, priced: 0, stats: 8 });
    expect(notices.map((notice) => notice.cause)).toEqual([
      'usage_missing:openai:stream_incomplete',
      'usage_missing:openai:not_reported',
      'usage_missing:anthropic:stream_incomplete',
      'usage_missing:anthropic:not_reported',
    ]);
  });
});
