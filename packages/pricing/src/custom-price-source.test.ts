import { CostspanError, picoToUsd, usdToPico } from '@costspan/core';
import { describe, expect, it, vi } from 'vitest';
import { CustomPriceSource, type CustomModelPrice } from './custom-price-source.js';
import type { PriceResult, PricedCall } from './price-source.js';
import { totalCost } from './total-cost.js';

const NOW = Date.parse('2026-03-04T14:32:11Z');

function priced(result: PriceResult): PricedCall {
  if (result.status !== 'priced') throw new Error(`expected priced, got ${result.reason}`);
  return result;
}

describe('CustomPriceSource', () => {
  it('prices a registered model exactly, with a tier snapshot', () => {
    const source = new CustomPriceSource().register({
      model: 'acme-llm',
      provider: 'acme',
      inputPerMillion: '0.15',
      outputPerMillion: 0.6,
      cacheReadPerMillion: '0.075',
    });
    const result = priced(
      source.price({ model: 'acme-llm', provider: 'acme', usage: { input: 1000, output: 400, cacheRead: 200 }, timestamp: NOW }),
    );
    expect(result.cost).toEqual({
      input: usdToPico('0.00015'),
      output: usdToPico('0.00024'),
      reasoning: 0n,
      cachedDiscount: usdToPico('0.000015'),
    });
    expect(String(picoToUsd(totalCost(result.cost)))).toBe('0.000375');
    expect(result.tier).toEqual({
      system: 'acme',
      model: 'acme-llm',
      input_per_million_usd: 0.15,
      output_per_million_usd: 0.6,
      cached_input_per_million_usd: 0.075,
      effective_date: '2026-03-04',
      data_source: 'custom',
    });
  });

  it('matches names the way the table does (case, provider prefix, date suffix)', () => {
    const source = new CustomPriceSource({ prices: [{ model: 'acme-llm', inputPerMillion: 1, outputPerMillion: 2 }] });
    for (const model of ['ACME-LLM', 'acme/acme-llm', 'acme-llm-2025-01-31', 'acme-llm-20250131']) {
      expect(source.price({ model, usage: { input: 1_000_000, output: 0 }, timestamp: NOW }).status).toBe('priced');
    }
  });

  it('keeps provider-specific prices apart and prefers them', () => {
    const source = new CustomPriceSource()
      .register({ model: 'llama-70b', inputPerMillion: 1, outputPerMillion: 1 })
      .register({ model: 'llama-70b', provider: 'groq', inputPerMillion: 0.5, outputPerMillion: 0.5 })
      .register({ model: 'only-acme', provider: 'acme', inputPerMillion: 1, outputPerMillion: 1 });
    const usage = { input: 1_000_000, output: 0 };
    expect(priced(source.price({ model: 'llama-70b', provider: 'groq', usage, timestamp: NOW })).cost.input).toBe(usdToPico('0.5'));
    expect(priced(source.price({ model: 'llama-70b', provider: 'together', usage, timestamp: NOW })).cost.input).toBe(usdToPico('1'));
    expect(source.price({ model: 'only-acme', provider: 'other', usage, timestamp: NOW }).status).toBe('unpriced');
    expect(source.price({ model: 'only-acme', usage, timestamp: NOW }).status).toBe('priced');
  });

  it('applies a multiplier to every rate', () => {
    const source = new CustomPriceSource().register({ model: 'm', inputPerMillion: 2.5, outputPerMillion: 10, multiplier: 0.5 });
    const result = priced(source.price({ model: 'm', usage: { input: 1000, output: 500 }, timestamp: NOW }));
    expect(totalCost(result.cost)).toBe(usdToPico('0.00375'));
    expect(result.tier).toMatchObject({ input_per_million_usd: 1.25, output_per_million_usd: 5, multiplier: 0.5 });
  });

  it('records dated price changes; calls before the first start fall through', () => {
    const source = new CustomPriceSource()
      .register({ model: 'm', inputPerMillion: 10, outputPerMillion: 40, startDate: '2025-01-01' })
      .register({ model: 'm', inputPerMillion: 2, outputPerMillion: 8, startDate: '2025-06-10' });
    const usage = { input: 1000, output: 500 };
    const at = (date: string): PriceResult => source.price({ model: 'm', usage, timestamp: Date.parse(date) });
    expect(at('2024-12-31T23:59:59Z')).toMatchObject({ status: 'unpriced', code: 'no_price_in_force' });
    expect(totalCost(priced(at('2025-03-01T00:00:00Z')).cost)).toBe(usdToPico('0.03'));
    expect(priced(at('2025-03-01T00:00:00Z')).tier.effective_date).toBe('2025-01-01');
    expect(totalCost(priced(at('2025-06-10T00:00:00Z')).cost)).toBe(usdToPico('0.006'));
    // Same start date again replaces the prices.
    source.register({ model: 'm', inputPerMillion: 1, outputPerMillion: 4, startDate: '2025-06-10' });
    expect(totalCost(priced(at('2025-07-01T00:00:00Z')).cost)).toBe(usdToPico('0.003'));
  });

  it('prices tiers, cache writes and reasoning with their own rates', () => {
    const source = new CustomPriceSource().register({
      model: 'long',
      inputPerMillion: 1,
      outputPerMillion: 4,
      cacheReadPerMillion: 0.1,
      cacheWritePerMillion: 1.25,
      cacheWrite1hPerMillion: 2,
      reasoningPerMillion: 3,
      tiers: [{ aboveInputTokens: 100_000, inputPerMillion: 2, outputPerMillion: 8 }],
    });
    const small = priced(
      source.price({
        model: 'long',
        usage: { input: 10_000, output: 1000, cacheRead: 1000, cacheWrite: 3000, cacheWrite1h: 1000, reasoning: 400 },
        timestamp: NOW,
      }),
    );
    // input: 7000 × 1 + 2000 × 1.25 + 1000 × 2; discount 1000 × 0.9; output 600 × 4; reasoning 400 × 3.
    expect(small.cost).toEqual({
      input: usdToPico('0.0115'),
      output: usdToPico('0.0024'),
      reasoning: usdToPico('0.0012'),
      cachedDiscount: usdToPico('0.0009'),
    });
    const large = priced(source.price({ model: 'long', usage: { input: 100_001, output: 1000 }, timestamp: NOW }));
    expect(large.cost).toEqual({ input: usdToPico('0.200002'), output: usdToPico('0.008'), reasoning: 0n, cachedDiscount: 0n });
    expect(large.tier).toMatchObject({ tier_threshold_tokens: 100_000, input_per_million_usd: 2, cached_input_per_million_usd: 0.1 });
  });

  it.each<[Partial<CustomModelPrice>, string, string]>([
    [{ model: '' }, 'invalid_name', 'model'],
    [{ model: '   ' }, 'invalid_name', 'model'],
    [{ inputPerMillion: -1 }, 'invalid_price', 'inputPerMillion'],
    [{ outputPerMillion: Number.NaN }, 'invalid_price', 'outputPerMillion'],
    [{ outputPerMillion: 'ten' }, 'invalid_price', 'outputPerMillion'],
    [{ cacheReadPerMillion: Number.POSITIVE_INFINITY }, 'invalid_price', 'cacheReadPerMillion'],
    [{ multiplier: -0.5 }, 'invalid_argument', 'multiplier'],
    [{ startDate: 'yesterday' }, 'invalid_argument', 'startDate'],
    [{ tiers: [{ aboveInputTokens: -1 }] }, 'invalid_tokens', 'tiers[0].aboveInputTokens'],
    [{ tiers: [{ aboveInputTokens: 10, inputPerMillion: -2 }] }, 'invalid_price', 'tiers[0].inputPerMillion'],
  ])('refuses %j with a typed error', (override, code, field) => {
    const price: CustomModelPrice = { model: 'm', inputPerMillion: 1, outputPerMillion: 1, ...override };
    let caught: unknown;
    try {
      new CustomPriceSource().register(price);
    } catch (error) {
      caught = error;
    }
    expect(CostspanError.isInstance(caught)).toBe(true);
    expect(caught).toMatchObject({ code, field });
    expect((caught as Error).message).toContain(field);
  });

  it('unregisters, and reports unknown models once when used alone', () => {
    const onUnknownModel = vi.fn();
    const source = new CustomPriceSource({ onUnknownModel }).register({ model: 'm', inputPerMillion: 1, outputPerMillion: 1 });
    expect(source.size).toBe(1);
    expect(source.unregister('m')).toBe(true);
    expect(source.unregister('m')).toBe(false);
    for (let index = 0; index < 5; index += 1) {
      expect(source.price({ model: 'm', usage: { input: 1, output: 1 }, timestamp: NOW })).toMatchObject({
        status: 'unpriced',
        code: 'unknown_model',
      });
    }
    expect(onUnknownModel).toHaveBeenCalledTimes(1);
  });
});
