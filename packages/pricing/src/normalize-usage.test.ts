import { CostspanError } from '@costspan/core';
import { describe, expect, it } from 'vitest';
import { normalizeUsage, type RawUsage, type UsageStyle } from './normalize-usage.js';
import type { TokenUsage } from './price-source.js';

describe('normalizeUsage', () => {
  it.each<[string, RawUsage, UsageStyle, TokenUsage]>([
    [
      'OpenAI Chat Completions',
      {
        prompt_tokens: 1000,
        completion_tokens: 500,
        total_tokens: 1500,
        prompt_tokens_details: { cached_tokens: 400 },
        completion_tokens_details: { reasoning_tokens: 200 },
      },
      'openai',
      { input: 1000, output: 500, cacheRead: 400, reasoning: 200 },
    ],
    [
      'OpenAI Responses',
      {
        input_tokens: 1000,
        output_tokens: 500,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens_details: { reasoning_tokens: 100 },
      },
      'openai',
      { input: 1000, output: 500, reasoning: 100 },
    ],
    [
      'Vercel AI SDK',
      { inputTokens: 1000, outputTokens: 50, cachedInputTokens: 900, reasoningTokens: 10 },
      'openai',
      { input: 1000, output: 50, cacheRead: 900, reasoning: 10 },
    ],
    [
      'Anthropic Messages: cache beside input',
      { input_tokens: 100, cache_read_input_tokens: 900, cache_creation_input_tokens: 300, output_tokens: 50 },
      'anthropic',
      { input: 1300, output: 50, cacheRead: 900, cacheWrite: 300 },
    ],
    [
      'Anthropic with 5m and 1h cache writes',
      {
        input_tokens: 10,
        cache_creation_input_tokens: 300,
        cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
        output_tokens: 5,
      },
      'anthropic',
      { input: 310, output: 5, cacheWrite: 300, cacheWrite1h: 200 },
    ],
    [
      'Anthropic with only the TTL breakdown',
      { input_tokens: 10, cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 }, output_tokens: 5 },
      'anthropic',
      { input: 310, output: 5, cacheWrite: 300, cacheWrite1h: 200 },
    ],
    [
      'Bedrock Converse',
      { inputTokens: 100, outputTokens: 20, cacheReadInputTokens: 50, cacheWriteInputTokens: 25 },
      'anthropic',
      { input: 175, output: 20, cacheRead: 50, cacheWrite: 25 },
    ],
    [
      'Gemini: thoughts beside candidates',
      { promptTokenCount: 1000, cachedContentTokenCount: 600, candidatesTokenCount: 100, thoughtsTokenCount: 300, totalTokenCount: 1400 },
      'gemini',
      { input: 1000, output: 400, cacheRead: 600, reasoning: 300 },
    ],
    ['nulls are absent', { prompt_tokens: 5, completion_tokens: 1, prompt_tokens_details: null }, 'openai', { input: 5, output: 1 }],
  ])('%s', (_label, raw, style, expected) => {
    expect(normalizeUsage(raw, style)).toEqual(expected);
  });

  it.each<[RawUsage, UsageStyle, string]>([
    [{ prompt_tokens: -1, completion_tokens: 1 }, 'openai', 'usage.prompt_tokens'],
    [{ prompt_tokens: 1.5, completion_tokens: 1 }, 'openai', 'usage.prompt_tokens'],
    [{ prompt_tokens: 1, completion_tokens: Number.NaN }, 'openai', 'usage.completion_tokens'],
    [{ prompt_tokens: 1, completion_tokens: '3' }, 'openai', 'usage.completion_tokens'],
    [
      { prompt_tokens: 10, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 11 } },
      'openai',
      'usage.prompt_tokens_details.cached_tokens',
    ],
    [
      { prompt_tokens: 10, completion_tokens: 1, completion_tokens_details: { reasoning_tokens: 2 } },
      'openai',
      'usage.completion_tokens_details.reasoning_tokens',
    ],
    [{ input_tokens: 1, output_tokens: 1, cache_read_input_tokens: -5 }, 'anthropic', 'usage.cache_read_input_tokens'],
    [
      { input_tokens: 1, output_tokens: 1, cache_creation_input_tokens: 1, cache_creation: { ephemeral_1h_input_tokens: 2 } },
      'anthropic',
      'usage.cache_creation.ephemeral_1h_input_tokens',
    ],
  ])('refuses %j (%s) naming the field', (raw, style, field) => {
    let caught: unknown;
    try {
      normalizeUsage(raw, style);
    } catch (error) {
      caught = error;
    }
    expect(CostspanError.isInstance(caught)).toBe(true);
    expect(caught).toMatchObject({ code: 'invalid_tokens', field });
  });

  it('refuses a non-object and an unknown style', () => {
    expect(() => normalizeUsage(null as never, 'openai')).toThrow(/usage must be a usage object/);
    expect(() => normalizeUsage({}, 'cohere' as never)).toThrow(/style/);
  });
});
