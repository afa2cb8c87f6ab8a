import { describe, expect, it } from 'vitest';
import { formatCompact, formatDuration, formatMoney, plural } from './money-display.js';

const usd = (text: string): bigint => {
  const [whole = '0', fraction = ''] = text.split('.');
  return BigInt(whole) * 1_000_000_000_000n + BigInt(fraction.padEnd(12, '0'));
};

describe('formatMoney', () => {
  it('4 significant digits below $1, rounded half up from the exact pico-dollars', () => {
    expect(formatMoney(usd('0.015049833887'))).toBe('$0.01505');
    expect(formatMoney(usd('0.0033325'))).toBe('$0.003333');
    expect(formatMoney(usd('0.00333349'))).toBe('$0.003333');
    expect(formatMoney(usd('0.0021'))).toBe('$0.0021');
    expect(formatMoney(usd('0.000000000001'))).toBe('$0.000000000001');
    expect(formatMoney(usd('0.12345'))).toBe('$0.1235');
  });

  it('cents from $1 up, with thousands separators; 0.99996 rounds up to $1.00', () => {
    expect(formatMoney(usd('1.877098249837'))).toBe('$1.88');
    expect(formatMoney(usd('18'))).toBe('$18.00');
    expect(formatMoney(usd('1234567.125'))).toBe('$1,234,567.13');
    expect(formatMoney(usd('0.99996'))).toBe('$1.00');
  });

  it('zero is $0.00; negative amounts keep their sign; --exact keeps every digit', () => {
    expect(formatMoney(0n)).toBe('$0.00');
    expect(formatMoney(-usd('0.0033325'))).toBe('-$0.003333');
    expect(formatMoney(usd('0.015049833887'), { exact: true })).toBe('$0.015049833887');
    expect(formatMoney(usd('1.877098249837'), { exact: true })).toBe('$1.877098249837');
  });
});

describe('counts and durations', () => {
  it('plurals', () => {
    expect(plural(1, 'call')).toBe('1 call');
    expect(plural(0, 'run')).toBe('0 runs');
    expect(plural(1234, 'call')).toBe('1,234 calls');
  });

  it('compact counts stay short', () => {
    expect([999, 1000, 1234, 12_345, 999_999, 3_400_000, 1_200_000_000].map(formatCompact)).toEqual([
      '999',
      '1k',
      '1.2k',
      '12k',
      '1M',
      '3.4M',
      '1.2B',
    ]);
  });

  it('durations in ms, s, min and h', () => {
    expect([0.42, 12.34, 850, 4210, 192_000, 5_400_000].map(formatDuration)).toEqual([
      '0.42 ms',
      '12.3 ms',
      '850 ms',
      '4.21 s',
      '3.2 min',
      '1.5 h',
    ]);
  });
});
