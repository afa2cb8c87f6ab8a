import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness } from './__fixtures__/harness.js';
import { startFixtureServer, type FixtureServer } from './__fixtures__/fixture-server.js';
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
