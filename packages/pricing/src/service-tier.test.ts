import { describe, expect, it } from 'vitest';
import { CostspanError } from '@costspan/core';
import { CustomPriceSource } from './custom-price-source.js';
import { createDefaultPriceSource } from './composite-price-source.js';
import { GenAiPriceSource } from './genai-price-source.js';
import type { PriceRequest } from './price-source.js';
import { totalCost } from './total-cost.js';

const at = Date.UTC(2025, 5, 1);
const call = (extra: Partial<PriceRequest> = {}): PriceRequest => ({
  model: 'acme-llm',
  provider: 'acme',
  usage: { input: 1_000_000, output: 1_000_000 },
  timestamp: at,
  ...extra,
});
// $3 + $7 = $10 per million in and out: exact figures to scale.
const prices = [{ model: 'acme-llm', provider: 'acme', inputPerMillion: 3, outputPerMillion: 7 }];

describe('service tier pricing', () => {
  it('prices flex at half the standard rates by default, and says the tier applied', () => {
    const source = createDefaultPriceSource({ customPrices: prices });
    const standard = source.price(call());
    const flex = source.price(call({ serviceTier: 'flex' }));
    expect(standard.status === 'priced' && totalCost(standard.cost)).toBe(10_000_000_000_000n);
    expect(flex.status === 'priced' && totalCost(flex.cost)).toBe(5_000_000_000_000n);
    expect(flex.status === 'priced' && flex.serviceTierApplied).toBe(true);
    expect(flex.status === 'priced' && flex.tier.multiplier).toBe(0.5);
    expect(standard.status === 'priced' && 'serviceTierApplied' in standard).toBe(false);
  });

  it('prices standard tiers (default, auto, standard) at the standard rates without a mark', () => {
    const source = createDefaultPriceSource({ customPrices: prices });
    for (const serviceTier of ['default', 'auto', 'standard', 'DEFAULT']) {
      const result = source.price(call({ serviceTier }));
      expect(result.status === 'priced' && totalCost(result.cost)).toBe(10_000_000_000_000n);
      expect(result.status === 'priced' && result.serviceTierApplied).toBeUndefined();
    }
  });

  it('prices a tier without a factor at the standard rates and marks it unapplied', () => {
    const source = createDefaultPriceSource({ customPrices: prices });
    const priority = source.price(call({ serviceTier: 'priority' }));
    expect(priority.status === 'priced' && totalCost(priority.cost)).toBe(10_000_000_000_000n);
    expect(priority.status === 'priced' && priority.serviceTierApplied).toBe(false);
  });

  it('applies configured factors, exactly, and a request multiplier with them once', () => {
    const source = createDefaultPriceSource({ customPrices: prices, serviceTierMultipliers: { priority: '1.75', flex: 0.5 } });
    const priority = source.price(call({ serviceTier: 'Priority' }));
    expect(priority.status === 'priced' && totalCost(priority.cost)).toBe(17_500_000_000_000n);
    // 0.3 (a batch-like per-call discount) × 1.75 = 0.525: one scaling of the rates, $5.25.
    const both = source.price(call({ serviceTier: 'priority', multiplier: '0.3' }));
    expect(both.status === 'priced' && totalCost(both.cost)).toBe(5_250_000_000_000n);
    expect(both.status === 'priced' && both.tier.multiplier).toBe(0.525);
    // One-third rates rounded once per rate, as a plain multiplier rounds them.
    const third = createDefaultPriceSource({ customPrices: prices, serviceTierMultipliers: { flex: '0.333333333333' } });
    const thirdFlex = third.price(call({ serviceTier: 'flex' }));
    const plain = createDefaultPriceSource({ customPrices: prices }).price(call({ multiplier: '0.333333333333' }));
    expect(thirdFlex.status === 'priced' && plain.status === 'priced' && thirdFlex.cost).toEqual(plain.status === 'priced' && plain.cost);
  });

  it('lets `{}` turn the defaults off', () => {
    const source = createDefaultPriceSource({ customPrices: prices, serviceTierMultipliers: {} });
    const flex = source.price(call({ serviceTier: 'flex' }));
    expect(flex.status === 'priced' && totalCost(flex.cost)).toBe(10_000_000_000_000n);
    expect(flex.status === 'priced' && flex.serviceTierApplied).toBe(false);
  });

  it('applies the factors in the table source and the custom source on their own', () => {
    const table = new GenAiPriceSource({ serviceTierMultipliers: { flex: 0.5 } });
    const request = { model: 'gpt-4o', provider: 'openai', usage: { input: 1_000_000, output: 0 }, timestamp: at };
    const standard = table.price(request);
    const flex = table.price({ ...request, serviceTier: 'flex' });
    expect(standard.status === 'priced' && flex.status === 'priced' && totalCost(flex.cost) * 2n).toBe(
      standard.status === 'priced' && totalCost(standard.cost),
    );
    const custom = new CustomPriceSource({ prices, serviceTierMultipliers: { scale: 2 } });
    const scaled = custom.price(call({ serviceTier: 'scale' }));
    expect(scaled.status === 'priced' && totalCost(scaled.cost)).toBe(20_000_000_000_000n);
  });

  it('refuses a bad factor with a typed error naming the tier', () => {
    expect(() => createDefaultPriceSource({ serviceTierMultipliers: { flex: -1 } })).toThrow(CostspanError);
    expect(() => createDefaultPriceSource({ serviceTierMultipliers: { flex: 'half' } })).toThrow(/serviceTierMultipliers\.flex/);
  });

  it('prices a call at the prices registered for its tier, when there are any, instead of the factor', () => {
    const source = createDefaultPriceSource({
      customPrices: [
        ...prices,
        { model: 'acme-llm', provider: 'acme', serviceTier: 'Priority', inputPerMillion: 5, outputPerMillion: 12 },
        { model: 'gpt-4o', provider: 'openai', serviceTier: 'flex', inputPerMillion: '1.25', outputPerMillion: 5 },
      ],
    });
    const priority = source.price(call({ serviceTier: 'priority' }));
    expect(priority.status === 'priced' && totalCost(priority.cost)).toBe(17_000_000_000_000n);
    expect(priority.status === 'priced' && priority.serviceTierApplied).toBe(true);
    expect(priority.status === 'priced' && priority.tier.multiplier).toBeUndefined();
    // The standard prices and the other tiers are unchanged by a tier registration.
    const standard = source.price(call());
    expect(standard.status === 'priced' && totalCost(standard.cost)).toBe(10_000_000_000_000n);
    const flex = source.price(call({ serviceTier: 'flex' }));
    expect(flex.status === 'priced' && totalCost(flex.cost)).toBe(5_000_000_000_000n);
    // A dated table name resolves to the tier registration of its alias; a per-call multiplier still applies once.
    const gpt = source.price({
      model: 'gpt-4o-2024-08-06',
      provider: 'openai',
      usage: { input: 1_000_000, output: 0 },
      timestamp: at,
      serviceTier: 'flex',
      multiplier: 0.5,
    });
    expect(gpt.status === 'priced' && totalCost(gpt.cost)).toBe(625_000_000_000n);
    const custom = new CustomPriceSource({
      prices: [...prices, { model: 'acme-llm', provider: 'acme', serviceTier: 'priority', inputPerMillion: 5, outputPerMillion: 12 }],
    });
    const direct = custom.price(call({ serviceTier: 'PRIORITY' }));
    expect(direct.status === 'priced' && totalCost(direct.cost)).toBe(17_000_000_000_000n);
    expect(() => custom.register({ model: 'x', inputPerMillion: 1, outputPerMillion: 1, serviceTier: ' ' })).toThrow(/serviceTier/);
  });
});
