import { describe, expect, it } from 'vitest';
import { CustomPriceSource, type CustomModelPrice } from './custom-price-source.js';
import { call, pico, priced, refusal } from './__fixtures__/price-fixtures.js';

// Custom price rules against hand arithmetic: prices are USD per million tokens.

const day = (text: string): number => Date.parse(`${text}T12:00:00Z`);

describe('dated prices registered out of order', () => {
  it('prices each call at the period in force at its timestamp', () => {
    const source = new CustomPriceSource();
    source.register({ model: 'acme-llm', inputPerMillion: 6, outputPerMillion: 0, startDate: '2026-01-01' });
    source.register({ model: 'acme-llm', inputPerMillion: 30, outputPerMillion: 0, startDate: '2025-01-01' });
    source.register({ model: 'acme-llm', inputPerMillion: 12, outputPerMillion: 0, startDate: '2025-06-01' });
    // 1000 input tokens: x $6 = $0.006, x $12 = $0.012, x $30 = $0.03.
    expect(priced(source.price(call('acme-llm', 1000, day('2026-02-01')))).cost.input).toBe(pico('0.006'));
    expect(priced(source.price(call('acme-llm', 1000, Date.parse('2026-01-01T00:00:00Z')))).cost.input).toBe(pico('0.006'));
    expect(priced(source.price(call('acme-llm', 1000, Date.parse('2026-01-01T00:00:00Z') - 1))).cost.input).toBe(pico('0.012'));
    expect(priced(source.price(call('acme-llm', 1000, day('2025-07-01')))).cost.input).toBe(pico('0.012'));
    expect(priced(source.price(call('acme-llm', 1000, day('2025-03-01')))).cost.input).toBe(pico('0.03'));
    expect(priced(source.price(call('acme-llm', 1000, day('2025-07-01')))).tier.effective_date).toBe('2025-06-01');
    // Before the first start the prices are not in force: the next source decides.
    expect(source.price(call('acme-llm', 1000, day('2024-12-31')))).toEqual({
      status: 'unpriced',
      code: 'no_price_in_force',
      reason: `no custom price for model "acme-llm" in force at ${day('2024-12-31')}`,
    });
  });

  it('replaces the prices of the same start date, and says which provider has none in force', () => {
    const source = new CustomPriceSource();
    source.register({ model: 'acme-llm', provider: 'acme', inputPerMillion: 1, outputPerMillion: 0, startDate: '2025-01-01' });
    source.register({ model: 'acme-llm', provider: 'acme', inputPerMillion: 2, outputPerMillion: 0, startDate: Date.parse('2025-01-01') });
    // 1000 x $2/M = $0.002
    expect(priced(source.price(call('acme-llm', 1000, day('2025-02-01'), { provider: 'acme' }))).cost.input).toBe(pico('0.002'));
    expect(source.price(call('acme-llm', 1, day('2024-01-01'), { provider: 'acme' }))).toMatchObject({
      reason: `no custom price for model "acme-llm" (provider "acme") in force at ${day('2024-01-01')}`,
    });
  });

  it('takes a start as a date, an ISO timestamp, epoch ms or a Date', () => {
    const source = new CustomPriceSource();
    source.register({ model: 'm', inputPerMillion: 1, outputPerMillion: 0, startDate: new Date('2025-01-01T00:00:00Z') });
    source.register({ model: 'm', inputPerMillion: 2, outputPerMillion: 0, startDate: '2025-02-01T06:00:00Z' });
    source.register({ model: 'm', inputPerMillion: 3, outputPerMillion: 0, startDate: Date.parse('2025-03-01T00:00:00Z') });
    expect(priced(source.price(call('m', 1_000_000, day('2025-01-15')))).cost.input).toBe(pico('1'));
    expect(priced(source.price(call('m', 1_000_000, Date.parse('2025-02-01T05:59:59Z')))).cost.input).toBe(pico('1'));
    expect(priced(source.price(call('m', 1_000_000, Date.parse('2025-02-01T06:00:00Z')))).cost.input).toBe(pico('2'));
    expect(priced(source.price(call('m', 1_000_000, day('2025-03-02')))).cost.input).toBe(pico('3'));
  });

  it('refuses a start that is not a date', () => {
    for (const startDate of ['not a date', Number.NaN, 8.64e15 + 1, -8.64e15 - 1, new Date(Number.NaN), true as unknown as string]) {
      const error = refusal(() => new CustomPriceSource().register({ model: 'm', inputPerMillion: 1, outputPerMillion: 1, startDate }));
      expect(error.code).toBe('invalid_argument');
      expect(error.field).toBe('startDate');
      expect(error.message).toMatch(/^startDate must be a date \(`YYYY-MM-DD`, ISO timestamp, epoch ms or Date\); got /);
    }
    expect(() =>
      new CustomPriceSource().register({ model: 'm', inputPerMillion: 1, outputPerMillion: 1, startDate: 8.64e15 }),
    ).not.toThrow();
  });
});

describe('tiers registered out of order', () => {
  const tiered: CustomModelPrice = {
    model: 'long-llm',
    inputPerMillion: 0.5,
    outputPerMillion: 1,
    tiers: [
      { aboveInputTokens: 200_000, inputPerMillion: 2, outputPerMillion: 4 },
      { aboveInputTokens: 100_000, inputPerMillion: 1 },
    ],
  };

  it('picks the highest threshold the call passes', () => {
    const source = new CustomPriceSource({ prices: [tiered] });
    // 250,000 x $2 = $0.50; 150,000 x $1 = $0.15; 100,000 x $0.50 = $0.05 (strictly above the threshold).
    expect(priced(source.price(call('long-llm', 250_000, 0))).cost.input).toBe(pico('0.5'));
    expect(priced(source.price(call('long-llm', 150_000, 0))).cost.input).toBe(pico('0.15'));
    expect(priced(source.price(call('long-llm', 100_000, 0))).cost.input).toBe(pico('0.05'));
    expect(priced(source.price(call('long-llm', 200_001, 0))).tier.tier_threshold_tokens).toBe(200_000);
    // Each band has its own tier snapshot within one day.
    expect(priced(source.price(call('long-llm', 150_001, 0))).tier.tier_threshold_tokens).toBe(100_000);
    // The $1 tier has no output rate: the base $1/M applies; 1000 output x $1/M = $0.001.
    const withOutput = priced(source.price({ model: 'long-llm', usage: { input: 150_000, output: 1000 }, timestamp: 0 }));
    expect(withOutput.cost.output).toBe(pico('0.001'));
  });

  it('falls back to each base rate a tier omits', () => {
    const source = new CustomPriceSource({
      prices: [
        {
          model: 'full',
          inputPerMillion: 1,
          outputPerMillion: 2,
          cacheReadPerMillion: 0.25,
          cacheWritePerMillion: 1.5,
          cacheWrite1hPerMillion: 3,
          reasoningPerMillion: 5,
          tiers: [{ aboveInputTokens: 10 }],
        },
      ],
    });
    const tier = priced(source.price({ model: 'full', usage: { input: 11, output: 0 }, timestamp: 0 })).tier;
    expect(tier).toMatchObject({
      input_per_million_usd: 1,
      output_per_million_usd: 2,
      cached_input_per_million_usd: 0.25,
      cache_write_per_million_usd: 1.5,
      cache_write_1h_per_million_usd: 3,
      reasoning_per_million_usd: 5,
      tier_threshold_tokens: 10,
    });
  });

  it('overrides each rate a tier gives', () => {
    const source = new CustomPriceSource({
      prices: [
        {
          model: 'full',
          inputPerMillion: 1,
          outputPerMillion: 1,
          tiers: [
            {
              aboveInputTokens: 0,
              inputPerMillion: 2,
              outputPerMillion: 3,
              cacheReadPerMillion: 0.5,
              cacheWritePerMillion: 2.5,
              cacheWrite1hPerMillion: 4,
              reasoningPerMillion: 6,
            },
          ],
        },
      ],
    });
    expect(priced(source.price({ model: 'full', usage: { input: 1, output: 0 }, timestamp: 0 })).tier).toMatchObject({
      input_per_million_usd: 2,
      output_per_million_usd: 3,
      cached_input_per_million_usd: 0.5,
      cache_write_per_million_usd: 2.5,
      cache_write_1h_per_million_usd: 4,
      reasoning_per_million_usd: 6,
    });
    // At 0 input tokens the call is not above the threshold: base rates.
    expect(priced(source.price({ model: 'full', usage: { input: 0, output: 0 }, timestamp: 0 })).tier.input_per_million_usd).toBe(1);
  });

  it('refuses bad tiers naming the tier and field', () => {
    const base = { model: 'm', inputPerMillion: 1, outputPerMillion: 1 };
    const notArray = refusal(() => new CustomPriceSource().register({ ...base, tiers: {} as never }));
    expect(notArray.code).toBe('invalid_argument');
    expect(notArray.field).toBe('tiers');
    expect(notArray.message).toBe('tiers must be an array of tiers; got {}');
    for (const aboveInputTokens of [-1, 1.5, Number.NaN]) {
      const error = refusal(() => new CustomPriceSource().register({ ...base, tiers: [{ aboveInputTokens: 5 }, { aboveInputTokens }] }));
      expect(error.code).toBe('invalid_tokens');
      expect(error.field).toBe('tiers[1].aboveInputTokens');
      expect(error.message).toBe(`tiers[1].aboveInputTokens must be a non-negative integer; got ${aboveInputTokens}`);
    }
    const badRate = refusal(() => new CustomPriceSource().register({ ...base, tiers: [{ aboveInputTokens: 5, reasoningPerMillion: -1 }] }));
    expect(badRate.code).toBe('invalid_price');
    expect(badRate.field).toBe('tiers[0].reasoningPerMillion');
  });
});

describe('price validation', () => {
  it.each([
    'inputPerMillion',
    'outputPerMillion',
    'cacheReadPerMillion',
    'cacheWritePerMillion',
    'cacheWrite1hPerMillion',
    'reasoningPerMillion',
  ] as const)('refuses a bad %s naming it', (key) => {
    for (const [value, shown] of [
      [-1, '-1'],
      [Number.NaN, 'NaN'],
      ['', '""'],
      ['  ', '"  "'],
      ['cheap', '"cheap"'],
      [true, 'true'],
      [{}, '{}'],
    ] as const) {
      const error = refusal(() => new CustomPriceSource().register({ model: 'm', inputPerMillion: 1, outputPerMillion: 1, [key]: value }));
      expect(error.code).toBe('invalid_price');
      expect(error.field).toBe(key);
      expect(error.message).toBe(`${key} must be a finite, non-negative number of USD per million tokens; got ${shown}`);
    }
  });

  it('refuses missing input and output prices', () => {
    const noInput = refusal(() => new CustomPriceSource().register({ model: 'm', outputPerMillion: 1 } as CustomModelPrice));
    expect(noInput.code).toBe('invalid_price');
    expect(noInput.field).toBe('inputPerMillion');
    expect(noInput.message).toBe('inputPerMillion must be a finite, non-negative number of USD per million tokens; got undefined');
    const noOutput = refusal(() => new CustomPriceSource().register({ model: 'm', inputPerMillion: 1 } as CustomModelPrice));
    expect(noOutput.field).toBe('outputPerMillion');
    expect(noOutput.message).toBe('outputPerMillion must be a finite, non-negative number of USD per million tokens; got undefined');
  });

  it('accepts free models and decimal strings, exactly', () => {
    const source = new CustomPriceSource({ prices: [{ model: 'free', inputPerMillion: 0, outputPerMillion: '0.0000015' }] });
    // 1,000,001 output tokens x 1.5 pico = 1,500,001.5 -> 1,500,002 pico.
    expect(priced(source.price({ model: 'free', usage: { input: 10, output: 1_000_001 }, timestamp: 0 })).cost).toEqual({
      input: 0n,
      output: 1_500_002n,
      reasoning: 0n,
      cachedDiscount: 0n,
    });
  });

  it('refuses a bad price object, model, provider or multiplier', () => {
    const notObject = refusal(() => new CustomPriceSource().register(null as never));
    expect([notObject.code, notObject.field, notObject.message]).toEqual([
      'invalid_argument',
      'price',
      'price must be an object; got null',
    ]);
    for (const model of ['', '  ', 5]) {
      const error = refusal(() => new CustomPriceSource().register({ model, inputPerMillion: 1, outputPerMillion: 1 } as CustomModelPrice));
      expect([error.code, error.field]).toEqual(['invalid_name', 'model']);
      expect(error.message).toMatch(/^model must be a non-empty model id; got /);
    }
    for (const provider of ['', ' ', 7]) {
      const error = refusal(() =>
        new CustomPriceSource().register({ model: 'm', provider, inputPerMillion: 1, outputPerMillion: 1 } as CustomModelPrice),
      );
      expect([error.code, error.field]).toEqual(['invalid_name', 'provider']);
      expect(error.message).toMatch(/^provider must be a non-empty provider name, or undefined; got /);
    }
    for (const multiplier of [-1, 'abc', Number.NaN]) {
      const error = refusal(() => new CustomPriceSource().register({ model: 'm', inputPerMillion: 1, outputPerMillion: 1, multiplier }));
      expect([error.code, error.field]).toEqual(['invalid_argument', 'multiplier']);
      expect(error.message).toMatch(/^multiplier must be a finite, non-negative number; got /);
    }
  });
});

describe('multipliers', () => {
  it('scales every rate and every tier by the multiplier, and records it', () => {
    const source = new CustomPriceSource({
      prices: [
        { model: 'm', inputPerMillion: 2, outputPerMillion: 8, multiplier: '0.9', tiers: [{ aboveInputTokens: 1000, inputPerMillion: 4 }] },
      ],
    });
    // 1000 x $2 x 0.9 = $0.0018; 1000 output x $8 x 0.9 = $0.0072.
    const base = priced(source.price({ model: 'm', usage: { input: 1000, output: 1000 }, timestamp: 0 }));
    expect(base.cost).toEqual({ input: pico('0.0018'), output: pico('0.0072'), reasoning: 0n, cachedDiscount: 0n });
    expect(base.tier.multiplier).toBe(0.9);
    // 1001 x $4 x 0.9 = $0.0036036.
    expect(priced(source.price(call('m', 1001, 0))).cost.input).toBe(pico('0.0036036'));
  });
});
