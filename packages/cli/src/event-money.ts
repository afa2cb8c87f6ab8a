import { type CostBreakdownWire, type CostTotals, type TokenUsageWire } from '@costspan/sdk';
import { addCall } from '@costspan/sdk/internal';
import { wireToPico } from './wire-pico.js';

// Re-exported: these were here first; the report's reading path imports them from wire-pico.ts,
// which loads no SDK.
export { ratioPico, wireToPico } from './wire-pico.js';

/**
 * Adds one call, given as its wire cost and token usage, to `target` with the
 * SDK's own roll-up arithmetic (exact). `total = input + output + reasoning - cached_discount`.
 */
export function addWireCall(target: CostTotals, cost: CostBreakdownWire, usage: TokenUsageWire | undefined, priced: boolean): void {
  addCall(
    target,
    {
      input: wireToPico(cost.input_cost_usd),
      output: wireToPico(cost.output_cost_usd),
      reasoning: wireToPico(cost.reasoning_cost_usd),
      cachedDiscount: wireToPico(cost.cached_discount_usd),
    },
    {
      input: usage?.input_tokens ?? 0,
      output: usage?.output_tokens ?? 0,
      cacheRead: usage?.cached_tokens ?? 0,
      cacheWrite: usage?.cache_creation_tokens ?? 0,
      reasoning: usage?.reasoning_tokens ?? 0,
    },
    usage?.total_tokens ?? 0,
    priced,
  );
}
