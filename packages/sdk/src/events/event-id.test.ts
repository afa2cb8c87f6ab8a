import { decodeTime } from 'ulid';
import { describe, expect, it } from 'vitest';
import { createEventIdGenerator } from './event-id.js';

const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

describe('createEventIdGenerator', () => {
  it('encodes the time as the ulid package decodes it, for times across the whole range', () => {
    for (const time of [0, 1, 31, 32, 2 ** 40, 1_772_634_731_042, 2 ** 48 - 1]) {
      const id = createEventIdGenerator()(time);
      expect(id).toMatch(ULID);
      expect(decodeTime(id)).toBe(time);
    }
  });

  it('is monotonic within a millisecond, by adding one to the random part', () => {
    const next = createEventIdGenerator();
    const ids = Array.from({ length: 5000 }, () => next(1_772_634_731_042));
    expect(new Set(ids).size).toBe(5000);
    expect([...ids].sort()).toEqual(ids);
    const [first, second] = ids as [string, string];
    expect(second.slice(0, 10)).toBe(first.slice(0, 10));
    // The random parts differ by one in base 32.
    const value = (id: string): bigint =>
      [...id.slice(10)].reduce((sum, char) => sum * 32n + BigInt('0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(char)), 0n);
    expect(value(second) - value(first)).toBe(1n);
  });

  it('never goes back when the clock does, and draws fresh randomness in a new millisecond', () => {
    const next = createEventIdGenerator();
    const late = next(2_000_000_000_000);
    const earlier = next(1_000_000_000_000);
    expect(earlier > late).toBe(true);
    expect(decodeTime(earlier)).toBe(2_000_000_000_000);
    const a = next(2_000_000_000_001);
    const b = next(2_000_000_000_002);
    expect(a.slice(10)).not.toBe(b.slice(10));
  });

  it('uses the current time by default and every symbol of the alphabet in its random part', () => {
    const next = createEventIdGenerator();
    const before = Date.now();
    const id = next();
    expect(decodeTime(id)).toBeGreaterThanOrEqual(before);
    expect(decodeTime(id)).toBeLessThanOrEqual(Date.now());
    const seen = new Set<string>();
    for (let time = 0; time < 200; time += 1) for (const char of next(3_000_000_000_000 + time).slice(10)) seen.add(char);
    expect(seen.size).toBe(32);
  });
});
