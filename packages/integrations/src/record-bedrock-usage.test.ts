import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setNoticeHandler } from '@costspan/sdk';
import { callCounts, captureNotices, createHarness } from './__fixtures__/harness.js';
import { RawFixture, startFixtureServer, type FixtureServer } from './__fixtures__/fixture-server.js';
import { recordBedrockConverseUsage, trackBedrockConverseStream } from './record-bedrock-usage.js';

let server: FixtureServer;
let bedrock: BedrockRuntimeClient;

const modelId = 'us.anthropic.claude-sonnet-4-20250514-v1:0';
const path = (operation: string): string => `/model/${encodeURIComponent(modelId)}/${operation}`;
const messages = [{ role: 'user' as const, content: [{ text: 'Where is my parcel?' }] }];

beforeAll(async () => {
  server = await startFixtureServer();
  bedrock = new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: server.origin,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
    maxAttempts: 1,
    // The client's default handler speaks HTTP/2 (for bidirectional streams); the fixture server speaks HTTP/1.1.
    requestHandler: new NodeHttpHandler(),
  });
});

afterAll(async () => {
  bedrock.destroy();
  await server.close();
});

const codec = new EventStreamCodec(
  (bytes) => new TextDecoder().decode(bytes),
  (text) => new TextEncoder().encode(text),
);

/** A ConverseStream body in AWS event-stream binary framing, one frame per event. */
function eventStream(events: Array<[string, object]>, cut = false): RawFixture {
  const frames = events.map(([type, body]) =>
    codec.encode({
      headers: {
        ':event-type': { type: 'string', value: type },
        ':message-type': { type: 'string', value: 'event' },
        ':content-type': { type: 'string', value: 'application/json' },
      },
      body: new TextEncoder().encode(JSON.stringify(body)),
    }),
  );
  return new RawFixture(Buffer.concat(frames), 'application/vnd.amazon.eventstream', cut);
}

const textEvents: Array<[string, object]> = [
  ['messageStart', { role: 'assistant' }],
  ['contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Tomorrow.' } }],
  ['contentBlockStop', { contentBlockIndex: 0 }],
  ['messageStop', { stopReason: 'end_turn' }],
];

describe('recordBedrockConverseUsage', () => {
  it('Converse: cache reads and writes beside input, priced at their rates', async () => {
    server.enqueue(path('converse'), {
      output: { message: { role: 'assistant', content: [{ text: 'Tomorrow.' }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 500, outputTokens: 300, totalTokens: 3800, cacheReadInputTokens: 2000, cacheWriteInputTokens: 1000 },
      metrics: { latencyMs: 420 },
    });
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('answer', async (step) => {
        const response = await bedrock.send(new ConverseCommand({ modelId, messages }));
        expect(recordBedrockConverseUsage(step, response, { model: modelId })).toEqual({
          model: modelId,
          provider: 'aws.bedrock',
          usage: { input: 3500, output: 300, cacheRead: 2000, cacheWrite: 1000 },
        });
      }),
    );
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.token_usage).toMatchObject({ input_tokens: 3500, output_tokens: 300, total_tokens: 3800, cached_tokens: 2000 });
    // Claude Sonnet 4 $3 / $15, cache read $0.30, 5-minute write $3.75 per million:
    // 2500 × 3 + 1000 × 3.75 = 0.01125 input; 2000 × 2.70 = 0.0054 off; 300 × 15 = 0.0045: 0.01035.
    expect(token?.payload.cost).toMatchObject({
      input_cost_usd: 0.01125,
      cached_discount_usd: 0.0054,
      output_cost_usd: 0.0045,
      total_cost_usd: 0.01035,
    });
    expect(token?.payload.model.name).toBe(modelId);
  });
});

describe('trackBedrockConverseStream', () => {
  it('ConverseStream: the metadata event usage, from real event-stream frames', async () => {
    server.enqueue(
      path('converse-stream'),
      eventStream([
        ...textEvents,
        [
          'metadata',
          { usage: { inputTokens: 100, outputTokens: 50, totalTokens: 3150, cacheReadInputTokens: 3000 }, metrics: { latencyMs: 300 } },
        ],
      ]),
    );
    const harness = createHarness();
    await harness.tracer.agentRun('support', (run) =>
      run.step('answer', async (step) => {
        const response = trackBedrockConverseStream(step, await bedrock.send(new ConverseStreamCommand({ modelId, messages })), {
          model: modelId,
        });
        let text = '';
        for await (const event of response.stream ?? []) text += event.contentBlockDelta?.delta?.text ?? '';
        expect(text).toBe('Tomorrow.');
      }),
    );
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.payload.token_usage).toMatchObject({ input_tokens: 3100, output_tokens: 50, cached_tokens: 3000 });
    // 3100 × 3 = 0.0093; 3000 × 2.70 = 0.0081 off; 50 × 15 = 0.00075: 0.00195.
    expect(tokens[0]?.payload.cost.total_cost_usd).toBe(0.00195);
  });

  it('a stream without its metadata event is marked not_reported, one left early stream_incomplete', async () => {
    server.enqueue(path('converse-stream'), eventStream(textEvents), eventStream(textEvents));
    const harness = createHarness();
    await harness.tracer.agentRun('support', async (run) => {
      await run.step('no-metadata', async (step) => {
        const response = trackBedrockConverseStream(step, await bedrock.send(new ConverseStreamCommand({ modelId, messages })), {
          model: modelId,
        });
        for await (const _ of response.stream ?? []) continue;
      });
      await run.step('left', async (step) => {
        const response = trackBedrockConverseStream(step, await bedrock.send(new ConverseStreamCommand({ modelId, messages })), {
          model: modelId,
        });
        for await (const _ of response.stream ?? []) break;
      });
    });
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(0);
    expect(harness.span('no-metadata').attributes).toMatchObject({
      'llm.cost.usage.missing_reason': 'not_reported',
      'gen_ai.provider.name': 'aws.bedrock',
    });
    expect(harness.span('left').attributes).toMatchObject({ 'llm.cost.usage.missing_reason': 'stream_incomplete' });
  });
});

describe('Bedrock: each call without usage counted once, whatever else its step recorded', () => {
  afterEach(() => setNoticeHandler(undefined));
  const withMetadata = (): RawFixture =>
    eventStream([
      ...textEvents,
      ['metadata', { usage: { inputTokens: 100, outputTokens: 50, totalTokens: 150 }, metrics: { latencyMs: 300 } }],
    ]);
  const converse = (usage?: object): object => ({
    output: { message: { role: 'assistant', content: [{ text: 'Tomorrow.' }] } },
    stopReason: 'end_turn',
    ...(usage === undefined ? {} : { usage }),
  });
  const stream = async (step: Parameters<typeof trackBedrockConverseStream>[0]): Promise<AsyncIterable<unknown>> => {
    const response = await bedrock.send(new ConverseStreamCommand({ modelId, messages }));
    const events = trackBedrockConverseStream(step, response, { model: modelId }).stream;
    if (events === undefined) throw new Error('the ConverseStream response has no stream');
    return events;
  };

  it('a recorded call, then a stream left unread: 2 calls, 1 with usage missing, told once', async () => {
    const notices = captureNotices();
    server.enqueue(path('converse'), converse({ inputTokens: 100, outputTokens: 50, totalTokens: 150 }));
    server.enqueue(path('converse-stream'), withMetadata());
    const harness = createHarness();
    await harness.tracer.agentRun('left', (run) =>
      run.step('answer', async (step) => {
        recordBedrockConverseUsage(step, await bedrock.send(new ConverseCommand({ modelId, messages })), { model: modelId });
        // One event read, then the caller walks away: no break, no return().
        expect((await (await stream(step))[Symbol.asyncIterator]().next()).done).toBe(false);
      }),
    );
    expect(await callCounts(harness)).toEqual({ calls: 2, missing: 1, priced: 1, stats: 1 });
    expect(notices.map((notice) => notice.cause)).toEqual(['usage_missing:aws.bedrock:stream_incomplete']);
    expect(notices[0]?.message).toContain(`to model "${modelId}"`);
  });

  it('two streams left with break, or two responses without usage: 2 calls with usage missing each, told once per cause', async () => {
    const notices = captureNotices();
    server.enqueue(path('converse-stream'), withMetadata(), withMetadata());
    server.enqueue(path('converse'), converse(), converse());
    const harness = createHarness();
    await harness.tracer.agentRun('missing', async (run) => {
      await run.step('streams', async (step) => {
        for (let index = 0; index < 2; index += 1) for await (const _ of await stream(step)) break;
      });
      await run.step('responses', async (step) => {
        for (let index = 0; index < 2; index += 1) {
          const response = await bedrock.send(new ConverseCommand({ modelId, messages }));
          expect(recordBedrockConverseUsage(step, response, { model: modelId })).toBeUndefined();
        }
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 4, missing: 4, priced: 0, stats: 4 });
    expect(notices.map((notice) => notice.cause)).toEqual([
      'usage_missing:aws.bedrock:stream_incomplete',
      'usage_missing:aws.bedrock:not_reported',
    ]);
  });

  it('a stream read to its end, alone or after a call, counts nothing missing', async () => {
    server.enqueue(path('converse-stream'), withMetadata(), withMetadata());
    server.enqueue(path('converse'), converse({ inputTokens: 100, outputTokens: 50, totalTokens: 150 }));
    const harness = createHarness();
    await harness.tracer.agentRun('read', async (run) => {
      await run.step('alone', async (step) => {
        for await (const _ of await stream(step)) continue;
      });
      await run.step('after a call', async (step) => {
        recordBedrockConverseUsage(step, await bedrock.send(new ConverseCommand({ modelId, messages })), { model: modelId });
        for await (const _ of await stream(step)) continue;
      });
    });
    expect(await callCounts(harness)).toEqual({ calls: 3, missing: undefined, priced: 3, stats: 0 });
  });
});
