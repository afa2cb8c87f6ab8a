import { NONE } from './event-record.js';
import { copyOf, equalAt, JsonSkipper } from './json-skip.js';

/** The `tag` dimension's keys of an event without tags (or with `{}`). */
export const NONE_KEYS: readonly string[] = Object.freeze([NONE]);

/**
 * The fast path's reader of an event's `tags` (canonical-line.ts): every entry
 * read as `key=value`, in the order Object.entries gives them, or the line is
 * left to the slow path (integer-like, non-ASCII or escaped keys, values that
 * are not plain strings, keys out of order or repeated).
 */
export class TagsReader extends JsonSkipper {
  /** The keys of the last tags read. */
  keys: readonly string[] = NONE_KEYS;
  private lastTags: Uint8Array = new Uint8Array(0);
  private lastTagKeys: readonly string[] = NONE_KEYS;
  private readonly tagKeys: string[] = [];

  /** The tags object at `position` of `bytes`: the offset after it (keys in `keys`), or -1. */
  read(bytes: Buffer, position: number): number {
    this.bytes = bytes;
    // The same tags as the last line (the usual case): their keys are known, and their bytes were checked.
    const last = this.lastTags;
    if (last.length > 0 && equalAt(bytes, position, last)) {
      this.keys = this.lastTagKeys;
      return position + last.length;
    }
    this.tagKeys.length = 0;
    const after = this.tagsObject(position);
    if (after < 0) return -1;
    const keys = this.tagKeys.length === 0 ? NONE_KEYS : [...this.tagKeys];
    this.lastTags = copyOf(bytes, position, after);
    this.lastTagKeys = keys;
    this.keys = keys;
    return after;
  }

  private tag(start: number, end: number, position: number): number {
    // Object.entries lists integer-like keys first, whatever the text's order: read those the slow way.
    const first = this.bytes[start] as number;
    if (first >= 0x30 && first <= 0x39) return -1;
    const after = this.string(position);
    if (after < 0) return -1;
    this.tagKeys.push(`${this.bytes.toString('latin1', start, end)}=${this.stringValue()}`);
    return after;
  }

  /** Tags: every key read, strictly increasing (Object.entries order, no repeats); the offset after them, or -1. */
  private tagsObject(position: number): number {
    const bytes = this.bytes;
    if (bytes[position] !== 0x7b) return -1;
    let at = position + 1;
    if (bytes[at] === 0x7d) return at + 1;
    let previousStart = -1;
    let previousEnd = -1;
    for (;;) {
      if (bytes[at] !== 0x22) return -1;
      const keyStart = at + 1;
      const keyEnd = scanTagKey(bytes, keyStart);
      if (keyEnd < 0 || bytes[keyEnd + 1] !== 0x3a) return -1;
      if (previousStart >= 0 && !this.keyAfter(previousStart, previousEnd, keyStart, keyEnd)) return -1;
      at = this.tag(keyStart, keyEnd, keyEnd + 2);
      if (at < 0) return -1;
      previousStart = keyStart;
      previousEnd = keyEnd;
      const next = bytes[at];
      if (next === 0x2c) at += 1;
      else if (next === 0x7d) return at + 1;
      else return -1;
    }
  }

  /** Whether key `[start, end)` sorts after key `[previousStart, previousEnd)` (ASCII: code unit order). */
  private keyAfter(previousStart: number, previousEnd: number, start: number, end: number): boolean {
    const bytes = this.bytes;
    const length = Math.min(previousEnd - previousStart, end - start);
    for (let index = 0; index < length; index += 1) {
      const left = bytes[previousStart + index] as number;
      const right = bytes[start + index] as number;
      if (left !== right) return right > left;
    }
    return end - start > previousEnd - previousStart;
  }
}

/** A key from the byte after its opening quote: the offset of its closing quote, or -1 (escapes, non-ASCII). */
function scanTagKey(bytes: Uint8Array, start: number): number {
  let end = start;
  for (;;) {
    const byte = bytes[end] as number;
    if (byte === 0x22) return end;
    if (byte < 0x20 || byte === 0x5c || byte >= 0x80) return -1;
    end += 1;
  }
}
