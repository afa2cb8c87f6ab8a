import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CostspanError } from './costspan-error.js';
import { formatPico, formatUsd, parseUsd, PICO_PER_USD, picoToUsd, priceTokens, scalePico, usdToPico } from './money.js';

// Figures here are worked out by hand from the decimal text, never from the code under test:
// 1 USD = 10^12 pico-USD, and every rounding is half up to the pico-dollar.

function refusal(run: () => unknown): CostspanError {
  try {
    run();
  } catch (error) {
    if (CostspanError.isInstance(error)) return error;
    throw new Error(`expected a CostspanError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a CostspanError, nothing was thrown');
}

describe('parseUsd rounds half up at exactly half a pico-dollar, in both directions', () => {
  it.each([
    ['0.0000000000005', 1n], // exactly 0.5 pico: up
    ['0.00000000000049', 0n], // 0.49 pico: down
    ['0.0000000000004999999999', 0n], // just under half: down
    ['0.00000000000050000000001', 1n], // just over half: up
    ['0.0000000000015', 2n], // 1.5 pico: up to 2
    ['0.00000000000149', 1n], // 1.49 pico: down to 1
    ['0.0000000000025', 3n], // 2.5 pico: up (not to even)
    ['1.0000000000005', PICO_PER_USD + 1n],
    ['0.0000000000001', 0n], // 0.1 pico
    ['0.0000000000009', 1n], // 0.9 pico
    ['5e-13', 1n], // 0.5 pico in exponent form
    ['4.9e-13', 0n],
  ])('%s USD is %i pico', (text, pico) => {
    expect(parseUsd(text)).toBe(pico);
  });

  it('is exact to the twelfth decimal without rounding', () => {
    expect(parseUsd('0.000000000001')).toBe(1n);
    expect(parseUsd('123.456789012345')).toBe(123_456_789_012_345n);
    expect(parseUsd('0.0015')).toBe(1_500_000_000n);
    expect(parseUsd('7')).toBe(7n * PICO_PER_USD);
    expect(parseUsd('7.')).toBe(7n * PICO_PER_USD);
  });

  it('reads exponents of one and several digits, signed or not', () => {
    expect(parseUsd('1e3')).toBe(1000n * PICO_PER_USD);
    expect(parseUsd('1E+3')).toBe(1000n * PICO_PER_USD);
    expect(parseUsd('1e-10')).toBe(100n);
    expect(parseUsd('25e-12')).toBe(25n);
    expect(parseUsd('1.5e-7')).toBe(150_000n);
    expect(parseUsd('1e12')).toBe(PICO_PER_USD * PICO_PER_USD);
  });

  it('bounds the exponent at ±400 (a typo, not money)', () => {
    expect(parseUsd('1e400')).toBe(10n ** 412n);
    expect(parseUsd('1e401')).toBeUndefined();
    expect(parseUsd('1e-400')).toBe(0n);
    expect(parseUsd('1e-401')).toBeUndefined();
    expect(parseUsd('1e99999999999999999999')).toBeUndefined();
  });

  it('trims surrounding whitespace', () => {
    expect(parseUsd(' 1.5 ')).toBe(1_500_000_000_000n);
    expect(parseUsd('\t0.25\n')).toBe(250_000_000_000n);
  });

  it.each(['', '.5', '-1', '+1', '1.5abc', 'abc1.5', '1,5', '1.2.3', '1e', '1e+', '0x10', 'NaN', 'Infinity', '1 000'])(
    'refuses %j',
    (text) => {
      expect(parseUsd(text)).toBeUndefined();
    },
  );

  it('rounds every decimal with more than 12 places half up (property, against integer arithmetic)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.integer({ min: 13, max: 30 }), (scaled, places) => {
        // `scaled` / 10^places USD: pico = round_half_up(scaled / 10^(places - 12)).
        const text = `${scaled / 10n ** BigInt(places)}.${(scaled % 10n ** BigInt(places)).toString().padStart(places, '0')}`;
        const unit = 10n ** BigInt(places - 12);
        const floor = scaled / unit;
        const expected = (scaled % unit) * 2n >= unit ? floor + 1n : floor;
        expect(parseUsd(text)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe('usdToPico', () => {
  it('rounds float-noisy input half up at the twelfth decimal', () => {
    // 0.1 + 0.2 prints as 0.30000000000000004: 0.3 USD and 0.00000000000000004 USD (0.00004 pico).
    expect(usdToPico(0.1 + 0.2)).toBe(300_000_000_000n);
    expect(usdToPico('0.0000000000005')).toBe(1n);
    expect(usdToPico(5e-13)).toBe(1n);
    expect(usdToPico(4.9e-13)).toBe(0n);
    expect(usdToPico(1e21)).toBe(10n ** 33n);
    expect(usdToPico(-0)).toBe(0n);
    expect(usdToPico(0)).toBe(0n);
  });

  it('names the default field "usd" and says what it wants', () => {
    const error = refusal(() => usdToPico(-1));
    expect(error.code).toBe('invalid_cost');
    expect(error.field).toBe('usd');
    expect(error.value).toBe(-1);
    expect(error.message).toBe('usd must be a finite, non-negative number of USD; got -1');
  });

  it.each([
    [Number.NaN, 'NaN'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [-1e-13, '-1e-13'],
    ['1.5abc', '"1.5abc"'],
    ['', '""'],
  ])('refuses %s with the same message as any bad amount', (value, shown) => {
    const error = refusal(() => usdToPico(value, 'cost.inputUsd'));
    expect(error.code).toBe('invalid_cost');
    expect(error.field).toBe('cost.inputUsd');
    expect(error.message).toBe(`cost.inputUsd must be a finite, non-negative number of USD; got ${shown}`);
  });

  it('refuses values that are neither numbers nor strings, even when they print as a number', () => {
    for (const value of [[5], { toString: () => '5' }, 5n, true, null, undefined]) {
      const error = refusal(() => usdToPico(value as unknown as number));
      expect(error.code).toBe('invalid_cost');
      expect(error.field).toBe('usd');
    }
  });
});

describe('formatUsd', () => {
  it('pads to the minimum decimals and keeps every exact digit', () => {
    expect(formatUsd(5_250_000_000n)).toBe('$0.00525');
    expect(formatUsd(12n * PICO_PER_USD)).toBe('$12.00');
    expect(formatUsd(1_500_000_000_000n)).toBe('$1.50');
    expect(formatUsd(1_500_000_000_000n, 0)).toBe('$1.5');
    expect(formatUsd(12n * PICO_PER_USD, 0)).toBe('$12');
    expect(formatUsd(0n)).toBe('$0.00');
    expect(formatUsd(1n, 4)).toBe('$0.000000000001');
  });

  it('puts the sign before the dollar sign', () => {
    expect(formatUsd(-500_000_000_000n)).toBe('-$0.50');
    expect(formatUsd(-12n * PICO_PER_USD, 0)).toBe('-$12');
    expect(formatUsd(-5_250_000_000n)).toBe('-$0.00525');
  });
});

describe('picoToUsd at the edge of exact doubles', () => {
  it('converts amounts around 2^53 pico to the double nearest the exact decimal', () => {
    for (const amount of [2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n), -(2n ** 53n) + 1n, 10n ** 20n + 1n]) {
      expect(picoToUsd(amount)).toBe(Number(formatPico(amount)));
    }
    expect(picoToUsd(5_250_000_000n)).toBe(0.00525);
    expect(picoToUsd(-1n)).toBe(-1e-12);
  });
});

describe('priceTokens', () => {
  it('prices zero tokens at zero and names its default field', () => {
    expect(priceTokens(0, 2_500_000_000_000n)).toBe(0n);
    const error = refusal(() => priceTokens(-1, 1n));
    expect(error.code).toBe('invalid_tokens');
    expect(error.field).toBe('tokens');
    expect(error.message).toBe('tokens must be a non-negative integer; got -1');
    expect(refusal(() => priceTokens(1.5, 1n, 'usage.input')).message).toBe('usage.input must be a non-negative integer; got 1.5');
  });

  it('rounds each line half up to the pico-dollar', () => {
    // $0.0000015 per million = 1.5 pico per million tokens.
    expect(priceTokens(1_000_001, 1_500_000n)).toBe(1_500_002n); // 1,500,001.5 pico: up
    expect(priceTokens(1, 500_000n)).toBe(1n); // exactly 0.5 pico: up
    expect(priceTokens(1, 499_999n)).toBe(0n); // just under half: down
    expect(priceTokens(3, 500_000n)).toBe(2n); // 1.5 pico: up
  });
});

describe('scalePico', () => {
  it('rounds half up and refuses bad factors naming the field', () => {
    expect(scalePico(3n, 0.5)).toBe(2n); // 1.5 pico: up
    expect(scalePico(1_000_000n, '0.9')).toBe(900_000n);
    const error = refusal(() => scalePico(1n, -0.5));
    expect(error.code).toBe('invalid_argument');
    expect(error.field).toBe('multiplier');
    expect(error.message).toBe('multiplier must be a finite, non-negative number; got -0.5');
    expect(refusal(() => scalePico(1n, Number.NaN, 'limits.fraction')).field).toBe('limits.fraction');
  });
});

describe('usdToPico of a number: the fast path for amounts under $1000 equals the decimal path', () => {
  // The decimal path is what a string takes: usdToPico(String(x)) reads x's shortest decimal form.
  const decimalPath = (amount: number): bigint => usdToPico(String(amount));

  it('on amounts of up to 12 decimals, as prices times token counts give', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 999_999_999_999_999n }), fc.integer({ min: 0, max: 12 }), (digits, places) => {
        const amount = Number(`${digits / 10n ** BigInt(places)}.${String(digits % 10n ** BigInt(places)).padStart(places, '0')}`);
        expect(usdToPico(amount)).toBe(decimalPath(amount));
      }),
      { numRuns: 20_000 },
    );
  });

  it('on amounts exactly half a pico-dollar past 12 decimals (rounded half up, where x * 1e12 may round down)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 998 }), fc.bigInt({ min: 0n, max: 999_999_999_999n }), (whole, pico) => {
        const amount = Number(`${whole}.${String(pico).padStart(12, '0')}5`);
        expect(usdToPico(amount)).toBe(decimalPath(amount));
      }),
      { numRuns: 20_000 },
    );
    expect(usdToPico(549.0714981749325)).toBe(549_071_498_174_933n);
  });

  it('on any double, mostly more than 12 decimals (rounded half up), and around the $1000 bound', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 2000, noNaN: true }), (amount) => {
        expect(usdToPico(amount)).toBe(decimalPath(amount));
      }),
      { numRuns: 20_000 },
    );
    for (const amount of [1e-12, 5e-13, 4e-13, 1e-7, 1.35e-5, 0.0015, 0.1 + 0.2, 999.999999999999, 1000, 1000.5]) {
      expect(usdToPico(amount)).toBe(decimalPath(amount));
    }
    expect(usdToPico(0.0015)).toBe(1_500_000_000n);
    expect(usdToPico(0.1 + 0.2)).toBe(300_000_000_000n); // 0.30000000000000004: rounded at 12 places
  });

  it('refuses what the decimal path refuses', () => {
    for (const amount of [-0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(refusal(() => usdToPico(amount)).code).toBe('invalid_cost');
    }
    expect(usdToPico(0)).toBe(0n);
    expect(usdToPico(-0)).toBe(0n);
  });
});
