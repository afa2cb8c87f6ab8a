import { picoToUsd, usdToPico, type PicoUsd } from '@costspan/core';
import type { CostBreakdownPico, TokenUsage } from '@costspan/pricing';
import type { CostBreakdownWire, TokenUsageWire } from '../events/cost-event.js';

/**
 * Running totals of cost and tokens: the unit of every roll-up. Money is exact
 * (`bigint` pico-USD) and token counts are integers, so adding totals in any
 * order, grouping or schedule gives the same result to the last digit.
 */
export interface CostTotals {
  input: PicoUsd;
  output: PicoUsd;
  reasoning: PicoUsd;
  cachedDiscount: PicoUsd;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  /** Every call: priced, unpriced and those that reported no usage. */
  callCount: number;
  /** Calls with usage that could not be priced (booked at 0). */
  unpricedCallCount: number;
  /** Calls that ran but reported no usage (no tokens, no cost). */
  usageMissingCallCount: number;
}

/** A fresh, zero {@link CostTotals}. */
export function emptyTotals(): CostTotals {
  return {
    input: 0n,
    output: 0n,
    reasoning: 0n,
    cachedDiscount: 0n,
    inputTokens: 0,
    outputTokens: 0,
    totalTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    callCount: 0,
    unpricedCallCount: 0,
    usageMissingCallCount: 0,
  };
}

/** `input + output + reasoning - cachedDiscount`, exact. */
export function totalCost(cost: CostBreakdownPico | CostTotals): PicoUsd {
  return cost.input + cost.output + cost.reasoning - cost.cachedDiscount;
}

/** Adds one model call to `target` in place. */
export function addCall(target: CostTotals, cost: CostBreakdownPico, usage: TokenUsage, totalTokens: number, priced: boolean): void {
  target.input += cost.input;
  target.output += cost.output;
  target.reasoning += cost.reasoning;
  target.cachedDiscount += cost.cachedDiscount;
  target.inputTokens += usage.input;
  target.outputTokens += usage.output;
  target.totalTokens += totalTokens;
  target.cacheReadTokens += usage.cacheRead ?? 0;
  target.cacheWriteTokens += usage.cacheWrite ?? 0;
  target.reasoningTokens += usage.reasoning ?? 0;
  target.callCount += 1;
  if (!priced) target.unpricedCallCount += 1;
}

/**
 * Adds one call as a token event carries it (its wire `cost` and `token_usage`) to `target` in
 * place, exactly: the one decoding of wire amounts into totals, shared by `CostTracker` and the
 * CLI. A call is counted with or without usage; `priced: false` counts it unpriced.
 *
 * @throws CostspanError `invalid_cost` for an amount that is not a finite, non-negative number
 */
export function addWireCall(target: CostTotals, cost: CostBreakdownWire, usage: TokenUsageWire | undefined, priced: boolean): void {
  addWireCost(target, cost);
  if (usage !== undefined) {
    target.inputTokens += usage.input_tokens;
    target.outputTokens += usage.output_tokens;
    target.totalTokens += usage.total_tokens;
    target.cacheReadTokens += usage.cached_tokens ?? 0;
    target.cacheWriteTokens += usage.cache_creation_tokens ?? 0;
    target.reasoningTokens += usage.reasoning_tokens ?? 0;
  }
  target.callCount += 1;
  if (!priced) target.unpricedCallCount += 1;
}

/**
 * Adds a wire cost alone (an attributed share, a run's totals) to `target` in place: money, no call.
 *
 * @throws CostspanError `invalid_cost` for an amount that is not a finite, non-negative number
 */
export function addWireCost(target: CostTotals, cost: CostBreakdownWire): void {
  target.input += usdToPico(cost.input_cost_usd, 'input_cost_usd');
  target.output += usdToPico(cost.output_cost_usd, 'output_cost_usd');
  if (cost.reasoning_cost_usd !== undefined) target.reasoning += usdToPico(cost.reasoning_cost_usd, 'reasoning_cost_usd');
  if (cost.cached_discount_usd !== undefined) target.cachedDiscount += usdToPico(cost.cached_discount_usd, 'cached_discount_usd');
}

/** Adds one call that ran but reported no usage to `target` in place: counted, never priced. */
export function addUsageMissingCall(target: CostTotals): void {
  target.callCount += 1;
  target.usageMissingCallCount += 1;
}

/** Adds `source` to `target` in place. */
export function addTotals(target: CostTotals, source: CostTotals): void {
  target.input += source.input;
  target.output += source.output;
  target.reasoning += source.reasoning;
  target.cachedDiscount += source.cachedDiscount;
  target.inputTokens += source.inputTokens;
  target.outputTokens += source.outputTokens;
  target.totalTokens += source.totalTokens;
  target.cacheReadTokens += source.cacheReadTokens;
  target.cacheWriteTokens += source.cacheWriteTokens;
  target.reasoningTokens += source.reasoningTokens;
  target.callCount += source.callCount;
  target.unpricedCallCount += source.unpricedCallCount;
  target.usageMissingCallCount += source.usageMissingCallCount;
}

/**
 * The wire form of a cost (`CostBreakdown`): JSON numbers converted from exact
 * amounts, optional parts written only when non-zero.
 */
export function toCostBreakdownWire(cost: CostBreakdownPico | CostTotals, pricingDate?: string): CostBreakdownWire {
  // Keys in sorted order: canonical serialisation then takes the native fast path.
  const wire = {} as CostBreakdownWire;
  if (cost.cachedDiscount !== 0n) wire.cached_discount_usd = picoToUsd(cost.cachedDiscount);
  wire.input_cost_usd = picoToUsd(cost.input);
  wire.output_cost_usd = picoToUsd(cost.output);
  if (pricingDate !== undefined) wire.pricing_date = pricingDate;
  if (cost.reasoning !== 0n) wire.reasoning_cost_usd = picoToUsd(cost.reasoning);
  wire.total_cost_usd = picoToUsd(totalCost(cost));
  return wire;
}

/** The wire form of token counts (`TokenUsage`), optional buckets only when non-zero. */
export function toTokenUsageWire(
  usage: Pick<CostTotals, 'inputTokens' | 'outputTokens' | 'totalTokens' | 'cacheReadTokens' | 'cacheWriteTokens' | 'reasoningTokens'>,
): TokenUsageWire {
  const wire = {} as TokenUsageWire;
  if (usage.cacheWriteTokens > 0) wire.cache_creation_tokens = usage.cacheWriteTokens;
  if (usage.cacheReadTokens > 0) wire.cached_tokens = usage.cacheReadTokens;
  wire.input_tokens = usage.inputTokens;
  wire.output_tokens = usage.outputTokens;
  if (usage.reasoningTokens > 0) wire.reasoning_tokens = usage.reasoningTokens;
  wire.total_tokens = usage.totalTokens;
  return wire;
}

const TOTALS_FIELDS = [
  'total_usd',
  'input_usd',
  'output_usd',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'call_count',
  'reasoning_usd',
  'cached_discount_usd',
  'cache_read_tokens',
  'cache_creation_tokens',
  'reasoning_tokens',
  'unpriced_call_count',
  'usage_missing_call_count',
] as const;
type TotalsField = (typeof TOTALS_FIELDS)[number];

// The attribute names of each prefix, built once: two prefixes, fourteen names each.
const attributeNames = new Map<string, Record<TotalsField, string>>();
function namesOf(prefix: string): Record<TotalsField, string> {
  let names = attributeNames.get(prefix);
  // Stryker disable next-line ConditionalExpression: a cache only; rebuilding the names every call gives the same names
  if (names === undefined) {
    names = {} as Record<TotalsField, string>;
    for (const field of TOTALS_FIELDS) names[field] = `${prefix}${field}`;
    attributeNames.set(prefix, names);
  }
  return names;
}

/**
 * Span attributes for `totals` under `prefix` (`llm.cost.own.` or `llm.cost.inclusive.`), added to
 * `into` when given (both prefixes in one object, for one `setAttributes`) and returned.
 */
export function totalsToAttributes(prefix: string, totals: CostTotals, into: Record<string, number> = {}): Record<string, number> {
  const name = namesOf(prefix);
  const attributes = into;
  attributes[name.total_usd] = picoToUsd(totalCost(totals));
  attributes[name.input_usd] = picoToUsd(totals.input);
  attributes[name.output_usd] = picoToUsd(totals.output);
  attributes[name.input_tokens] = totals.inputTokens;
  attributes[name.output_tokens] = totals.outputTokens;
  attributes[name.total_tokens] = totals.totalTokens;
  attributes[name.call_count] = totals.callCount;
  if (totals.reasoning !== 0n) attributes[name.reasoning_usd] = picoToUsd(totals.reasoning);
  if (totals.cachedDiscount !== 0n) attributes[name.cached_discount_usd] = picoToUsd(totals.cachedDiscount);
  if (totals.cacheReadTokens > 0) attributes[name.cache_read_tokens] = totals.cacheReadTokens;
  if (totals.cacheWriteTokens > 0) attributes[name.cache_creation_tokens] = totals.cacheWriteTokens;
  if (totals.reasoningTokens > 0) attributes[name.reasoning_tokens] = totals.reasoningTokens;
  if (totals.unpricedCallCount > 0) attributes[name.unpriced_call_count] = totals.unpricedCallCount;
  if (totals.usageMissingCallCount > 0) attributes[name.usage_missing_call_count] = totals.usageMissingCallCount;
  return attributes;
}
