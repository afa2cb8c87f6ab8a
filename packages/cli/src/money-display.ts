import { formatPico, formatUsd, type PicoUsd } from '@costspan/core';

/** Options of {@link formatMoney}. */
export interface MoneyDisplayOptions {
  /** Every digit, as JSON and CSV carry it (`--exact`). Default false. */
  exact?: boolean;
}

const PICO = 1_000_000_000_000n;
const SIGNIFICANT_DIGITS = 4;
const grouped = new Intl.NumberFormat('en-US');

/**
 * An amount as a person reads it: cents from $1 up (`$1,877.10`), 4
 * significant digits below (`$0.01505`, `$0.003333`), `$0.00` for zero;
 * rounded half away from zero, from the exact pico-dollars (no float on the
 * way). With `exact`, every digit (`$0.015049833887`).
 */
export function formatMoney(amount: PicoUsd, options: MoneyDisplayOptions = {}): string {
  if (options.exact === true) return formatUsd(amount);
  const negative = amount < 0n;
  const magnitude = negative ? -amount : amount;
  const sign = negative ? '-' : '';
  if (magnitude === 0n) return '$0.00';
  if (magnitude >= PICO) return `${sign}$${cents(magnitude)}`;
  // Below $1: keep 4 significant digits of the 12 decimals.
  const digits = magnitude.toString().length;
  const drop = Math.max(0, digits - SIGNIFICANT_DIGITS);
  const scale = 10n ** BigInt(drop);
  const rounded = roundHalfUp(magnitude, scale) * scale;
  if (rounded >= PICO) return `${sign}$${cents(rounded)}`;
  return `${sign}$${formatPico(rounded)}`;
}

function roundHalfUp(value: bigint, divisor: bigint): bigint {
  const quotient = value / divisor;
  return (value % divisor) * 2n >= divisor ? quotient + 1n : quotient;
}

function cents(magnitude: bigint): string {
  const total = roundHalfUp(magnitude, PICO / 100n);
  return `${grouped.format(total / 100n)}.${String(total % 100n).padStart(2, '0')}`;
}

/** `1 call`, `2 calls`, `1,234 calls` (`word` is the singular; `pluralWord` when adding `s` is wrong). */
export function plural(count: number, word: string, pluralWord = `${word}s`): string {
  return `${grouped.format(count)} ${count === 1 ? word : pluralWord}`;
}

/** `1,234` */
export function formatInteger(value: number): string {
  return grouped.format(value);
}

/** A count in at most 5 characters: `999`, `1.2k`, `12k`, `3.4M`, `1.2B`. */
export function formatCompact(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude < 1000) return String(value);
  for (const [limit, suffix] of [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (magnitude >= limit) {
      const scaled = value / limit;
      const text = Math.abs(scaled) < 10 ? scaled.toFixed(1) : Math.round(scaled).toString();
      // 999.95k rounds to 1000k: say 1.0M instead.
      if (text === '1000' && suffix !== 'B') return formatCompact(Math.sign(value) * limit * 1000);
      return `${text.replace(/\.0$/, '')}${suffix}`;
    }
  }
  return String(value);
}

/** A duration: `850 ms`, `12.3 ms`, `0.42 ms`, `4.21 s`, `3.2 min`, `1.5 h`. */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  if (ms >= 60_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}
