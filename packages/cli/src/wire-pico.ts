import { usdToPico, type PicoUsd } from '@costspan/core';

// Pico-dollar arithmetic on wire amounts that needs nothing but @costspan/core: the report's
// reading path uses it without loading the SDK (whose import costs ~0.4 s and ~28 MB).

/**
 * Exact pico-USD of a wire amount (a JSON number), read through its shortest
 * decimal form as `usdToPico` does (a property test holds it to that). Amounts
 * under $1000 with at most 12 decimals are converted without text; other
 * amounts with at most 12 decimals build the integer from their digits.
 */
export function wireToPico(amount: number | undefined): PicoUsd {
  if (amount === undefined || amount === 0) return 0n;
  if (amount > 0 && amount < 1000) {
    // Below $1000 doubles lie under 1.2e-13 apart, so at most one 12-decimal amount rounds to
    // `amount`: when the nearest pico count divides back to `amount` exactly, it is that one, and
    // the shortest decimal form (within the same spacing) rounds to it at 12 places too.
    const pico = Math.round(amount * 1e12);
    if (pico / 1e12 === amount) return BigInt(pico);
  }
  const text = String(amount);
  if (!text.includes('e')) {
    const dot = text.indexOf('.');
    if (dot === -1) return BigInt(text) * 1_000_000_000_000n;
    const fraction = text.slice(dot + 1);
    if (fraction.length <= 12) return BigInt(text.slice(0, dot) + fraction.padEnd(12, '0'));
  }
  return usdToPico(amount);
}

/** `amount * numerator / denominator`, rounded half up to the pico-dollar. */
export function ratioPico(amount: PicoUsd, numerator: bigint, denominator: bigint): PicoUsd {
  const scaled = amount * numerator;
  const quotient = scaled / denominator;
  return (scaled % denominator) * 2n >= denominator ? quotient + 1n : quotient;
}
