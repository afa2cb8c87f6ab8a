import { calcPrice, type ModelInfo, type ModelPrice } from '@pydantic/genai-prices';
import { invalidInput, usdToPico } from '@costspan/core';
import { BoundedMemo, DEFAULT_CACHE_SIZE, UnknownModelNotifier, type UnknownModelHandler } from './bounded-memo.js';
import { canonicalProvider, nameCandidates, type NameCandidate } from './model-name.js';
import type { PriceRequest, PriceResult, PriceSource, UnpricedCall } from './price-source.js';
import { PRICING_DATA_VERSION } from './pricing-data-version.js';
import {
  parseTimeOfDay,
  priceResolved,
  requestKey,
  rate,
  scalePeriods,
  unpriced,
  type PricePeriod,
  type Rate,
  type RateBand,
  type Rates,
  type ResolvedModel,
} from './rate-card.js';
import { compileServiceTierMultipliers, tierFactor, withTier, type ServiceTierMultipliers } from './service-tier.js';

/**
 * A discount or surcharge on table prices: negotiated rates, a committed-use discount, or a
 * provider-wide batch/flex tier you always use. Rules are tried in order; the first whose
 * `provider` and `model` both match wins. Per-call discounts go in `PriceRequest.multiplier`.
 *
 * @example
 * ```ts
 * createDefaultPriceSource({ multipliers: [{ provider: 'anthropic', multiplier: 0.8 }] });
 * ```
 */
export interface PriceMultiplier {
  /** Provider it applies to (`openai`, `aws.bedrock`, ...); any provider when omitted. */
  provider?: string | undefined;
  /** Model it applies to, as requested or as named in the price data; any model when omitted. */
  model?: string | undefined;
  /** Factor applied to every rate: `0.8` for 20% off, `0.5` for batch. Finite, ≥ 0. */
  multiplier: number | string;
}

/** Options of {@link GenAiPriceSource}. */
export interface GenAiPriceSourceOptions {
  /** Maximum number of memoised (provider, model) resolutions. Default 2048. */
  cacheSize?: number;
  /** Discounts applied to table prices; see {@link PriceMultiplier}. */
  multipliers?: readonly PriceMultiplier[];
  /** Factors by served service tier; see `DefaultPriceSourceOptions.serviceTierMultipliers`. */
  serviceTierMultipliers?: ServiceTierMultipliers;
  /**
   * Called once per (provider, model) that this source cannot price, e.g. to `diag.warn`.
   * Leave it unset when the source is wrapped by a {@link CompositePriceSource}: set it there.
   */
  onUnknownModel?: UnknownModelHandler;
  /**
   * Label written as `data_source` in each tier. Default {@link PRICING_DATA_VERSION}; set your own
   * when you have replaced the data with genai-prices' `updatePrices`.
   */
  dataSource?: string;
}

const TOKEN_PRICE_KEYS = [
  'input_mtok',
  'output_mtok',
  'cache_read_mtok',
  'cache_write_mtok',
  'cache_write_1h_mtok',
  'output_reasoning_mtok',
] as const;

type TokenPriceKey = (typeof TOKEN_PRICE_KEYS)[number];

interface TieredValue {
  base: number;
  tiers: ReadonlyArray<{ start: number; price: number }>;
}

function isTiered(value: unknown): value is TieredValue {
  return typeof value === 'object' && value !== null && 'base' in value && 'tiers' in value && Array.isArray(value.tiers);
}

/** The price of one key for input sizes above `threshold` (genai-prices: a tier applies when input > start). */
function priceAt(value: ModelPrice[string], threshold: number): Rate | undefined {
  if (typeof value === 'number') return rate(usdToPico(value));
  if (!isTiered(value)) return undefined;
  let price = value.base;
  for (const tier of value.tiers) if (threshold >= tier.start) price = tier.price;
  return rate(usdToPico(price));
}

const ZERO: Rate = rate(0n);

function ratesAt(prices: ModelPrice, threshold: number): Rates {
  const get = (key: TokenPriceKey): Rate | undefined => priceAt(prices[key], threshold);
  return {
    input: get('input_mtok') ?? ZERO,
    output: get('output_mtok') ?? ZERO,
    cacheRead: get('cache_read_mtok'),
    cacheWrite: get('cache_write_mtok'),
    cacheWrite1h: get('cache_write_1h_mtok'),
    reasoning: get('output_reasoning_mtok'),
  };
}

function compilePrices(prices: ModelPrice, constraint: unknown): PricePeriod {
  const thresholds = new Set<number>();
  for (const key of TOKEN_PRICE_KEYS) {
    const value = prices[key];
    if (isTiered(value)) for (const tier of value.tiers) thresholds.add(tier.start);
  }
  const bands: RateBand[] = [...thresholds]
    .sort((left, right) => left - right)
    .map((threshold) => ({ aboveInputTokens: threshold, rates: ratesAt(prices, threshold) }));
  let startMs = Number.NEGATIVE_INFINITY;
  let startDate: string | undefined;
  let timeOfDay: PricePeriod['timeOfDay'];
  if (typeof constraint === 'object' && constraint !== null) {
    const fields = constraint as Record<string, unknown>;
    if (typeof fields.start_date === 'string') {
      startDate = fields.start_date;
      startMs = Date.parse(fields.start_date);
    } else if (typeof fields.start_time === 'string' && typeof fields.end_time === 'string') {
      const startSecond = parseTimeOfDay(fields.start_time);
      const endSecond = parseTimeOfDay(fields.end_time);
      if (startSecond !== undefined && endSecond !== undefined) timeOfDay = { startSecond, endSecond };
    }
    // A constraint we cannot read never applies (genai-prices would throw on it).
    if (Number.isNaN(startMs) || (startDate === undefined && timeOfDay === undefined)) startMs = Number.POSITIVE_INFINITY;
  }
  return { startMs, startDate, timeOfDay, base: ratesAt(prices, -1), bands, multiplier: 1 };
}

function hasTokenPrices(prices: ModelPrice): boolean {
  return prices.input_mtok !== undefined || prices.output_mtok !== undefined;
}

function compileModel(info: ModelInfo): PricePeriod[] | undefined {
  const entries = Array.isArray(info.prices) ? info.prices : [{ prices: info.prices, constraint: undefined }];
  if (!entries.some((entry) => hasTokenPrices(entry.prices))) return undefined;
  return entries.map((entry) => compilePrices(entry.prices, entry.constraint));
}

function describe(model: string, provider: string | undefined): string {
  return provider === undefined ? `model "${model}"` : `model "${model}" (provider "${provider}")`;
}

type MemoEntry = ResolvedModel | UnpricedCall;

function validateMultipliers(rules: readonly PriceMultiplier[] | undefined): PriceMultiplier[] {
  return (rules ?? []).map((rule, index) => {
    try {
      usdToPico(rule.multiplier);
    } catch {
      throw invalidInput('invalid_argument', `multipliers[${index}].multiplier`, rule.multiplier, 'a finite, non-negative number');
    }
    return {
      ...rule,
      provider: canonicalProvider(rule.provider),
      model: rule.model?.trim().toLowerCase(),
    };
  });
}

/**
 * The default price table: `@pydantic/genai-prices` (bundled offline data, ~40 providers,
 * cache/reasoning rates, long-context tiers and dated price changes), priced exactly in pico-USD.
 *
 * Resolution of a (provider, model) name is memoised (bounded by `cacheSize`), so repeated calls
 * skip genai-prices entirely and cost well under a microsecond; the period in force is still
 * chosen per call from the timestamp. Never throws from {@link GenAiPriceSource.price}.
 * Never calls genai-prices' process-wide `updatePrices`; if you do, call {@link GenAiPriceSource.clearCache}.
 *
 * @example
 * ```ts
 * const source = new GenAiPriceSource();
 * const result = source.price({ model: 'gpt-4o', provider: 'openai', usage: { input: 1000, output: 500 }, timestamp: Date.now() });
 * ```
 */
export class GenAiPriceSource implements PriceSource {
  private readonly memo: BoundedMemo<MemoEntry>;
  private readonly multipliers: PriceMultiplier[];
  private readonly serviceTiers: ReadonlyMap<string, number | string>;
  private readonly notifier: UnknownModelNotifier;
  private readonly dataSource: string;
  private revisionCount = 0;

  constructor(options: GenAiPriceSourceOptions = {}) {
    this.memo = new BoundedMemo(options.cacheSize ?? DEFAULT_CACHE_SIZE);
    this.multipliers = validateMultipliers(options.multipliers);
    this.serviceTiers = compileServiceTierMultipliers(options.serviceTierMultipliers);
    this.notifier = new UnknownModelNotifier(options.onUnknownModel);
    this.dataSource = options.dataSource ?? PRICING_DATA_VERSION;
  }

  /** Prices one call at the prices in force at `request.timestamp`. Never throws. */
  price(request: PriceRequest): PriceResult {
    try {
      return this.priceOrThrow(request);
    } catch (error) {
      return unpriced('source_error', `pricing failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private priceOrThrow(request: PriceRequest): PriceResult {
    const key = requestKey(request);
    if ('status' in key) return key;
    const { model, provider, providerKey } = key;
    const entry = this.memo.getOrResolve(providerKey, model, () => this.resolve(model, provider));
    if ('status' in entry) {
      if (entry.code === 'unknown_model') this.notifier.notify(model, provider);
      return entry;
    }
    const factor = tierFactor(request, this.serviceTiers);
    if ('status' in factor) return factor;
    // Table selection always finds a period (the first one is the fallback, as in genai-prices).
    return (
      withTier(priceResolved(entry, request.usage, request.timestamp, factor.factor), factor.applied) ??
      unpriced('no_price_in_force', `no price in force for ${describe(model, provider)} at ${String(request.timestamp)}`)
    );
  }

  /** Forgets every memoised resolution (call after replacing the data with `updatePrices`). */
  clearCache(): void {
    this.memo.clear();
    this.revisionCount += 1;
  }

  private resolve(model: string, provider: string | undefined): MemoEntry {
    for (const candidate of nameCandidates(model, provider)) {
      const resolved = this.resolveCandidate(model, provider, candidate);
      if (resolved !== undefined) return resolved;
    }
    return this.unknown(model, provider);
  }

  /**
   * What the table holds for exactly one name candidate of the request (`model`, `provider`):
   * its prices (with this source's multipliers), `no_token_prices`, or undefined when the data
   * has no such name. `DefaultPriceSource` uses this to try each candidate against the custom
   * prices and then the table (most specific name wins).
   *
   * @internal
   */
  resolveCandidate(model: string, provider: string | undefined, candidate: NameCandidate): MemoEntry | undefined {
    let found: ReturnType<typeof calcPrice>;
    try {
      found = calcPrice({}, candidate.model, candidate.provider === undefined ? {} : { providerId: candidate.provider });
    } catch {
      return undefined;
    }
    if (found === null) return undefined;
    let periods: PricePeriod[] | undefined;
    try {
      periods = compileModel(found.model);
    } catch {
      periods = undefined;
    }
    if (periods === undefined) {
      return unpriced(
        'no_token_prices',
        `${describe(model, provider)} is in ${this.dataSource} as ${found.provider.id}/${found.model.id} but has no per-token prices`,
      );
    }
    const multiplier = this.multiplierFor(model, provider, found.provider.id, found.model.id);
    return {
      system: found.provider.id,
      model: found.model.id,
      dataSource: this.dataSource,
      periods: multiplier === 1 ? periods : scalePeriods(periods, multiplier),
      selection: 'table',
      snapshots: new Map(),
      snapshotDay: '',
    };
  }

  /**
   * The `unknown_model` result for a name no candidate matched.
   *
   * @internal
   */
  unknown(model: string, provider: string | undefined): UnpricedCall {
    return unpriced('unknown_model', `no price for ${describe(model, provider)} in ${this.dataSource}; register one with register()`);
  }

  /**
   * Counts {@link GenAiPriceSource.clearCache} calls, so a wrapper's memo can tell it is stale.
   *
   * @internal
   */
  get revision(): number {
    return this.revisionCount;
  }

  private multiplierFor(model: string, provider: string | undefined, system: string, tableModel: string): number | string {
    const requested = model.trim().toLowerCase();
    const requestedProvider = canonicalProvider(provider);
    for (const rule of this.multipliers) {
      if (rule.provider !== undefined && rule.provider !== system && rule.provider !== requestedProvider) continue;
      if (rule.model !== undefined && rule.model !== requested && rule.model !== tableModel) continue;
      return rule.multiplier;
    }
    return 1;
  }
}
