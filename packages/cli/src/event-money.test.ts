import { describe, expect, it } from 'vitest';
import { wireToPico } from './event-money.js';

// Figures worked out by hand: 1 USD = 10^12 pico-USD. usdToPico's own exactness (its fast path
// against the decimal path, on randomized amounts) is tested in core's money.exactness.test.ts.
describe('wireToPico', () => {
  it('reads a wire amount exactly through its shortest decimal form; absent and zero are 0', () => {
    expect(wireToPico(undefined)).toBe(0n);
    expect(wireToPico(0)).toBe(0n);
    expect(wireToPico(0.0015)).toBe(1_500_000_000n);
    expect(wireToPico(0.1 + 0.2)).toBe(300_000_000_000n); // 0.30000000000000004, half up at 12 places
    expect(wireToPico(1e-12)).toBe(1n);
    expect(wireToPico(1234.5678)).toBe(1_234_567_800_000_000n);
    expect(wireToPico(1e21)).toBe(10n ** 33n);
  });
});
