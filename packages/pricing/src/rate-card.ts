import { picoToUsd, priceTokens, scalePico, type PicoUsd } from '@costspan/core';
import type { CostBreakdownPico, PriceRequest, PricedCall, PricingTier, TokenUsage, UnpricedCall, UnpricedCode } from './price-source.js';

// Internal: the compiled form of a model's prices that both price sources share.
// Nothing here is exported from the package.

const PER_MILLION = 1_000_000n;
const MS_PER_DAY = 86_400_000;
const SECONDS_PER_DAY = 86_400;

/** One price in pico-USD per million tokens, with the per-token price when that is exact. */
export interface Rate {
  readonly perMillion: PicoUsd;
  /** `perMillion / 10^6` when it divides exactly (every published price so far): one multiply per line. */
  readonly perToken: PicoUsd | undefined;
}

/** The token rates of one price period and input-size band. Absent rates fall back as documented. */
export interface Rates {
  readonly input: Rate;
  readonly output: Rate;
  readonly cacheRead: Rate | undefined;
  readonly cacheWrite: Rate | undefined;
  readonly cacheWrite1h: Rate | undefined;
  readonly reasoning: Rate | undefined;
}

/** Rates that replace the base rates for every token once input tokens exceed `aboveInputTokens`. */
export interface RateBand {
  readonly aboveInputTokens: number;
  readonly rates: Rates;
}

/** Prices in force from `startMs` (and, for time-of-day prices, within a daily UTC window). */
export interface PricePeriod {
  /** Epoch ms from which the period applies; `-Infinity` when open-ended. */
  readonly startMs: number;
  /** `YYYY-MM-DD` of `startMs`, when the period has a start date. */
  readonly startDate: string | undefined;
  /** Daily UTC window `[startSecond, endSecond)` (wrapping past midnight when end < start). */
  readonly timeOfDay: { readonly startSecond: number; readonly endSecond: number } | undefined;
  readonly base: Rates;
  /** Ascending by threshold. */
  readonly bands: readonly RateBand[];
  /** Multiplier already folded into the rates, as given (1 when none). */
  readonly multiplier: number | string;
}

/** A model resolved to its prices: what a memo entry holds. */
export interface ResolvedModel {
  readonly system: string;
  readonly model: string;
  readonly dataSource: string;
  readonly periods: readonly PricePeriod[];
  /**
   * How to pick a period: `table` mirrors genai-prices (last matching constraint, else the first
   * period); `custom` returns nothing when no period has started yet, so the next source decides.
   */
  readonly selection: 'table' | 'custom';
  /** Frozen tier snapshots per (period, band) for `snapshotDay`. */
  snapshots: Map<number, PricingTier>;
  snapshotDay: string;
}

/** Builds a {@link Rate} from pico-USD per million tokens. */
export function rate(perMillion: PicoUsd): Rate {
  return { perMillion, perToken: perMillion % PER_MILLION === 0n ? perMillion / PER_MILLION : undefined };
}

/** Scales every rate of a card by `factor` (rounded half up to the pico-USD per million). */
export function scaleRates(rates: Rates, factor: number | string): Rates {
  const scale = (value: Rate | undefined): Rate | undefined =>
    value === undefined ? undefined : rate(scalePico(value.perMillion, factor));
  return {
    input: rate(scalePico(rates.input.perMillion, factor)),
    output: rate(scalePico(rates.output.perMillion, factor)),
    cacheRead: scale(rates.cacheRead),
    cacheWrite: scale(rates.cacheWrite),
    cacheWrite1h: scale(rates.cacheWrite1h),
    reasoning: scale(rates.reasoning),
  };
}

/** Scales every period of a model by `factor`. */
export function scalePeriods(periods: readonly PricePeriod[], factor: number | string): PricePeriod[] {
  return periods.map((period) => ({
    ...period,
    multiplier: factor,
    base: scaleRates(period.base, factor),
    bands: period.bands.map((band) => ({ aboveInputTokens: band.aboveInputTokens, rates: scaleRates(band.rates, factor) })),
  }));
}

/** Parses a time-of-day constraint (`00:30:00Z`, `08:00:00+08:00`) into seconds after UTC midnight. */
export function parseTimeOfDay(text: string): number | undefined {
  const match = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/.exec(text);
  if (!match) return undefined;
  // For `Z` the offset groups are absent and count as 0 (the sign does not matter then).
  // Stryker disable next-line StringLiteral: Number('') and Number('00') are both 0
  const [, hours, minutes, seconds, fraction = '', , sign, offsetHours = '00', offsetMinutes = '00'] = match;
  const hour = Number(hours);
  const minute = Number(minutes);
  const second = Number(seconds);
  if (hour > 23 || minute > 59 || second > 59 || Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return undefined;
  // Stryker disable next-line StringLiteral: Number('0.') and Number('0.0') are both 0
  const local = hour * 3600 + minute * 60 + second + Number(`0.${fraction || '0'}`);
  const offset = (sign === '+' ? 1 : -1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60;
  return (((local - offset) % SECONDS_PER_DAY) + SECONDS_PER_DAY) % SECONDS_PER_DAY;
}

function inWindow(period: PricePeriod, timestamp: number): boolean {
  const window = period.timeOfDay;
  if (window === undefined) return true;
  const msOfDay = ((timestamp % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY;
  const second = msOfDay / 1000;
  return window.endSecond < window.startSecond
    ? second >= window.startSecond || second < window.endSecond
    : second >= window.startSecond && second < window.endSecond;
}

/** Index of the period in force at `timestamp`, or -1 (custom prices not yet in force). */
export function selectPeriod(resolved: ResolvedModel, timestamp: number): number {
  const periods = resolved.periods;
  // Same order as genai-prices: the last period whose constraint holds wins.
  for (let index = periods.length - 1; index >= 0; index -= 1) {
    const period = periods[index] as PricePeriod;
    if (timestamp >= period.startMs && inWindow(period, timestamp)) return index;
  }
  return resolved.selection === 'table' ? 0 : -1;
}

let lastDayNumber = Number.NaN;
// Stryker disable next-line StringLiteral: never read before the first call sets it (NaN equals no day)
let lastDayText = '';

/** `YYYY-MM-DD` (UTC) of an epoch-ms timestamp, memoised for the last day seen. */
export function utcDay(timestamp: number): string {
  const day = Math.floor(timestamp / MS_PER_DAY);
  // Stryker disable next-line ConditionalExpression: the memo saves time only; recomputing gives the same text
  if (day !== lastDayNumber) {
    lastDayText = new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
    lastDayNumber = day;
  }
  return lastDayText;
}

/** True for a timestamp `new Date()` can represent (about ±273,790 years around 1970). */
export function isValidTimestamp(timestamp: unknown): timestamp is number {
  // Number.isFinite is false for every non-number.
  return Number.isFinite(timestamp) && Math.abs(timestamp as number) <= 8.64e15;
}

function lineCost(tokens: number, value: Rate): PicoUsd {
  // Stryker disable next-line ConditionalExpression: a fast path; zero tokens price to 0n either way
  if (tokens === 0) return 0n;
  // Stryker disable next-line ConditionalExpression: perToken is set only when exact, where priceTokens gives the same product
  return value.perToken === undefined ? priceTokens(tokens, value.perMillion) : BigInt(tokens) * value.perToken;
}

function isCount(value: unknown): value is number {
  // Number.isSafeInteger is false for every non-number.
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Why `usage` cannot be priced, or undefined when it is well formed. */
export function usageProblem(usage: TokenUsage | undefined): string | undefined {
  if (typeof usage !== 'object' || usage === null) return 'usage must be an object';
  const { input, output, cacheRead = 0, cacheWrite = 0, cacheWrite1h = 0, reasoning = 0 } = usage;
  if (!isCount(input)) return `usage.input must be a non-negative integer; got ${String(input)}`;
  if (!isCount(output)) return `usage.output must be a non-negative integer; got ${String(output)}`;
  if (!isCount(cacheRead)) return `usage.cacheRead must be a non-negative integer; got ${String(cacheRead)}`;
  if (!isCount(cacheWrite)) return `usage.cacheWrite must be a non-negative integer; got ${String(cacheWrite)}`;
  if (!isCount(cacheWrite1h)) return `usage.cacheWrite1h must be a non-negative integer; got ${String(cacheWrite1h)}`;
  if (!isCount(reasoning)) return `usage.reasoning must be a non-negative integer; got ${String(reasoning)}`;
  if (cacheRead + cacheWrite > input) {
    return `usage.cacheRead + usage.cacheWrite (${cacheRead + cacheWrite}) exceed usage.input (${input}); input must include cache tokens (use normalizeUsage(raw, 'anthropic') for Anthropic-style usage)`;
  }
  if (cacheWrite1h > cacheWrite) return `usage.cacheWrite1h (${cacheWrite1h}) exceeds usage.cacheWrite (${cacheWrite})`;
  if (reasoning > output) return `usage.reasoning (${reasoning}) exceeds usage.output (${output}); output must include reasoning`;
  return undefined;
}

/** The band index in force for `inputTokens` (0 = base rates). */
export function selectBand(period: PricePeriod, inputTokens: number): number {
  let selected = 0;
  const bands = period.bands;
  for (let index = 0; index < bands.length; index += 1) {
    if (inputTokens > (bands[index] as RateBand).aboveInputTokens) selected = index + 1;
  }
  return selected;
}

export function ratesOf(period: PricePeriod, band: number): Rates {
  return band === 0 ? period.base : (period.bands[band - 1] as RateBand).rates;
}

/**
 * Prices `usage` (already validated) at `rates`, following the money rule of `PriceSource`:
 * `total = input + output + reasoning - cachedDiscount`, one rounding per line item.
 */
export function costOf(rates: Rates, usage: TokenUsage): CostBreakdownPico {
  const cacheRead = usage.cacheRead ?? 0;
  const cacheWrite = usage.cacheWrite ?? 0;
  const cacheWrite1h = usage.cacheWrite1h ?? 0;
  const reasoningTokens = usage.reasoning ?? 0;
  const writeRate = rates.cacheWrite ?? rates.input;
  const write1hRate = rates.cacheWrite1h ?? writeRate;
  let input =
    lineCost(usage.input - cacheWrite, rates.input) + lineCost(cacheWrite - cacheWrite1h, writeRate) + lineCost(cacheWrite1h, write1hRate);
  let cachedDiscount = 0n;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: zero cache-read tokens price to 0n either way
  if (cacheRead > 0 && rates.cacheRead !== undefined) {
    const saving = rates.input.perMillion - rates.cacheRead.perMillion;
    // A cache-read rate above the input rate (never published, but possible in custom data)
    // is a surcharge: booked as input so that no amount is ever negative.
    // Stryker disable next-line EqualityOperator: a saving of exactly 0 books 0n on either branch
    if (saving >= 0n) cachedDiscount = priceTokens(cacheRead, saving);
    else input += priceTokens(cacheRead, -saving);
  }
  let output: PicoUsd;
  let reasoning: PicoUsd;
  if (rates.reasoning === undefined) {
    output = lineCost(usage.output, rates.output);
    reasoning = 0n;
  } else {
    output = lineCost(usage.output - reasoningTokens, rates.output);
    reasoning = lineCost(reasoningTokens, rates.reasoning);
  }
  return { input, output, reasoning, cachedDiscount };
}

function usd(value: Rate): number {
  return picoToUsd(value.perMillion);
}

/** Builds the wire snapshot of the prices used. */
export function buildTier(
  resolved: ResolvedModel,
  period: PricePeriod,
  band: number,
  rates: Rates,
  pricingDate: string,
  multiplier: number,
): PricingTier {
  const tier: PricingTier = {
    system: resolved.system,
    model: resolved.model,
    input_per_million_usd: usd(rates.input),
    output_per_million_usd: usd(rates.output),
    effective_date: period.startDate ?? pricingDate,
  };
  if (rates.cacheRead !== undefined) tier.cached_input_per_million_usd = usd(rates.cacheRead);
  if (rates.cacheWrite !== undefined) tier.cache_write_per_million_usd = usd(rates.cacheWrite);
  if (rates.cacheWrite1h !== undefined) tier.cache_write_1h_per_million_usd = usd(rates.cacheWrite1h);
  if (rates.reasoning !== undefined) tier.reasoning_per_million_usd = usd(rates.reasoning);
  if (band > 0) tier.tier_threshold_tokens = (period.bands[band - 1] as RateBand).aboveInputTokens;
  tier.data_source = resolved.dataSource;
  if (multiplier !== 1) tier.multiplier = multiplier;
  return Object.freeze(tier);
}

/** Unpriced result helper. */
export function unpriced(code: UnpricedCode, reason: string): UnpricedCall {
  return Object.freeze({ status: 'unpriced', reason, code });
}

/** The model and provider of a request, checked (`providerKey` is `''` for none), or why it cannot be priced. */
export function requestKey(request: PriceRequest): { model: string; provider: string | undefined; providerKey: string } | UnpricedCall {
  if (typeof request !== 'object' || request === null) return unpriced('invalid_request', 'request must be an object');
  const { model, provider } = request;
  if (typeof model !== 'string' || model.trim() === '') {
    return unpriced('invalid_request', `model must be a non-empty string; got ${String(model)}`);
  }
  const providerKey = typeof provider === 'string' ? provider : '';
  return { model, provider: providerKey === '' ? undefined : providerKey, providerKey };
}

/**
 * Prices one call against a resolved model: the hot path shared by every source. Never throws
 * for well-formed `resolved`; bad usage or timestamps come back unpriced.
 */
export function priceResolved(
  resolved: ResolvedModel,
  usage: TokenUsage,
  timestamp: number,
  requestMultiplier: number | string | undefined,
): PricedCall | UnpricedCall | undefined {
  if (!isValidTimestamp(timestamp)) {
    return unpriced('invalid_request', `timestamp must be epoch milliseconds; got ${String(timestamp)}`);
  }
  const problem = usageProblem(usage);
  if (problem !== undefined) return unpriced('invalid_usage', problem);
  const periodIndex = selectPeriod(resolved, timestamp);
  if (periodIndex < 0) return undefined;
  const period = resolved.periods[periodIndex] as PricePeriod;
  const band = selectBand(period, usage.input);
  const pricingDate = utcDay(timestamp);
  let rates = ratesOf(period, band);
  let tier: PricingTier | undefined;
  if (requestMultiplier === undefined || requestMultiplier === 1 || requestMultiplier === '1') {
    // Undated periods carry the pricing date as their effective date, so snapshots live for one day.
    if (resolved.snapshotDay !== pricingDate) {
      resolved.snapshots = new Map();
      resolved.snapshotDay = pricingDate;
    }
    // Stryker disable next-line ArithmeticOperator: `- band` keys stay distinct too (band < 1024); a band collision (`/`) is pinned by the tiers test
    const key = periodIndex * 1024 + band;
    tier = resolved.snapshots.get(key);
    if (tier === undefined) {
      tier = buildTier(resolved, period, band, rates, pricingDate, Number(period.multiplier));
      resolved.snapshots.set(key, tier);
    }
  } else {
    let factor: number;
    try {
      rates = scaleRates(rates, requestMultiplier);
      factor = Number(period.multiplier) * Number(requestMultiplier);
    } catch {
      return unpriced('invalid_request', `multiplier must be a finite, non-negative number; got ${String(requestMultiplier)}`);
    }
    tier = buildTier(resolved, period, band, rates, pricingDate, factor);
  }
  return { status: 'priced', cost: costOf(rates, usage), pricingDate, tier };
}
