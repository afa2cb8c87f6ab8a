/*
 * Reading canonical JSON lines as UTF-8 bytes, for canonical-line-records.ts: where strings and
 * values end, and numbers as `Number` reads them. Lines here have no escape sequence (the caller
 * leaves those out), so a string ends at the next quote.
 */

/** Backslash: a line with an escape sequence is outside the subset. */
export const BACKSLASH = 0x5c;

/** Thrown when the line leaves the subset: made once, so a throw captures no stack. */
export const OUTSIDE: Error = new Error('outside the subset of canonical lines written from bytes');

export const QUOTE = 0x22;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const OPEN_OBJECT = 0x7b;
export const CLOSE_OBJECT = 0x7d;
export const OPEN_ARRAY = 0x5b;
export const CLOSE_ARRAY = 0x5d;

/**
 * The offset of the first quote at or after `from` (-1 when none): the end of a string, in a line
 * without escapes. A loop, not `Buffer.indexOf`, whose call into the runtime costs more than
 * scanning a key or an id.
 */
export function closingQuote(line: Buffer, from: number): number {
  for (let index = from; index < line.length; index += 1) if (line[index] === QUOTE) return index;
  return -1;
}

export function outside(): never {
  throw OUTSIDE;
}

/** The offset just past the value starting at `at`. */
export function skipValue(line: Buffer, at: number): number {
  const first = line[at];
  if (first === QUOTE) return closingQuote(line, at + 1) + 1 || outside();
  if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) {
    let end = at;
    while (end < line.length && line[end] !== COMMA && line[end] !== CLOSE_OBJECT && line[end] !== CLOSE_ARRAY) end += 1;
    return end;
  }
  let depth = 0;
  for (let index = at; index < line.length; index += 1) {
    const byte = line[index];
    if (byte === QUOTE) index = closingQuote(line, index + 1);
    else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) depth += 1;
    else if ((byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) && --depth === 0) return index + 1;
    if (index < 0) break;
  }
  throw OUTSIDE;
}

export function isKey(line: Buffer, start: number, end: number, name: Buffer): boolean {
  if (end - start !== name.length) return false;
  for (let index = 0; index < name.length; index += 1) if (line[start + index] !== name[index]) return false;
  return true;
}

/**
 * The number whose JSON text is `line[start, end)`, as `Number` reads it. Up to 15 digits with no
 * exponent by hand: the digits make an exact integer and one division by an exact power of ten
 * rounds once, which is the correctly rounded value (Clinger's fast path). The rest through `Number`.
 */
export function numberAt(line: Buffer, start: number, end: number): number {
  let index = start;
  const negative = line[index] === 0x2d;
  if (negative) index += 1;
  let mantissa = 0;
  let digits = 0;
  let decimals = -1;
  for (; index < end; index += 1) {
    const byte = line[index] as number;
    if (byte >= 0x30 && byte <= 0x39) {
      mantissa = mantissa * 10 + (byte - 0x30);
      digits += 1;
      if (decimals >= 0) decimals += 1;
    } else if (byte === 0x2e && decimals < 0) {
      decimals = 0;
    } else {
      break;
    }
  }
  if (index === end && digits > 0 && digits <= 15 && decimals !== 0) {
    const magnitude = decimals > 0 ? mantissa / (POWERS_OF_TEN[decimals] as number) : mantissa;
    return negative ? -magnitude : magnitude;
  }
  const parsed = Number(line.toString('latin1', start, end));
  if (Number.isNaN(parsed)) throw OUTSIDE;
  return parsed;
}

const POWERS_OF_TEN = Array.from({ length: 16 }, (_, power) => 10 ** power);
/** Lines in a batch of encoded lines (each ending in a newline). */
export function lineCount(encoded: readonly Buffer[]): number {
  let lines = 0;
  for (const chunk of encoded) for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) lines += 1;
  return lines;
}
