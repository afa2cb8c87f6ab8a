/**
 * A protobuf writer for costspan's own OTLP log encoding (`cost-event-protobuf.ts`): one pass into
 * a growing buffer, each length-delimited field given one byte of length up front and its content
 * shifted in the rare case it needs more (as OpenTelemetry's `ProtobufWriter` does), so no
 * size-estimating pass runs first. Integer encodings follow OpenTelemetry's writer exactly, so a
 * request encoded here has the same bytes as one from `@opentelemetry/otlp-transformer`.
 */
export class ProtobufWriter {
  buffer: Buffer;
  pos = 0;

  constructor(initialSize: number) {
    this.buffer = Buffer.allocUnsafe(Math.max(64, initialSize));
  }

  /** Makes room for `size` more bytes. */
  ensure(size: number): void {
    const needed = this.pos + size;
    if (needed <= this.buffer.length) return;
    let grown = this.buffer.length * 2;
    while (grown < needed) grown *= 2;
    const buffer = Buffer.allocUnsafe(grown);
    this.buffer.copy(buffer, 0, 0, this.pos);
    this.buffer = buffer;
  }

  /** The bytes written so far. */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.pos);
  }

  /** One byte: a tag whose field number and wire type fit in it, or a constant. */
  byte(value: number): void {
    this.ensure(1);
    this.buffer[this.pos++] = value;
  }

  /** Bytes written as they are (an encoded field kept from before). */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** A varint, as OpenTelemetry's writer encodes a JS number (negatives in two's complement, 10 bytes). */
  varint(value: number): void {
    this.ensure(10);
    const buffer = this.buffer;
    if (value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0;
      while (v > 0x7f) {
        buffer[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buffer[this.pos++] = v;
      return;
    }
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = (value / 0x100000000) >>> 0;
    } else {
      const abs = Math.abs(value);
      low = ~(abs >>> 0) >>> 0;
      high = ~((abs / 0x100000000) >>> 0) >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    while (high > 0 || low > 0x7f) {
      buffer[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buffer[this.pos++] = low & 0x7f;
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.pos = littleEndian32(this.buffer, this.pos, value);
  }

  /** A fixed64 from its two 32-bit halves. */
  fixed64(low: number, high: number): void {
    this.ensure(8);
    this.pos = littleEndian32(this.buffer, littleEndian32(this.buffer, this.pos, low), high);
  }

  /** `[seconds, nanoseconds]` as fixed64 nanoseconds, exact past 2^53 (OpenTelemetry's split). */
  hrTime(seconds: number, nanos: number): void {
    const lowerSeconds = seconds & 0xffff;
    const upperSeconds = (seconds / 0x10000) >>> 0;
    const fromLower = lowerSeconds * 1_000_000_000;
    const fromUpper = upperSeconds * 1_000_000_000;
    const lowWithCarry = (fromLower >>> 0) + (((fromUpper & 0xffff) * 0x10000) >>> 0) + nanos;
    const high = Math.floor(fromLower / 0x100000000) + ((fromUpper / 0x10000) >>> 0) + Math.floor(lowWithCarry / 0x100000000);
    this.fixed64(lowWithCarry >>> 0, high >>> 0);
  }

  double(value: number): void {
    this.ensure(8);
    this.buffer.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** A length-delimited field's content taken as it is from `source[start, end)` (UTF-8 of a string already encoded). */
  bytesOf(source: Buffer, start: number, end: number): void {
    const length = end - start;
    if (length < 0x80) {
      this.ensure(length + 1);
      this.buffer[this.pos++] = length;
    } else {
      this.varint(length);
      this.ensure(length);
    }
    // Short runs by hand: a call into the runtime costs more than copying a key or an id.
    if (length <= 48) {
      const buffer = this.buffer;
      let pos = this.pos;
      for (let index = start; index < end; index += 1) buffer[pos++] = source[index] as number;
      this.pos = pos;
      return;
    }
    source.copy(this.buffer, this.pos, start, end);
    this.pos += length;
  }

  /** A length-delimited string, UTF-8 (lone surrogates as U+FFFD, as `TextEncoder` writes them). */
  string(value: string): void {
    const length = value.length;
    // Up to 42 UTF-16 units are at most 126 bytes: one byte of length. ASCII is copied by hand,
    // which for short strings beats a call into the runtime.
    if (length <= 42) {
      this.ensure(length * 3 + 1);
      const buffer = this.buffer;
      const start = this.pos;
      let at = start + 1;
      let index = 0;
      for (; index < length; index += 1) {
        const code = value.charCodeAt(index);
        if (code >= 0x80) break;
        buffer[at++] = code;
      }
      if (index === length) {
        buffer[start] = length;
        this.pos = at;
        return;
      }
      const written = buffer.write(value, start + 1, 'utf8');
      buffer[start] = written;
      this.pos = start + 1 + written;
      return;
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.varint(bytes);
    this.ensure(bytes);
    this.pos += this.buffer.write(value, this.pos, 'utf8');
  }

  /** Length-delimited bytes given as lowercase hex (a trace or span id already checked as such). */
  hexBytes(hex: string): void {
    const length = hex.length >>> 1;
    this.ensure(length + 1);
    this.buffer[this.pos++] = length;
    this.pos += this.buffer.write(hex, this.pos, 'hex');
  }

  /** Opens a length-delimited field's content (its tag already written); pass the result to {@link end}. */
  begin(): number {
    this.ensure(1);
    return this.pos++;
  }

  /**
   * {@link begin} for content expected to need `lengthBytes` bytes of length (a log record or its
   * body 2, a request's ResourceLogs 3): they are kept, so {@link endReserved} moves nothing when
   * that holds, where `end` moves the whole content on. Pass the result to {@link endReserved}.
   */
  beginReserved(lengthBytes: number): number {
    this.ensure(lengthBytes);
    const start = this.pos;
    this.pos += lengthBytes;
    return start;
  }

  /** Closes the field opened at `start` by {@link beginReserved}: its length as `end` writes it, the content moved only when it takes other than `lengthBytes`. */
  endReserved(start: number, lengthBytes: number): void {
    const length = this.pos - start - lengthBytes;
    const size = varintSize(length);
    if (size !== lengthBytes) {
      this.ensure(size - lengthBytes);
      this.buffer.copyWithin(start + size, start + lengthBytes, this.pos);
      this.pos += size - lengthBytes;
    }
    const buffer = this.buffer;
    let v = length;
    let at = start;
    while (v > 0x7f) {
      buffer[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buffer[at] = v;
  }

  /** Closes the field opened at `start`: writes its length, shifting the content when it needs more than one byte. */
  end(start: number): void {
    const length = this.pos - start - 1;
    if (length < 0x80) {
      this.buffer[start] = length;
      return;
    }
    this.endReserved(start, 1);
  }
}

/** The bytes of `length` as a varint (a length: below 2^32). */
export function varintSize(length: number): number {
  return length < 0x80 ? 1 : length < 0x4000 ? 2 : length < 0x200000 ? 3 : length < 0x10000000 ? 4 : 5;
}

/**
 * The low 32 bits of `value` as 4 bytes at `at`, little-endian; the offset after them. By hand:
 * `writeUInt32LE` checks its arguments first, which cost more than the stores on the hot path.
 */
function littleEndian32(buffer: Buffer, at: number, value: number): number {
  buffer[at] = value & 0xff;
  buffer[at + 1] = (value >>> 8) & 0xff;
  buffer[at + 2] = (value >>> 16) & 0xff;
  buffer[at + 3] = (value >>> 24) & 0xff;
  return at + 4;
}
