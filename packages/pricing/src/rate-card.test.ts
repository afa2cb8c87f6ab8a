import { describe, expect, it } from 'vitest';
import type { TokenUsage } from './price-source.js';
import { costOf, priceResolved, usageProblem } from './rate-card.js';
import { MARCH_4, perMillion, period, pico, rates, resolved } from './__fixtures__/rate-card-fixtures.js';

describe('rate', () => {
  it('keeps an exact per-token price only when the per-million price divides evenly', () => {
    expect(perMillion('2.5')).toEqual({ perMillion: 2_500_000_000_000n, perToken: 2_500_000n });
    // $0.0000015 / M = 1.5 pico per token: no exact per-token price.
    expect(perMillion('0.0000015')).toEqual({ perMillion: 1_500_000n, perToken: undefined });
    expect(perMillion('0.000001')).toEqual({ perMillion: 1_000_000n, perToken: 1n });
  });
});

describe('costOf: one rounding per line, half up', () => {
  it('prices sub-pico per-token rates half up instead of truncating', () => {
    // 1,000,001 tokens x 1.5 pico = 1,500,001.5 pico -> 1,500,002 (truncated would be 1,000,001).
    expect(costOf(rates('0.0000015', '0.0000015'), { input: 1_000_001, output: 0 }).input).toBe(1_500_002n);
    // 3 tokens x 0.5 pico = 1.5 -> 2; 1 token x 0.5 pico = 0.5 -> 1; 1 token x 0.4 pico -> 0.
    expect(costOf(rates('0.0000005', '0.0000004'), { input: 3, output: 1 })).toEqual({
      input: 2n,
      output: 0n,
      reasoning: 0n,
      cachedDiscount: 0n,
    });
    expect(costOf(rates('0.0000005', '0'), { input: 1, output: 0 }).input).toBe(1n);
  });

  it('prices whole-pico per-token rates exactly', () => {
    // 1000 x $2.50/M = $0.0025; 500 x $10/M = $0.005.
    expect(costOf(rates('2.5', '10'), { input: 1000, output: 500 })).toEqual({
      input: pico('0.0025'),
      output: pico('0.005'),
      reasoning: 0n,
      cachedDiscount: 0n,
    });
  });

  it('books cache reads as a discount off the input rate', () => {
    // 1000 x $2/M = $0.002 input; 400 reads save ($2 - $0.50) x 400 / M = $0.0006.
    expect(costOf(rates('2', '8', { cacheRead: '0.5' }), { input: 1000, output: 0, cacheRead: 400 })).toEqual({
      input: pico('0.002'),
      output: 0n,
      reasoning: 0n,
      cachedDiscount: pico('0.0006'),
    });
    // Half-up on the discount line too: 1 read x 0.5 pico saving -> 1 pico.
    expect(costOf(rates('0.000001', '0', { cacheRead: '0.0000005' }), { input: 1, output: 0, cacheRead: 1 }).cachedDiscount).toBe(1n);
    // No cache-read rate: no discount.
    expect(costOf(rates('2', '8'), { input: 1000, output: 0, cacheRead: 400 }).cachedDiscount).toBe(0n);
    // Same rate: nothing saved, nothing added.
    expect(costOf(rates('2', '8', { cacheRead: '2' }), { input: 1000, output: 0, cacheRead: 400 })).toEqual({
      input: pico('0.002'),
      output: 0n,
      reasoning: 0n,
      cachedDiscount: 0n,
    });
  });

  it('books a cache-read rate above the input rate as a surcharge on input, never a negative discount', () => {
    // 600 x $1/M + 400 x $3/M = $0.0018, booked as $0.001 input + 400 x $2/M = $0.0008 surcharge.
    const cost = costOf(rates('1', '4', { cacheRead: '3' }), { input: 1000, output: 0, cacheRead: 400 });
    expect(cost).toEqual({ input: pico('0.0018'), output: 0n, reasoning: 0n, cachedDiscount: 0n });
  });

  it('prices cache writes at their own rates, 1-hour writes at theirs', () => {
    // 700 x $1 + 200 x $1.25 + 100 x $2 = 700 + 250 + 200 = $0.00115 per M-tokens.
    const usage: TokenUsage = { input: 1000, output: 0, cacheWrite: 300, cacheWrite1h: 100 };
    expect(costOf(rates('1', '0', { cacheWrite: '1.25', cacheWrite1h: '2' }), usage).input).toBe(pico('0.00115'));
    // No 1-hour rate: 1-hour writes at the cache-write rate: 700 + 300 x 1.25 = $0.001075.
    expect(costOf(rates('1', '0', { cacheWrite: '1.25' }), usage).input).toBe(pico('0.001075'));
    // No cache-write rate either: every input token at the input rate.
    expect(costOf(rates('1', '0'), usage).input).toBe(pico('0.001'));
    // Only a 1-hour rate: 5-minute writes at the input rate: 900 x $1 + 100 x $2 = $0.0011.
    expect(costOf(rates('1', '0', { cacheWrite1h: '2' }), usage).input).toBe(pico('0.0011'));
  });

  it('prices reasoning at its own rate out of output, or as output when it has none', () => {
    // (500 - 200) x $8 + 200 x $10 per M: $0.0024 output, $0.002 reasoning.
    expect(costOf(rates('0', '8', { reasoning: '10' }), { input: 0, output: 500, reasoning: 200 })).toEqual({
      input: 0n,
      output: pico('0.0024'),
      reasoning: pico('0.002'),
      cachedDiscount: 0n,
    });
    // No reasoning rate: 500 x $8/M = $0.004 output.
    expect(costOf(rates('0', '8'), { input: 0, output: 500, reasoning: 200 })).toEqual({
      input: 0n,
      output: pico('0.004'),
      reasoning: 0n,
      cachedDiscount: 0n,
    });
  });
});

describe('usageProblem', () => {
  it('accepts well-formed usage', () => {
    expect(usageProblem({ input: 10, output: 5, cacheRead: 4, cacheWrite: 6, cacheWrite1h: 6, reasoning: 5 })).toBeUndefined();
    expect(usageProblem({ input: 0, output: 0 })).toBeUndefined();
  });

  it('says what is wrong with each field', () => {
    expect(usageProblem(undefined)).toBe('usage must be an object');
    expect(usageProblem(null as unknown as TokenUsage)).toBe('usage must be an object');
    expect(usageProblem({ input: -1, output: 0 })).toBe('usage.input must be a non-negative integer; got -1');
    expect(usageProblem({ input: 0, output: 1.5 })).toBe('usage.output must be a non-negative integer; got 1.5');
    expect(usageProblem({ input: 0, output: 0, cacheRead: Number.NaN })).toBe('usage.cacheRead must be a non-negative integer; got NaN');
    expect(usageProblem({ input: 0, output: 0, cacheWrite: -2 })).toBe('usage.cacheWrite must be a non-negative integer; got -2');
    expect(usageProblem({ input: 0, output: 0, cacheWrite1h: 0.5 })).toBe('usage.cacheWrite1h must be a non-negative integer; got 0.5');
    expect(usageProblem({ input: 0, output: 0, reasoning: '1' as unknown as number })).toBe(
      'usage.reasoning must be a non-negative integer; got 1',
    );
    expect(usageProblem({ input: 2 ** 53, output: 0 })).toBe(`usage.input must be a non-negative integer; got ${2 ** 53}`);
  });

  it('refuses cache writes (and reads) beyond input instead of pricing them', () => {
    expect(usageProblem({ input: 10, output: 0, cacheWrite: 11 })).toBe(
      "usage.cacheRead + usage.cacheWrite (11) exceed usage.input (10); input must include cache tokens (use normalizeUsage(raw, 'anthropic') for Anthropic-style usage)",
    );
    expect(usageProblem({ input: 10, output: 0, cacheRead: 6, cacheWrite: 5 })).toContain('(11) exceed usage.input (10)');
    expect(usageProblem({ input: 10, output: 0, cacheRead: 5, cacheWrite: 5 })).toBeUndefined();
    expect(usageProblem({ input: 10, output: 0, cacheWrite: 3, cacheWrite1h: 4 })).toBe(
      'usage.cacheWrite1h (4) exceeds usage.cacheWrite (3)',
    );
    expect(usageProblem({ input: 10, output: 3, reasoning: 4 })).toBe(
      'usage.reasoning (4) exceeds usage.output (3); output must include reasoning',
    );
  });

  it('makes priceResolved return the call unpriced, never priced', () => {
    const result = priceResolved(
      resolved([period(rates('1', '1', { cacheWrite: '1.25' }))]),
      { input: 10, output: 0, cacheWrite: 11 },
      MARCH_4,
      undefined,
    );
    expect(result).toMatchObject({ status: 'unpriced', code: 'invalid_usage' });
  });
});
