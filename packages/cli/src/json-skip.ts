/**
 * The JSON checks of the report's fast path (`canonical-line.ts`), on a line's
 * bytes: values it does not read are skipped but still checked as JSON.parse
 * checks them (after UTF-8 decoding, where any byte of 0x80 and above is some
 * character, valid in a string), so a line it accepts is a line JSON.parse
 * accepts. A newline follows every line: no JSON token holds one, so it ends
 * every scan without a bounds check.
 */
export class JsonSkipper {
  protected bytes: Buffer = Buffer.alloc(1, 0x0a);
  /** The last string read by {@link JsonSkipper.string}: its bytes and whether all are ASCII. */
  protected stringStart = 0;
  protected stringEnd = 0;
  protected stringAscii = true;
  /** The last number read. */
  protected number = 0;
  private digits = 0;
  private scale = 0;
  private exponent = false;

  /** Skips any JSON value at `position`; the offset after it, or -1 when it is no JSON (or nests deeper than 64). */
  protected skipValue(position: number, depth: number): number {
    const bytes = this.bytes;
    const byte = bytes[position] as number;
    switch (byte) {
      case 0x22:
        return this.skipString(position);
      case 0x7b:
        return this.skipObject(position, depth + 1);
      case 0x5b:
        return this.skipArray(position, depth + 1);
      case 0x74: // true
        return bytes[position + 1] === 0x72 && bytes[position + 2] === 0x75 && bytes[position + 3] === 0x65 ? position + 4 : -1;
      case 0x66: // false
        return bytes[position + 1] === 0x61 && bytes[position + 2] === 0x6c && bytes[position + 3] === 0x73 && bytes[position + 4] === 0x65
          ? position + 5
          : -1;
      case 0x6e: // null
        return bytes[position + 1] === 0x75 && bytes[position + 2] === 0x6c && bytes[position + 3] === 0x6c ? position + 4 : -1;
      default:
        return byte === 0x2d || (byte >= 0x30 && byte <= 0x39) ? this.skipNumber(position) : -1;
    }
  }

  /** A string with any escapes JSON allows. */
  protected skipString(position: number): number {
    const bytes = this.bytes;
    let at = position + 1;
    for (;;) {
      const byte = bytes[at] as number;
      if (byte === 0x22) return at + 1;
      if (byte === 0x5c) {
        const escaped = bytes[at + 1] as number;
        if (escaped === 0x75) {
          for (let index = at + 2; index < at + 6; index += 1) if (!isHex(bytes[index] as number)) return -1;
          at += 6;
          continue;
        }
        if (!isEscape(escaped)) return -1;
        at += 2;
        continue;
      }
      if (byte < 0x20) return -1;
      at += 1;
    }
  }

  private skipObject(position: number, depth: number): number {
    if (depth > 64) return -1;
    const bytes = this.bytes;
    let at = position + 1;
    if (bytes[at] === 0x7d) return at + 1;
    for (;;) {
      if (bytes[at] !== 0x22) return -1;
      at = this.skipString(at);
      if (at < 0 || bytes[at] !== 0x3a) return -1;
      at = this.skipValue(at + 1, depth);
      if (at < 0) return -1;
      const next = bytes[at];
      if (next === 0x2c) at += 1;
      else if (next === 0x7d) return at + 1;
      else return -1;
    }
  }

  private skipArray(position: number, depth: number): number {
    if (depth > 64) return -1;
    const bytes = this.bytes;
    let at = position + 1;
    if (bytes[at] === 0x5d) return at + 1;
    for (;;) {
      at = this.skipValue(at, depth);
      if (at < 0) return -1;
      const next = bytes[at];
      if (next === 0x2c) at += 1;
      else if (next === 0x5d) return at + 1;
      else return -1;
    }
  }

  /** `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` */
  private skipNumber(position: number): number {
    const bytes = this.bytes;
    let at = position;
    if (bytes[at] === 0x2d) at += 1;
    let byte = bytes[at] as number;
    if (byte === 0x30) {
      at += 1;
    } else if (byte >= 0x31 && byte <= 0x39) {
      do at += 1;
      while (isDigit(bytes[at] as number));
    } else {
      return -1;
    }
    byte = bytes[at] as number;
    if (byte === 0x2e) {
      at += 1;
      if (!isDigit(bytes[at] as number)) return -1;
      do at += 1;
      while (isDigit(bytes[at] as number));
      byte = bytes[at] as number;
    }
    if (byte === 0x65 || byte === 0x45) {
      at += 1;
      byte = bytes[at] as number;
      if (byte === 0x2b || byte === 0x2d) at += 1;
      if (!isDigit(bytes[at] as number)) return -1;
      do at += 1;
      while (isDigit(bytes[at] as number));
    }
    return at;
  }

  /**
   * A string that is read: without escapes (those are left to the slow path). Sets
   * `stringStart`, `stringEnd` and `stringAscii`; the offset after it, or -1.
   */
  protected string(position: number): number {
    const bytes = this.bytes;
    if (bytes[position] !== 0x22) return -1;
    let at = position + 1;
    let ascii = true;
    for (;;) {
      const byte = bytes[at] as number;
      if (byte === 0x22) break;
      if (byte < 0x20 || byte === 0x5c) return -1;
      if (byte >= 0x80) ascii = false;
      at += 1;
    }
    this.stringStart = position + 1;
    this.stringEnd = at;
    this.stringAscii = ascii;
    return at + 1;
  }

  /** The hash of the last key read by {@link JsonSkipper.scanKey}. */
  protected keyHash = 0;

  /** A key from the byte after its opening quote: the offset of its closing quote (hash in `keyHash`), or -1 (escapes, non-ASCII). */
  protected scanKey(start: number): number {
    const bytes = this.bytes;
    let end = start;
    let hash = 0;
    for (;;) {
      const byte = bytes[end] as number;
      if (byte === 0x22) break;
      if (byte < 0x20 || byte === 0x5c || byte >= 0x80) return -1;
      hash = (Math.imul(hash, 31) + byte) | 0;
      end += 1;
    }
    this.keyHash = hash;
    return end;
  }

  /** Whether the last string read is `literal` (ASCII bytes). */
  protected stringIs(literal: Uint8Array): boolean {
    return this.stringEnd - this.stringStart === literal.length && equalAt(this.bytes, this.stringStart, literal);
  }

  /** A non-negative integer of at most 15 digits into `number`; a fraction or exponent is left to the slow path. */
  protected integer(position: number): number {
    const bytes = this.bytes;
    let at = position;
    let value = 0;
    let byte = bytes[at] as number;
    if (byte === 0x30) {
      at += 1;
    } else {
      while (byte >= 0x30 && byte <= 0x39) {
        value = value * 10 + (byte - 0x30);
        at += 1;
        byte = bytes[at] as number;
      }
      if (at === position || at - position > 15) return -1;
    }
    byte = bytes[at] as number;
    if (byte === 0x2e || byte === 0x65 || byte === 0x45 || (byte >= 0x30 && byte <= 0x39)) return -1;
    this.number = value;
    return at;
  }

  /**
   * A JSON number >= 0 as `digits * 10^scale`, its digits (at most 15 significant) and the
   * power of ten (fraction digits and exponent); -1 for a negative number, more digits, or
   * anything that is no JSON number.
   */
  private decimalParts(position: number): number {
    const bytes = this.bytes;
    let at = position;
    let digits = 0;
    let count = 0;
    let byte = bytes[at] as number;
    if (byte === 0x30) {
      byte = bytes[(at += 1)] as number;
    } else if (byte >= 0x31 && byte <= 0x39) {
      while (byte >= 0x30 && byte <= 0x39) {
        digits = digits * 10 + (byte - 0x30);
        count += 1;
        byte = bytes[(at += 1)] as number;
      }
    } else {
      return -1;
    }
    let scale = 0;
    this.exponent = false;
    if (byte === 0x2e) {
      byte = bytes[(at += 1)] as number;
      if (!(byte >= 0x30 && byte <= 0x39)) return -1;
      while (byte >= 0x30 && byte <= 0x39) {
        digits = digits * 10 + (byte - 0x30);
        if (digits > 0) count += 1;
        scale -= 1;
        byte = bytes[(at += 1)] as number;
      }
    }
    if (byte === 0x65 || byte === 0x45) {
      this.exponent = true;
      byte = bytes[(at += 1)] as number;
      const negative = byte === 0x2d;
      if (negative || byte === 0x2b) byte = bytes[(at += 1)] as number;
      if (!(byte >= 0x30 && byte <= 0x39)) return -1;
      let exponent = 0;
      while (byte >= 0x30 && byte <= 0x39) {
        exponent = Math.min(exponent * 10 + (byte - 0x30), 1000);
        byte = bytes[(at += 1)] as number;
      }
      scale += negative ? -exponent : exponent;
    }
    if (count > 15) return -1;
    this.digits = digits;
    this.scale = scale;
    return at;
  }

  /** A decimal without exponent into `number`: `digits / 10^k`, as JSON.parse reads it (both exact, one rounding). */
  protected decimal(position: number): number {
    const after = this.decimalParts(position);
    if (after < 0 || this.exponent || this.scale < -22) return -1;
    this.number = this.digits / (POWERS[-this.scale] as number);
    return after;
  }

  /**
   * A wire amount in exact pico-USD into `number`: only amounts under $1000 with at most 12
   * decimals are read, where the digits give what `wireToPico` gives (the nearest double to
   * such an amount rounds back to it); -1 for any other, left to the slow path.
   */
  protected pico(position: number): number {
    const after = this.decimalParts(position);
    if (after < 0) return -1;
    const power = this.scale + 12;
    let pico = 0;
    if (this.digits !== 0) {
      if (power < 0 || power > 22) return -1;
      pico = this.digits * (POWERS[power] as number);
      if (pico >= 1e15) return -1;
    }
    this.number = pico;
    return after;
  }

  /** The last string read, decoded as JSON.parse sees it (UTF-8), in a string of its own. */
  protected stringValue(): string {
    return this.bytes.toString(this.stringAscii ? 'latin1' : 'utf8', this.stringStart, this.stringEnd);
  }
}

const POWERS = Array.from({ length: 23 }, (_, index) => 10 ** index);
const CROCKFORD = new Uint8Array(256);
for (const char of '0123456789ABCDEFGHJKMNPQRSTVWXYZ') CROCKFORD[char.charCodeAt(0)] = 1;
const HEX = new Uint8Array(256);
for (const char of '0123456789abcdef') HEX[char.charCodeAt(0)] = 1;
// `YYYY-MM-DDTHH:MM:SS.ffffffZ`: 0 marks a digit.
const TIMESTAMP_SHAPE = Uint8Array.from('0000-00-00T00:00:00.000000Z', (char) => (char === '0' ? 0 : char.charCodeAt(0)));

// The SDK's patterns for ids and times (events/cost-event-validation.ts), checked on a quoted value at `position`.

/** `"` + a ULID (`^[0-7][0-9A-HJKMNP-TV-Z]{25}$`) + `"`. */
export function isUlidAt(bytes: Uint8Array, position: number): boolean {
  if (bytes[position] !== 0x22) return false;
  const first = bytes[position + 1] as number;
  if (first < 0x30 || first > 0x37) return false;
  for (let index = position + 2; index < position + 27; index += 1) if (CROCKFORD[bytes[index] as number] !== 1) return false;
  return bytes[position + 27] === 0x22;
}

/** `"` + `length` lowercase hex digits + `"`. */
export function isHexAt(bytes: Uint8Array, position: number, length: number): boolean {
  if (bytes[position] !== 0x22) return false;
  for (let index = position + 1; index <= position + length; index += 1) if (HEX[bytes[index] as number] !== 1) return false;
  return bytes[position + length + 1] === 0x22;
}

/** `"YYYY-MM-DDTHH:MM:SS.ffffffZ"`. */
export function isTimestampAt(bytes: Uint8Array, position: number): boolean {
  if (bytes[position] !== 0x22) return false;
  for (let index = 0; index < 27; index += 1) {
    const byte = bytes[position + 1 + index] as number;
    const expected = TIMESTAMP_SHAPE[index] as number;
    if (expected === 0 ? byte < 0x30 || byte > 0x39 : byte !== expected) return false;
  }
  return bytes[position + 28] === 0x22;
}

/** A copy of bytes `[start, end)` (a plain Uint8Array: a Buffer's own slice would cost a Buffer's construction). */
export function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const copy = new Uint8Array(end - start);
  for (let index = start; index < end; index += 1) copy[index - start] = bytes[index] as number;
  return copy;
}

/** Whether `bytes` holds `expected` at `offset`. */
export function equalAt(bytes: Uint8Array, offset: number, expected: Uint8Array): boolean {
  for (let index = 0; index < expected.length; index += 1) if (bytes[offset + index] !== expected[index]) return false;
  return true;
}

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

function isHex(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

/** `" \ / b f n r t` */
function isEscape(byte: number): boolean {
  return (
    byte === 0x22 || byte === 0x5c || byte === 0x2f || byte === 0x62 || byte === 0x66 || byte === 0x6e || byte === 0x72 || byte === 0x74
  );
}
