const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const DIGIT_VALUE = new Int8Array(128).fill(-1);
for (let index = 0; index < CROCKFORD.length; index += 1) DIGIT_VALUE[CROCKFORD.charCodeAt(index)] = index;

const WORDS = 4;
const INITIAL_SLOTS = 1 << 12;

/**
 * The event ids seen so far, to drop events delivered twice (OTLP delivery is
 * at least once). Exact, and small: a ULID (what the SDK writes) is kept as its
 * 128 bits in an open-addressing table of 16 bytes a slot (about 32 MB for a
 * million ids, where a `Set` of strings takes some 80 MB); any other id is kept
 * as its string.
 */
export class EventIdSet {
  private table = new Uint32Array(INITIAL_SLOTS * WORDS);
  private used = new Uint8Array(INITIAL_SLOTS);
  private mask = INITIAL_SLOTS - 1;
  private count = 0;
  private readonly others = new Set<string>();
  private readonly key = new Uint32Array(WORDS);

  /** Ids held. */
  get size(): number {
    return this.count + this.others.size;
  }

  /** Adds `id`; false when it was already there (a duplicate). */
  add(id: string): boolean {
    if (!packUlid(id, this.key)) {
      if (this.others.has(id)) return false;
      this.others.add(id);
      return true;
    }
    const key = this.key;
    let slot = hash(key) & this.mask;
    for (;;) {
      if (this.used[slot] === 0) break;
      const base = slot * WORDS;
      if (
        this.table[base] === key[0] &&
        this.table[base + 1] === key[1] &&
        this.table[base + 2] === key[2] &&
        this.table[base + 3] === key[3]
      )
        return false;
      slot = (slot + 1) & this.mask;
    }
    this.place(slot, key);
    this.count += 1;
    if (this.count * 4 > this.used.length * 3) this.grow();
    return true;
  }

  private place(slot: number, key: Uint32Array): void {
    this.used[slot] = 1;
    this.table.set(key, slot * WORDS);
  }

  private grow(): void {
    const oldTable = this.table;
    const oldUsed = this.used;
    const slots = oldUsed.length * 2;
    this.table = new Uint32Array(slots * WORDS);
    this.used = new Uint8Array(slots);
    this.mask = slots - 1;
    for (let old = 0; old < oldUsed.length; old += 1) {
      if (oldUsed[old] === 0) continue;
      const key = oldTable.subarray(old * WORDS, old * WORDS + WORDS);
      let slot = hash(key) & this.mask;
      while (this.used[slot] !== 0) slot = (slot + 1) & this.mask;
      this.place(slot, key);
    }
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
