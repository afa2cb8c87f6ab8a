import { usdToPico } from '@costspan/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { costFromTotal, totalCost } from './total-cost.js';

describe('totalCost / costFromTotal', () => {
  it('totals a breakdown', () => {
    expect(totalCost({ input: 10n, output: 5n, reasoning: 2n, cachedDiscount: 3n })).toBe(14n);
  });

  it('books a total without reference as input', () => {
    expect(costFromTotal(usdToPico('0.01'))).toEqual({ input: usdToPico('0.01'), output: 0n, reasoning: 0n, cachedDiscount: 0n });
  });

  it('splits a reported total in the proportions of the table figure', () => {
    const table = { input: usdToPico('0.0025'), output: usdToPico('0.005'), reasoning: 0n, cachedDiscount: usdToPico('0.000625') };
    // The provider says the call cost half of what the table says (a batch discount).
    expect(costFromTotal(usdToPico('0.0034375'), table)).toEqual({
      input: usdToPico('0.00125'),
      output: usdToPico('0.0025'),
      reasoning: 0n,
      cachedDiscount: usdToPico('0.0003125'),
    });
  });

  it('always sums to the total exactly (property)', () => {
    const amount = fc.bigInt({ min: 0n, max: 10n ** 15n });
    fc.assert(
      fc.property(
        amount,
        amount,
        amount,
        amount,
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        (input, output, reasoning, discountSeed, total) => {
          const cachedDiscount = input === 0n ? 0n : discountSeed % (input + 1n);
          const split = costFromTotal(total, { input, output, reasoning, cachedDiscount });
          expect(totalCost(split)).toBe(total);
          for (const line of Object.values(split)) expect(line).toBeGreaterThanOrEqual(0n);
        },
      ),
    );
  });

  it('refuses a negative total', () => {
    expect(() => costFromTotal(-1n)).toThrow(/total/);
  });
});
