import { copyOf, equalAt } from './json-skip.js';

// Small: values past it are new strings each time, garbage that dies young (a large table's
// entries would live long enough to be promoted, and grow the old generation).
const MAX_CACHED = 256;

const RECENT = 8;

/** One value a {@link StringCache} knows: its bytes and the string they decode to. */
export interface CachedString {
  raw: Uint8Array;
  value: string;
}

/**
 * The values one string field took, so a repeated value (a model, an agent, a
 * user) costs a comparison of its bytes instead of a new string. The last
 * value is compared first; then a small table by a hash of the bytes.
 */
export class StringCache {
  private last: CachedString = { raw: new Uint8Array(0), value: '' };
  /** The last few distinct values, most recent first: a field that cycles (models, steps) matches one. */
  private readonly recent: CachedString[] = [];
  private readonly values = new Map<number, CachedString[]>();
  private size = 0;

  /**
   * @param pattern new values must match it (they are checked once, when first seen)
   * @param table whether to keep a table of values beside the last one (not for values that rarely repeat)
   */
  constructor(
    private readonly pattern: RegExp | undefined = undefined,
    private readonly table = true,
  ) {}

  /**
   * The value of the quoted string at `position` when it is one of the last few values (their
   * bytes were checked when first read: no quote, backslash or control byte); else undefined.
   */
  match(bytes: Uint8Array, position: number): CachedString | undefined {
    if (bytes[position] !== 0x22) return undefined;
    const recent = this.recent;
    for (let index = 0; index < recent.length; index += 1) {
      const entry = recent[index] as CachedString;
      const raw = entry.raw;
      if (bytes[position + 1 + raw.length] === 0x22 && equalAt(bytes, position + 1, raw)) return entry;
    }
    return undefined;
  }

  private remember(entry: CachedString): void {
    this.last = entry;
    const recent = this.recent;
    if (recent.includes(entry)) return;
    if (recent.length >= (this.table ? RECENT : 1)) recent.pop();
    recent.unshift(entry);
  }

  /** The value of bytes `[start, end)` (decoded as UTF-8 unless `ascii`); undefined when it fails the pattern. */
  get(bytes: Buffer, start: number, end: number, ascii: boolean): string | undefined {
    const length = end - start;
    const last = this.last;
    if (last.raw.length === length && equalAt(bytes, start, last.raw)) return last.value;
    if (!this.table) {
      const value = bytes.toString(ascii ? 'latin1' : 'utf8', start, end);
      this.remember({ raw: copyOf(bytes, start, end), value });
      return value;
    }
    let hash = length;
    for (let index = start; index < end; index += 1) hash = (Math.imul(hash, 31) + (bytes[index] as number)) | 0;
    let bucket = this.values.get(hash);
    if (bucket !== undefined) {
      for (const entry of bucket) {
        if (entry.raw.length === length && equalAt(bytes, start, entry.raw)) {
          this.remember(entry);
          return entry.value;
        }
      }
    }
    const value = bytes.toString(ascii ? 'latin1' : 'utf8', start, end);
    if (this.pattern !== undefined && !this.pattern.test(value)) return undefined;
    if (this.size >= MAX_CACHED) {
      this.values.clear();
      this.size = 0;
      bucket = undefined;
    }
    // A copy: a view would keep the whole chunk alive.
    const entry = { raw: copyOf(bytes, start, end), value };
    if (bucket === undefined) this.values.set(hash, [entry]);
    else bucket.push(entry);
    this.size += 1;
    this.remember(entry);
    return value;
  }
}
