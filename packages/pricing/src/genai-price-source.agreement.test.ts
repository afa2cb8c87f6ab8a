import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { calcPrice, findProvider } from '@pydantic/genai-prices';
import { picoToUsd, usdToPico } from '@costspan/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeUsage } from './normalize-usage.js';
import { PRICING_DATA_VERSION } from './pricing-data-version.js';
import { totalCost } from './total-cost.js';
import { NOW, price, priced, source } from './__fixtures__/price-fixtures.js';

describe('GenAiPriceSource: agrees with genai-prices', () => {
  // Every token-priced model of the big providers, compared with genai-prices' own float result.
  const providers = ['openai', 'anthropic', 'google', 'x-ai', 'mistral', 'deepseek', 'groq', 'aws'];
  const models = providers.flatMap((providerId) =>
    (findProvider({ providerId })?.models ?? [])
      .filter((model) => {
        const prices = Array.isArray(model.prices) ? model.prices.map((entry) => entry.prices) : [model.prices];
        return prices.every(
          (entry) => entry.input_mtok !== undefined && entry.output_mtok !== undefined && entry.requests_kcount === undefined,
        );
      })
      .map((model) => ({ providerId, id: model.id })),
  );

  it('covers a few hundred models', () => {
    expect(models.length).toBeGreaterThan(200);
  });

  it('prices random usage within float rounding of calcPrice', () => {
    let skipped = 0;
    let compared = 0;
    const usage = fc
      .record({
        uncached: fc.integer({ min: 0, max: 400_000 }),
        cacheRead: fc.integer({ min: 0, max: 100_000 }),
        write5m: fc.integer({ min: 0, max: 50_000 }),
        write1h: fc.integer({ min: 0, max: 50_000 }),
        output: fc.integer({ min: 0, max: 100_000 }),
      })
      .map(({ uncached, cacheRead, write5m, write1h, output }) => ({
        input: uncached + cacheRead + write5m + write1h,
        output,
        cacheRead,
        cacheWrite: write5m + write1h,
        cacheWrite1h: write1h,
      }));
    fc.assert(
      fc.property(
        fc.constantFrom(...models),
        usage,
        fc.integer({ min: Date.parse('2024-01-01'), max: Date.parse('2027-06-01') }),
        (model, tokens, timestamp) => {
          const expected = calcPrice(
            {
              input_tokens: tokens.input,
              output_tokens: tokens.output,
              cache_read_tokens: tokens.cacheRead,
              cache_write_tokens: tokens.cacheWrite,
              cache_write_1h_tokens: tokens.cacheWrite1h,
            },
            model.id,
            { providerId: model.providerId, timestamp: new Date(timestamp) },
          );
          if (expected === null || expected.model.id !== model.id) {
            skipped += 1;
            return;
          }
          compared += 1;
          const result = priced(source.price({ model: model.id, provider: model.providerId, usage: tokens, timestamp }));
          const ours = picoToUsd(totalCost(result.cost));
          expect(Math.abs(ours - expected.total_price)).toBeLessThanOrEqual(1e-9 * Math.max(1, expected.total_price));
        },
      ),
      { numRuns: 2000 },
    );
    expect(compared).toBeGreaterThan(skipped * 10);
  });
});

describe('money rule (property)', () => {
  it('total = input + output + reasoning − discount, every line ≥ 0, total ≥ 0', () => {
    const usage = fc
      .record({
        uncached: fc.integer({ min: 0, max: 2_000_000 }),
        cacheRead: fc.integer({ min: 0, max: 2_000_000 }),
        write5m: fc.integer({ min: 0, max: 500_000 }),
        write1h: fc.integer({ min: 0, max: 500_000 }),
        visible: fc.integer({ min: 0, max: 500_000 }),
        reasoning: fc.integer({ min: 0, max: 500_000 }),
      })
      .map((parts) => ({
        input: parts.uncached + parts.cacheRead + parts.write5m + parts.write1h,
        output: parts.visible + parts.reasoning,
        cacheRead: parts.cacheRead,
        cacheWrite: parts.write5m + parts.write1h,
        cacheWrite1h: parts.write1h,
        reasoning: parts.reasoning,
      }));
    const model = fc.constantFrom(
      ['gpt-4o', 'openai'],
      ['claude-sonnet-4-5', 'anthropic'],
      ['gemini-2.5-pro', 'google'],
      ['perplexity/sonar-deep-research', 'openrouter'],
      ['deepseek-chat', 'deepseek'],
    );
    fc.assert(
      fc.property(model, usage, ([name, provider], tokens) => {
        const result = priced(source.price({ model: name, provider, usage: tokens, timestamp: NOW }));
        const { input, output, reasoning, cachedDiscount } = result.cost;
        for (const line of [input, output, reasoning, cachedDiscount]) expect(line).toBeGreaterThanOrEqual(0n);
        expect(totalCost(result.cost)).toBe(input + output + reasoning - cachedDiscount);
        expect(totalCost(result.cost)).toBeGreaterThanOrEqual(0n);
      }),
      { numRuns: 500 },
    );
  });
});

describe('OpenAI-style and Anthropic-style usage price the same', () => {
  it('for the same tokens', () => {
    const openAiStyle = normalizeUsage(
      { prompt_tokens: 3000, completion_tokens: 200, prompt_tokens_details: { cached_tokens: 2000 } },
      'openai',
    );
    const anthropicStyle = normalizeUsage({ input_tokens: 1000, cache_read_input_tokens: 2000, output_tokens: 200 }, 'anthropic');
    expect(openAiStyle).toEqual(anthropicStyle);
    const first = price('claude-sonnet-4-5', 'anthropic', openAiStyle);
    const second = price('claude-sonnet-4-5', 'anthropic', anthropicStyle);
    expect(first.cost).toEqual(second.cost);
    // 1000 × $3 + 2000 × $0.30 + 200 × $15 per million
    expect(totalCost(first.cost)).toBe(usdToPico('0.0066'));
  });
});

describe('data version', () => {
  it('PRICING_DATA_VERSION names the installed genai-prices', () => {
    const require = createRequire(import.meta.url);
    // The package does not export its package.json; it sits two levels above the entry point.
    const packageDirectory = dirname(dirname(require.resolve('@pydantic/genai-prices')));
    const manifest = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8')) as { name: string; version: string };
    expect(PRICING_DATA_VERSION).toBe(`${manifest.name}@${manifest.version}`);
  });

  it('pricing never imports OpenTelemetry nor updates genai-prices data', () => {
    const manifest = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    expect(manifest).not.toContain('@opentelemetry');
    for (const file of [
      'genai-price-source.ts',
      'custom-price-source.ts',
      'composite-price-source.ts',
      'rate-card.ts',
      'estimate.ts',
      'index.ts',
    ]) {
      const text = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
      expect(text).not.toMatch(/from '@opentelemetry/);
      expect(text).not.toMatch(/updatePrices\(/);
    }
  });
});
