// Shared by the rate card's tests.
import { usdToPico } from '@costspan/core';
import { rate, type PricePeriod, type Rate, type Rates, type ResolvedModel } from '../rate-card.js';

// Prices are USD per million tokens; every expected cost is worked out by hand beside it.
export const perMillion = (usd: string): Rate => rate(usdToPico(usd));
export const pico = (usd: string): bigint => usdToPico(usd);

export function rates(
  input: string,
  output: string,
  extra: Partial<Record<'cacheRead' | 'cacheWrite' | 'cacheWrite1h' | 'reasoning', string>> = {},
): Rates {
  return {
    input: perMillion(input),
    output: perMillion(output),
    cacheRead: extra.cacheRead === undefined ? undefined : perMillion(extra.cacheRead),
    cacheWrite: extra.cacheWrite === undefined ? undefined : perMillion(extra.cacheWrite),
    cacheWrite1h: extra.cacheWrite1h === undefined ? undefined : perMillion(extra.cacheWrite1h),
    reasoning: extra.reasoning === undefined ? undefined : perMillion(extra.reasoning),
  };
}

export function period(base: Rates, options: Partial<PricePeriod> = {}): PricePeriod {
  return { startMs: Number.NEGATIVE_INFINITY, startDate: undefined, timeOfDay: undefined, base, bands: [], multiplier: 1, ...options };
}

export function resolved(periods: PricePeriod[], selection: ResolvedModel['selection'] = 'custom'): ResolvedModel {
  return { system: 'acme', model: 'acme-1', dataSource: 'custom', periods, selection, snapshots: new Map(), snapshotDay: '' };
}

export const MARCH_4 = Date.UTC(2026, 2, 4, 12);
