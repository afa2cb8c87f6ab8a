import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CostspanError } from '@costspan/core';
import { addWireCall, addWireCost, emptyTotals, toCostBreakdownWire, toTokenUsageWire, type CostTotals } from './cost-totals.js';

// Every expected figure is worked out by hand in the comment beside it.

describe('wire-to-totals decoding (one owner: CostTracker and the CLI)', () => {
  it('adds a token event call: money exact from the wire numbers, tokens, one call, unpriced when not priced', () => {
    const totals = emptyTotals();
    addWireCall(
      totals,
      { input_cost_usd: 0.0015, output_cost_usd: 0.003, total_cost_usd: 0.0043, reasoning_cost_usd: 0.0002, cached_discount_usd: 0.0004 },
      { input_tokens: 600, output_tokens: 300, total_tokens: 900, cached_tokens: 200, cache_creation_tokens: 50, reasoning_tokens: 20 },
      true,
    );
    addWireCall(
      totals,
      { input_cost_usd: 0, output_cost_usd: 0, total_cost_usd: 0 },
      { input_tokens: 7, output_tokens: 3, total_tokens: 10 },
      false,
    );
    expect(totals).toEqual<CostTotals>({
      input: 1_500_000_000n, // $0.0015
      output: 3_000_000_000n, // $0.003
      reasoning: 200_000_000n, // $0.0002
      cachedDiscount: 400_000_000n, // $0.0004
      inputTokens: 607,
      outputTokens: 303,
      totalTokens: 910,
      cacheReadTokens: 200,
      cacheWriteTokens: 50,
      reasoningTokens: 20,
      callCount: 2,
      unpricedCallCount: 1,
      usageMissingCallCount: 0,
    });
  });

  it('counts a call without usage, and a cost alone adds money and no call', () => {
    const totals = emptyTotals();
    addWireCall(totals, { input_cost_usd: 0.25, output_cost_usd: 0.5, total_cost_usd: 0.75 }, undefined, true);
    addWireCost(totals, { input_cost_usd: 0.000001, output_cost_usd: 0.000002, total_cost_usd: 0.000003, reasoning_cost_usd: 0.1 });
    expect([totals.input, totals.output, totals.reasoning, totals.cachedDiscount]).toEqual([
      250_001_000_000n, // $0.25 + $0.000001
      500_002_000_000n, // $0.5 + $0.000002
      100_000_000_000n, // $0.1
      0n,
    ]);
    expect([totals.callCount, totals.unpricedCallCount, totals.inputTokens, totals.totalTokens]).toEqual([1, 0, 0, 0]);
  });

  it('names the field of an amount it refuses, and adds nothing past it', () => {
    const totals = emptyTotals();
    for (const [cost, field] of [
      [{ input_cost_usd: -1, output_cost_usd: 0, total_cost_usd: 0 }, 'input_cost_usd'],
      [{ input_cost_usd: 0, output_cost_usd: Number.NaN, total_cost_usd: 0 }, 'output_cost_usd'],
      [{ input_cost_usd: 0, output_cost_usd: 0, total_cost_usd: 0, reasoning_cost_usd: -0.1 }, 'reasoning_cost_usd'],
      [{ input_cost_usd: 0, output_cost_usd: 0, total_cost_usd: 0, cached_discount_usd: Infinity }, 'cached_discount_usd'],
    ] as const) {
      let error: unknown;
      try {
        addWireCost(totals, cost);
      } catch (caught) {
        error = caught;
      }
      expect(CostspanError.isInstance(error) && error.code === 'invalid_cost' && error.message.includes(field)).toBe(true);
    }
    expect(totals.callCount).toBe(0);
  });

  it('reads back exactly what the SDK writes: totals -> wire -> totals is the identity on its fields', () => {
    const pico = fc.bigInt({ min: 0n, max: 10n ** 15n });
    const count = fc.integer({ min: 0, max: 1_000_000 });
    fc.assert(
      fc.property(
        fc.record({ input: pico, output: pico, reasoning: pico, cachedDiscount: pico }),
        fc.record({ inputTokens: count, outputTokens: count, cacheReadTokens: count, cacheWriteTokens: count, reasoningTokens: count }),
        (money, tokens) => {
          const source: CostTotals = {
            ...emptyTotals(),
            ...money,
            ...tokens,
            totalTokens: tokens.inputTokens + tokens.outputTokens,
          };
          const read = emptyTotals();
          addWireCall(read, toCostBreakdownWire(source), toTokenUsageWire(source), true);
          expect(read).toEqual({ ...source, callCount: 1 });
        },
      ),
      { numRuns: 2000 },
    );
  });
});
