import { usdToPico, type PicoUsd } from '@costspan/core';

// Pico-dollar arithmetic on wire amounts that needs nothing but @costspan/core: the report's
// reading path uses it without loading the SDK (whose import costs ~0.4 s and ~28 MB).

/**
 * Exact pico-USD of a wire amount (a JSON number of a validated event), read through its shortest
 * decimal form: core's `usdToPico`, which takes amounts under $1000 without text. Absent is 0.
 */
export function wireToPico(amount: number | undefined): PicoUsd {
  return amount === undefined || amount === 0 ? 0n : usdToPico(amount);
}

/** `amount * numerator / denominator`, rounded half up to the pico-dollar. */
export function ratioPico(amount: PicoUsd, numerator: bigint, denominator: bigint): PicoUsd {
  const scaled = amount * numerator;
  const quotient = scaled / denominator;
  return (scaled % denominator) * 2n >= denominator ? quotient + 1n : quotient;
}
