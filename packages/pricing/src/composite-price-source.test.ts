import { picoToUsd, usdToPico } from '@costspan/core';
import { describe, expect, it, vi } from 'vitest';
import { CompositePriceSource, createDefaultPriceSource } from './composite-price-source.js';
import { CustomPriceSource } from './custom-price-source.js';
import type { PriceRequest, PriceResult, PricedCall } from './price-source.js';
import { totalCost } from './total-cost.js';

const NOW = Date.parse('2026-03-04T14:32:11Z');

function priced(result: PriceResult): PricedCall {
  if (result.status !== 'priced') throw new Error(`expected priced, got ${result.reason}`);
  return result;
}

describe('createDefaultPriceSource', () => {
  it('prices from the table', () => {
    const source = createDefaultPriceSource();
    const result = priced(source.price({ model: 'gpt-4o', provider: 'openai', usage: { input: 1000, output: 500 }, timestamp: NOW }));
    expect(totalCost(result.cost)).toBe(usdToPico('0.0075'));
    expect(String(picoToUsd(totalCost(result.cost)))).toBe('0.0075');
  });

  it('prices a custom model and lets a registered price override the table', () => {
    const source = createDefaultPriceSource({
      customPrices: [{ model: 'acme-llm', provider: 'acme', inputPerMillion: 1, outputPerMillion: 3 }],
    });
    const acme = priced(source.price({ model: 'acme-llm', provider: 'acme', usage: { input: 1000, output: 1000 }, timestamp: NOW }));
    expect(totalCost(acme.cost)).toBe(usdToPico('0.004'));
    expect(acme.tier.data_source).toBe('custom');

    const request: PriceRequest = { model: 'gpt-4o', provider: 'openai', usage: { input: 1000, output: 500 }, timestamp: NOW };
    expect(totalCost(priced(source.price(request)).cost)).toBe(usdToPico('0.0075'));
    source.register({ model: 'gpt-4o', provider: 'openai', inputPerMillion: 2.5, outputPerMillion: 10, multiplier: '0.9' });
    const negotiated = priced(source.price(request));
    expect(totalCost(negotiated.cost)).toBe(usdToPico('0.00675'));
    expect(negotiated.tier).toMatchObject({ multiplier: 0.9, data_source: 'custom' });
  });

  it('falls back to the table before a custom price starts', () => {
    const source = createDefaultPriceSource();
    source.register({ model: 'gpt-4o', provider: 'openai', inputPerMillion: 1, outputPerMillion: 1, startDate: '2026-01-01' });
    const usage = { input: 1000, output: 500 };
    expect(
      priced(source.price({ model: 'gpt-4o', provider: 'openai', usage, timestamp: Date.parse('2025-12-31') })).tier.data_source,
    ).toMatch(/genai-prices/);
    expect(priced(source.price({ model: 'gpt-4o', provider: 'openai', usage, timestamp: NOW })).tier.data_source).toBe('custom');
  });

  it('applies table multipliers', () => {
    const source = createDefaultPriceSource({ multipliers: [{ model: 'gpt-4o', multiplier: 0.5 }] });
    const result = priced(
      source.price({ model: 'gpt-4o-2024-08-06', provider: 'openai', usage: { input: 1000, output: 500 }, timestamp: NOW }),
    );
    expect(totalCost(result.cost)).toBe(usdToPico('0.00375'));
  });

  it('returns unpriced for an unknown model and fires the hook once for many calls', () => {
    const onUnknownModel = vi.fn();
    const source = createDefaultPriceSource({ onUnknownModel });
    for (let index = 0; index < 1000; index += 1) {
      const result = source.price({ model: 'no-such-model', provider: 'acme', usage: { input: 10, output: 10 }, timestamp: NOW + index });
      expect(result.status).toBe('unpriced');
      if (result.status === 'unpriced') {
        expect(result.code).toBe('unknown_model');
        expect(result.reason).toContain('no-such-model');
      }
    }
    expect(onUnknownModel).toHaveBeenCalledTimes(1);
    expect(onUnknownModel).toHaveBeenCalledWith('no-such-model', 'acme');
  });

  it('does not call the hook for bad usage of a known model, and reports the usage problem', () => {
    const onUnknownModel = vi.fn();
    const source = createDefaultPriceSource({ onUnknownModel });
    const result = source.price({ model: 'gpt-4o', usage: { input: 1, output: -1 }, timestamp: NOW });
    expect(result).toMatchObject({ status: 'unpriced', code: 'invalid_usage' });
    expect(onUnknownModel).not.toHaveBeenCalled();
  });

  it('survives a hook that throws', () => {
    const source = createDefaultPriceSource({
      onUnknownModel: () => {
        throw new Error('hook failed');
      },
    });
    expect(source.price({ model: 'nope', usage: { input: 1, output: 1 }, timestamp: NOW }).status).toBe('unpriced');
  });

  it('clearCache keeps prices correct', () => {
    const source = createDefaultPriceSource();
    const request: PriceRequest = { model: 'gpt-4o', usage: { input: 1000, output: 500 }, timestamp: NOW };
    const first = priced(source.price(request));
    source.clearCache();
    expect(priced(source.price(request)).cost).toEqual(first.cost);
  });
});

describe('CompositePriceSource', () => {
  it('never throws when a source does, and goes on to the next one', () => {
    const broken = {
      price: (): PriceResult => {
        throw new Error('boom');
      },
    };
    const custom = new CustomPriceSource().register({ model: 'm', inputPerMillion: 1, outputPerMillion: 1 });
    const source = new CompositePriceSource([broken, custom]);
    expect(source.price({ model: 'm', usage: { input: 1_000_000, output: 0 }, timestamp: NOW }).status).toBe('priced');
    expect(source.price({ model: 'x', usage: { input: 1, output: 0 }, timestamp: NOW })).toMatchObject({
      status: 'unpriced',
      code: 'source_error',
    });
  });

  it('with no sources, everything is unpriced', () => {
    expect(new CompositePriceSource([]).price({ model: 'gpt-4o', usage: { input: 1, output: 1 }, timestamp: NOW }).status).toBe('unpriced');
  });
});
