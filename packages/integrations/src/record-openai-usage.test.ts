import { diag, DiagLogLevel } from '@opentelemetry/api';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness } from './__fixtures__/harness.js';
import { startFixtureServer, type FixtureServer } from './__fixtures__/fixture-server.js';
import { instrumentOpenAI } from './instrument-client.js';
import { recordOpenAIUsage, trackOpenAIStream } from './record-openai-usage.js';

let server: FixtureServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startFixtureServer();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.origin}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await server.close();
});

const messages = [{ role: 'user' as const, content: 'Where is my refund?' }];

describe('recordOpenAIUsage', () => {
  it('Chat Completions: cached prompt tokens priced at the cached rate, service tier on the span', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-completion.json');
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('answer', async (step) => {
        const completion = await client.chat.completions.create({ model: 'gpt-4o', messages });
        expect(recordOpenAIUsage(step, completion, { model: 'gpt-4o' })).toEqual({
          model: 'gpt-4o',
          provider: 'openai',
          responseModel: 'gpt-4o-2024-08-06',
          usage: { input: 2006, output: 300, cacheRead: 1920 },
          serviceTier: 'default',
        });
      }),
    );
    await harness.flush();

    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toEqual({ input_tokens: 2006, output_tokens: 300, total_tokens: 2306, cached_tokens: 1920 });
    // 2006 × $2.50/M = 0.005015 input; 1920 cached × ($2.50 − $1.25)/M = 0.0024 discount; 300 × $10/M = 0.003 output.
    expect(token?.payload.cost).toEqual({
      input_cost_usd: 0.005015,
      cached_discount_usd: 0.0024,
      output_cost_usd: 0.003,
      total_cost_usd: 0.005615,
      pricing_date: '2026-03-04',
    });
    expect(token?.payload.model).toEqual({ name: 'gpt-4o', response_model: 'gpt-4o-2024-08-06', system: 'openai' });
    expect(token?.payload.service_tier).toBe('default');
    const span = harness.span('answer');
    expect(span.attributes['openai.response.service_tier']).toBe('default');
    expect(span.attributes['gen_ai.usage.cache_read.input_tokens']).toBe(1920);
    expect(harness.span('invoke_agent support').attributes['llm.cost.inclusive.total_usd']).toBe(0.005615);
  });

  it('Responses API: input/output token details, reasoning tokens, flex tier', async () => {
    server.enqueue('/v1/responses', 'openai-response.json');
    const harness = createHarness();
    await harness.tracer.agentRun('planner', (run) =>
      run.step('plan', async (step) => {
        const response = await client.responses.create({ model: 'o4-mini', input: 'Which warehouse?', service_tier: 'flex' });
        recordOpenAIUsage(step, response);
      }),
    );
    await harness.flush();

    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toEqual({
      input_tokens: 1500,
      output_tokens: 900,
      total_tokens: 2400,
      cached_tokens: 1024,
      reasoning_tokens: 640,
    });
    // o4-mini $1.10 / $4.40, cached $0.275: 1500 × 1.10 = 0.00165; discount 1024 × 0.825 = 0.0008448;
    // 260 × 4.40 = 0.001144 output; 640 × 4.40 = 0.002816 reasoning; total 0.0047652.
    expect(token?.payload.cost).toMatchObject({
      input_cost_usd: 0.00165,
      cached_discount_usd: 0.0008448,
      output_cost_usd: 0.001144,
      reasoning_cost_usd: 0.002816,
      total_cost_usd: 0.0047652,
    });
    // The name is the requested alias; the dated snapshot the response names stays beside it.
    expect(token?.payload.model).toEqual({ name: 'o4-mini', response_model: 'o4-mini-2025-04-16', system: 'openai' });
    expect(harness.span('plan').attributes['openai.response.service_tier']).toBe('flex');
  });

  it('Embeddings: prompt tokens only', async () => {
    server.enqueue('/v1/embeddings', 'openai-embedding.json');
    const harness = createHarness();
    await harness.tracer.agentRun('indexer', (run) =>
      run.step('embed', { operation: 'embeddings' }, async (step) => {
        recordOpenAIUsage(step, await client.embeddings.create({ model: 'text-embedding-3-small', input: 'refund policy' }));
      }),
    );
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toEqual({ input_tokens: 8, output_tokens: 0, total_tokens: 8 });
    // 8 × $0.02/M
    expect(token?.payload.cost.total_cost_usd).toBe(0.00000016);
    expect(harness.span('embed').attributes['gen_ai.operation.name']).toBe('embeddings');
  });

  it('a gateway-reported cost (OpenRouter usage.cost) wins over the table and is marked provider', async () => {
    server.enqueue('/api/v1/chat/completions', 'openrouter-chat-completion.json', 'openrouter-chat-completion.json');
    const openrouter = new OpenAI({ apiKey: 'sk-or-test', baseURL: `${server.origin}/api/v1`, maxRetries: 0 });
    const harness = createHarness();
    await harness.tracer.agentRun('router', async (run) => {
      await run.step('reported', async (step) => {
        recordOpenAIUsage(step, await openrouter.chat.completions.create({ model: 'anthropic/claude-sonnet-4', messages }), {
          provider: 'openrouter',
        });
      });
      await run.step('overridden', async (step) => {
        const completion = await openrouter.chat.completions.create({ model: 'anthropic/claude-sonnet-4', messages });
        recordOpenAIUsage(step, completion, { provider: 'openrouter', cost: { inputUsd: 0.001, outputUsd: 0.002 } });
      });
    });
    await harness.flush();

    const reported = harness.span('reported');
    // The table would say 1000 × $3/M + 200 × $15/M = 0.006; the gateway charged 0.00642.
    expect(reported.attributes['gen_ai.usage.cost.amount']).toBe(0.00642);
    expect(reported.attributes['gen_ai.usage.cost.source']).toBe('provider');
    expect(reported.attributes['llm.cost.pricing.status']).toBe('provider');
    expect(reported.attributes['gen_ai.provider.name']).toBe('openrouter');
    const overridden = harness.span('overridden');
    expect(overridden.attributes['gen_ai.usage.cost.amount']).toBe(0.003);
    expect(overridden.attributes['gen_ai.usage.cost.source']).toBe('caller');
    expect(harness.span('invoke_agent router').attributes['llm.cost.inclusive.total_usd']).toBe(0.00942);
  });

  it('a response without usage marks the step instead of recording $0', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('proxy', (run) =>
      run.step('answer', (step) => {
        expect(recordOpenAIUsage(step, { model: 'gpt-4o', usage: null })).toBeUndefined();
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(0);
    expect(harness.span('answer').attributes['llm.cost.usage.missing']).toBe(true);
    expect(harness.span('answer').attributes['llm.cost.usage.missing_reason']).toBe('not_reported');
  });

  it('inconsistent counts are marked invalid, not recorded', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('odd', (run) =>
      run.step('answer', (step) => {
        recordOpenAIUsage(step, {
          model: 'gpt-4o',
          usage: { prompt_tokens: 10, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 20 } },
        });
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(0);
    expect(harness.span('answer').attributes['llm.cost.usage.missing_reason']).toBe('invalid');
  });
});

describe('trackOpenAIStream', () => {
  it('records the usage of the final chunk (stream_options.include_usage)', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    const text = await harness.tracer.agentRun('streamer', (run) =>
      run.step('answer', async (step) => {
        const stream = await client.chat.completions.create({
          model: 'gpt-4o',
          messages,
          stream: true,
          stream_options: { include_usage: true },
        });
        let content = '';
        for await (const chunk of trackOpenAIStream(step, stream, { model: 'gpt-4o' })) content += chunk.choices[0]?.delta.content ?? '';
        return content;
      }),
    );
    await harness.flush();
    expect(text).toBe('Your parcel arrives tomorrow.');
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toEqual({ input_tokens: 1200, output_tokens: 50, total_tokens: 1250, cached_tokens: 1024 });
    // 1200 × 2.50 = 0.003; discount 1024 × 1.25 = 0.00128; 50 × 10 = 0.0005.
    expect(token?.payload.cost).toMatchObject({
      input_cost_usd: 0.003,
      cached_discount_usd: 0.00128,
      output_cost_usd: 0.0005,
      total_cost_usd: 0.00222,
    });
    expect(harness.span('answer').attributes['openai.response.service_tier']).toBe('default');
  });

  it('a stream without usage is marked on the span, not recorded as $0', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-without-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('streamer', (run) =>
      run.step('answer', async (step) => {
        const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
        for await (const chunk of trackOpenAIStream(step, stream)) void chunk;
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(0);
    const span = harness.span('answer');
    expect(span.attributes['llm.cost.usage.missing']).toBe(true);
    expect(span.attributes['llm.cost.usage.missing_reason']).toBe('not_reported');
    expect(span.attributes['llm.cost.pricing.status']).toBeUndefined();
  });

  it('a stream left before its usage arrived is marked incomplete', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('impatient', (run) =>
      run.step('answer', async (step) => {
        const stream = await client.chat.completions.create({
          model: 'gpt-4o',
          messages,
          stream: true,
          stream_options: { include_usage: true },
        });
        for await (const chunk of trackOpenAIStream(step, stream)) {
          void chunk;
          break;
        }
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(0);
    expect(harness.span('answer').attributes['llm.cost.usage.missing_reason']).toBe('stream_incomplete');
  });

  it('Responses API stream: usage from response.completed', async () => {
    server.enqueue('/v1/responses', 'openai-response-stream.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('streamer', (run) =>
      run.step('answer', async (step) => {
        const stream = await client.responses.create({ model: 'gpt-4o', input: 'Hi', stream: true });
        const types: string[] = [];
        for await (const event of trackOpenAIStream(step, stream)) types.push(event.type);
        expect(types.at(-1)).toBe('response.completed');
      }),
    );
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toEqual({ input_tokens: 400, output_tokens: 120, total_tokens: 520 });
    // 400 × 2.50 + 120 × 10 = 0.001 + 0.0012
    expect(token?.payload.cost.total_cost_usd).toBe(0.0022);
    expect(token?.payload.model).toEqual({ name: 'gpt-4o', response_model: 'gpt-4o-2024-08-06', system: 'openai' });
  });
});

describe('instrumentOpenAI', () => {
  it('records every call made inside a step, and keeps the client promise intact', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-completion.json');
    server.enqueue('/v1/embeddings', 'openai-embedding.json');
    const harness = createHarness();
    await harness.tracer.agentRun('auto', (run) =>
      run.step('answer', async (step) => {
        const openai = instrumentOpenAI(client, { getStep: () => step });
        const { data, request_id } = await openai.chat.completions.create({ model: 'gpt-4o', messages }).withResponse();
        expect(data.choices[0]?.message.content).toContain('refund');
        expect(request_id).toBe('req_fixture');
        await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'refund' });
      }),
    );
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens.map((token) => [token.payload.model.name, token.payload.cost.total_cost_usd])).toEqual([
      ['gpt-4o', 0.005615],
      ['text-embedding-3-small', 0.00000016],
    ]);
    expect(tokens[0]?.payload.model.response_model).toBe('gpt-4o-2024-08-06');
    expect(harness.span('invoke_agent auto').attributes['llm.cost.inclusive.total_usd']).toBe(0.00561516);
  });

  it('asks streams for usage when includeStreamUsage is set, and records it', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-stream-with-usage.sse');
    const harness = createHarness();
    await harness.tracer.agentRun('auto', (run) =>
      run.step('answer', async (step) => {
        const openai = instrumentOpenAI(client, { getStep: () => step, includeStreamUsage: true });
        const stream = await openai.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
        for await (const chunk of stream) void chunk;
      }),
    );
    await harness.flush();
    expect(server.requests.at(-1)?.body['stream_options']).toEqual({ include_usage: true });
    expect(harness.events.getEvents('llm.cost.token.recorded')[0]?.payload.cost.total_cost_usd).toBe(0.00222);
  });

  it('never throws into the caller: a step that has ended, or a failing getStep, only reaches diag', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-completion.json', 'openai-chat-completion.json');
    const errors: unknown[] = [];
    diag.setLogger(
      {
        verbose: () => undefined,
        debug: () => undefined,
        info: () => undefined,
        warn: () => undefined,
        error: (...parts: unknown[]) => errors.push(parts),
      },
      DiagLogLevel.ERROR,
    );
    try {
      const harness = createHarness();
      const ended = harness.tracer.agentRun('late', (run) => run.step('done', (step) => step));
      const late = instrumentOpenAI(client, { getStep: () => ended });
      expect((await late.chat.completions.create({ model: 'gpt-4o', messages })).usage?.prompt_tokens).toBe(2006);
      const broken = instrumentOpenAI(client, {
        getStep: () => {
          throw new Error('no step here');
        },
      });
      expect((await broken.chat.completions.create({ model: 'gpt-4o', messages })).usage?.prompt_tokens).toBe(2006);
      expect(errors).toHaveLength(2);
    } finally {
      diag.disable();
    }
  });

  it('outside a step, calls pass through and nothing is recorded', async () => {
    server.enqueue('/v1/chat/completions', 'openai-chat-completion.json');
    const openai = instrumentOpenAI(client, { getStep: () => undefined, includeStreamUsage: true });
    const completion = await openai.chat.completions.create({ model: 'gpt-4o', messages });
    expect(completion.usage?.prompt_tokens).toBe(2006);
    expect(openai.baseURL).toBe(`${server.origin}/v1`);
  });
});
