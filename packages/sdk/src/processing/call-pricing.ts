import {
  costFromTotal,
  createDefaultPriceSource,
  type CostBreakdownPico,
  type PriceRequest,
  type PriceResult,
  type PriceSource,
  type PricingTier,
} from '@costspan/pricing';
import { ATTR } from '../attributes.js';
import type { PricingStatus } from '../events/cost-event.js';
import { totalCost } from './cost-totals.js';
import { notice } from '../notice.js';
import { reportError } from '../report-error.js';
import type { RecordedCall } from '../tracing/span-state.js';

/** A recorded call with its cost and how the cost was obtained. */
export interface PricedCall {
  call: RecordedCall;
  cost: CostBreakdownPico;
  status: PricingStatus;
  tier: PricingTier | undefined;
  pricingDate: string | undefined;
  /**
   * The name the price source priced (the response model, else the requested one when only it
   * has a price); undefined when the source did not price the call.
   */
  pricedModel?: string | undefined;
}

const ZERO_COST: CostBreakdownPico = { input: 0n, output: 0n, reasoning: 0n, cachedDiscount: 0n };

let sharedDefault: PriceSource | undefined;

/**
 * The built-in price table (`createDefaultPriceSource()` of `@costspan/pricing`), one per
 * process: every processor shares its memoised resolutions.
 */
export function defaultPriceSource(): PriceSource {
  sharedDefault ??= createDefaultPriceSource();
  return sharedDefault;
}

/**
 * Prices recorded calls: a caller's or provider's cost wins (a reported total is split in
 * the table's proportions), else the price source prices the usage by the response model (or,
 * when only it has a price, the requested model, told once per response model), else the call
 * is unpriced at $0, counted, and told once per model.
 */
export class CallPricer {
  /** Calls that could not be priced. */
  unpricedCalls = 0;

  /** @param priceSource - null when pricing is off (the caller opted out) */
  constructor(private readonly priceSource: PriceSource | null) {}

  price(call: RecordedCall, timestamp: number): PricedCall {
    const source = this.priceSource;
    if (call.cost !== undefined) {
      let cost = call.cost;
      if (call.costTotalOnly === true && source !== null) {
        // A reported total: split it in the table's proportions so input/output stay meaningful.
        try {
          const table = priceByName(source, call, timestamp);
          if (table.result.status === 'priced') cost = costFromTotal(totalCost(call.cost), table.result.cost);
        } catch (error) {
          reportError(error);
        }
      }
      return { call, cost, status: call.costSource ?? 'caller', tier: undefined, pricingDate: undefined };
    }
    if (source !== null) {
      try {
        const { result, model } = priceByName(source, call, timestamp);
        if (result.status === 'priced') {
          if (model !== (call.responseModel ?? call.model)) {
            notice(
              `priced_as_requested_model:${call.responseModel ?? ''}`,
              `no price for response model "${call.responseModel ?? ''}": its calls are priced as the requested model "${model}" (the event's pricing_tier names the entry used). If that is not what it costs, register a price for "${call.responseModel ?? ''}" (createDefaultPriceSource({ customPrices })) or give the cost with step.setCost.`,
            );
          }
          if (result.serviceTierApplied === false) tellUnpricedTier(call);
          return { call, cost: result.cost, status: 'priced', tier: result.tier, pricingDate: result.pricingDate, pricedModel: model };
        }
      } catch (error) {
        reportError(error);
      }
    }
    this.unpricedCalls += 1;
    const provider = call.provider === undefined ? '' : ` of provider "${call.provider}"`;
    const fix =
      source === null
        ? 'Pricing is off (priceSource: null): pass a priceSource, or give each call its cost with step.setCost.'
        : 'Register a price (createDefaultPriceSource({ customPrices: [{ model, inputPerMillion, outputPerMillion }] }) as the priceSource), or give the cost with step.setCost.';
    notice(
      `unpriced_model:${call.model}`,
      `no price for model "${call.model}"${provider}: its calls are booked at $0, marked ${ATTR.PRICING_STATUS}=unpriced and counted in unpriced_call_count. ${fix}`,
    );
    return { call, cost: ZERO_COST, status: 'unpriced', tier: undefined, pricingDate: undefined };
  }
}

function priceRequest(call: RecordedCall, model: string, timestamp: number): PriceRequest {
  return {
    model,
    ...(call.provider === undefined ? {} : { provider: call.provider }),
    usage: call.usage,
    timestamp,
    ...(call.serviceTier === undefined ? {} : { serviceTier: call.serviceTier }),
  };
}

/** Tells once per tier that calls served at a tier the price source has no factor for are priced at standard rates. */
function tellUnpricedTier(call: RecordedCall): void {
  const tier = call.serviceTier ?? '';
  notice(
    `service_tier_unpriced:${tier.toLowerCase()}`,
    `calls served at service tier "${tier}" are priced at the standard rates: the price source has no factor for that tier. Their token events carry service_tier="${tier}". Give one with createDefaultPriceSource({ serviceTierMultipliers: { ${JSON.stringify(tier)}: <factor> } }) as the priceSource, or give the cost with step.setCost.`,
  );
}

/**
 * Prices a call by the model that answered; when that name has no price but the requested model
 * has one (gateways answer with names of their own: `my-gateway/gpt-4o-xyz`), by the requested
 * model. Returns the result and the name it was priced by.
 */
function priceByName(source: PriceSource, call: RecordedCall, timestamp: number): { result: PriceResult; model: string } {
  const answered = call.responseModel ?? call.model;
  const result = source.price(priceRequest(call, answered, timestamp));
  if (result.status === 'priced' || answered === call.model) return { result, model: answered };
  const requested = source.price(priceRequest(call, call.model, timestamp));
  return requested.status === 'priced' ? { result: requested, model: call.model } : { result, model: answered };
}

/** `gen_ai.usage.cost.source` of a span's calls: `local` (the table), `caller`, `provider` or `mixed`. */
export function costSource(calls: readonly PricedCall[]): string {
  const sources = new Set(calls.map((call) => (call.status === 'priced' || call.status === 'unpriced' ? 'local' : call.status)));
  return sources.size === 1 ? ([...sources][0] ?? 'local') : 'mixed';
}

/** `llm.cost.pricing.status` of a span's calls: `unpriced` when any is. */
export function pricingStatus(calls: readonly PricedCall[]): PricingStatus {
  if (calls.some((call) => call.status === 'unpriced')) return 'unpriced';
  const first = calls[0]?.status ?? 'priced';
  return calls.every((call) => call.status === first) ? first : 'priced';
}
