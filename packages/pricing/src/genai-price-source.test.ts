import { picoToUsd, usdToPico } from '@costspan/core';
import { describe, expect, it, vi } from 'vitest';
import { GenAiPriceSource } from './genai-price-source.js';

import type { TokenUsage } from './price-source.js';
import { PRICING_DATA_VERSION } from './pricing-data-version.js';
import { totalCost } from './total-cost.js';
import { NOW, price, priced, source } from './__fixtures__/price-fixtures.js';

describe('GenAiPriceSource: published prices', () => {
  // [label, model, provider, usage, input, output, reasoning, cachedDiscount, total] in USD strings.
  const cases: Array<[string, string, string | undefined, TokenUsage, string, string, string, string, string]> = [
    ['gpt-4o 1000/500', 'gpt-4o', 'openai', { input: 1000, output: 500 }, '0.0025', '0.005', '0', '0', '0.0075'],
    ['gpt-4o 500/200', 'gpt-4o', 'openai', { input: 500, output: 200 }, '0.00125', '0.002', '0', '0', '0.00325'],
    ['gpt-4o-mini 1000/400', 'gpt-4o-mini', 'openai', { input: 1000, output: 400 }, '0.00015', '0.00024', '0', '0', '0.00039'],
    [
      'gpt-4o, 500 of 1000 input cached',
      'gpt-4o',
      'openai',
      { input: 1000, output: 500, cacheRead: 500 },
      '0.0025',
      '0.005',
      '0',
      '0.000625',
      '0.006875',
    ],
    [
      'gpt-4o-2024-05-13: exact dated key, not the gpt-4o prefix',
      'gpt-4o-2024-05-13',
      'openai',
      { input: 1000, output: 500 },
      '0.005',
      '0.0075',
      '0',
      '0',
      '0.0125',
    ],
    [
      'gpt-4o-2024-08-06 prices as gpt-4o',
      'gpt-4o-2024-08-06',
      'openai',
      { input: 1000, output: 500 },
      '0.0025',
      '0.005',
      '0',
      '0',
      '0.0075',
    ],
    // claude-sonnet-4-5: $3 in, $15 out, $0.30 cache read, $3.75 5-minute write, $6 1-hour write.
    // 6000 input = 1000 uncached + 2000 read + 1000 5m write + 2000 1h write.
    [
      'claude-sonnet-4-5 with cache reads and 5m/1h writes',
      'claude-sonnet-4-5',
      'anthropic',
      { input: 6000, output: 500, cacheRead: 2000, cacheWrite: 3000, cacheWrite1h: 2000 },
      '0.02475',
      '0.0075',
      '0',
      '0.0054',
      '0.02685',
    ],
    // Above 200k input tokens every token re-prices: $6 in, $22.50 out, $0.60 cache read.
    [
      'claude-sonnet-4-5 long context (>200k) re-prices all tokens',
      'claude-sonnet-4-5',
      'anthropic',
      { input: 250_000, output: 1000, cacheRead: 100_000 },
      '1.5',
      '0.0225',
      '0',
      '0.54',
      '0.9825',
    ],
    [
      'gemini-2.5-pro at 200k input stays on base rates',
      'gemini-2.5-pro',
      'gcp.gemini',
      { input: 200_000, output: 1000 },
      '0.25',
      '0.01',
      '0',
      '0',
      '0.26',
    ],
    [
      'gemini-2.5-pro long context (>200k)',
      'gemini-2.5-pro',
      'gcp.vertex_ai',
      { input: 250_000, output: 1000 },
      '0.625',
      '0.015',
      '0',
      '0',
      '0.64',
    ],
    // OpenRouter bills sonar-deep-research reasoning at its own $3/M beside $8/M output.
    [
      'reasoning at its own rate',
      'perplexity/sonar-deep-research',
      'openrouter',
      { input: 1000, output: 1000, reasoning: 400 },
      '0.002',
      '0.0048',
      '0.0012',
      '0',
      '0.008',
    ],
    [
      'reasoning without its own rate is output',
      'o4-mini',
      'openai',
      { input: 1000, output: 1000, reasoning: 400 },
      '0.0011',
      '0.0044',
      '0',
      '0',
      '0.0055',
    ],
  ];

  it.each(cases)('%s', (_label, model, provider, usage, input, output, reasoning, discount, total) => {
    const result = price(model, provider, usage);
    expect(result.cost).toEqual({
      input: usdToPico(input),
      output: usdToPico(output),
      reasoning: usdToPico(reasoning),
      cachedDiscount: usdToPico(discount),
    });
    expect(totalCost(result.cost)).toBe(usdToPico(total));
    expect(String(picoToUsd(totalCost(result.cost)))).toBe(total);
  });

  it('writes a pricing tier that re-derives the figure', () => {
    const result = price('gpt-4o', 'openai', { input: 500, output: 200 });
    expect(result.pricingDate).toBe('2026-03-04');
    expect(result.tier).toEqual({
      system: 'openai',
      model: 'gpt-4o',
      input_per_million_usd: 2.5,
      output_per_million_usd: 10,
      cached_input_per_million_usd: 1.25,
      effective_date: '2026-03-04',
      data_source: PRICING_DATA_VERSION,
    });
    const long = price('claude-sonnet-4-5', 'anthropic', { input: 250_000, output: 1 });
    expect(long.tier).toMatchObject({
      input_per_million_usd: 6,
      output_per_million_usd: 22.5,
      cache_write_per_million_usd: 7.5,
      cache_write_1h_per_million_usd: 12,
      tier_threshold_tokens: 200_000,
    });
  });
});

describe('GenAiPriceSource: prices at the event timestamp', () => {
  it('prices o3 before and after its 2025-06-10 price cut', () => {
    const before = price('o3', 'openai', { input: 1000, output: 500 }, Date.parse('2025-06-09T23:59:59.999Z'));
    const after = price('o3', 'openai', { input: 1000, output: 500 }, Date.parse('2025-06-10T00:00:00.000Z'));
    expect(totalCost(before.cost)).toBe(usdToPico('0.03'));
    expect(before.tier).toMatchObject({ input_per_million_usd: 10, output_per_million_usd: 40, effective_date: '2025-06-09' });
    expect(totalCost(after.cost)).toBe(usdToPico('0.006'));
    expect(after.tier).toMatchObject({ input_per_million_usd: 2, output_per_million_usd: 8, effective_date: '2025-06-10' });
    expect(after.pricingDate).toBe('2025-06-10');
  });

  it('applies time-of-day prices (DeepSeek off-peak) per call, not per day', () => {
    const peak = price('deepseek-chat', 'deepseek', { input: 1_000_000, output: 0 }, Date.parse('2025-09-01T08:00:00Z'));
    const offPeak = price('deepseek-chat', 'deepseek', { input: 1_000_000, output: 0 }, Date.parse('2025-09-01T20:00:00Z'));
    expect(peak.cost.input).toBe(usdToPico('0.27'));
    expect(offPeak.cost.input).toBe(usdToPico('0.135'));
  });

  it('refuses a non-finite timestamp without throwing', () => {
    const result = source.price({ model: 'gpt-4o', usage: { input: 1, output: 1 }, timestamp: Number.NaN });
    expect(result).toMatchObject({ status: 'unpriced', code: 'invalid_request' });
  });
});

describe('GenAiPriceSource: model names as users write them', () => {
  const cases: Array<[string, string | undefined, string, string]> = [
    ['openai/gpt-4o', undefined, 'openai', 'gpt-4o'],
    ['openai:gpt-4o', undefined, 'openai', 'gpt-4o'],
    ['GPT-4o', 'OpenAI', 'openai', 'gpt-4o'],
    ['gpt-4o', 'azure.ai.openai', 'azure', 'gpt-4o'],
    ['gpt-4.1-2025-04-14', 'openai', 'openai', 'gpt-4.1'],
    ['claude-3-5-sonnet-20240620', 'anthropic', 'anthropic', 'claude-3-5-sonnet'],
    ['claude-3-5-sonnet@20240620', 'gcp.vertex_ai', 'google', 'claude-3-5-sonnet'],
    ['anthropic.claude-3-5-sonnet-20240620-v1:0', 'aws.bedrock', 'aws', 'regional.anthropic.claude-3-5-sonnet-20240620-v1:0'],
    ['anthropic.claude-3-5-sonnet-20240620-v1:0', undefined, 'aws', 'regional.anthropic.claude-3-5-sonnet-20240620-v1:0'],
    ['us.anthropic.claude-sonnet-4-20250514-v1:0', 'aws.bedrock', 'aws', 'regional.anthropic.claude-sonnet-4-20250514-v1:0'],
    ['gemini-2.5-pro', 'gcp.gemini', 'google', 'gemini-2.5-pro'],
    ['models/gemini-2.0-flash', 'gcp.gemini', 'google', 'gemini-2.0-flash'],
    ['grok-3', 'x_ai', 'x-ai', 'grok-3'],
    ['mistral-large-latest', 'mistral_ai', 'mistral', 'mistral-large'],
    ['deepseek-chat', 'deepseek', 'deepseek', 'deepseek-chat'],
    ['llama-3.3-70b-versatile', 'groq', 'groq', 'llama-3.3-70b-versatile'],
  ];
  it.each(cases)('%s (provider %s) → %s/%s', (model, provider, system, tableModel) => {
    expect(price(model, provider, { input: 10, output: 10 }).tier).toMatchObject({ system, model: tableModel });
  });

  it('prices a name with an unknown provider through the model matchers', () => {
    expect(price('gpt-4o', 'my-proxy', { input: 10, output: 10 }).tier).toMatchObject({ system: 'openai', model: 'gpt-4o' });
  });
});

describe('GenAiPriceSource: unknown models and bad input', () => {
  it('returns unpriced (never throws, never $0) and calls onUnknownModel once per (provider, model)', () => {
    const onUnknownModel = vi.fn();
    const table = new GenAiPriceSource({ onUnknownModel });
    for (let index = 0; index < 100; index += 1) {
      const result = table.price({ model: 'acme-llm-9', provider: 'acme', usage: { input: 10, output: 10 }, timestamp: NOW });
      expect(result).toMatchObject({ status: 'unpriced', code: 'unknown_model' });
      expect(result.status === 'unpriced' && result.reason).toContain('acme-llm-9');
    }
    table.price({ model: 'acme-llm-9', provider: 'other', usage: { input: 10, output: 10 }, timestamp: NOW });
    expect(onUnknownModel.mock.calls).toEqual([
      ['acme-llm-9', 'acme'],
      ['acme-llm-9', 'other'],
    ]);
  });

  it('reports a model without token prices as such', () => {
    const result = source.price({ model: 'whisper-1', provider: 'openai', usage: { input: 1, output: 1 }, timestamp: NOW });
    expect(result).toMatchObject({ status: 'unpriced', code: 'no_token_prices' });
  });

  it.each([
    [{ input: -1, output: 1 }, 'usage.input'],
    [{ input: 1.5, output: 1 }, 'usage.input'],
    [{ input: 1, output: Number.NaN }, 'usage.output'],
    [{ input: 10, output: 1, cacheRead: 11 }, 'exceed usage.input'],
    [{ input: 10, output: 1, reasoning: 2 }, 'exceeds usage.output'],
    [{ input: 10, output: 1, cacheWrite: 2, cacheWrite1h: 3 }, 'exceeds usage.cacheWrite'],
  ])('refuses usage %j without throwing', (usage, message) => {
    const result = source.price({ model: 'gpt-4o', provider: 'openai', usage, timestamp: NOW });
    expect(result).toMatchObject({ status: 'unpriced', code: 'invalid_usage' });
    expect(result.status === 'unpriced' && result.reason).toContain(message);
  });

  it('never throws, whatever it is given', () => {
    const bad = [undefined, null, {}, { model: 42 }, { model: 'gpt-4o' }, { model: 'gpt-4o', usage: null, timestamp: NOW }];
    for (const request of bad) {
      expect(() => source.price(request as never)).not.toThrow();
      expect(source.price(request as never).status).toBe('unpriced');
    }
  });
});

describe('GenAiPriceSource: multipliers', () => {
  it('applies a configured multiplier to every rate and records it in the tier', () => {
    const discounted = new GenAiPriceSource({ multipliers: [{ provider: 'anthropic', multiplier: 0.8 }] });
    const result = priced(
      discounted.price({
        model: 'claude-sonnet-4-5',
        provider: 'anthropic',
        usage: { input: 1000, output: 1000, cacheRead: 500 },
        timestamp: NOW,
      }),
    );
    expect(result.cost).toEqual({
      input: usdToPico('0.0024'),
      output: usdToPico('0.012'),
      reasoning: 0n,
      cachedDiscount: usdToPico('0.00108'),
    });
    expect(result.tier).toMatchObject({ input_per_million_usd: 2.4, output_per_million_usd: 12, multiplier: 0.8 });
    const untouched = priced(
      discounted.price({ model: 'gpt-4o', provider: 'openai', usage: { input: 1000, output: 500 }, timestamp: NOW }),
    );
    expect(totalCost(untouched.cost)).toBe(usdToPico('0.0075'));
  });

  it('applies a per-call multiplier (batch API at half price)', () => {
    const result = priced(
      source.price({ model: 'gpt-4o', provider: 'openai', usage: { input: 1000, output: 500 }, timestamp: NOW, multiplier: 0.5 }),
    );
    expect(totalCost(result.cost)).toBe(usdToPico('0.00375'));
    expect(result.tier).toMatchObject({ input_per_million_usd: 1.25, multiplier: 0.5 });
    const plain = priced(source.price({ model: 'gpt-4o', provider: 'openai', usage: { input: 1000, output: 500 }, timestamp: NOW }));
    expect(plain.tier.multiplier).toBeUndefined();
  });

  it('refuses a bad configured multiplier at construction', () => {
    expect(() => new GenAiPriceSource({ multipliers: [{ multiplier: -1 }] })).toThrow(/multipliers\[0\]\.multiplier/);
  });
});
