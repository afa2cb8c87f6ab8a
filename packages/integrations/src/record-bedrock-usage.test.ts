import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness } from './__fixtures__/harness.js';
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
