import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDefaultPriceSource } from '@costspan/pricing';
import { CostSpanProcessor, InMemoryEventExporter, createCostTracer } from '@costspan/sdk';
import { RawFixture, readFixture, startFixtureServer, type FixtureServer } from './__fixtures__/fixture-server.js';
import { installContextManager } from './__fixtures__/harness.js';
import { instrumentOpenAI } from './instrument-client.js';
import { trackGeminiStream } from './record-gemini-usage.js';
import { trackOpenAIStream } from './record-openai-usage.js';

let server: FixtureServer;

beforeAll(async () => {
  server = await startFixtureServer();
});

afterAll(async () => {
  await server.close();
});

/** The real default price table (gpt-4o: $2.50 in, $1.25 cached, $10 out per million), with its default tier factors. */
function pricedHarness() {
  installContextManager();
  const events = new InMemoryEventExporter();
  const processor = new CostSpanProcessor({ source: 'test-app@1.0.0', exporters: [events], priceSource: createDefaultPriceSource() });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  return { tracer: createCostTracer({ tracerProvider: provider }), events, flush: () => processor.forceFlush() };
}

const client = (maxRetries = 0): OpenAI => new OpenAI({ apiKey: 'sk-test', baseURL: `${server.origin}/v1`, maxRetries });
const messages = [{ role: 'user' as const, content: 'Where is my parcel?' }];

/** The recorded Chat Completions stream (1200 in, 1024 cached, 50 out) served at `tier`, optionally cut after its usage chunk. */
function chatStream(tier: string, cut: 'after-usage' | undefined = undefined): RawFixture {
  const text = readFixture('openai-chat-stream-with-usage.sse').replaceAll('"service_tier":"default"', `"service_tier":"${tier}"`);
  // Everything up to and including the usage chunk, then the socket is destroyed: no `[DONE]`.
  if (cut === 'after-usage') return new RawFixture(text.slice(0, text.indexOf('data: [DONE]')), 'text/event-stream', true);
  return new RawFixture(text, 'text/event-stream');
}

// gpt-4o: 1200 × $2.50/M = 0.003 input; 1024 cached × $1.25/M = 0.00128 discount; 50 × $10/M = 0.0005 output.
const STANDARD_USD = 0.00222;

describe('priced by the tier that served the call', () => {
  it('a Chat Completions stream served at flex: half price, service_tier on the token event', async () => {
    server.enqueue('/v1/chat/completions', chatStream('default'), chatStream('flex'));
    const harness = pricedHarness();
    await harness.tracer.agentRun('bot', async (run) => {
      for (const name of ['standard', 'flex']) {
        await run.step(name, async (step) => {
          const openai = instrumentOpenAI(client(), { getStep: () => step });
          const stream = await openai.chat.completions.create({
            model: 'gpt-4o',
            messages,
            stream: true,
            stream_options: { include_usage: true },
          });
          for await (const chunk of stream) void chunk;
        });
      }
    });
    await harness.flush();
    const [standard, flex] = harness.events.getEvents('llm.cost.token.recorded');
    expect(standard?.payload.service_tier).toBe('default');
    expect(standard?.payload.cost.total_cost_usd).toBe(STANDARD_USD);
    expect(flex?.payload.service_tier).toBe('flex');
    expect(flex?.payload.cost.total_cost_usd).toBe(STANDARD_USD / 2);
    expect(flex?.payload.pricing_tier?.multiplier).toBe(0.5);
  });

  it('a Responses API response and stream served at flex', async () => {
    const responseStream = readFixture('openai-response-stream.sse').replaceAll('"service_tier":"default"', '"service_tier":"flex"');
    server.enqueue('/v1/responses', 'openai-response.json', new RawFixture(responseStream, 'text/event-stream'));
    const harness = pricedHarness();
    await harness.tracer.agentRun('planner', (run) =>
      run.step('plan', async (step) => {
        const openai = instrumentOpenAI(client(), { getStep: () => step });
        await openai.responses.create({ model: 'o4-mini', input: 'Plan my trip' });
        const stream = await openai.responses.create({ model: 'gpt-4o', input: 'Plan my trip', stream: true });
        for await (const event of stream) void event;
      }),
    );
    await harness.flush();
    const [response, streamed] = harness.events.getEvents('llm.cost.token.recorded');
    expect(response?.payload.service_tier).toBe('flex');
    expect(response?.payload.pricing_tier?.multiplier).toBe(0.5);
    expect(streamed?.payload.service_tier).toBe('flex');
    // gpt-4o at flex: 400 in × $1.25/M + 120 out × $5/M = 0.0005 + 0.0006.
    expect(streamed?.payload.cost.total_cost_usd).toBe(0.0011);
  });
});

describe('calls that failed after the provider reported usage are recorded', () => {
  it('a stream cut after its usage chunk: the billed call is recorded, its step marked error', async () => {
    server.enqueue('/v1/chat/completions', chatStream('default', 'after-usage'));
    const harness = pricedHarness();
    let failure: unknown;
    await harness.tracer
      .agentRun('bot', (run) =>
        run.step('answer', async (step) => {
          const stream = await client().chat.completions.create({
            model: 'gpt-4o',
            messages,
            stream: true,
            stream_options: { include_usage: true },
          });
          for await (const chunk of trackOpenAIStream(step, stream)) void chunk;
        }),
      )
      .catch((error: unknown) => {
        failure = error;
      });
    await harness.flush();
    expect(failure).toBeInstanceOf(Error);
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toMatchObject({ input_tokens: 1200, output_tokens: 50, cached_tokens: 1024 });
    expect(token?.payload.cost.total_cost_usd).toBe(STANDARD_USD);
    expect(token?.payload.status).toBe('error');
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload.call_count).toBe(1);
    expect(session?.payload.usage_missing_call_count).toBeUndefined();
  });

  it('a retried call whose first attempt was billed (its stream cut after the usage chunk): both attempts recorded', async () => {
    server.enqueue('/v1/chat/completions', chatStream('default', 'after-usage'), chatStream('default'));
    const harness = pricedHarness();
    await harness.tracer.agentRun('bot', (run) =>
      run.step('answer', async (step) => {
        const openai = instrumentOpenAI(client(), { getStep: () => step });
        // The application's retry: the provider billed the first attempt, which reported its usage before the cut.
        for (let attempt = 1; attempt <= 2; attempt += 1) {
          try {
            const stream = await openai.chat.completions.create({
              model: 'gpt-4o',
              messages,
              stream: true,
              stream_options: { include_usage: true },
            });
            for await (const chunk of stream) void chunk;
            return;
          } catch (error) {
            if (attempt === 2) throw error;
          }
        }
      }),
    );
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens.map((token) => token.payload.cost.total_cost_usd)).toEqual([STANDARD_USD, STANDARD_USD]);
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload.call_count).toBe(2);
    expect(session?.payload.total_cost.total_cost_usd).toBe(2 * STANDARD_USD);
  });

  it("the client's own retry after a 5xx: the failed attempt carried no usage and is not billed, the call is recorded once", async () => {
    const before = server.requests.length;
    // No fixture queued for the first attempt: the server answers 500 without usage; the client retries.
    server.enqueue('/v1/chat/completions', 'openai-chat-completion.json');
    const harness = pricedHarness();
    const failing = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.origin}/v1/flaky`, maxRetries: 0 });
    await harness.tracer.agentRun('bot', (run) =>
      run.step('answer', async (step) => {
        const openai = instrumentOpenAI(failing, { getStep: () => step });
        await openai.chat.completions.create({ model: 'gpt-4o', messages }).catch(() => undefined);
        const retrying = instrumentOpenAI(client(1), { getStep: () => step });
        await retrying.chat.completions.create({ model: 'gpt-4o', messages });
      }),
    );
    await harness.flush();
    expect(server.requests.length - before).toBe(2);
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens).toHaveLength(1);
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload.call_count).toBe(1);
  });

  it('chat.completions.stream() cut after its usage chunk: recorded from the chunk, not marked as missing usage', async () => {
    server.enqueue('/v1/chat/completions', chatStream('flex', 'after-usage'));
    const harness = pricedHarness();
    let failure: unknown;
    await harness.tracer.agentRun('bot', (run) =>
      run.step('answer', async (step) => {
        const openai = instrumentOpenAI(client(), { getStep: () => step });
        const runner = openai.chat.completions.stream({ model: 'gpt-4o', messages, stream_options: { include_usage: true } });
        await runner.finalChatCompletion().catch((error: unknown) => {
          failure = error;
        });
      }),
    );
    await harness.flush();
    expect(failure).toBeInstanceOf(Error);
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toMatchObject({ input_tokens: 1200, output_tokens: 50 });
    expect(token?.payload.service_tier).toBe('flex');
    expect(token?.payload.cost.total_cost_usd).toBe(STANDARD_USD / 2);
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload.usage_missing_call_count).toBeUndefined();
    expect(session?.payload.call_count).toBe(1);
  });

  it('a Gemini stream cut after its finishing chunk: recorded with that chunk’s usage', async () => {
    const chunks = [
      {
        candidates: [{ content: { parts: [{ text: 'Your' }], role: 'model' }, index: 0 }],
        usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: 1, totalTokenCount: 1001 },
      },
      {
        candidates: [{ content: { parts: [{ text: ' parcel' }], role: 'model' }, index: 0, finishReason: 'STOP' }],
        usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: 100, totalTokenCount: 1100 },
        modelVersion: 'gemini-2.5-flash',
      },
    ];
    const body = chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\r\n\r\n`).join('');
    server.enqueue('/v1beta/models/gemini-2.5-flash:streamGenerateContent', new RawFixture(body, 'text/event-stream', true));
    const ai = new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: server.origin, apiVersion: 'v1beta' } });
    const harness = pricedHarness();
    await harness.tracer
      .agentRun('bot', (run) =>
        run.step('answer', async (step) => {
          const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'When?' });
          for await (const chunk of trackGeminiStream(step, stream, { model: 'gemini-2.5-flash' })) void chunk;
        }),
      )
      .catch(() => undefined);
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toMatchObject({ input_tokens: 1000, output_tokens: 100 });
    expect(harness.events.getEvents('llm.cost.session.recorded')[0]?.payload.usage_missing_call_count).toBeUndefined();
  });
});
