const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const DIGIT_VALUE = new Int8Array(128).fill(-1);
for (let index = 0; index < CROCKFORD.length; index += 1) DIGIT_VALUE[CROCKFORD.charCodeAt(index)] = index;
// Each byte's digit value, 32 for a byte that is none (one check over all 26 tells: see packUlidBytes).
const BYTE_DIGIT = new Uint8Array(256).fill(32);
for (let index = 0; index < CROCKFORD.length; index += 1) BYTE_DIGIT[CROCKFORD.charCodeAt(index)] = index;

const WORDS = 4;
// 256 partitions by the hash's top byte, each its own open-addressing table, grown alone.
const PARTITIONS = 256;
const FIRST_SLOTS = 16;
// Linear probing over 16-byte slots stays within a cache line or two up to this load.
const MAX_LOAD = 0.75;

/** One open-addressing table of 128-bit keys; the all-zero key marks an empty slot. */
interface IdTable {
  keys: Uint32Array;
  slots: number;
  count: number;
  limit: number;
}

function newTable(slots: number): IdTable {
  return { keys: new Uint32Array(slots * WORDS), slots, count: 0, limit: Math.floor(slots * MAX_LOAD) };
}

/**
 * The event ids seen so far, to drop events delivered twice (OTLP delivery is
 * at least once). Exact, and small: a ULID (what the SDK writes) is kept as its
 * 128 bits in open-addressing tables of 16 bytes a slot, about 22 MB for a
 * million ids where a `Set` of strings takes some 80 MB; any other id is kept
 * as its string. The ids are spread over 256 tables by hash, each grown by
 * half again on its own when full: one probe sequence per id, and growing
 * copies 1/256 of the set at a time, so memory never holds two copies of it.
 */
export class EventIdSet {
  private readonly tables: IdTable[] = Array.from({ length: PARTITIONS }, () => newTable(FIRST_SLOTS));
  private readonly others = new Set<string>();
  private readonly key = new Uint32Array(WORDS);

  /** Bytes the tables of ULIDs take (what a scan's id set costs in memory). */
  get tableBytes(): number {
    let bytes = 0;
    for (const table of this.tables) bytes += table.keys.byteLength;
    return bytes;
  }

  /** Ids held. */
  get size(): number {
    let count = this.others.size;
    for (const table of this.tables) count += table.count;
    return count;
  }

  /**
   * Makes room for about `ids` more ids up front (a scan's estimate from its input's size):
   * tables sized once hold them at the highest load instead of growing through every size,
   * which costs time (each growth copies) and memory (a grown table is up to half empty).
   */
  reserve(ids: number): void {
    // Ids fall into the tables at random: a table gets the mean give or take its square root. Room for
    // four of those above the mean spares the ~1 table in 6 that would pass its limit a growth (half
    // as large again, the old table garbage meanwhile) for 2 % more room in all.
    const mean = (this.size + ids) / PARTITIONS;
    const perTable = Math.ceil((mean + 4 * Math.sqrt(mean)) / MAX_LOAD) + 1;
    for (let index = 0; index < PARTITIONS; index += 1) {
      const table = this.tables[index] as IdTable;
      if (table.slots < perTable) this.tables[index] = grow(table, perTable);
    }
  }

  /** Adds `id`; false when it was already there (a duplicate). */
  add(id: string): boolean {
    const key = this.key;
    // The all-zero ULID would read as an empty slot: it is kept with the other ids.
    if (!packUlid(id, 0, key) || (key[0] === 0 && key[1] === 0 && key[2] === 0 && key[3] === 0)) {
      if (this.others.has(id)) return false;
      this.others.add(id);
      return true;
    }
    return this.addKey(key);
  }

  /**
   * Adds the id in the 26 bytes at `offset` (the fast path's line, where it is a checked
   * ULID) without making a string of it; false when it was already there.
   */
  addAt(bytes: Uint8Array, offset: number): boolean {
    const key = this.key;
    if (!packUlidBytes(bytes, offset, key) || (key[0] === 0 && key[1] === 0 && key[2] === 0 && key[3] === 0)) {
      return this.add(Buffer.from(bytes.buffer, bytes.byteOffset + offset, 26).toString('latin1'));
    }
    return this.addKey(key);
  }

  private addKey(key: Uint32Array): boolean {
    const hashed = hash(key);
    const partition = hashed >>> 24;
    let table = this.tables[partition] as IdTable;
    const slot = probe(table, key, hashed);
    if (slot < 0) return false;
    if (table.count < table.limit) {
      table.keys.set(key, slot * WORDS);
    } else {
      table = grow(table);
      this.tables[partition] = table;
      table.keys.set(key, probe(table, key, hashed) * WORDS);
    }
    table.count += 1;
    return true;
  }
}

/** `table`'s keys in a table of `slots` (default: half as large again). */
function grow(table: IdTable, slots: number = Math.ceil(table.slots * 1.5)): IdTable {
  const grown = newTable(slots);
  const old = table.keys;
  const key = new Uint32Array(WORDS);
  for (let base = 0; base < old.length; base += WORDS) {
    key[0] = old[base] as number;
    key[1] = old[base + 1] as number;
    key[2] = old[base + 2] as number;
    key[3] = old[base + 3] as number;
    if (key[0] === 0 && key[1] === 0 && key[2] === 0 && key[3] === 0) continue;
    grown.keys.set(key, probe(grown, key, hash(key)) * WORDS);
  }
  grown.count = table.count;
  return grown;
}

/** The empty slot where `key` would go, or -1 when `key` is in `table`. */
function probe(table: IdTable, key: Uint32Array, hashed: number): number {
  const keys = table.keys;
  const slots = table.slots;
  const key0 = key[0] as number;
  const key1 = key[1] as number;
  const key2 = key[2] as number;
  const key3 = key[3] as number;
  let slot = (hashed & 0xffffff) % slots;
  for (;;) {
    const base = slot * WORDS;
    // The last word first: a ULID's random bits, so a slot of another id is told by one load.
    const word3 = keys[base + 3] as number;
    if (word3 === key3 && keys[base] === key0 && keys[base + 1] === key1 && keys[base + 2] === key2) return -1;
    // Empty: all four words 0 (a key whose last word is 0 is told apart by the others: the all-zero id is never stored).
    if (word3 === 0 && keys[base] === 0 && keys[base + 1] === 0 && keys[base + 2] === 0) return slot;
    slot += 1;
    if (slot === slots) slot = 0;
  }
}

/** {@link packUlid} of the 26 bytes at `offset`, in straight-line code: one table load a digit, no 128-bit shifts. */
function packUlidBytes(bytes: Uint8Array, offset: number, into: Uint32Array): boolean {
  if (bytes.length < offset + 26) return false;
  // Digit i holds bits 5 * (25 - i) to 5 * (25 - i) + 4 of the 128-bit value; a byte that is no digit reads 32.
  const d0 = BYTE_DIGIT[bytes[offset + 0] as number] as number;
  const d1 = BYTE_DIGIT[bytes[offset + 1] as number] as number;
  const d2 = BYTE_DIGIT[bytes[offset + 2] as number] as number;
  const d3 = BYTE_DIGIT[bytes[offset + 3] as number] as number;
  const d4 = BYTE_DIGIT[bytes[offset + 4] as number] as number;
  const d5 = BYTE_DIGIT[bytes[offset + 5] as number] as number;
  const d6 = BYTE_DIGIT[bytes[offset + 6] as number] as number;
  const d7 = BYTE_DIGIT[bytes[offset + 7] as number] as number;
  const d8 = BYTE_DIGIT[bytes[offset + 8] as number] as number;
  const d9 = BYTE_DIGIT[bytes[offset + 9] as number] as number;
  const d10 = BYTE_DIGIT[bytes[offset + 10] as number] as number;
  const d11 = BYTE_DIGIT[bytes[offset + 11] as number] as number;
  const d12 = BYTE_DIGIT[bytes[offset + 12] as number] as number;
  const d13 = BYTE_DIGIT[bytes[offset + 13] as number] as number;
  const d14 = BYTE_DIGIT[bytes[offset + 14] as number] as number;
  const d15 = BYTE_DIGIT[bytes[offset + 15] as number] as number;
  const d16 = BYTE_DIGIT[bytes[offset + 16] as number] as number;
  const d17 = BYTE_DIGIT[bytes[offset + 17] as number] as number;
  const d18 = BYTE_DIGIT[bytes[offset + 18] as number] as number;
  const d19 = BYTE_DIGIT[bytes[offset + 19] as number] as number;
  const d20 = BYTE_DIGIT[bytes[offset + 20] as number] as number;
  const d21 = BYTE_DIGIT[bytes[offset + 21] as number] as number;
  const d22 = BYTE_DIGIT[bytes[offset + 22] as number] as number;
  const d23 = BYTE_DIGIT[bytes[offset + 23] as number] as number;
  const d24 = BYTE_DIGIT[bytes[offset + 24] as number] as number;
  const d25 = BYTE_DIGIT[bytes[offset + 25] as number] as number;
  // The first digit has 3 bits (0-7); any other above 31 was no digit.
  const head = d1 | d2 | d3 | d4 | d5 | d6 | d7 | d8 | d9 | d10 | d11 | d12 | d13;
  const tail = d14 | d15 | d16 | d17 | d18 | d19 | d20 | d21 | d22 | d23 | d24 | d25;
  if (d0 > 7 || (head | tail) > 31) return false;
  into[0] = ((d0 << 29) | (d1 << 24) | (d2 << 19) | (d3 << 14) | (d4 << 9) | (d5 << 4) | (d6 >>> 1)) >>> 0;
  into[1] = (((d6 & 1) << 31) | (d7 << 26) | (d8 << 21) | (d9 << 16) | (d10 << 11) | (d11 << 6) | (d12 << 1) | (d13 >>> 4)) >>> 0;
  into[2] = (((d13 & 15) << 28) | (d14 << 23) | (d15 << 18) | (d16 << 13) | (d17 << 8) | (d18 << 3) | (d19 >>> 2)) >>> 0;
  into[3] = (((d19 & 3) << 30) | (d20 << 25) | (d21 << 20) | (d22 << 15) | (d23 << 10) | (d24 << 5) | d25) >>> 0;
  return true;
}

/** A canonical ULID (26 Crockford digits, upper case, first digit 0-7) as four 32-bit words; false for anything else. */
function packUlid(id: string, offset: number, into: Uint32Array): boolean {
  if (id.length !== offset + 26) return false;
  const first = id.charCodeAt(offset);
  if (first < 0x30 || first > 0x37) return false;
  // 26 digits = 3 + 25 * 5 = 128 bits, taken as 5-bit digits into a 128-bit accumulator of four words.
  let word0 = 0;
  let word1 = 0;
  let word2 = 0;
  let word3 = 0;
  for (let index = offset; index < offset + 26; index += 1) {
    const code = id.charCodeAt(index);
    const digit = code < 128 ? (DIGIT_VALUE[code] as number) : -1;
    if (digit < 0) return false;
    // Shift the 128-bit value left by 5 and add the digit.
    word0 = ((word0 << 5) | (word1 >>> 27)) >>> 0;
    word1 = ((word1 << 5) | (word2 >>> 27)) >>> 0;
    word2 = ((word2 << 5) | (word3 >>> 27)) >>> 0;
    word3 = ((word3 << 5) | digit) >>> 0;
  }
  into[0] = word0;
  into[1] = word1;
  into[2] = word2;
  into[3] = word3;
  return true;
}

function hash(key: Uint32Array): number {
  // The low words of a ULID are random: mixing them is enough.
  let value = Math.imul((key[3] as number) ^ Math.imul(key[2] as number, 0x9e3779b1), 0x85ebca6b);
  value ^= value >>> 13;
  value = Math.imul(value ^ (key[1] as number), 0xc2b2ae35);
  return (value ^ (value >>> 16)) >>> 0;
}
