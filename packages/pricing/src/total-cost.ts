import { invalidInput, type PicoUsd } from '@costspan/core';
import type { CostBreakdownPico } from './price-source.js';

/** `input + output + reasoning - cachedDiscount`: the total of a breakdown, exact. */
export function totalCost(cost: CostBreakdownPico): PicoUsd {
  return cost.input + cost.output + cost.reasoning - cost.cachedDiscount;
}

/**
 * Builds a breakdown for a total that wins over the table: a cost the caller passed, or one the
 * provider reported (`gen_ai.usage.cost.amount`). With a `reference` breakdown (what the table
 * says for the same call), the total is split across its lines in the same proportions, so
 * input/output reporting stays meaningful; the lines always add up to `total` exactly. Without
 * a usable reference, everything is booked as input.
 *
 * @throws CostspanError `invalid_cost` when `total` is negative
 * @example
 * ```ts
 * const table = source.price(request);
 * const cost = costFromTotal(usdToPico(reportedUsd), table.status === 'priced' ? table.cost : undefined);
 * ```
 */
export function costFromTotal(total: PicoUsd, reference?: CostBreakdownPico): CostBreakdownPico {
  if (typeof total !== 'bigint' || total < 0n) throw invalidInput('invalid_cost', 'total', total, 'a non-negative bigint of pico-USD');
  const referenceTotal = reference === undefined ? 0n : totalCost(reference);
  if (reference === undefined || referenceTotal <= 0n) {
    return { input: total, output: 0n, reasoning: 0n, cachedDiscount: 0n };
  }
  const share = (amount: PicoUsd): PicoUsd => {
    const numerator = amount * total;
    const quotient = numerator / referenceTotal;
    return (numerator % referenceTotal) * 2n >= referenceTotal ? quotient + 1n : quotient;
  };
  const output = share(reference.output);
  const reasoning = share(reference.reasoning);
  const cachedDiscount = share(reference.cachedDiscount);
  // Input absorbs the rounding so the lines sum to `total` exactly.
  const input = total - output - reasoning + cachedDiscount;
  if (input < 0n) return { input: total, output: 0n, reasoning: 0n, cachedDiscount: 0n };
  return { input, output, reasoning, cachedDiscount };
}
