import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness } from './__fixtures__/harness.js';
import { startFixtureServer, type FixtureServer } from './__fixtures__/fixture-server.js';
import { instrumentOpenAI } from './instrument-client.js';
import { trackAnthropicStream } from './record-anthropic-usage.js';
import { trackOpenAIStream } from './record-openai-usage.js';

let server: FixtureServer;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  server = await startFixtureServer();
  openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.origin}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: server.origin, maxRetries: 0 });
});

afterAll(async () => {
  await server.close();
});

const messages = [{ role: 'user' as const, content: 'Where is my parcel?' }];

async function drain(stream: AsyncIterable<unknown>): Promise<number> {
  let count = 0;
  for await (const _ of stream) count += 1;
  return count;
}

describe('tee() on a tracked stream', () => {
  it('OpenAI: both branches read, the call counted once', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('answer', async (step) => {
        const stream = await openai.chat.completions.create({
          model: 'gpt-4o',
          messages,
          stream: true,
          stream_options: { include_usage: true },
        });
        const [left, right] = trackOpenAIStream(step, stream).tee();
        expect(await Promise.all([drain(left), drain(right)])).toEqual([5, 5]);
      }),
    );
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens).toHaveLength(1);
    // 1200 × 2.50 − 1024 × 1.25 + 50 × 10 per million: 0.00222.
    expect(tokens[0]?.payload.cost.total_cost_usd).toBe(0.00222);
  });

  it('OpenAI through instrumentOpenAI: a teed stream is recorded once too', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('answer', async (step) => {
        const client = instrumentOpenAI(openai, { getStep: () => step });
        const stream = await client.chat.completions.create({
          model: 'gpt-4o',
          messages,
          stream: true,
          stream_options: { include_usage: true },
        });
        const [left, right] = stream.tee();
        await drain(left);
        await drain(right);
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded').map((event) => event.payload.cost.total_cost_usd)).toEqual([0.00222]);
  });

  // @anthropic-ai/sdk's tee() reads [Symbol.asyncIterator] (openai's reads iterator()): pinned so both stay counted once.
  it('Anthropic: both branches read, the call counted once', async () => {
    server.enqueue('/v1/messages', 'anthropic-message-stream.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('answer', async (step) => {
        const events = await anthropic.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 256, messages, stream: true });
        const [left, right] = trackAnthropicStream(step, events).tee();
        await drain(left);
        await drain(right);
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(1);
    // Recorded by the step itself, from the stream's message_start and message_delta.
    expect(harness.span('answer').attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
  });

  it('every branch left early: the step is marked stream_incomplete, not $0', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('answer', async (step) => {
        const stream = await openai.chat.completions.create({
          model: 'gpt-4o',
          messages,
          stream: true,
          stream_options: { include_usage: true },
        });
        const [left, right] = trackOpenAIStream(step, stream).tee();
        for await (const _ of left) break;
        for await (const _ of right) break;
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(0);
    expect(harness.span('answer').attributes).toMatchObject({
      'llm.cost.usage.missing': true,
      'llm.cost.usage.missing_reason': 'stream_incomplete',
    });
  });
});
