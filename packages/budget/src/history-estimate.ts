import { integerOption, invalidInput } from '@costspan/core';
import type { BudgetStoreSample } from './budget-store.js';

// Estimates from history: what the same agent and step cost recently, as a decaying p95 over a
// bounded list of samples kept in the store, for reservations made without an estimate.

/** Options of estimates from history (`BudgetGuardOptions.history`). */
export interface BudgetHistoryOptions {
  /** Samples kept per agent and step (newest). Default 100. */
  keep?: number;
  /** Age at which a sample weighs half as much (ms). Default 86 400 000 (one day). */
  halfLifeMs?: number;
  /** Fewer samples than this give no estimate. Default 3. */
  minSamples?: number;
  /** The quantile estimated. Default 0.95. */
  quantile?: number;
}

/** @internal Validated history options. */
export interface HistorySettings {
  keep: number;
  halfLifeMs: number;
  minSamples: number;
  quantile: number;
}

/** @internal */
export function historySettings(options: BudgetHistoryOptions | false | undefined): HistorySettings | undefined {
  if (options === false) return undefined;
  const given = options ?? {};
  const quantile = given.quantile ?? 0.95;
  if (!Number.isFinite(quantile) || quantile <= 0 || quantile > 1) {
    throw invalidInput('invalid_argument', 'history.quantile', quantile, 'a number in (0, 1]');
  }
  const halfLifeMs = given.halfLifeMs ?? 86_400_000;
  if (!Number.isFinite(halfLifeMs) || halfLifeMs <= 0) {
    throw invalidInput('invalid_argument', 'history.halfLifeMs', halfLifeMs, 'a positive number of milliseconds');
  }
  return {
    keep: integerOption(given.keep, 'history.keep', { fallback: 100 }),
    halfLifeMs,
    minSamples: integerOption(given.minSamples, 'history.minSamples', { fallback: 3 }),
    quantile,
  };
}

/** @internal The store key of an agent's (and step's) history. */
export function historyKey(agent: string, step: string | undefined): string {
  return step === undefined ? encodeURIComponent(agent) : `${encodeURIComponent(agent)}/${encodeURIComponent(step)}`;
}

/**
 * @internal The decaying quantile of the samples, per unit: each sample weighs
 * `0.5 ^ (age / halfLife)`, and the estimate is the smallest value whose
 * cumulative weight reaches `quantile` of the total. `undefined` with too few samples.
 */
export function decayingQuantile(
  samples: readonly BudgetStoreSample[],
  now: number,
  settings: HistorySettings,
): { pico: bigint; tokens: bigint; samples: number } | undefined {
  if (samples.length < settings.minSamples) return undefined;
  const weights = samples.map((sample) => 0.5 ** (Math.max(0, now - sample.at) / settings.halfLifeMs));
  const quantileOf = (values: readonly bigint[]): bigint => {
    const order = values
      .map((value, index) => ({ value, weight: weights[index]! }))
      .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    const total = order.reduce((sum, entry) => sum + entry.weight, 0);
    let cumulative = 0;
    for (const entry of order) {
      cumulative += entry.weight;
      if (cumulative >= settings.quantile * total * (1 - 1e-12)) return entry.value;
    }
    return order[order.length - 1]!.value;
  };
  return {
    pico: quantileOf(samples.map((sample) => sample.pico)),
    tokens: quantileOf(samples.map((sample) => sample.tokens)),
    samples: samples.length,
  };
}
