import { GoogleGenAI } from '@google/genai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setNoticeHandler } from '@costspan/sdk';
import { callCounts, captureNotices, createHarness } from './__fixtures__/harness.js';
import { startFixtureServer, type FixtureServer } from './__fixtures__/fixture-server.js';
import { sseFixture } from './__fixtures__/sse.js';
import { recordGeminiUsage, trackGeminiStream } from './record-gemini-usage.js';

let server: FixtureServer;
let ai: GoogleGenAI;

beforeAll(async () => {
  server = await startFixtureServer();
  ai = new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: server.origin } });
});

afterAll(async () => {
  await server.close();
});

const candidate = (text: string, finishReason?: string): object => ({
  content: { parts: [{ text }], role: 'model' },
  index: 0,
  ...(finishReason === undefined ? {} : { finishReason }),
});

describe('recordGeminiUsage', () => {
  it('generateContent: cached content and thinking tokens', async () => {
    server.enqueue('/v1/models/gemini-2.5-flash:generateContent', {
      candidates: [candidate('Tomorrow.', 'STOP')],
      usageMetadata: {
        promptTokenCount: 2000,
        cachedContentTokenCount: 1500,
        candidatesTokenCount: 200,
        thoughtsTokenCount: 300,
        totalTokenCount: 2500,
      },
      modelVersion: 'gemini-2.5-flash',
      responseId: 'resp-1',
    });
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('answer', async (step) => {
        const response = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'When does it arrive?' });
        expect(response.text).toBe('Tomorrow.');
        expect(recordGeminiUsage(step, response)).toEqual({
          model: 'gemini-2.5-flash',
          provider: 'gcp.gemini',
          responseModel: 'gemini-2.5-flash',
          usage: { input: 2000, output: 500, cacheRead: 1500, reasoning: 300 },
        });
      }),
    );
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toEqual({
      input_tokens: 2000,
      output_tokens: 500,
      total_tokens: 2500,
      cached_tokens: 1500,
      reasoning_tokens: 300,
    });
    // $0.30 / $2.50, cached $0.03 per million: 2000 × 0.30 = 0.0006; 1500 × 0.27 = 0.000405 off;
    // 200 × 2.50 = 0.0005 output; 300 × 2.50 = 0.00075 thinking: 0.001445.
    expect(token?.payload.cost).toMatchObject({
      input_cost_usd: 0.0006,
      cached_discount_usd: 0.000405,
      output_cost_usd: 0.0005,
      reasoning_cost_usd: 0.00075,
      total_cost_usd: 0.001445,
    });
  });

  it('a response without usageMetadata is marked, not $0', async () => {
    server.enqueue('/v1/models/gemini-2.5-flash:generateContent', {
      candidates: [candidate('Hi.', 'STOP')],
      modelVersion: 'gemini-2.5-flash',
    });
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('answer', async (step) => {
        expect(recordGeminiUsage(step, await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hello' }))).toBeUndefined();
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(0);
    expect(harness.span('answer').attributes).toMatchObject({ 'llm.cost.usage.missing': true, 'gen_ai.provider.name': 'gcp.gemini' });
  });
});

describe('trackGeminiStream', () => {
  it('generateContentStream: the last chunk usage, tool-use prompt tokens as input', async () => {
    server.enqueue(
      '/v1/models/gemini-2.5-flash:streamGenerateContent',
      sseFixture([
        {
          candidates: [candidate('Your parcel')],
          usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: 10, totalTokenCount: 1010 },
          modelVersion: 'gemini-2.5-flash',
        },
        {
          candidates: [candidate(' arrives tomorrow.', 'STOP')],
          usageMetadata: {
            promptTokenCount: 1000,
            toolUsePromptTokenCount: 200,
            cachedContentTokenCount: 800,
            candidatesTokenCount: 100,
            thoughtsTokenCount: 400,
            totalTokenCount: 1700,
          },
          modelVersion: 'gemini-2.5-flash',
        },
      ]),
    );
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('answer', async (step) => {
        const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'When?' });
        let text = '';
        for await (const chunk of trackGeminiStream(step, stream, { model: 'gemini-2.5-flash' })) text += chunk.text ?? '';
        expect(text).toBe('Your parcel arrives tomorrow.');
      }),
    );
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.payload.token_usage).toEqual({
      input_tokens: 1200,
      output_tokens: 500,
      total_tokens: 1700,
      cached_tokens: 800,
      reasoning_tokens: 400,
    });
    // 1200 × 0.30 = 0.00036; 800 × 0.27 = 0.000216 off; 100 × 2.50 = 0.00025; 400 × 2.50 = 0.001: 0.001394.
    expect(tokens[0]?.payload.cost.total_cost_usd).toBe(0.001394);
  });

  it('a stream left early is marked stream_incomplete', async () => {
    server.enqueue(
      '/v1/models/gemini-2.5-flash:streamGenerateContent',
      sseFixture([
        { candidates: [candidate('Your')], usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: 1, totalTokenCount: 1001 } },
        {
          candidates: [candidate(' parcel', 'STOP')],
          usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: 2, totalTokenCount: 1002 },
        },
      ]),
    );
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('answer', async (step) => {
        const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'When?' });
        for await (const _ of trackGeminiStream(step, stream, { model: 'gemini-2.5-flash' })) break;
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(0);
    expect(harness.span('answer').attributes).toMatchObject({
      'llm.cost.usage.missing_reason': 'stream_incomplete',
      'gen_ai.request.model': 'gemini-2.5-flash',
    });
  });
});

describe('Gemini: each call without usage counted once, whatever else its step recorded', () => {
  afterEach(() => setNoticeHandler(undefined));
  const streamPath = '/v1/models/gemini-2.5-flash:streamGenerateContent';
  const twoChunks = (): ReturnType<typeof sseFixture> =>
    sseFixture([
      { candidates: [candidate('Your')], modelVersion: 'gemini-2.5-flash' },
      {
        candidates: [candidate(' parcel', 'STOP')],
        usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: 2, totalTokenCount: 1002 },
        modelVersion: 'gemini-2.5-flash',
      },
    ]);
  const withUsage = {
    candidates: [candidate('Tomorrow.', 'STOP')],
    usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 10, totalTokenCount: 110 },
    modelVersion: 'gemini-2.5-flash',
  };
  const request = { model: 'gemini-2.5-flash', contents: 'When?' };

  it('a recorded call, then a stream left unread: 2 calls, 1 with usage missing, told once', async () => {
    const notices = captureNotices();
    server.enqueue('/v1/models/gemini-2.5-flash:generateContent', withUsage);
    server.enqueue(streamPath, twoChunks());
    const harness = createHarness();
    await harness.tracer.agentRun('left', (run) =>
      run.step('answer', async (step) => {
        recordGeminiUsage(step, await ai.models.generateContent(request));
        const stream = trackGeminiStream(step, await ai.models.generateContentStream(request));
        // One chunk read (it names the model), then the caller walks away: no break, no return().
        expect((await stream[Symbol.asyncIterator]().next()).done).toBe(false);
      }),
    );
    expect(await callCounts(harness)).toEqual({ calls: 2, missing: 1, priced: 1, stats: 1 });
    expect(notices.map((notice) => notice.cause)).toEqual(['usage_missing:gcp.gemini:stream_incomplete']);
    expect(notices[0]?.message).toContain('to model "gemini-2.5-flash"');
  });

  it('two streams left with break, or two responses without usageMetadata: 2 calls with usage missing each, told once per cause', async () => {
    const notices = captureNotices();
    server.enqueue(streamPath, twoChunks(), twoChunks());
    const bare = { candidates: [candidate('Hi.', 'STOP')], modelVersion: 'gemini-2.5-flash' };
    server.enqueue('/v1/models/gemini-2.5-flash:generateContent', bare, bare);
    const harness = createHarness();
    await harness.tracer.agentRun('missing', async (run) => {
      await run.step('streams', async (step) => {
        for (let index = 0; index < 2; index += 1) {
          for await (const _ of trackGeminiStream(step, await ai.models.generateContentStream(request), { model: 'gemini-2.5-flash' }))
            break;
        }
      });
      await run.step('responses', async (step) => {
        for (let index = 0; index < 2; index += 1)
          expect(recordGeminiUsage(step, await ai.models.generateContent(request))).toBeUndefined();
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 4, missing: 4, priced: 0, stats: 4 });
    expect(notices.map((notice) => notice.cause)).toEqual([
      'usage_missing:gcp.gemini:stream_incomplete',
      'usage_missing:gcp.gemini:not_reported',
    ]);
  });

  it('a stream read to its end, alone or after a call, counts nothing missing', async () => {
    server.enqueue(streamPath, twoChunks(), twoChunks());
    server.enqueue('/v1/models/gemini-2.5-flash:generateContent', withUsage);
    const harness = createHarness();
    await harness.tracer.agentRun('read', async (run) => {
      await run.step('alone', async (step) => {
        for await (const _ of trackGeminiStream(step, await ai.models.generateContentStream(request))) continue;
      });
      await run.step('after a call', async (step) => {
        recordGeminiUsage(step, await ai.models.generateContent(request));
        for await (const _ of trackGeminiStream(step, await ai.models.generateContentStream(request))) continue;
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 3, missing: undefined, priced: 3, stats: 0 });
  });
});
