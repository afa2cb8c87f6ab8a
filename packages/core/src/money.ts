import { invalidInput } from './costspan-error.js';

/**
 * An exact amount of money in pico-dollars (1 USD = 10^12 pico-USD), as a
 * `bigint`. Twelve decimals hold every per-token price published so far exactly
 * (a price of $0.0375 per million tokens is 37,500 pico-USD per token), and
 * `bigint` never overflows, so sums and roll-ups never drift.
 */
export type PicoUsd = bigint;

/** Number of pico-dollars in one dollar. */
export const PICO_PER_USD: bigint = 1_000_000_000_000n;

const DECIMALS = 12;
const DECIMAL_PATTERN = /^(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

function pow10(exponent: number): bigint {
  return 10n ** BigInt(exponent);
}

/**
 * Converts a decimal string (`"0.0015"`, `"1.5e-7"`) to pico-dollars,
 * rounding half up past the 12th decimal. Returns `undefined` when the text
 * is not a non-negative decimal number.
 */
export function parseUsd(text: string): PicoUsd | undefined {
  const match = DECIMAL_PATTERN.exec(text.trim());
  if (!match) return undefined;
  // The pattern guarantees the integer digits; fraction and exponent are optional.
  const integerDigits = match[1] as string;
  const fractionDigits = match[2] ?? '';
  const exponent = match[3] === undefined ? 0 : Number(match[3]);
  // An exponent past ±400 is a typo, not money (and 10^huge would exhaust memory); it is
  // digits only, so Number() gives an integer or Infinity, both caught here.
  if (Math.abs(exponent) > 400) return undefined;
  const digits = BigInt(integerDigits + fractionDigits);
  const shift = exponent - fractionDigits.length + DECIMALS;
  // One path for both directions (dividing by 10^0 is exact), so no boundary at shift 0.
  return roundDivide(digits * pow10(Math.max(shift, 0)), pow10(Math.max(-shift, 0)));
}

/**
 * Converts a dollar amount given by a caller to exact pico-dollars.
 *
 * A JavaScript number is read through its shortest decimal form, so `0.0015`
 * becomes exactly 1,500,000,000 pico-USD, not the nearest binary fraction.
 *
 * @param value - a finite, non-negative number of dollars, or a decimal string
 * @param field - the input field, named in the error when `value` is refused
 * @throws CostspanError `invalid_cost` for negative, NaN, infinite or non-numeric input
 */
export function usdToPico(value: number | string, field = 'usd'): PicoUsd {
  // Stryker disable all: a faster path to the same amount, for numbers of up to 12 decimals under
  // $1000 (every wire amount); any mutant of it falls back to the decimal path below and yields the
  // same result. money.exactness.test.ts holds the two paths equal on randomized amounts.
  if (typeof value === 'number' && value > 0 && value < 1000) {
    // Below $1000 doubles lie under 1.2e-13 apart, so at most one 12-decimal amount rounds to
    // `value`: when the nearest pico count divides back to `value` exactly, it is that one, and
    // the shortest decimal form (within the same spacing) rounds to it at 12 places too.
    const pico = Math.round(value * 1e12);
    if (pico / 1e12 === value) return BigInt(pico);
  }
  // Stryker restore all
  // String() of a number is its shortest decimal form ("0.0015", "1e-7", and "0" for -0);
  // negatives, NaN and Infinity print as text the decimal pattern refuses.
  const parsed = typeof value === 'number' || typeof value === 'string' ? parseUsd(String(value)) : undefined;
  if (parsed === undefined) throw invalidInput('invalid_cost', field, value, 'a finite, non-negative number of USD');
  return parsed;
}

/**
 * Renders pico-dollars as the shortest exact decimal string (`"0.00525"`,
 * `"12"`, `"-0.5"`), without exponent notation.
 */
export function formatPico(amount: PicoUsd): string {
  const negative = amount < 0n;
  const magnitude = negative ? -amount : amount;
  const whole = magnitude / PICO_PER_USD;
  const fraction = (magnitude % PICO_PER_USD).toString().padStart(DECIMALS, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/**
 * Converts pico-dollars to a JSON-ready number of dollars: the double nearest
 * to the exact decimal, so `String(picoToUsd(x))` prints the exact amount for
 * any amount of up to 15 significant digits. Use only at the edge (wire, display).
 */
export function picoToUsd(amount: PicoUsd): number {
  // Below 2^53 both operands are exact doubles and IEEE division rounds the exact quotient
  // once, which yields the same double as parsing the exact decimal string, only faster.
  // Stryker disable next-line ConditionalExpression,EqualityOperator: the bounds only choose the faster path; at and past them the decimal path yields the same double
  if (amount < MAX_EXACT && amount > -MAX_EXACT) return Number(amount) / 1e12;
  return Number(formatPico(amount));
}

const MAX_EXACT = 2n ** 53n;

/**
 * Formats pico-dollars for people: `$0.00525`, with at least `minimumDecimals`
 * decimals (default 2) and never fewer than needed to be exact.
 */
export function formatUsd(amount: PicoUsd, minimumDecimals = 2): string {
  const exact = formatPico(amount);
  const negative = exact.startsWith('-');
  const body = negative ? exact.slice(1) : exact;
  const [whole, fraction = ''] = body.split('.') as [string, string?];
  const padded = fraction.padEnd(minimumDecimals, '0');
  return `${negative ? '-' : ''}$${whole}${padded ? `.${padded}` : ''}`;
}

/**
 * Cost of `tokens` at a price given in pico-dollars per million tokens
 * (`usdToPico(2.5)` for $2.50 / 1M), rounded half up to the pico-dollar once per
 * line item. Exact for every price with up to 12 decimals.
 *
 * @throws CostspanError `invalid_tokens` when `tokens` is not a non-negative safe integer
 */
export function priceTokens(tokens: number, picoPerMillion: PicoUsd, field = 'tokens'): PicoUsd {
  if (!Number.isSafeInteger(tokens) || tokens < 0) {
    throw invalidInput('invalid_tokens', field, tokens, 'a non-negative integer');
  }
  return roundDivide(BigInt(tokens) * picoPerMillion, 1_000_000n);
}

function roundDivide(numerator: bigint, divisor: bigint): bigint {
  const quotient = numerator / divisor;
  return (numerator % divisor) * 2n >= divisor ? quotient + 1n : quotient;
}

/**
 * Multiplies an amount by a decimal factor (a discount multiplier such as `0.5`),
 * rounding half up to the pico-dollar.
 *
 * @throws CostspanError `invalid_argument` for a negative or non-finite factor
 */
export function scalePico(amount: PicoUsd, factor: number | string, field = 'multiplier'): PicoUsd {
  let scaled: bigint;
  try {
    scaled = usdToPico(factor, field);
  } catch {
    throw invalidInput('invalid_argument', field, factor, 'a finite, non-negative number');
  }
  return roundDivide(amount * scaled, PICO_PER_USD);
}
