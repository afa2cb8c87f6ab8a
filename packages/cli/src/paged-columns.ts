import type { PicoUsd } from '@costspan/core';

// 16,384 values a page (64 KB of Int32, 128 KB of Float64): a column never copies itself to grow, so
// growing leaves no old array behind for the collector to free later (a doubled array in its last growth
// held both copies at once, and the old one stayed in memory until the next full collection).
const PAGE_BITS = 14;
const PAGE = 1 << PAGE_BITS;
const MASK = PAGE - 1;

/** A column of 32-bit integers in fixed pages, grown a page at a time by {@link Int32Column.set}. */
export class Int32Column {
  private readonly pages: Int32Array[] = [];

  /** The value at `index` (set before). */
  get(index: number): number {
    return (this.pages[index >>> PAGE_BITS] as Int32Array)[index & MASK] as number;
  }

  /** Sets the value at `index`, adding pages up to it. */
  set(index: number, value: number): void {
    const page = index >>> PAGE_BITS;
    while (this.pages.length <= page) this.pages.push(new Int32Array(PAGE));
    (this.pages[page] as Int32Array)[index & MASK] = value;
  }
}

/**
 * Exact sums of pico-USD, one an index, in fixed pages of floats: the safe-integer part
 * there, the rest (rare) in a bigint beside it. An index reads 0 until added to.
 */
export class ExactColumn {
  private readonly pages: Float64Array[] = [];
  private readonly big = new Map<number, bigint>();

  /** Adds `pico` (a safe integer), or `exact` when the amount is too large for one. */
  add(index: number, pico: number, exact: PicoUsd | undefined): void {
    const pageIndex = index >>> PAGE_BITS;
    while (this.pages.length <= pageIndex) this.pages.push(new Float64Array(PAGE));
    const page = this.pages[pageIndex] as Float64Array;
    const slot = index & MASK;
    if (exact === undefined) {
      const next = (page[slot] as number) + pico;
      if (Number.isSafeInteger(next)) {
        page[slot] = next;
        return;
      }
      exact = BigInt(pico);
    }
    this.big.set(index, (this.big.get(index) ?? 0n) + BigInt(page[slot] as number) + exact);
    page[slot] = 0;
  }

  /** The exact sum at `index`. */
  value(index: number): PicoUsd {
    const page = this.pages[index >>> PAGE_BITS];
    const small = page === undefined ? 0 : (page[index & MASK] as number);
    const big = this.big.get(index);
    return big === undefined ? BigInt(small) : big + BigInt(small);
  }
}

// Strings are packed into chunks of this many bytes; one never spans two.
const CHUNK = 65_536;
/** Longer strings (and any with a character past U+00FF) are kept as strings instead: rare for ids. */
const MAX_PACKED = 255;

/**
 * Strings (run ids) as Latin-1 bytes in chunks, numbered in order of {@link PackedStrings.add}:
 * about their length in bytes each where a string held in a Map takes some 60 more, and nothing
 * on the JS heap, so a scan's long-lived state does not grow the young generation.
 */
export class PackedStrings {
  private readonly chunks: Uint8Array[] = [];
  private used = CHUNK;
  private readonly start = new Int32Column();
  /** A packed string's length, or `-1 - i` for `others[i]`. */
  private readonly length = new Int32Column();
  private readonly others: string[] = [];

  /** Stores `value` as string number `index` (the next one). */
  add(index: number, value: string): void {
    const length = value.length;
    let packable = length <= MAX_PACKED;
    for (let at = 0; packable && at < length; at += 1) if (value.charCodeAt(at) > 0xff) packable = false;
    if (!packable) {
      this.length.set(index, -1 - this.others.length);
      this.others.push(value);
      return;
    }
    if (this.used + length > CHUNK) {
      this.chunks.push(new Uint8Array(CHUNK));
      this.used = 0;
    }
    const chunk = this.chunks[this.chunks.length - 1] as Uint8Array;
    for (let at = 0; at < length; at += 1) chunk[this.used + at] = value.charCodeAt(at);
    this.start.set(index, (this.chunks.length - 1) * CHUNK + this.used);
    this.length.set(index, length);
    this.used += length;
  }

  /** Whether string `index` is `value`. */
  equals(index: number, value: string): boolean {
    const length = this.length.get(index);
    if (length < 0) return this.others[-1 - length] === value;
    if (length !== value.length) return false;
    const start = this.start.get(index);
    const chunk = this.chunks[Math.floor(start / CHUNK)] as Uint8Array;
    const offset = start % CHUNK;
    for (let at = 0; at < length; at += 1) if (chunk[offset + at] !== value.charCodeAt(at)) return false;
    return true;
  }

  /** String `index`. */
  get(index: number): string {
    const length = this.length.get(index);
    if (length < 0) return this.others[-1 - length] as string;
    const start = this.start.get(index);
    const chunk = this.chunks[Math.floor(start / CHUNK)] as Uint8Array;
    return Buffer.from(chunk.buffer, chunk.byteOffset + (start % CHUNK), length).toString('latin1');
  }
}
