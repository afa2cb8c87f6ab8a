const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const DIGIT_VALUE = new Int8Array(128).fill(-1);
for (let index = 0; index < CROCKFORD.length; index += 1) DIGIT_VALUE[CROCKFORD.charCodeAt(index)] = index;

const WORDS = 4;
const FIRST_TABLE_SLOTS = 32_768;
// Most adds are misses, which linear probing pays for most: (1 + 1 / (1 - load)^2) / 2 slots, 4.6 at 0.65.
const MAX_LOAD = 0.65;

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
 * 128 bits in open-addressing tables of 16 bytes a slot, about 30 MB for a
 * million ids where a `Set` of strings takes some 80 MB; any other id is kept
 * as its string. A full table is kept and a new one, half as large again, is
 * added (rather than rehashing into a table twice as large), so memory never
 * holds an old and a new copy at once.
 */
export class EventIdSet {
  private readonly tables: IdTable[] = [newTable(FIRST_TABLE_SLOTS)];
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
    if (!packUlid(id, key) || (key[0] === 0 && key[1] === 0 && key[2] === 0 && key[3] === 0)) {
      if (this.others.has(id)) return false;
      this.others.add(id);
      return true;
    }
    const hashed = hash(key);
    const tables = this.tables;
    // The full tables, newest first (a retried batch repeats recent ids), then the current one.
    for (let index = tables.length - 2; index >= 0; index -= 1) {
      if (probe(tables[index] as IdTable, key, hashed) < 0) return false;
    }
    let current = tables[tables.length - 1] as IdTable;
    const slot = probe(current, key, hashed);
    if (slot < 0) return false;
    if (current.count >= current.limit) {
      current = newTable(Math.ceil(current.slots * 1.5));
      tables.push(current);
      const fresh = probe(current, key, hashed);
      current.keys.set(key, fresh * WORDS);
    } else {
      current.keys.set(key, slot * WORDS);
    }
    current.count += 1;
    return true;
  }
}

/** The empty slot where `key` would go, or -1 when `key` is in `table`. */
function probe(table: IdTable, key: Uint32Array, hashed: number): number {
  const keys = table.keys;
  let slot = hashed % table.slots;
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

/** A canonical ULID (26 Crockford digits, upper case, first digit 0-7) as four 32-bit words; false for anything else. */
function packUlid(id: string, into: Uint32Array): boolean {
  if (id.length !== 26) return false;
  const first = id.charCodeAt(0);
  if (first < 0x30 || first > 0x37) return false;
  // 26 digits = 3 + 25 * 5 = 128 bits, taken as 5-bit digits into a 128-bit accumulator of four words.
  let word0 = 0;
  let word1 = 0;
  let word2 = 0;
  let word3 = 0;
  for (let index = 0; index < 26; index += 1) {
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
