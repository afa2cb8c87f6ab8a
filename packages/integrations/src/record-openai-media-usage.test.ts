import OpenAI, { toFile } from 'openai';
import { Stream } from 'openai/streaming';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setNoticeHandler } from '@costspan/sdk';
import { callCounts, captureNotices, createHarness } from './__fixtures__/harness.js';
import { RawFixture, startFixtureServer, type FixtureServer } from './__fixtures__/fixture-server.js';
import { sseFixture } from './__fixtures__/sse.js';
import {
  recordOpenAIImageUsage,
  recordOpenAISpeechUsage,
  recordOpenAITranscriptionUsage,
  trackOpenAIAudioStream,
} from './record-openai-media-usage.js';

let server: FixtureServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startFixtureServer();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.origin}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await server.close();
});

const audio = async () => toFile(Buffer.from('RIFF0000WAVEfmt '), 'call.wav', { type: 'audio/wav' });

// Prices from @pydantic/genai-prices 0.1.8 (USD per million tokens, or per audio hour).
describe('image and audio calls priced by their units', () => {
  it('gpt-image-1: text and image input and image output at their own rates; dall-e-3 unpriced with the reason', async () => {
    server.enqueue('/v1/images/edits', {
      created: 1741570400,
      data: [{ b64_json: 'aW1n' }],
      usage: { input_tokens: 1040, input_tokens_details: { text_tokens: 40, image_tokens: 1000 }, output_tokens: 4160, total_tokens: 5200 },
    });
    server.enqueue('/v1/images/generations', {
      created: 1741570401,
      data: [{ url: 'https://example.invalid/a.png' }, { url: 'https://example.invalid/b.png' }],
    });
    const harness = createHarness();
    await harness.tracer.agentRun('designer', async (run) => {
      await run.step('edit', async (step) => {
        const image = await toFile(Buffer.from('PNG'), 'in.png', { type: 'image/png' });
        recordOpenAIImageUsage(step, await client.images.edit({ model: 'gpt-image-1', image, prompt: 'Add a hat' }), {
          model: 'gpt-image-1',
        });
      });
      await run.step('draw', async (step) => {
        recordOpenAIImageUsage(step, await client.images.generate({ model: 'dall-e-3', prompt: 'A parcel', n: 2 }), { model: 'dall-e-3' });
      });
    });
    await harness.flush();
    const [edit, draw] = harness.events.getEvents('llm.cost.token.recorded');
    // gpt-image-1: 40 text × $5 = 0.0002 and 1000 image × $10 = 0.01 input; 4160 image output × $40 = 0.1664.
    expect(edit?.payload.cost).toMatchObject({ input_cost_usd: 0.0102, output_cost_usd: 0.1664, total_cost_usd: 0.1766 });
    expect(harness.span('edit').attributes).toMatchObject({
      'llm.cost.units.input_image_tokens': 1000,
      'llm.cost.units.output_image_tokens': 4160,
    });
    expect(draw?.payload.cost.total_cost_usd).toBe(0);
    expect(harness.span('draw').attributes).toMatchObject({
      'llm.cost.pricing.status': 'unpriced',
      'llm.cost.units.output_images': 2,
      'llm.cost.unpriced.reason': '@pydantic/genai-prices@0.1.8 has no prices for openai model "dall-e-3"',
    });
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload).toMatchObject({ call_count: 2, unpriced_call_count: 1, unpriced_models: ['dall-e-3'] });
  });

  it('gpt-image-1 streamed (partial images, then usage in image_generation.completed), priced as unstreamed; left early: stream_incomplete', async () => {
    const completed = {
      type: 'image_generation.completed',
      b64_json: 'aW1n',
      usage: { input_tokens: 50, input_tokens_details: { text_tokens: 50, image_tokens: 0 }, output_tokens: 1056, total_tokens: 1106 },
    };
    server.enqueue(
      '/v1/images/generations',
      sseFixture([{ type: 'image_generation.partial_image', b64_json: 'cA==', partial_image_index: 0 }, completed]),
    );
    server.enqueue(
      '/v1/images/generations',
      sseFixture([{ type: 'image_generation.partial_image', b64_json: 'cA==', partial_image_index: 0 }, completed]),
    );
    const harness = createHarness();
    await harness.tracer.agentRun('designer', async (run) => {
      await run.step('draw', async (step) => {
        const stream = await client.images.generate({ model: 'gpt-image-1', prompt: 'A parcel', stream: true, partial_images: 1 });
        for await (const _ of trackOpenAIAudioStream(step, stream, { model: 'gpt-image-1' })) continue;
      });
      await run.step('abandoned', async (step) => {
        const stream = await client.images.generate({ model: 'gpt-image-1', prompt: 'A parcel', stream: true, partial_images: 1 });
        for await (const _ of trackOpenAIAudioStream(step, stream, { model: 'gpt-image-1' })) break;
      });
    });
    await harness.flush();
    const [draw] = harness.events.getEvents('llm.cost.token.recorded');
    // 50 text tokens × $5/M = 0.00025 input; 1056 image output tokens × $40/M = 0.04224.
    expect(draw?.payload.cost).toMatchObject({ input_cost_usd: 0.00025, output_cost_usd: 0.04224, total_cost_usd: 0.04249 });
    expect(harness.span('draw').attributes['llm.cost.units.output_image_tokens']).toBe(1056);
    expect(harness.span('abandoned').attributes).toMatchObject({
      'llm.cost.usage.missing': true,
      'llm.cost.usage.missing_reason': 'stream_incomplete',
    });
  });

  it('transcription: whisper-1 by audio seconds; gpt-4o-transcribe streamed, audio tokens at the audio rate', async () => {
    server.enqueue('/v1/audio/transcriptions', { text: 'Hello.', usage: { type: 'duration', seconds: 95 } });
    server.enqueue(
      '/v1/audio/transcriptions',
      sseFixture([
        { type: 'transcript.text.delta', delta: 'Hello.' },
        {
          type: 'transcript.text.done',
          text: 'Hello.',
          usage: {
            type: 'tokens',
            input_tokens: 1400,
            input_token_details: { text_tokens: 200, audio_tokens: 1200 },
            output_tokens: 300,
            total_tokens: 1700,
          },
        },
      ]),
    );
    const harness = createHarness();
    await harness.tracer.agentRun('scribe', async (run) => {
      await run.step('whisper', async (step) => {
        recordOpenAITranscriptionUsage(step, await client.audio.transcriptions.create({ model: 'whisper-1', file: await audio() }), {
          model: 'whisper-1',
        });
      });
      await run.step('transcribe', async (step) => {
        const stream = await client.audio.transcriptions.create({ model: 'gpt-4o-transcribe', file: await audio(), stream: true });
        for await (const _ of trackOpenAIAudioStream(step, stream, { model: 'gpt-4o-transcribe' })) continue;
      });
    });
    await harness.flush();
    const costs = harness.events.getEvents('llm.cost.token.recorded').map((event) => event.payload.cost);
    // whisper-1: 95 s × $0.36/hour = 0.0095.
    expect(costs[0]).toMatchObject({ input_cost_usd: 0.0095, total_cost_usd: 0.0095 });
    // gpt-4o-transcribe: 200 text × $2.50 + 1200 audio × $6 = 0.0077 input; 300 × $10 = 0.003 output.
    expect(costs[1]).toMatchObject({ input_cost_usd: 0.0077, output_cost_usd: 0.003, total_cost_usd: 0.0107 });
    expect(harness.span('whisper').attributes['llm.cost.units.input_audio_seconds']).toBe(95);
  });

  it('speech: tts-1 unpriced with its characters; gpt-4o-mini-tts streamed priced by tokens; unstreamed marked missing', async () => {
    server.enqueue('/v1/audio/speech', new RawFixture(Buffer.from([0xff, 0xfb, 0x90, 0x00]), 'audio/mpeg'));
    server.enqueue(
      '/v1/audio/speech',
      sseFixture([
        { type: 'speech.audio.delta', audio: 'AAAA' },
        { type: 'speech.audio.done', usage: { input_tokens: 20, output_tokens: 1500, total_tokens: 1520 } },
      ]),
    );
    server.enqueue('/v1/audio/speech', new RawFixture(Buffer.from([0xff, 0xfb]), 'audio/mpeg'));
    const harness = createHarness();
    const input = 'Your parcel arrives tomorrow.';
    await harness.tracer.agentRun('voice', async (run) => {
      await run.step('tts-1', async (step) => {
        const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input });
        expect((await response.arrayBuffer()).byteLength).toBe(4);
        recordOpenAISpeechUsage(step, { model: 'tts-1', input });
      });
      await run.step('mini-tts', async (step) => {
        const response = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input, stream_format: 'sse' });
        const events = Stream.fromSSEResponse<{ type?: string }>(response, new AbortController());
        for await (const _ of trackOpenAIAudioStream(step, events, { model: 'gpt-4o-mini-tts' })) continue;
      });
      await run.step('mini-tts-binary', async (step) => {
        await (await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input })).arrayBuffer();
        expect(recordOpenAISpeechUsage(step, { model: 'gpt-4o-mini-tts', input })).toBeUndefined();
      });
    });
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens.map((event) => event.payload.model.name)).toEqual(['tts-1', 'gpt-4o-mini-tts']);
    expect(harness.span('tts-1').attributes).toMatchObject({
      'llm.cost.pricing.status': 'unpriced',
      'llm.cost.units.input_characters': input.length,
      'llm.cost.unpriced.reason': '@pydantic/genai-prices@0.1.8 has no prices for openai model "tts-1"',
    });
    // gpt-4o-mini-tts: 20 × $0.60 = 0.000012 input; 1500 audio × $12 = 0.018 output.
    expect(tokens[1]?.payload.cost).toMatchObject({ input_cost_usd: 0.000012, output_cost_usd: 0.018, total_cost_usd: 0.018012 });
    expect(harness.span('mini-tts-binary').attributes).toMatchObject({
      'llm.cost.usage.missing': true,
      'llm.cost.usage.missing_reason': 'not_reported',
    });
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload).toMatchObject({ call_count: 3, unpriced_call_count: 1, usage_missing_call_count: 1 });
  });
});

describe('OpenAI media: each call without usage counted once, whatever else its step recorded', () => {
  afterEach(() => setNoticeHandler(undefined));
  const transcribed = (): ReturnType<typeof sseFixture> =>
    sseFixture([
      { type: 'transcript.text.delta', delta: 'Hello.' },
      {
        type: 'transcript.text.done',
        text: 'Hello.',
        usage: { type: 'tokens', input_tokens: 1400, input_token_details: { audio_tokens: 1200 }, output_tokens: 300, total_tokens: 1700 },
      },
    ]);
  const model = 'gpt-4o-transcribe';
  const streamed = async (step: Parameters<typeof trackOpenAIAudioStream>[0]) =>
    trackOpenAIAudioStream(step, await client.audio.transcriptions.create({ model, file: await audio(), stream: true }), { model });

  it('a recorded transcription, then a stream left unread: 2 calls, 1 with usage missing, told once', async () => {
    const notices = captureNotices();
    server.enqueue('/v1/audio/transcriptions', { text: 'Hello.', usage: { type: 'duration', seconds: 95 } }, transcribed());
    const harness = createHarness();
    await harness.tracer.agentRun('left', (run) =>
      run.step('answer', async (step) => {
        recordOpenAITranscriptionUsage(step, await client.audio.transcriptions.create({ model: 'whisper-1', file: await audio() }), {
          model: 'whisper-1',
        });
        // One event read, then the caller walks away: no break, no return().
        expect((await (await streamed(step))[Symbol.asyncIterator]().next()).done).toBe(false);
      }),
    );
    expect(await callCounts(harness)).toEqual({ calls: 2, missing: 1, priced: 1, stats: 1 });
    expect(notices.map((notice) => notice.cause)).toEqual(['usage_missing:openai:stream_incomplete']);
    expect(notices[0]?.message).toContain(`to model "${model}"`);
  });

  it('two streams left with break, or two transcriptions without usage: 2 calls with usage missing each, told once per cause', async () => {
    const notices = captureNotices();
    server.enqueue('/v1/audio/transcriptions', transcribed(), transcribed(), { text: 'Hello.' }, { text: 'Hello.' });
    const harness = createHarness();
    await harness.tracer.agentRun('missing', async (run) => {
      await run.step('streams', async (step) => {
        for (let index = 0; index < 2; index += 1) for await (const _ of await streamed(step)) break;
      });
      await run.step('responses', async (step) => {
        for (let index = 0; index < 2; index += 1) {
          const response = await client.audio.transcriptions.create({ model, file: await audio() });
          expect(recordOpenAITranscriptionUsage(step, response, { model })).toBeUndefined();
        }
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 4, missing: 4, priced: 0, stats: 4 });
    expect(notices.map((notice) => notice.cause)).toEqual(['usage_missing:openai:stream_incomplete', 'usage_missing:openai:not_reported']);
  });

  it('a stream read to its end, alone or after a call, counts nothing missing', async () => {
    server.enqueue('/v1/audio/transcriptions', transcribed(), { text: 'Hello.', usage: { type: 'duration', seconds: 95 } }, transcribed());
    const harness = createHarness();
    await harness.tracer.agentRun('read', async (run) => {
      await run.step('alone', async (step) => {
        for await (const _ of await streamed(step)) continue;
      });
      await run.step('after a call', async (step) => {
        recordOpenAITranscriptionUsage(step, await client.audio.transcriptions.create({ model: 'whisper-1', file: await audio() }), {
          model: 'whisper-1',
        });
        for await (const _ of await streamed(step)) continue;
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 3, missing: undefined, priced: 3, stats: 0 });
  });
});
