import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setNoticeHandler, type CostspanNotice } from '@costspan/sdk';
import { resetNotices } from '@costspan/sdk/internal';
import { createHarness } from './__fixtures__/harness.js';
import { startFixtureServer, type FixtureServer } from './__fixtures__/fixture-server.js';
import { instrumentOpenAI } from './instrument-client.js';
import { recordAnthropicUsage, trackAnthropicStream } from './record-anthropic-usage.js';
import { recordOpenAIUsage, trackOpenAIStream } from './record-openai-usage.js';

let server: FixtureServer;
let client: OpenAI;
const notices: CostspanNotice[] = [];

beforeAll(async () => {
  server = await startFixtureServer();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.origin}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  setNoticeHandler(undefined);
  resetNotices();
  notices.length = 0;
});

function captureNotices(): void {
  setNoticeHandler((notice) => notices.push(notice));
}

const messages = [{ role: 'user' as const, content: 'Where is my refund?' }];

describe('one model, one name across every OpenAI path', () => {
  it('instrumentOpenAI, recordOpenAIUsage and trackOpenAIStream all record gpt-4o, with the dated response model beside it', async () => {
    server.enqueue(
      '/v1/chat/completions',
      'openai-chat-completion.json',
      'openai-chat-completion.json',
      'openai-chat-stream-with-usage.sse',
    );
    const harness = createHarness();
    await harness.tracer.agentRun('support', async (run) => {
      await run.step('instrumented', async (step) => {
        await instrumentOpenAI(client, { getStep: () => step }).chat.completions.create({ model: 'gpt-4o', messages });
      });
      await run.step('recorded', async (step) => {
        // No `model` option: the name comes from the response's dated snapshot.
        recordOpenAIUsage(step, await client.chat.completions.create({ model: 'gpt-4o', messages }));
      });
      await run.step('streamed', async (step) => {
        const stream = await client.chat.completions.create({
          model: 'gpt-4o',
          messages,
          stream: true,
          stream_options: { include_usage: true },
        });
        for await (const chunk of trackOpenAIStream(step, stream)) void chunk;
      });
    });
    await harness.flush();

    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens.map((token) => token.payload.model)).toEqual([
      { name: 'gpt-4o', response_model: 'gpt-4o-2024-08-06', system: 'openai' },
      { name: 'gpt-4o', response_model: 'gpt-4o-2024-08-06', system: 'openai' },
      { name: 'gpt-4o', response_model: 'gpt-4o-2024-08-06', system: 'openai' },
    ]);
    // Priced alike (by the more specific response model): the two identical completions cost the same.
    expect(tokens[0]?.payload.cost.total_cost_usd).toBe(0.005615);
    expect(tokens[1]?.payload.cost.total_cost_usd).toBe(0.005615);
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload.models_used).toEqual(['gpt-4o']);
  });

  it('an explicit model option wins, and names that are not dated snapshots stay whole', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('pinned', (run) =>
      run.step('answer', (step) => {
        recordOpenAIUsage(
          step,
          { model: 'gpt-4o-2024-08-06', usage: { prompt_tokens: 10, completion_tokens: 5 } },
          { model: 'gpt-4o-2024-08-06' },
        );
        recordOpenAIUsage(step, { model: 'ft:gpt-4o-mini:acme::abc', usage: { prompt_tokens: 10, completion_tokens: 5 } });
      }),
    );
    await harness.flush();
    const names = harness.events.getEvents('llm.cost.token.recorded').map((token) => token.payload.model.name);
    expect(names).toEqual(['gpt-4o-2024-08-06', 'ft:gpt-4o-mini:acme::abc']);
  });
});

describe('a stream without usage is told once per cause, with the fix', () => {
  it('OpenAI Chat Completions: one notice for two streams, naming stream_options.include_usage', async () => {
    captureNotices();
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-without-usage.sse', 'openai-chat-stream-without-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('streamer', async (run) => {
      for (const name of ['first', 'second']) {
        await run.step(name, async (step) => {
          const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
          for await (const chunk of trackOpenAIStream(step, stream)) void chunk;
        });
      }
    });
    await harness.flush();

    // One line: the processor, seeing the marked spans, tells the same cause no second time.
    expect(notices.map((notice) => notice.cause)).toEqual(['usage_missing:openai:not_reported']);
    expect(notices[0]?.message).toContain('stream_options: { include_usage: true }');
    expect(notices[0]?.message).toContain('includeStreamUsage: true');
    expect(harness.span('second').attributes['llm.cost.usage.missing']).toBe(true);
  });

  it('a stream left early and responses without usage are separate causes, each told once', async () => {
    captureNotices();
    const harness = createHarness();
    harness.tracer.agentRun('mixed', (run) =>
      run.step('answer', (step) => {
        recordOpenAIUsage(step, { model: 'gpt-4o', usage: null });
        recordOpenAIUsage(step, { model: 'gpt-4o', usage: null });
        recordAnthropicUsage(step, { model: 'claude-sonnet-4-20250514', usage: null });
      }),
    );
    await harness.tracer.agentRun('anthropic', (run) =>
      run.step('stream', async (step) => {
        async function* events(): AsyncGenerator<{ type: string }> {
          yield { type: 'message_start' };
          yield { type: 'content_block_delta' };
        }
        for await (const event of trackAnthropicStream(step, events())) {
          void event;
          break;
        }
      }),
    );
    await harness.flush();
    expect(notices.map((notice) => notice.cause)).toEqual([
      'usage_missing:openai:not_reported',
      'usage_missing:anthropic:not_reported',
      'usage_missing:anthropic:stream_incomplete',
    ]);
    expect(notices[0]?.message).toContain('OpenAI response carried no usage');
    expect(notices[2]?.message).toContain('Read the stream to its end');
  });

  it('trackOpenAIStream / trackAnthropicStream left unread beside a recorded call: counted, named by their first events, told once', async () => {
    captureNotices();
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('left', async (run) => {
      await run.step('openai', async (step) => {
        recordOpenAIUsage(step, { model: 'gpt-4o', usage: { prompt_tokens: 10, completion_tokens: 5 } });
        const stream = await client.chat.completions.create({
          model: 'gpt-4o',
          messages,
          stream: true,
          stream_options: { include_usage: true },
        });
        // One chunk read (it names gpt-4o-2024-08-06), then the caller walks away: no break, no return().
        expect((await trackOpenAIStream(step, stream)[Symbol.asyncIterator]().next()).done).toBe(false);
      });
      await run.step('anthropic', async (step) => {
        recordAnthropicUsage(step, { model: 'claude-sonnet-4-20250514', usage: { input_tokens: 10, output_tokens: 5 } });
        async function* events(): AsyncGenerator<{ type: string; message?: { model: string } }> {
          yield { type: 'message_start', message: { model: 'claude-sonnet-4-20250514' } };
          yield { type: 'content_block_delta' };
        }
        await trackAnthropicStream(step, events())[Symbol.asyncIterator]().next();
      });
    });
    await harness.flush();
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload).toMatchObject({ call_count: 4, usage_missing_call_count: 2 });
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(2);
    expect(notices.map((notice) => notice.cause)).toEqual([
      'usage_missing:openai:stream_incomplete',
      'usage_missing:anthropic:stream_incomplete',
    ]);
    expect(notices[0]?.message).toContain('to model "gpt-4o"');
    expect(notices[0]?.message).toContain('Read streams to their end inside the step');
    expect(notices[1]?.message).toContain('to model "claude-sonnet-4-20250514"');
  });
});
