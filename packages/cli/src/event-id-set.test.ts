import { describe, expect, it } from 'vitest';
import { EventIdSet } from './event-id-set.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const BASE = '01KJKB3Q00BR4TB5AT1Z8E71P2';

/** `BASE` with `char` at `position`. */
function withChar(position: number, char: string): string {
  return `${BASE.slice(0, position)}${char}${BASE.slice(position + 1)}`;
}

/** Every id that differs from `BASE` in one digit (the first digit 0-7 only), and `BASE`. */
function singleDigitVariants(): string[] {
  const ids = new Set<string>([BASE]);
  for (let position = 0; position < 26; position += 1) {
    for (const char of position === 0 ? CROCKFORD.slice(0, 8) : CROCKFORD) ids.add(withChar(position, char));
  }
  return [...ids];
}

describe('EventIdSet packing', () => {
  it('packs an id read from bytes as the same 128 bits as its string, every digit in every place', () => {
    const ids = singleDigitVariants();
    expect(ids.length).toBe(1 + 7 + 25 * 31);
    const set = new EventIdSet();
    // Distinct ids stay distinct (no digit's bits lost or overlapping another's) ...
    for (const id of ids) expect(set.addAt(Buffer.from(`"${id}"`, 'latin1'), 1), id).toBe(true);
    // ... and the string path (digit by digit) finds each as the same key.
    for (const id of ids) expect(set.add(id), id).toBe(false);
    expect(set.size).toBe(ids.length);
  });

  it('keeps an id with a byte that is no ULID digit apart from every ULID', () => {
    const set = new EventIdSet();
    for (const id of singleDigitVariants()) set.add(id);
    const size = set.size;
    // Letters Crockford leaves out, lower case, bytes past ASCII, a first digit above 7.
    for (let position = 0; position < 26; position += 1) {
      for (const byte of [0x49, 0x4c, 0x4f, 0x55, 0x61, 0x7a, 0x80, 0xff, 0x00, 0x22, ...(position === 0 ? [0x38, 0x5a] : [])]) {
        const bytes = Buffer.from(BASE, 'latin1');
        bytes[position] = byte;
        expect(set.addAt(bytes, 0), `${position}: ${byte}`).toBe(true);
        expect(set.addAt(bytes, 0), `${position}: ${byte}`).toBe(false);
      }
    }
    expect(set.size).toBe(size + 26 * 10 + 2);
  });
});

describe('EventIdSet.reserve', () => {
  it('holds as many random ids as reserved without growing a table', () => {
    const set = new EventIdSet();
    set.reserve(200_000);
    const reserved = set.tableBytes;
    let state = 42;
    const digit = (): string => {
      state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
      return CROCKFORD[state >>> 27] as string;
    };
    for (let index = 0; index < 200_000; index += 1) {
      const id = `0${Array.from({ length: 25 }, digit).join('')}`;
      expect(set.add(id)).toBe(true);
    }
    expect(set.size).toBe(200_000);
    // Random ids spread over the tables unevenly: the room reserved takes the spread, and costs little.
    expect(set.tableBytes).toBe(reserved);
    expect(reserved).toBeLessThan((200_000 * 16 * 1.2) / 0.75);
  });
});
