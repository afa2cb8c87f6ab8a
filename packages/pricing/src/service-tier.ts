import { formatPico, invalidInput, scalePico, usdToPico } from '@costspan/core';
import type { PriceRequest, PriceResult, UnpricedCall } from './price-source.js';
import { unpriced } from './rate-card.js';

/**
 * Factors applied to a call's rates by the service tier that served it (`PriceRequest.serviceTier`),
 * e.g. `{ flex: 0.5, priority: 2 }`. Tier names are matched case-insensitively. Numbers or decimal
 * strings, finite and ≥ 0, kept exactly (to the 12th decimal).
 */
export type ServiceTierMultipliers = Readonly<Record<string, number | string>>;

/**
 * The multipliers used when a source is given none. `flex`: OpenAI prices Flex processing at
 * its Batch API rates, half the standard ones, for every model that offers it; `batch`:
 * Anthropic's Message Batches (reported as `service_tier: "batch"`) are half price too.
 * Priority tiers have no single factor (OpenAI's differs per model): give your own, or
 * register the tier's prices as a custom price.
 */
export const DEFAULT_SERVICE_TIER_MULTIPLIERS: ServiceTierMultipliers = Object.freeze({ flex: '0.5', batch: '0.5' });

/** Tiers priced at the standard rates: they need no multiplier and are never told as unpriced tiers. */
const STANDARD_TIERS = new Set(['default', 'standard', 'auto', 'on_demand']);

/**
 * Checks and normalises service tier multipliers (lower-cased names).
 *
 * @throws CostspanError `invalid_argument` naming `serviceTierMultipliers.<tier>` for a bad factor
 */
export function compileServiceTierMultipliers(multipliers: ServiceTierMultipliers | undefined): ReadonlyMap<string, number | string> {
  const compiled = new Map<string, number | string>();
  const given = multipliers ?? DEFAULT_SERVICE_TIER_MULTIPLIERS;
  if (typeof given !== 'object' || given === null) {
    throw invalidInput('invalid_argument', 'serviceTierMultipliers', given, 'an object of tier names to factors');
  }
  for (const [tier, factor] of Object.entries(given)) {
    const field = `serviceTierMultipliers.${tier}`;
    try {
      usdToPico(factor, field);
    } catch {
      throw invalidInput('invalid_argument', field, factor, 'a finite, non-negative number');
    }
    compiled.set(tier.toLowerCase(), factor);
  }
  return compiled;
}

/** The request's service tier, lower-cased, when it is not a standard one; else undefined. */
export function servedTier(request: PriceRequest): string | undefined {
  const tier = typeof request.serviceTier === 'string' ? request.serviceTier.toLowerCase() : undefined;
  return tier === undefined || tier === '' || STANDARD_TIERS.has(tier) ? undefined : tier;
}

/** The factor to price a request with, and whether its service tier changed it. */
export interface TierFactor {
  /** `request.multiplier` times the tier's factor; undefined when neither applies. */
  factor: number | string | undefined;
  /** True when a tier factor applied, false when the tier has none here, undefined for a standard tier or none. */
  applied: boolean | undefined;
}

/**
 * The multiplier of a request: its own `multiplier` times its service tier's, multiplied once
 * exactly (both as decimals, the product kept to the 12th decimal) so the rates are scaled, and
 * rounded, a single time as before.
 */
export function tierFactor(request: PriceRequest, tiers: ReadonlyMap<string, number | string>): TierFactor | UnpricedCall {
  const tier = servedTier(request);
  if (tier === undefined) return { factor: request.multiplier, applied: undefined };
  const factor = tiers.get(tier);
  if (factor === undefined) return { factor: request.multiplier, applied: false };
  const own = request.multiplier;
  if (own === undefined || own === 1 || own === '1') return { factor, applied: true };
  try {
    return { factor: formatPico(scalePico(usdToPico(own), factor)), applied: true };
  } catch {
    return unpriced('invalid_request', `multiplier must be a finite, non-negative number; got ${String(own)}`);
  }
}

/** Marks a priced result with whether its service tier was applied (see {@link TierFactor.applied}). */
export function withTier<Result extends PriceResult | undefined>(result: Result, applied: boolean | undefined): Result {
  if (result === undefined || result.status !== 'priced' || applied === undefined) return result;
  return { ...result, serviceTierApplied: applied };
}
