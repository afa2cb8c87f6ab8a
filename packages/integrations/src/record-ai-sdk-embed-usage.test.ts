import { createOpenAI } from '@ai-sdk/openai';
import { embed, embedMany } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness } from './__fixtures__/harness.js';
import { startFixtureServer, type FixtureServer } from './__fixtures__/fixture-server.js';
import { recordAiSdkEmbedUsage } from './record-ai-sdk-embed-usage.js';

let server: FixtureServer;
let openai: ReturnType<typeof createOpenAI>;

beforeAll(async () => {
  server = await startFixtureServer();
  openai = createOpenAI({ apiKey: 'sk-test', baseURL: `${server.origin}/v1` });
});

afterAll(async () => {
  await server.close();
});

const embeddings = (count: number, usage?: object): object => ({
  object: 'list',
  data: Array.from({ length: count }, (_, index) => ({ object: 'embedding', index, embedding: [0.25, -0.5, 0.125] })),
  model: 'text-embedding-3-small',
  ...(usage === undefined ? {} : { usage }),
});

describe('recordAiSdkEmbedUsage', () => {
  it('embed and embedMany: input tokens at the embedding rate, provider from the model object', async () => {
    server.enqueue(
      '/v1/embeddings',
      embeddings(1, { prompt_tokens: 1200, total_tokens: 1200 }),
      embeddings(3, { prompt_tokens: 5000, total_tokens: 5000 }),
    );
    const harness = createHarness();
    const model = openai.embedding('text-embedding-3-small');
    await harness.tracer.agentRun('indexer', (run) =>
      run.step('embed', async (step) => {
        const one = await embed({ model, value: 'refund policy' });
        expect(recordAiSdkEmbedUsage(step, one, { model })).toEqual({
          model: 'text-embedding-3-small',
          provider: 'openai',
          usage: { input: 1200, output: 0 },
        });
        const many = await embedMany({ model, values: ['a', 'b', 'c'] });
        expect(many.embeddings).toHaveLength(3);
        recordAiSdkEmbedUsage(step, many, { model: 'text-embedding-3-small', provider: 'openai' });
      }),
    );
    await harness.flush();
    // $0.02 per million: 1200 → 0.000024; 5000 → 0.0001.
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens.map((event) => event.payload.cost.total_cost_usd)).toEqual([0.000024, 0.0001]);
    expect(tokens.map((event) => event.payload.token_usage.input_tokens)).toEqual([1200, 5000]);
    expect(harness.span('invoke_agent indexer').attributes['llm.cost.inclusive.total_usd']).toBe(0.000124);
  });

  it('an embedding result without usage is marked, not $0', async () => {
    server.enqueue('/v1/embeddings', embeddings(1));
    const harness = createHarness();
    const model = openai.embedding('text-embedding-3-small');
    await harness.tracer.agentRun('indexer', (run) =>
      run.step('embed', async (step) => {
        expect(recordAiSdkEmbedUsage(step, await embed({ model, value: 'refund policy' }), { model })).toBeUndefined();
      }),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(0);
    expect(harness.span('embed').attributes).toMatchObject({
      'llm.cost.usage.missing': true,
      'gen_ai.request.model': 'text-embedding-3-small',
    });
  });
});
