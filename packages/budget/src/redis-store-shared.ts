import { invalidInput } from '@costspan/core';
import type { BudgetStoreCounter, BudgetStoreSample } from './budget-store.js';

// What the single-node and the cluster Redis stores share: the budget script's argument layout,
// the history samples' encoding, and option checks.

/** The reservation's member in a counter's set: `id|pico|tokens`. */
export function member(id: string, pico: bigint, tokens: bigint): string {
  return `${id}|${pico}|${tokens}`;
}

/** A sliding window's `window ms, bucket ms`; two empty strings for a calendar counter (the script's layout). */
export function rollingArgs(counter: BudgetStoreCounter): [string, string] {
  return counter.rolling === undefined ? ['', ''] : [String(counter.rolling.windowMs), String(counter.rolling.bucketMs)];
}

/** A reply the script cannot give: a version mismatch or a foreign key. */
export function unexpected(reply: unknown): Error {
  return new Error(`unexpected reply from the budget script: ${JSON.stringify(reply)}`);
}

/** A history nobody writes to for 30 days goes (its samples would weigh nothing by then). */
export const HISTORY_TTL_MS: number = 30 * 86_400_000;

/** One history sample as stored in its list: `pico|tokens|at`. */
export function encodeSample(sample: BudgetStoreSample): string {
  return `${sample.pico}|${sample.tokens}|${sample.at}`;
}

/** The samples of a history list, in its order; entries of another shape are skipped. */
export function decodeSamples(values: readonly string[]): BudgetStoreSample[] {
  const samples: BudgetStoreSample[] = [];
  for (const value of values) {
    const match = /^(\d+)\|(\d+)\|(\d+)$/.exec(value);
    if (match !== null) samples.push({ pico: BigInt(match[1]!), tokens: BigInt(match[2]!), at: Number(match[3]) });
  }
  return samples;
}

/** A timeout option: a positive number of milliseconds. */
export function positive(value: number, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidInput('invalid_argument', field, value, 'a positive number of milliseconds');
  }
  return value;
}
