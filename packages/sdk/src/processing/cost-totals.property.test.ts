import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { usdToPico } from '@costspan/core';
import { CustomPriceSource } from '@costspan/pricing';
import { createHarness } from '../__fixtures__/harness.js';
import {
  addCall,
  addTotals,
  addUsageMissingCall,
  emptyTotals,
  toCostBreakdownWire,
  toTokenUsageWire,
  totalCost,
  totalsToAttributes,
  type CostTotals,
} from './cost-totals.js';

// Every expected figure is worked out by hand in the comment beside it.

const pico = (usd: string): bigint => usdToPico(usd);

const count = fc.integer({ min: 0, max: 1_000_000 });
const amount = fc.bigInt({ min: 0n, max: 10n ** 15n });
const totalsArbitrary: fc.Arbitrary<CostTotals> = fc.record({
  input: amount,
  output: amount,
  reasoning: amount,
  cachedDiscount: amount,
  inputTokens: count,
  outputTokens: count,
  totalTokens: count,
  cacheReadTokens: count,
  cacheWriteTokens: count,
  reasoningTokens: count,
  callCount: count,
  unpricedCallCount: count,
  usageMissingCallCount: count,
});

function sum(...parts: CostTotals[]): CostTotals {
  const target = emptyTotals();
  for (const part of parts) addTotals(target, part);
  return target;
}

function copy(totals: CostTotals): CostTotals {
  return { ...totals };
}

describe('totalCost', () => {
  it('is input + output + reasoning - cachedDiscount, by hand', () => {
    // $1.25 + $0.50 + $1.00 - $0.25 = $2.50
    expect(totalCost({ input: pico('1.25'), output: pico('0.5'), reasoning: pico('1'), cachedDiscount: pico('0.25') })).toBe(pico('2.5'));
    // The discount lowers the total: $0.002 + $0.0024 + $0.002 - $0.0006 = $0.0058
    expect(totalCost({ input: pico('0.002'), output: pico('0.0024'), reasoning: pico('0.002'), cachedDiscount: pico('0.0006') })).toBe(
      pico('0.0058'),
    );
  });

  it('holds for random breakdowns, and every part moves the total in its own direction (property)', () => {
    fc.assert(
      fc.property(amount, amount, amount, amount, (input, output, reasoning, cachedDiscount) => {
        const total = totalCost({ input, output, reasoning, cachedDiscount });
        expect(total).toBe(input + output + reasoning - cachedDiscount);
        expect(totalCost({ input: input + 1n, output, reasoning, cachedDiscount })).toBe(total + 1n);
        expect(totalCost({ input, output: output + 1n, reasoning, cachedDiscount })).toBe(total + 1n);
        expect(totalCost({ input, output, reasoning: reasoning + 1n, cachedDiscount })).toBe(total + 1n);
        expect(totalCost({ input, output, reasoning, cachedDiscount: cachedDiscount + 1n })).toBe(total - 1n);
      }),
    );
  });
});

describe('addCall', () => {
  it('adds every bucket of one call, cache and reasoning included', () => {
    const totals = emptyTotals();
    addCall(
      totals,
      { input: pico('0.002'), output: pico('0.0024'), reasoning: pico('0.002'), cachedDiscount: pico('0.0006') },
      { input: 1000, output: 500, cacheRead: 400, cacheWrite: 100, reasoning: 200 },
      1500,
      true,
    );
    addCall(
      totals,
      { input: pico('0.001'), output: pico('0.0001'), reasoning: 0n, cachedDiscount: 0n },
      { input: 10, output: 20, cacheRead: 5, cacheWrite: 3, reasoning: 7 },
      31,
      false,
    );
    expect(totals).toEqual({
      input: pico('0.003'),
      output: pico('0.0025'),
      reasoning: pico('0.002'),
      cachedDiscount: pico('0.0006'),
      inputTokens: 1010,
      outputTokens: 520,
      totalTokens: 1531,
      cacheReadTokens: 405,
      cacheWriteTokens: 103,
      reasoningTokens: 207,
      callCount: 2,
      unpricedCallCount: 1,
      usageMissingCallCount: 0,
    });
    // $0.003 + $0.0025 + $0.002 - $0.0006
    expect(totalCost(totals)).toBe(pico('0.0069'));
  });

  it('counts absent cache and reasoning buckets as zero', () => {
    const totals = emptyTotals();
    addCall(totals, { input: 1n, output: 2n, reasoning: 0n, cachedDiscount: 0n }, { input: 3, output: 4 }, 7, true);
    addCall(totals, { input: 1n, output: 2n, reasoning: 0n, cachedDiscount: 0n }, { input: 3, output: 4, cacheRead: 2 }, 7, true);
    expect(totals.cacheReadTokens).toBe(2);
    expect(totals.cacheWriteTokens).toBe(0);
    expect(totals.reasoningTokens).toBe(0);
    expect(totals.callCount).toBe(2);
    expect(totals.unpricedCallCount).toBe(0);
  });

  it('counts a call without usage as a call, never as money', () => {
    const totals = emptyTotals();
    addUsageMissingCall(totals);
    addUsageMissingCall(totals);
    expect(totals).toEqual({ ...emptyTotals(), callCount: 2, usageMissingCallCount: 2 });
  });
});

describe('addTotals', () => {
  it("adds a child run's reasoning and cache to its parent, never subtracts them", () => {
    const parent: CostTotals = { ...emptyTotals(), input: pico('1'), reasoning: pico('0.25'), reasoningTokens: 10, cacheReadTokens: 4 };
    const child: CostTotals = {
      ...emptyTotals(),
      reasoning: pico('1'),
      cachedDiscount: pico('0.1'),
      reasoningTokens: 30,
      cacheReadTokens: 6,
      cacheWriteTokens: 2,
      unpricedCallCount: 1,
      usageMissingCallCount: 1,
      callCount: 3,
    };
    addTotals(parent, child);
    // reasoning $0.25 + $1.00 = $1.25; total $1 + $1.25 - $0.10 = $2.15
    expect(parent.reasoning).toBe(pico('1.25'));
    expect(parent.cachedDiscount).toBe(pico('0.1'));
    expect(totalCost(parent)).toBe(pico('2.15'));
    expect(parent.reasoningTokens).toBe(40);
    expect(parent.cacheReadTokens).toBe(10);
    expect(parent.cacheWriteTokens).toBe(2);
    expect(parent.unpricedCallCount).toBe(1);
    expect(parent.usageMissingCallCount).toBe(1);
    expect(parent.callCount).toBe(3);
  });

  it('adds every field, leaving the source untouched (property)', () => {
    fc.assert(
      fc.property(totalsArbitrary, totalsArbitrary, (left, right) => {
        const before = copy(right);
        const target = copy(left);
        addTotals(target, right);
        expect(right).toEqual(before);
        for (const key of Object.keys(left) as (keyof CostTotals)[]) {
          const [a, b] = [left[key], right[key]];
          expect(target[key]).toBe(typeof a === 'bigint' && typeof b === 'bigint' ? a + b : Number(a) + Number(b));
        }
      }),
    );
  });

  it('is commutative and associative, with empty totals as identity (property)', () => {
    fc.assert(
      fc.property(totalsArbitrary, totalsArbitrary, totalsArbitrary, (a, b, c) => {
        expect(sum(a, b)).toEqual(sum(b, a));
        const leftFirst = sum(a, b);
        addTotals(leftFirst, c);
        const rightFirst = copy(a);
        addTotals(rightFirst, sum(b, c));
        expect(leftFirst).toEqual(rightFirst);
        expect(sum(a, emptyTotals())).toEqual(a);
        expect(totalCost(sum(a, b))).toBe(totalCost(a) + totalCost(b));
      }),
    );
  });
});

describe('wire forms', () => {
  it('writes the cost breakdown in sorted key order, optional parts only when non-zero', () => {
    const full = { input: pico('0.002'), output: pico('0.0024'), reasoning: pico('0.002'), cachedDiscount: pico('0.0006') };
    expect(JSON.stringify(toCostBreakdownWire(full, '2026-03-04'))).toBe(
      '{"cached_discount_usd":0.0006,"input_cost_usd":0.002,"output_cost_usd":0.0024,"pricing_date":"2026-03-04","reasoning_cost_usd":0.002,"total_cost_usd":0.0058}',
    );
    expect(JSON.stringify(toCostBreakdownWire({ input: pico('0.0025'), output: pico('0.005'), reasoning: 0n, cachedDiscount: 0n }))).toBe(
      '{"input_cost_usd":0.0025,"output_cost_usd":0.005,"total_cost_usd":0.0075}',
    );
  });

  it('leaves pricing_date out entirely when there is none', () => {
    expect(Object.keys(toCostBreakdownWire({ input: 1n, output: 1n, reasoning: 0n, cachedDiscount: 0n }))).toEqual([
      'input_cost_usd',
      'output_cost_usd',
      'total_cost_usd',
    ]);
  });

  it('writes token usage in sorted key order, optional buckets only when non-zero', () => {
    const totals: CostTotals = {
      ...emptyTotals(),
      inputTokens: 1000,
      outputTokens: 500,
      totalTokens: 1500,
      cacheReadTokens: 400,
      cacheWriteTokens: 100,
      reasoningTokens: 200,
    };
    expect(JSON.stringify(toTokenUsageWire(totals))).toBe(
      '{"cache_creation_tokens":100,"cached_tokens":400,"input_tokens":1000,"output_tokens":500,"reasoning_tokens":200,"total_tokens":1500}',
    );
    expect(JSON.stringify(toTokenUsageWire({ ...emptyTotals(), inputTokens: 1, outputTokens: 2, totalTokens: 3 }))).toBe(
      '{"input_tokens":1,"output_tokens":2,"total_tokens":3}',
    );
  });

  it('writes span attributes for every bucket, optional ones only when non-zero', () => {
    const totals: CostTotals = {
      input: pico('0.003'),
      output: pico('0.0025'),
      reasoning: pico('0.002'),
      cachedDiscount: pico('0.0006'),
      inputTokens: 1010,
      outputTokens: 520,
      totalTokens: 1531,
      cacheReadTokens: 405,
      cacheWriteTokens: 103,
      reasoningTokens: 207,
      callCount: 4,
      unpricedCallCount: 1,
      usageMissingCallCount: 2,
    };
    expect(totalsToAttributes('llm.cost.own.', totals)).toEqual({
      'llm.cost.own.total_usd': 0.0069,
      'llm.cost.own.input_usd': 0.003,
      'llm.cost.own.output_usd': 0.0025,
      'llm.cost.own.reasoning_usd': 0.002,
      'llm.cost.own.cached_discount_usd': 0.0006,
      'llm.cost.own.input_tokens': 1010,
      'llm.cost.own.output_tokens': 520,
      'llm.cost.own.total_tokens': 1531,
      'llm.cost.own.cache_read_tokens': 405,
      'llm.cost.own.cache_creation_tokens': 103,
      'llm.cost.own.reasoning_tokens': 207,
      'llm.cost.own.call_count': 4,
      'llm.cost.own.unpriced_call_count': 1,
      'llm.cost.own.usage_missing_call_count': 2,
    });
    expect(
      totalsToAttributes('llm.cost.inclusive.', { ...emptyTotals(), input: 5n, inputTokens: 1, totalTokens: 1, callCount: 1 }),
    ).toEqual({
      'llm.cost.inclusive.total_usd': 5e-12,
      'llm.cost.inclusive.input_usd': 5e-12,
      'llm.cost.inclusive.output_usd': 0,
      'llm.cost.inclusive.input_tokens': 1,
      'llm.cost.inclusive.output_tokens': 0,
      'llm.cost.inclusive.total_tokens': 1,
      'llm.cost.inclusive.call_count': 1,
    });
  });
});

describe('cache discount and reasoning through a run tree', () => {
  // $2 / 1M input, $0.50 / 1M cache reads, $8 / 1M output, $10 / 1M reasoning.
  const prices = () =>
    new CustomPriceSource({
      prices: [{ model: 'm-reasoner', inputPerMillion: 2, cacheReadPerMillion: 0.5, outputPerMillion: 8, reasoningPerMillion: 10 }],
    });

  it('books the hand-computed figures on the token event, the step, and both run spans', async () => {
    const harness = createHarness({ priceSource: prices() });
    await harness.tracer.agentRun('parent', async (parent) => {
      parent.step('own-call', (step) => {
        // input 100 x $2/M = $0.0002; output 50 x $8/M = $0.0004; total $0.0006
        step.setModel('m-reasoner').setTokenUsage({ input: 100, output: 50 });
      });
      await parent.agentRun('child', async (child) => {
        child.step('reasoning-call', (step) => {
          // input 1000 x $2/M = $0.002; cached discount 400 x ($2 - $0.50)/M = $0.0006;
          // output (500 - 200) x $8/M = $0.0024; reasoning 200 x $10/M = $0.002; total $0.0058
          step.setModel('m-reasoner').setTokenUsage({ input: 1000, output: 500, cacheRead: 400, reasoning: 200 });
        });
      });
    });
    await harness.flush();

    const token = harness.events.getEvents('llm.cost.token.recorded').find((event) => event.payload.token_usage.reasoning_tokens === 200);
    expect(token?.payload.cost).toMatchObject({
      input_cost_usd: 0.002,
      cached_discount_usd: 0.0006,
      output_cost_usd: 0.0024,
      reasoning_cost_usd: 0.002,
      total_cost_usd: 0.0058,
    });
    expect(token?.payload.token_usage).toEqual({
      cached_tokens: 400,
      input_tokens: 1000,
      output_tokens: 500,
      reasoning_tokens: 200,
      total_tokens: 1500,
    });

    const child = harness.span('invoke_agent child').attributes;
    expect(child).toMatchObject({
      'llm.cost.own.total_usd': 0.0058,
      'llm.cost.own.input_usd': 0.002,
      'llm.cost.own.output_usd': 0.0024,
      'llm.cost.own.reasoning_usd': 0.002,
      'llm.cost.own.cached_discount_usd': 0.0006,
      'llm.cost.own.cache_read_tokens': 400,
      'llm.cost.own.reasoning_tokens': 200,
      'llm.cost.own.output_tokens': 500,
      'llm.cost.own.total_tokens': 1500,
    });
    const parent = harness.span('invoke_agent parent').attributes;
    expect(parent).toMatchObject({
      'llm.cost.own.total_usd': 0.0006,
      'llm.cost.own.input_usd': 0.0002,
      'llm.cost.own.output_usd': 0.0004,
      // $0.0006 own + $0.0058 child
      'llm.cost.inclusive.total_usd': 0.0064,
      'llm.cost.inclusive.input_usd': 0.0022,
      'llm.cost.inclusive.output_usd': 0.0028,
      'llm.cost.inclusive.reasoning_usd': 0.002,
      'llm.cost.inclusive.cached_discount_usd': 0.0006,
      'llm.cost.inclusive.cache_read_tokens': 400,
      'llm.cost.inclusive.reasoning_tokens': 200,
      'llm.cost.inclusive.input_tokens': 1100,
      'llm.cost.inclusive.output_tokens': 550,
      'llm.cost.inclusive.total_tokens': 1650,
      'llm.cost.inclusive.call_count': 2,
    });
    expect(parent['llm.cost.own.reasoning_usd']).toBeUndefined();
    expect(parent['llm.cost.own.cached_discount_usd']).toBeUndefined();

    const session = harness.events.getEvents('llm.cost.session.recorded')[0];
    expect(session?.payload.total_cost).toMatchObject({
      input_cost_usd: 0.0022,
      output_cost_usd: 0.0028,
      reasoning_cost_usd: 0.002,
      cached_discount_usd: 0.0006,
      total_cost_usd: 0.0064,
    });
  });

  it("keeps a caller's explicit split on a model the table knows", async () => {
    const harness = createHarness();
    await harness.tracer.agentRun('run', async (run) => {
      run.step('call', (step) => {
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1000, output: 1000 }).setCost({ inputUsd: 1, outputUsd: 0 });
      });
    });
    await harness.flush();
    const token = harness.events.getEvents('llm.cost.token.recorded')[0];
    expect(token?.payload.cost).toMatchObject({ input_cost_usd: 1, output_cost_usd: 0, total_cost_usd: 1 });
    expect(harness.span('invoke_agent run').attributes).toMatchObject({
      'llm.cost.own.input_usd': 1,
      'llm.cost.own.output_usd': 0,
      'llm.cost.own.total_usd': 1,
    });
  });
});
