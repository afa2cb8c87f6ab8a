import { describe, expect, it } from 'vitest';
import { usdToPico } from '@costspan/core';
import { validateCost, validateName, validateTokenUsage, type CostInput, type TokenUsageInput } from './usage-input.js';
import { refusal } from '../__fixtures__/refusal.js';

const usage = (value: unknown): TokenUsageInput => value as TokenUsageInput;

describe('validateTokenUsage: each field on its own', () => {
  it('refuses a usage that is not an object, naming the field', () => {
    for (const value of [null, undefined, 5, 'input']) {
      const error = refusal(() => validateTokenUsage(usage(value)));
      expect(error.code).toBe('invalid_tokens');
      expect(error.field).toBe('usage');
      expect(error.message).toMatch(/^usage must be an object with input and output token counts; got /);
    }
    expect(refusal(() => validateTokenUsage(usage(null), 'calls[2].usage')).field).toBe('calls[2].usage');
  });

  it.each(['input', 'output', 'cacheRead', 'cacheWrite', 'reasoning', 'total'] as const)(
    'refuses a bad %s count naming usage.%s, and accepts 0',
    (key) => {
      for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '5', null]) {
        const error = refusal(() => validateTokenUsage(usage({ input: 10, output: 10, [key]: bad })));
        expect(error.code).toBe('invalid_tokens');
        expect(error.field).toBe(`usage.${key}`);
        expect(error.message).toBe(`usage.${key} must be a non-negative integer; got ${bad === '5' ? '"5"' : String(bad)}`);
      }
      expect(refusal(() => validateTokenUsage(usage({ input: 10, output: 10, [key]: -1 }), 'call')).field).toBe(`call.${key}`);
      expect(() => validateTokenUsage(usage({ input: 10, output: 10, [key]: 0 }))).not.toThrow();
    },
  );

  it('refuses a bad cacheWrite1h count, and one past cacheWrite', () => {
    const bad = refusal(() => validateTokenUsage({ input: 10, output: 0, cacheWrite: 5, cacheWrite1h: -1 }));
    expect(bad.field).toBe('usage.cacheWrite1h');
    expect(bad.message).toBe('usage.cacheWrite1h must be a non-negative integer; got -1');

    const over = refusal(() => validateTokenUsage({ input: 10, output: 0, cacheWrite: 3, cacheWrite1h: 4 }));
    expect(over.code).toBe('invalid_tokens');
    expect(over.field).toBe('usage.cacheWrite1h');
    expect(over.message).toBe('usage.cacheWrite1h must be at most cacheWrite (3); got 4');

    const withoutWrites = refusal(() => validateTokenUsage({ input: 10, output: 0, cacheWrite1h: 1 }));
    expect(withoutWrites.message).toBe('usage.cacheWrite1h must be at most cacheWrite (0); got 1');

    expect(validateTokenUsage({ input: 10, output: 0, cacheWrite: 3, cacheWrite1h: 3 }).usage).toStrictEqual({
      input: 10,
      output: 0,
      cacheWrite: 3,
      cacheWrite1h: 3,
    });
    expect(validateTokenUsage({ input: 10, output: 0, cacheWrite1h: 0 }).usage).toStrictEqual({ input: 10, output: 0, cacheWrite1h: 0 });
  });
});

describe('validateTokenUsage: buckets inside the counts that include them', () => {
  it('accepts cache reads plus writes up to input and refuses one more', () => {
    expect(validateTokenUsage({ input: 10, output: 0, cacheRead: 6, cacheWrite: 4 }).usage).toStrictEqual({
      input: 10,
      output: 0,
      cacheRead: 6,
      cacheWrite: 4,
    });
    for (const beyond of [
      { input: 10, output: 0, cacheRead: 7, cacheWrite: 4 },
      { input: 10, output: 0, cacheRead: 11 },
      { input: 10, output: 0, cacheWrite: 11 },
    ]) {
      const error = refusal(() => validateTokenUsage(beyond));
      expect(error.code).toBe('invalid_tokens');
      expect(error.field).toBe('usage.cacheRead');
      expect(error.message).toContain('with cacheWrite at most input (10): input includes cache tokens in the OpenTelemetry convention');
      expect(error.message).toContain("convert Anthropic-style usage with normalizeUsage(usage, 'anthropic')");
    }
  });

  it('accepts reasoning up to output and refuses one more', () => {
    expect(validateTokenUsage({ input: 0, output: 8, reasoning: 8 }).usage.reasoning).toBe(8);
    const error = refusal(() => validateTokenUsage({ input: 0, output: 8, reasoning: 9 }));
    expect(error.code).toBe('invalid_tokens');
    expect(error.field).toBe('usage.reasoning');
    expect(error.message).toBe('usage.reasoning must be at most output (8): output includes reasoning tokens; got 9');
  });

  it('totals input and output unless the caller gives a total', () => {
    expect(validateTokenUsage({ input: 120, output: 30 })).toStrictEqual({ usage: { input: 120, output: 30 }, total: 150 });
    // Some providers count tokens beyond input and output (e.g. tool tokens): a given total is kept.
    expect(validateTokenUsage({ input: 120, output: 30, total: 175 }).total).toBe(175);
    expect(validateTokenUsage({ input: 0, output: 0 }).total).toBe(0);
  });
});

describe('validateCost', () => {
  it('refuses a cost that is not an object', () => {
    for (const value of [null, 1, 'cheap']) {
      const error = refusal(() => validateCost(value as unknown as CostInput));
      expect(error.code).toBe('invalid_cost');
      expect(error.field).toBe('cost');
      expect(error.message).toMatch(/^cost must be an object with inputUsd and outputUsd, or totalUsd; got /);
    }
    expect(refusal(() => validateCost(null as unknown as CostInput, 'call.cost')).field).toBe('call.cost');
  });

  it('takes a total-only cost as input, flagged for splitting', () => {
    expect(validateCost({ totalUsd: 0.0075 })).toStrictEqual({
      cost: { input: usdToPico(0.0075), output: 0n, reasoning: 0n, cachedDiscount: 0n },
      totalOnly: true,
    });
    expect(refusal(() => validateCost({ totalUsd: -1 })).field).toBe('cost.totalUsd');
  });

  it('takes an explicit split as given, even beside a total', () => {
    expect(validateCost({ inputUsd: 1, outputUsd: 0 })).toStrictEqual({
      cost: { input: 1_000_000_000_000n, output: 0n, reasoning: 0n, cachedDiscount: 0n },
      totalOnly: false,
    });
    const both = { inputUsd: 0.25, outputUsd: 0.5, totalUsd: 9 } as unknown as CostInput;
    expect(validateCost(both)).toStrictEqual({
      cost: { input: 250_000_000_000n, output: 500_000_000_000n, reasoning: 0n, cachedDiscount: 0n },
      totalOnly: false,
    });
    expect(validateCost({ inputUsd: 0.002, outputUsd: 0.0024, reasoningUsd: 0.002, cachedDiscountUsd: 0.0006 }).cost).toStrictEqual({
      input: 2_000_000_000n,
      output: 2_400_000_000n,
      reasoning: 2_000_000_000n,
      cachedDiscount: 600_000_000n,
    });
  });

  it.each(['inputUsd', 'outputUsd', 'reasoningUsd', 'cachedDiscountUsd'] as const)('names cost.%s when it is refused', (key) => {
    const cost = { inputUsd: 1, outputUsd: 1, [key]: -0.5 } as CostInput;
    const error = refusal(() => validateCost(cost));
    expect(error.code).toBe('invalid_cost');
    expect(error.field).toBe(`cost.${key}`);
    expect(refusal(() => validateCost(cost, 'step.cost')).field).toBe(`step.cost.${key}`);
  });

  it('accepts a discount up to the whole cost (reasoning included) and refuses more', () => {
    // $0.50 + $0.25 + $0.25 = $1.00: a $1.00 discount makes the call free.
    const free = validateCost({ inputUsd: 0.5, outputUsd: 0.25, reasoningUsd: 0.25, cachedDiscountUsd: 1 }).cost;
    expect(free.input + free.output + free.reasoning - free.cachedDiscount).toBe(0n);
    const error = refusal(() => validateCost({ inputUsd: 0.5, outputUsd: 0.25, reasoningUsd: 0.25, cachedDiscountUsd: 1.000000000001 }));
    expect(error.code).toBe('invalid_cost');
    expect(error.field).toBe('cost.cachedDiscountUsd');
    expect(error.message).toBe('cost.cachedDiscountUsd must be at most the cost it discounts; got 1.000000000001');
  });
});

describe('validateName', () => {
  it('returns the name as given and refuses empty or non-string names', () => {
    expect(validateName(' gpt-4o ', 'model')).toBe(' gpt-4o ');
    for (const bad of ['', '   ', 5, undefined, null]) {
      const error = refusal(() => validateName(bad, 'model'));
      expect(error.code).toBe('invalid_name');
      expect(error.field).toBe('model');
      expect(error.message).toMatch(/^model must be a non-empty string; got /);
    }
  });
});
