import { describe, expect, it } from 'vitest';
import { usdToPico } from '@costspan/core';
import { wireToPico } from './event-money.js';

/** A deterministic generator, so a failure names an amount that can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('wireToPico', () => {
  it('equals usdToPico (the shortest decimal form, exact) on randomized wire amounts of every shape', () => {
    const next = random(17);
    const amounts: number[] = [
      0,
      1e-12,
      5e-13,
      4e-13,
      1e-7,
      1.35e-5,
      0.0015,
      0.1 + 0.2,
      999.999999999999,
      1000,
      1234.5678,
      9007.199254740992,
      1e21,
    ];
    for (let index = 0; index < 50_000; index += 1) {
      const shape = index % 5;
      if (shape === 0) {
        // Decimals of up to 12 places, as prices times token counts give.
        const places = 1 + Math.floor(next() * 12);
        const digits = Math.floor(next() * 10 ** Math.min(places + 3, 15));
        amounts.push(Number(`${Math.floor(digits / 10 ** places)}.${String(digits % 10 ** places).padStart(places, '0')}`));
      } else if (shape === 1) {
        amounts.push(next() * 10 ** (Math.floor(next() * 10) - 6)); // any double, mostly more than 12 places
      } else if (shape === 2) {
        amounts.push(Math.round(next() * 1e9) / 1e12); // whole pico counts
      } else if (shape === 3) {
        amounts.push(Math.round(next() * 1e6) * 1e-13); // half-pico boundaries
      } else {
        amounts.push(500 + next() * 1000); // around the $1000 bound of the fast path
      }
    }
    const mismatches = amounts.filter((amount) => wireToPico(amount) !== usdToPico(amount));
    expect(mismatches).toEqual([]);
    expect(wireToPico(undefined)).toBe(0n);
    expect(wireToPico(0.0015)).toBe(1_500_000_000n);
  });
});
