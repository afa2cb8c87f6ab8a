const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const DIGIT_VALUE = new Int8Array(128).fill(-1);
for (let index = 0; index < CROCKFORD.length; index += 1) DIGIT_VALUE[CROCKFORD.charCodeAt(index)] = index;

const WORDS = 4;
// 256 partitions by the hash's top byte, each its own open-addressing table, grown alone.
const PARTITIONS = 256;
const FIRST_SLOTS = 16;
// Linear probing over 16-byte slots stays within a cache line or two up to this load.
const MAX_LOAD = 0.8;

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
 * 128 bits in open-addressing tables of 16 bytes a slot, about 25 MB for a
 * million ids where a `Set` of strings takes some 80 MB; any other id is kept
 * as its string. The ids are spread over 256 tables by hash, each grown by
 * half again on its own when full: one probe sequence per id, and growing
 * copies 1/256 of the set at a time, so memory never holds two copies of it.
 */
export class EventIdSet {
  private readonly tables: IdTable[] = Array.from({ length: PARTITIONS }, () => newTable(FIRST_SLOTS));
  private readonly others = new Set<string>();
  private readonly key = new Uint32Array(WORDS);

  /** Ids held. */
  get size(): number {
    let count = this.others.size;
    for (const table of this.tables) count += table.count;
    return count;
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

/** `table`'s keys in a table half as large again. */
function grow(table: IdTable): IdTable {
  const grown = newTable(Math.ceil(table.slots * 1.5));
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
  let slot = (hashed & 0xffffff) % table.slots;
  for (;;) {
    const base = slot * WORDS;
    const word0 = keys[base] as number;
    const word1 = keys[base + 1] as number;
    const word2 = keys[base + 2] as number;
    const word3 = keys[base + 3] as number;
    if (word0 === 0 && word1 === 0 && word2 === 0 && word3 === 0) return slot;
    if (word0 === key[0] && word1 === key[1] && word2 === key[2] && word3 === key[3]) return -1;
    slot += 1;
    if (slot === table.slots) slot = 0;
  }
}

/** {@link packUlid} of the 26 bytes at `offset`. */
function packUlidBytes(bytes: Uint8Array, offset: number, into: Uint32Array): boolean {
  if (bytes.length < offset + 26) return false;
  const first = bytes[offset] as number;
  if (first < 0x30 || first > 0x37) return false;
  let word0 = 0;
  let word1 = 0;
  let word2 = 0;
  let word3 = 0;
  for (let index = offset; index < offset + 26; index += 1) {
    const code = bytes[index] as number;
    const digit = code < 128 ? (DIGIT_VALUE[code] as number) : -1;
    if (digit < 0) return false;
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
