import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CostspanError } from './costspan-error.js';
import { formatPico, formatUsd, parseUsd, picoToUsd, priceTokens, scalePico, usdToPico } from './money.js';

describe('usdToPico', () => {
  it('reads a number through its shortest decimal form', () => {
    expect(usdToPico(0.0015)).toBe(1_500_000_000n);
    expect(usdToPico(0.00375)).toBe(3_750_000_000n);
    expect(usdToPico(1.5e-7)).toBe(150_000n);
    expect(usdToPico(12)).toBe(12_000_000_000_000n);
    expect(usdToPico('0.0000000000006')).toBe(1n);
    expect(usdToPico(-0)).toBe(0n);
  });

  it.each([
    [-0.01, 'negative'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    ['abc', 'text'],
    ['-1', 'negative text'],
  ])('refuses %s (%s) naming the field and value', (value, _label) => {
    let thrown: unknown;
    try {
      usdToPico(value, 'cost.inputUsd');
    } catch (error) {
      thrown = error;
    }
    expect(CostspanError.isInstance(thrown)).toBe(true);
    const error = thrown as CostspanError;
    expect(error.code).toBe('invalid_cost');
    expect(error.field).toBe('cost.inputUsd');
    expect(error.message).toContain('cost.inputUsd');
    expect(error.message).toContain(String(value));
  });
});

describe('sums are exact where floats drift', () => {
  it('0.0015 + 0.00375 is 0.00525', () => {
    expect(0.0015 + 0.00375).not.toBe(0.00525);
    expect(picoToUsd(usdToPico(0.0015) + usdToPico(0.00375))).toBe(0.00525);
    expect(String(picoToUsd(usdToPico(0.0015) + usdToPico(0.00375)))).toBe('0.00525');
  });

  it('0.005 + 0.003 + 0.010 is 0.018', () => {
    expect(0.005 + 0.003 + 0.01).not.toBe(0.018);
    expect(String(picoToUsd(usdToPico(0.005) + usdToPico(0.003) + usdToPico(0.01)))).toBe('0.018');
  });

  it('any sum of cent-like amounts equals the decimal sum (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000_000 }), { maxLength: 200 }), (microDollars) => {
        const viaPico = microDollars.reduce((sum, micro) => sum + usdToPico(micro / 1e6), 0n);
        const exact = microDollars.reduce((sum, micro) => sum + BigInt(micro), 0n) * 1_000_000n;
        expect(viaPico).toBe(exact);
      }),
    );
  });

  it('picoToUsd equals parsing the exact decimal (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), (amount) => {
        expect(picoToUsd(amount)).toBe(Number(formatPico(amount)));
      }),
      { numRuns: 2000 },
    );
  });

  it('format and parse round-trip (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 24n }), (amount) => {
        expect(parseUsd(formatPico(amount))).toBe(amount);
      }),
    );
  });
});

describe('formatting', () => {
  it('prints exact decimals without exponent', () => {
    expect(formatPico(150_000n)).toBe('0.00000015');
    expect(formatPico(0n)).toBe('0');
    expect(formatPico(-500_000_000_000n)).toBe('-0.5');
    expect(formatUsd(5_250_000_000n)).toBe('$0.00525');
    expect(formatUsd(12_000_000_000_000n)).toBe('$12.00');
  });
});

describe('priceTokens', () => {
  it('prices per million tokens exactly', () => {
    expect(priceTokens(500, usdToPico(2.5))).toBe(usdToPico(0.00125));
    expect(priceTokens(1, usdToPico(0.0375))).toBe(37_500n);
    expect(priceTokens(3, usdToPico('0.0000005'))).toBe(2n);
  });

  it('refuses fractional and negative token counts', () => {
    expect(() => priceTokens(1.5, 1n, 'usage.input')).toThrow(/usage.input must be a non-negative integer; got 1.5/);
    expect(() => priceTokens(-1, 1n)).toThrow(CostspanError);
  });

  it('scales by a multiplier, rounding once', () => {
    expect(scalePico(usdToPico(0.01), 0.5)).toBe(usdToPico(0.005));
    expect(() => scalePico(1n, -1)).toThrow(/multiplier/);
  });
});
