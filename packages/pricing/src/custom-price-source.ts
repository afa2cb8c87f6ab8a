import { invalidInput, usdToPico, type PicoUsd } from '@costspan/core';
import { BoundedMemo, DEFAULT_CACHE_SIZE, UnknownModelNotifier, type UnknownModelHandler } from './bounded-memo.js';
import { canonicalProvider, nameCandidates, type NameCandidate } from './model-name.js';
import type { PriceRequest, PriceResult, PriceSource, UnpricedCall } from './price-source.js';
import {
  priceResolved,
  requestKey,
  rate,
  scalePeriods,
  unpriced,
  utcDay,
  type PricePeriod,
  type Rate,
  type Rates,
  type ResolvedModel,
} from './rate-card.js';
import { compileServiceTierMultipliers, servedTier, tierFactor, withTier, type ServiceTierMultipliers } from './service-tier.js';

/** Rates that replace the base rates of a {@link CustomModelPrice} for every token of a long call. */
export interface CustomPriceTier {
  /** The tier applies when the call's input tokens (cache included) exceed this count. */
  aboveInputTokens: number;
  /** USD per million input tokens in this tier; the base rate when omitted. */
  inputPerMillion?: number | string;
  /** USD per million output tokens in this tier; the base rate when omitted. */
  outputPerMillion?: number | string;
  /** USD per million cache-read tokens in this tier; the base rate when omitted. */
  cacheReadPerMillion?: number | string;
  /** USD per million cache-write tokens in this tier; the base rate when omitted. */
  cacheWritePerMillion?: number | string;
  /** USD per million 1-hour cache-write tokens in this tier; the base rate when omitted. */
  cacheWrite1hPerMillion?: number | string;
  /** USD per million reasoning tokens in this tier; the base rate when omitted. */
  reasoningPerMillion?: number | string;
}

/**
 * Your own prices for a model: a fine-tune, a self-hosted model, a model newer than the data,
 * or a negotiated rate that overrides the table. Prices are USD per million tokens, as numbers
 * or decimal strings (`'0.075'`), and are kept exactly.
 *
 * @example
 * ```ts
 * source.register({ model: 'acme-llm', provider: 'acme', inputPerMillion: 1, outputPerMillion: 3 });
 * source.register({ model: 'gpt-4o', provider: 'openai', inputPerMillion: 2.5, outputPerMillion: 10, multiplier: 0.9 });
 * ```
 */
export interface CustomModelPrice {
  /** Model id as callers write it (matched case-insensitively, with the same prefix and date rules as the table). */
  model: string;
  /** Provider it applies to; any provider when omitted. */
  provider?: string;
  /** USD per million input tokens. */
  inputPerMillion: number | string;
  /** USD per million output tokens. */
  outputPerMillion: number | string;
  /** USD per million cache-read tokens; the input rate when omitted (no discount). */
  cacheReadPerMillion?: number | string;
  /** USD per million cache-write tokens (5-minute TTL); the input rate when omitted. */
  cacheWritePerMillion?: number | string;
  /** USD per million 1-hour cache-write tokens; the cache-write rate when omitted. */
  cacheWrite1hPerMillion?: number | string;
  /** USD per million reasoning tokens; reasoning is priced as output when omitted. */
  reasoningPerMillion?: number | string;
  /** Long-context tiers that re-price every token of a call above a size. */
  tiers?: readonly CustomPriceTier[];
  /**
   * When these prices start (`YYYY-MM-DD` is UTC midnight, or an ISO timestamp, epoch ms or `Date`).
   * Register the same model again with another `startDate` to record a price change. Calls before
   * the earliest start fall through to the next source (the table). Default: always.
   */
  startDate?: string | number | Date;
  /** Factor applied to every rate (negotiated, batch or flex discount). Default 1. */
  multiplier?: number | string;
  /**
   * The service tier these prices are for (`priority`, `flex`, ...; matched case-insensitively
   * against `PriceRequest.serviceTier`): they price only calls served at that tier, instead of the
   * tier's factor in `serviceTierMultipliers`; other calls use the model's other prices. Default:
   * the standard prices.
   */
  serviceTier?: string;
}

/** Options of {@link CustomPriceSource}. */
export interface CustomPriceSourceOptions {
  /** Prices to register up front. */
  prices?: readonly CustomModelPrice[];
  /** Called once per (provider, model) this source cannot price, when used on its own. */
  onUnknownModel?: UnknownModelHandler;
  /** Maximum number of memoised (provider, model) lookups. Default 2048. */
  cacheSize?: number;
  /** Factors by served service tier; see `DefaultPriceSourceOptions.serviceTierMultipliers`. */
  serviceTierMultipliers?: ServiceTierMultipliers;
}

interface Registration {
  readonly provider: string | undefined;
  /** Lower-cased; undefined for the standard prices. */
  readonly serviceTier: string | undefined;
  readonly model: string;
  periods: PricePeriod[];
}

const NO_CUSTOM_PRICE: UnpricedCall = unpriced('unknown_model', 'no custom price registered for this model');

function perMillion(value: number | string | undefined, field: string): PicoUsd | undefined {
  if (value === undefined) return undefined;
  // usdToPico refuses non-numbers, blank text, negatives, NaN and Infinity; refused as a price here.
  try {
    return usdToPico(value, field);
  } catch {
    throw invalidInput('invalid_price', field, value, 'a finite, non-negative number of USD per million tokens');
  }
}

function optionalRate(value: PicoUsd | undefined): Rate | undefined {
  return value === undefined ? undefined : rate(value);
}

function parseStart(value: CustomModelPrice['startDate']): number {
  if (value === undefined) return Number.NEGATIVE_INFINITY;
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string'
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw invalidInput('invalid_argument', 'startDate', value, 'a date (`YYYY-MM-DD`, ISO timestamp, epoch ms or Date)');
  }
  return ms;
}

function compileCustom(price: CustomModelPrice): PricePeriod {
  const base: Rates = {
    input: rate(perMillion(price.inputPerMillion, 'inputPerMillion') ?? -1n),
    output: rate(perMillion(price.outputPerMillion, 'outputPerMillion') ?? -1n),
    cacheRead: optionalRate(perMillion(price.cacheReadPerMillion, 'cacheReadPerMillion')),
    cacheWrite: optionalRate(perMillion(price.cacheWritePerMillion, 'cacheWritePerMillion')),
    cacheWrite1h: optionalRate(perMillion(price.cacheWrite1hPerMillion, 'cacheWrite1hPerMillion')),
    reasoning: optionalRate(perMillion(price.reasoningPerMillion, 'reasoningPerMillion')),
  };
  if (base.input.perMillion < 0n)
    throw invalidInput(
      'invalid_price',
      'inputPerMillion',
      price.inputPerMillion,
      'a finite, non-negative number of USD per million tokens',
    );
  if (base.output.perMillion < 0n)
    throw invalidInput(
      'invalid_price',
      'outputPerMillion',
      price.outputPerMillion,
      'a finite, non-negative number of USD per million tokens',
    );
  if (price.tiers !== undefined && !Array.isArray(price.tiers))
    throw invalidInput('invalid_argument', 'tiers', price.tiers, 'an array of tiers');
  const tiers: readonly CustomPriceTier[] = price.tiers ?? [];
  const bands = tiers
    .map((tier, index) => {
      const field = `tiers[${index}]`;
      if (!Number.isSafeInteger(tier.aboveInputTokens) || tier.aboveInputTokens < 0) {
        throw invalidInput('invalid_tokens', `${field}.aboveInputTokens`, tier.aboveInputTokens, 'a non-negative integer');
      }
      const pick = (value: number | string | undefined, name: string, fallback: Rate | undefined): Rate | undefined =>
        value === undefined ? fallback : rate(perMillion(value, `${field}.${name}`) as PicoUsd);
      const rates: Rates = {
        input: pick(tier.inputPerMillion, 'inputPerMillion', base.input) as Rate,
        output: pick(tier.outputPerMillion, 'outputPerMillion', base.output) as Rate,
        cacheRead: pick(tier.cacheReadPerMillion, 'cacheReadPerMillion', base.cacheRead),
        cacheWrite: pick(tier.cacheWritePerMillion, 'cacheWritePerMillion', base.cacheWrite),
        cacheWrite1h: pick(tier.cacheWrite1hPerMillion, 'cacheWrite1hPerMillion', base.cacheWrite1h),
        reasoning: pick(tier.reasoningPerMillion, 'reasoningPerMillion', base.reasoning),
      };
      return { aboveInputTokens: tier.aboveInputTokens, rates };
    })
    .sort((left, right) => left.aboveInputTokens - right.aboveInputTokens);
  const startMs = parseStart(price.startDate);
  const period: PricePeriod = {
    startMs,
    startDate: Number.isFinite(startMs) ? utcDay(startMs) : undefined,
    timeOfDay: undefined,
    base,
    bands,
    multiplier: 1,
  };
  if (price.multiplier === undefined) return period;
  // scalePico refuses a bad factor as `invalid_argument` naming `multiplier`.
  return scalePeriods([period], price.multiplier)[0] as PricePeriod;
}

function describe(model: string, provider: string | undefined): string {
  return provider === undefined ? `model "${model}"` : `model "${model}" (provider "${provider}")`;
}

/**
 * Prices models from prices you register. Put it in front of the table with
 * {@link CompositePriceSource} (as {@link createDefaultPriceSource} does) so your prices win.
 * Registration validates eagerly and throws `CostspanError` (`invalid_price`, `invalid_name`, ...);
 * {@link CustomPriceSource.price} never throws.
 */
export class CustomPriceSource implements PriceSource {
  private readonly byModel = new Map<string, Registration[]>();
  private readonly memo: BoundedMemo<ResolvedModel | UnpricedCall>;
  private readonly notifier: UnknownModelNotifier;
  private readonly serviceTiers: ReadonlyMap<string, number | string>;
  /** Tiers some registration has its own prices for. */
  private readonly pricedTiers = new Set<string>();
  private revisionCount = 0;

  constructor(options: CustomPriceSourceOptions = {}) {
    // Stryker disable next-line LogicalOperator: the cache size changes memory and speed only, never a price
    this.memo = new BoundedMemo(options.cacheSize ?? DEFAULT_CACHE_SIZE);
    this.notifier = new UnknownModelNotifier(options.onUnknownModel);
    this.serviceTiers = compileServiceTierMultipliers(options.serviceTierMultipliers);
    for (const price of options.prices ?? []) this.register(price);
  }

  /**
   * Registers (or replaces) prices for a model. Registering the same model and provider with a
   * different `startDate` adds a dated price change; the same `startDate` replaces the prices.
   *
   * @throws CostspanError `invalid_name` for an empty model, `invalid_price` for a negative,
   *   NaN or non-numeric price, `invalid_argument` for a bad multiplier or start date,
   *   `invalid_tokens` for a bad tier threshold
   */
  register(price: CustomModelPrice): this {
    if (typeof price !== 'object' || price === null) throw invalidInput('invalid_argument', 'price', price, 'an object');
    if (typeof price.model !== 'string' || price.model.trim() === '') {
      throw invalidInput('invalid_name', 'model', price.model, 'a non-empty model id');
    }
    if (price.provider !== undefined && (typeof price.provider !== 'string' || price.provider.trim() === '')) {
      throw invalidInput('invalid_name', 'provider', price.provider, 'a non-empty provider name, or undefined');
    }
    if (price.serviceTier !== undefined && (typeof price.serviceTier !== 'string' || price.serviceTier.trim() === '')) {
      throw invalidInput('invalid_name', 'serviceTier', price.serviceTier, 'a non-empty service tier name, or undefined');
    }
    const period = compileCustom(price);
    const key = price.model.trim().toLowerCase();
    const provider = canonicalProvider(price.provider);
    const serviceTier = price.serviceTier?.trim().toLowerCase();
    const registrations = this.byModel.get(key) ?? [];
    let registration = registrations.find((entry) => entry.provider === provider && entry.serviceTier === serviceTier);
    if (registration === undefined) {
      if (serviceTier !== undefined) this.pricedTiers.add(serviceTier);
      // Stryker disable next-line ArrayDeclaration: a stray non-period entry has no startMs, so selectPeriod never picks it
      registration = { provider, serviceTier, model: price.model.trim(), periods: [] };
      registrations.push(registration);
    }
    // Stryker disable next-line MethodExpression,ConditionalExpression: a kept duplicate sorts before the new period (stable sort) and the last one wins
    registration.periods = [...registration.periods.filter((existing) => existing.startMs !== period.startMs), period].sort(
      (left, right) => left.startMs - right.startMs,
    );
    this.byModel.set(key, registrations);
    this.memo.clear();
    this.revisionCount += 1;
    return this;
  }

  /** Removes every registered price of a model (for one provider, or the provider-less one). */
  unregister(model: string, provider?: string): boolean {
    const key = model.trim().toLowerCase();
    const registrations = this.byModel.get(key);
    if (registrations === undefined) return false;
    const canonical = canonicalProvider(provider);
    const remaining = registrations.filter((entry) => entry.provider !== canonical);
    if (remaining.length === registrations.length) return false;
    // Stryker disable next-line ConditionalExpression: an empty list left behind resolves to no price, as a missing key does
    if (remaining.length === 0) this.byModel.delete(key);
    else this.byModel.set(key, remaining);
    this.memo.clear();
    this.revisionCount += 1;
    return true;
  }

  /** Number of registered models (per provider). */
  get size(): number {
    let count = 0;
    for (const registrations of this.byModel.values()) count += registrations.length;
    return count;
  }

  /** Prices one call from the registered prices in force at `request.timestamp`. Never throws. */
  price(request: PriceRequest): PriceResult {
    if (this.byModel.size === 0) return this.miss(request);
    try {
      const key = requestKey(request);
      if ('status' in key) return key;
      const { model, provider, providerKey } = key;
      const tier = servedTier(request);
      if (tier !== undefined && this.pricedTiers.has(tier)) {
        // The tier's own prices, when registered and in force, instead of its factor.
        const tiered = this.memo.getOrResolve(`${providerKey}\u0000${tier}`, model, () => this.resolve(model, provider, tier));
        const result = 'status' in tiered ? undefined : priceResolved(tiered, request.usage, request.timestamp, request.multiplier);
        if (result !== undefined) return withTier(result, true);
      }
      const entry = this.memo.getOrResolve(providerKey, model, () => this.resolve(model, provider));
      if ('status' in entry) return this.miss(request);
      const factor = tierFactor(request, this.serviceTiers);
      if ('status' in factor) return factor;
      return (
        withTier(priceResolved(entry, request.usage, request.timestamp, factor.factor), factor.applied) ??
        unpriced('no_price_in_force', `no custom price for ${describe(model, provider)} in force at ${String(request.timestamp)}`)
      );
    } catch (error) {
      return unpriced('source_error', `pricing failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private miss(request: PriceRequest): UnpricedCall {
    if (typeof request === 'object' && request !== null && typeof request.model === 'string') {
      this.notifier.notify(request.model, typeof request.provider === 'string' ? request.provider : undefined);
    }
    return NO_CUSTOM_PRICE;
  }

  private resolve(model: string, provider: string | undefined, serviceTier?: string): ResolvedModel | UnpricedCall {
    const requestProvider = canonicalProvider(provider);
    for (const candidate of nameCandidates(model, provider)) {
      const resolved = this.resolveCandidate(candidate, requestProvider, serviceTier);
      if (resolved !== undefined) return resolved;
    }
    return NO_CUSTOM_PRICE;
  }

  /**
   * The registration for exactly one name candidate (no further name rules), or undefined.
   * `requestProvider` is the request's canonical provider. `DefaultPriceSource` uses this
   * to try each candidate against the custom prices and then the table (most specific name wins).
   *
   * @internal
   */
  resolveCandidate(candidate: NameCandidate, requestProvider: string | undefined, serviceTier?: string): ResolvedModel | undefined {
    const registrations = this.byModel.get(candidate.model)?.filter((entry) => entry.serviceTier === serviceTier);
    if (registrations === undefined || registrations.length === 0) return undefined;
    // A provider-specific registration beats a provider-less one.
    const match =
      // Stryker disable next-line ConditionalExpression: without the guard an undefined provider matches the provider-less entry, the next find's pick
      registrations.find((entry) => entry.provider !== undefined && entry.provider === candidate.provider) ??
      registrations.find((entry) => entry.provider === undefined) ??
      (requestProvider === undefined ? registrations[0] : undefined);
    if (match === undefined) return undefined;
    return {
      system: match.provider ?? candidate.provider ?? requestProvider ?? 'custom',
      model: match.model,
      dataSource: 'custom',
      periods: match.periods,
      // Stryker disable next-line StringLiteral: only 'table' is compared; any other value means custom
      selection: 'custom',
      snapshots: new Map(),
      // Stryker disable next-line StringLiteral: no pricing date is '' or the mutant text, so the first call builds snapshots either way
      snapshotDay: '',
    };
  }

  /**
   * Whether some registration has its own prices for `tier` (lower-cased).
   *
   * @internal
   */
  hasTierPrices(tier: string): boolean {
    return this.pricedTiers.has(tier);
  }

  /**
   * Counts changes to the registered prices, so a wrapper's memo can tell it is stale.
   *
   * @internal
   */
  get revision(): number {
    return this.revisionCount;
  }
}
