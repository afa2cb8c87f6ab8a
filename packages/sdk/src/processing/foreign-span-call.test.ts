import { describe, expect, it } from 'vitest';
import { createHarness } from '../__fixtures__/harness.js';

// What the AI SDK (6.x) writes on an Anthropic `doGenerate` span: totals include cache tokens;
// the 1-hour share of cache writes is only in the provider metadata, as JSON.
function aiSdkAnthropicSpan(oneHour: number | undefined): Record<string, string | number> {
  const usage = {
    input_tokens: 1200,
    output_tokens: 450,
    cache_read_input_tokens: 10000,
    cache_creation_input_tokens: 3000,
    cache_creation: { ephemeral_5m_input_tokens: 3000 - (oneHour ?? 0), ephemeral_1h_input_tokens: oneHour ?? 0 },
  };
  return {
    'gen_ai.system': 'anthropic.messages',
    'gen_ai.request.model': 'claude-sonnet-4-20250514',
    'gen_ai.usage.input_tokens': 14200,
    'gen_ai.usage.output_tokens': 450,
    'ai.usage.inputTokenDetails.cacheReadTokens': 10000,
    'ai.usage.inputTokenDetails.cacheWriteTokens': 3000,
    ...(oneHour === undefined
      ? {}
      : { 'ai.response.providerMetadata': JSON.stringify({ anthropic: { usage, cacheCreationInputTokens: 3000 } }) }),
  };
}

describe('same price by every path', () => {
  it('prices 1-hour Anthropic cache writes from AI SDK telemetry at the 1-hour rate, as recordAiSdkUsage does', async () => {
    const harness = createHarness();
    const ai = harness.provider.getTracer('ai');
    harness.tracer.agentRun('ai-sdk', (run) => {
      ai.startSpan('ai.generateText.doGenerate', { attributes: aiSdkAnthropicSpan(2000) }, run.context).end();
    });
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    // claude-sonnet-4: uncached input 1200 x $3/M = 0.0036; cache reads 10000 x $0.30/M = 0.003;
    // 5-minute writes 1000 x $3.75/M = 0.00375; 1-hour writes 2000 x $6/M = 0.012; output 450 x $15/M = 0.00675.
    // 0.0036 + 0.003 + 0.00375 + 0.012 + 0.00675 = 0.0291, the figure recordAiSdkUsage books for the same call.
    expect(token?.payload.cost.total_cost_usd).toBe(0.0291);
    expect(token?.payload.token_usage).toMatchObject({ input_tokens: 14200, cached_tokens: 10000, cache_creation_tokens: 3000 });
  });

  it('without the metadata every cache write is priced at the 5-minute rate', async () => {
    const harness = createHarness();
    const ai = harness.provider.getTracer('ai');
    harness.tracer.agentRun('ai-sdk', (run) => {
      ai.startSpan('ai.generateText.doGenerate', { attributes: aiSdkAnthropicSpan(undefined) }, run.context).end();
    });
    await harness.flush();
    // 0.0036 + 0.003 + 3000 x $3.75/M (0.01125) + 0.00675 = 0.0246.
    expect(harness.events.getEvents('llm.cost.token.recorded')[0]?.payload.cost.total_cost_usd).toBe(0.0246);
  });

  it('ignores malformed metadata and 1-hour counts beyond the cache writes', async () => {
    const harness = createHarness();
    const ai = harness.provider.getTracer('ai');
    harness.tracer.agentRun('ai-sdk', (run) => {
      ai.startSpan(
        'bad-json',
        { attributes: { ...aiSdkAnthropicSpan(2000), 'ai.response.providerMetadata': '{"anthropic": ephemeral_1h_input_tokens' } },
        run.context,
      ).end();
      ai.startSpan('too-many', { attributes: aiSdkAnthropicSpan(5000) }, run.context).end();
    });
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded').map((event) => event.payload.cost.total_cost_usd)).toEqual([0.0246, 0.0246]);
  });
});
