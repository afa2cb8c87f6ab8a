import { usdToPico } from '@costspan/core';
import { describe, expect, it, vi } from 'vitest';
import { createDefaultPriceSource } from './composite-price-source.js';
import type { PriceResult, PricedCall } from './price-source.js';
import { totalCost } from './total-cost.js';

// Which source prices a name when both a custom price and the table know some form of it:
// the most specific name wins across sources (README, "Model names").

const NOW = Date.parse('2026-03-04T14:32:11Z');
const MILLION_EACH = { input: 1_000_000, output: 1_000_000 };

function priced(result: PriceResult): PricedCall {
  if (result.status !== 'priced') throw new Error(`expected priced, got ${result.reason}`);
  return result;
}

function usdFor(source: ReturnType<typeof createDefaultPriceSource>, model: string, provider?: string): bigint {
  return totalCost(
    priced(source.price({ model, ...(provider === undefined ? {} : { provider }), usage: MILLION_EACH, timestamp: NOW })).cost,
  );
}

describe('custom prices and the table: the most specific name wins', () => {
  it("a custom gpt-4o does not override the table's own dated entry gpt-4o-2024-05-13 ($5/$15)", () => {
    for (const provider of ['openai', undefined]) {
      const source = createDefaultPriceSource({
        customPrices: [{ model: 'gpt-4o', ...(provider === undefined ? {} : { provider }), inputPerMillion: 1, outputPerMillion: 2 }],
      });
      const dated = priced(source.price({ model: 'gpt-4o-2024-05-13', provider: 'openai', usage: MILLION_EACH, timestamp: NOW }));
      expect(totalCost(dated.cost)).toBe(usdToPico(20));
      expect(dated.tier.model).toBe('gpt-4o-2024-05-13');
      expect(dated.tier.data_source).not.toBe('custom');
      expect(usdFor(source, 'gpt-4o-2024-05-13')).toBe(usdToPico(20));
      // The exact name still goes to the custom price.
      expect(usdFor(source, 'gpt-4o', 'openai')).toBe(usdToPico(3));
    }
  });

  it('a custom gpt-4o still prices the names the table itself knows as gpt-4o, and prefixed or undated forms', () => {
    const source = createDefaultPriceSource({
      customPrices: [{ model: 'gpt-4o', provider: 'openai', inputPerMillion: 1, outputPerMillion: 2 }],
    });
    // The table resolves gpt-4o-2024-08-06 to its gpt-4o entry: the custom gpt-4o is that entry's price.
    const aliased = priced(source.price({ model: 'gpt-4o-2024-08-06', provider: 'openai', usage: MILLION_EACH, timestamp: NOW }));
    expect(totalCost(aliased.cost)).toBe(usdToPico(3));
    expect(aliased.tier.data_source).toBe('custom');
    expect(usdFor(source, 'openai/gpt-4o', 'openai')).toBe(usdToPico(3));
    expect(usdFor(source, 'GPT-4o', 'openai')).toBe(usdToPico(3));
    // Other models are untouched: gpt-4o-mini is the table's.
    expect(usdFor(source, 'gpt-4o-mini', 'openai')).toBe(usdToPico('0.75'));
  });

  it("an exact custom key beats the table's exact key", () => {
    const source = createDefaultPriceSource({
      customPrices: [{ model: 'gpt-4o-2024-05-13', inputPerMillion: 1, outputPerMillion: 1 }],
    });
    const result = priced(source.price({ model: 'gpt-4o-2024-05-13', provider: 'openai', usage: MILLION_EACH, timestamp: NOW }));
    expect(totalCost(result.cost)).toBe(usdToPico(2));
    expect(result.tier.data_source).toBe('custom');
    // and a dated custom key is more specific than the table's gpt-4o for that name
    const source2 = createDefaultPriceSource({
      customPrices: [{ model: 'gpt-4o-2024-08-06', inputPerMillion: 1, outputPerMillion: 1 }],
    });
    expect(usdFor(source2, 'gpt-4o-2024-08-06', 'openai')).toBe(usdToPico(2));
    expect(usdFor(source2, 'gpt-4o', 'openai')).toBe(usdToPico('12.5'));
  });

  it('a custom name the table does not know still matches through the name rules (date suffix, prefix)', () => {
    const source = createDefaultPriceSource({ customPrices: [{ model: 'acme-llm', inputPerMillion: 1, outputPerMillion: 3 }] });
    expect(usdFor(source, 'acme-llm-2025-01-01')).toBe(usdToPico(4));
    expect(usdFor(source, 'acme/acme-llm')).toBe(usdToPico(4));
  });

  it('before a custom price starts, the table prices the name', () => {
    const source = createDefaultPriceSource({
      customPrices: [{ model: 'gpt-4o', inputPerMillion: 1, outputPerMillion: 2, startDate: '2026-06-01' }],
    });
    expect(usdFor(source, 'gpt-4o-2024-08-06', 'openai')).toBe(usdToPico('12.5'));
    const later = Date.parse('2026-07-01');
    const result = priced(source.price({ model: 'gpt-4o-2024-08-06', provider: 'openai', usage: MILLION_EACH, timestamp: later }));
    expect(totalCost(result.cost)).toBe(usdToPico(3));
  });

  it('a custom price not yet in force for a model the table lacks is no_price_in_force, not unknown', () => {
    const onUnknownModel = vi.fn();
    const source = createDefaultPriceSource({
      onUnknownModel,
      customPrices: [{ model: 'acme-llm', inputPerMillion: 1, outputPerMillion: 3, startDate: '2030-01-01' }],
    });
    expect(source.price({ model: 'acme-llm', usage: MILLION_EACH, timestamp: NOW })).toMatchObject({
      status: 'unpriced',
      code: 'no_price_in_force',
    });
    expect(onUnknownModel).not.toHaveBeenCalled();
  });

  it('prices registered after a lookup apply at once, through register() or the custom source itself', () => {
    const source = createDefaultPriceSource();
    expect(usdFor(source, 'gpt-4o', 'openai')).toBe(usdToPico('12.5'));
    expect(source.price({ model: 'acme-llm', usage: MILLION_EACH, timestamp: NOW }).status).toBe('unpriced');
    source.custom.register({ model: 'gpt-4o', inputPerMillion: 1, outputPerMillion: 1 });
    expect(usdFor(source, 'gpt-4o', 'openai')).toBe(usdToPico(2));
    source.register({ model: 'acme-llm', inputPerMillion: 1, outputPerMillion: 3 });
    expect(usdFor(source, 'acme-llm')).toBe(usdToPico(4));
    source.custom.unregister('gpt-4o');
    expect(usdFor(source, 'gpt-4o', 'openai')).toBe(usdToPico('12.5'));
  });

  it('a register and an unregister of another model after a lookup still refresh the memo', () => {
    const source = createDefaultPriceSource();
    source.custom.register({ model: 'gpt-4o', inputPerMillion: 1, outputPerMillion: 1 });
    expect(usdFor(source, 'gpt-4o', 'openai')).toBe(usdToPico(2));
    source.custom.register({ model: 'acme-llm', inputPerMillion: 1, outputPerMillion: 3 });
    source.custom.unregister('gpt-4o');
    expect(usdFor(source, 'gpt-4o', 'openai')).toBe(usdToPico('12.5'));
  });

  it('keeps table multipliers and per-call multipliers on the interleaved path', () => {
    const source = createDefaultPriceSource({
      multipliers: [{ model: 'gpt-4o', multiplier: 0.5 }],
      customPrices: [{ model: 'acme-llm', inputPerMillion: 1, outputPerMillion: 3 }],
    });
    expect(usdFor(source, 'gpt-4o-2024-11-20', 'openai')).toBe(usdToPico('6.25'));
    const half = priced(source.price({ model: 'acme-llm', usage: MILLION_EACH, timestamp: NOW, multiplier: 0.5 }));
    expect(totalCost(half.cost)).toBe(usdToPico(2));
  });
});
