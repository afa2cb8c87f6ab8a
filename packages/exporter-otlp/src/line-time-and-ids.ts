import type { HrTime } from '@opentelemetry/api';
import { FLAGS_SAMPLED, NO_DROPPED_ATTRIBUTES, OBSERVED_TIME_UNIX_NANO, SPAN_ID, TRACE_ID } from './log-record-fields.js';
import type { ProtobufWriter } from './protobuf-writer.js';
import { viewOf } from './entry-memo.js';

/*
 * A canonical line's timestamp and trace and span ids read from its bytes, for
 * canonical-line-records.ts: as strings (`toString`, then the regular expression and hex decoding
 * of the encoder's path) they took about a tenth of a line's time.
 */

/** The value of each lowercase hex digit, -1 for any other byte (what `isLinked`'s ids are made of). */
const HEX_DIGITS = new Int8Array(256).fill(-1);
for (let digit = 0; digit < 16; digit += 1) HEX_DIGITS['0123456789abcdef'.charCodeAt(digit)] = digit;

/** Whether `line[start, start + length)` is all lowercase hex digits. */
export function isHexAt(line: Buffer, start: number, length: number): boolean {
  for (let index = start; index < start + length; index += 1) if ((HEX_DIGITS[line[index] as number] as number) < 0) return false;
  return true;
}

/**
 * The hex digits `line[start, start + 2 * size)` (checked by {@link isHexAt}) as `size` length-delimited
 * bytes into `target` at `at`; the offset after them.
 */
// eslint-disable-next-line @typescript-eslint/max-params -- twice a line on the hot path; an options object would be made per id
function hexField(target: Buffer, at: number, line: Buffer, start: number, size: number): number {
  let pos = at;
  target[pos++] = size;
  for (let index = start; index < start + 2 * size; index += 2)
    target[pos++] = ((HEX_DIGITS[line[index] as number] as number) << 4) | (HEX_DIGITS[line[index + 1] as number] as number);
  return pos;
}

/** The trace id last read by {@link isTraceIdAt}: its hex digits, and its bytes as a length-delimited field. */
const TRACE_DIGITS = 32;
const lastTraceText = Buffer.alloc(TRACE_DIGITS);
const lastTraceView = new DataView(lastTraceText.buffer, lastTraceText.byteOffset, TRACE_DIGITS);
const lastTraceField = Buffer.alloc(1 + TRACE_DIGITS / 2);
let lastTraceKnown = false;

/**
 * Whether `line[start, start + 32)` is a trace id's 32 lowercase hex digits, then kept decoded for
 * {@link writeLineLink}. A run's lines share their trace: the one read last is compared (8 words)
 * before the digits are checked and decoded again.
 */
export function isTraceIdAt(line: Buffer, start: number): boolean {
  if (lastTraceKnown && start + TRACE_DIGITS <= line.length) {
    const view = viewOf(line);
    let same = true;
    for (let index = 0; index < TRACE_DIGITS && same; index += 4) same = view.getInt32(start + index) === lastTraceView.getInt32(index);
    if (same) return true;
  }
  if (!isHexAt(line, start, TRACE_DIGITS)) return false;
  line.copy(lastTraceText, 0, start, start + TRACE_DIGITS);
  hexField(lastTraceField, 0, line, start, TRACE_DIGITS / 2);
  lastTraceKnown = true;
  return true;
}

/**
 * `writeRecordLink` (log-record-fields.ts) with the ids from the line: the trace id last read by
 * {@link isTraceIdAt} and the span id's 16 hex digits at `spanId`, or -1 for a record that does
 * not link its span.
 */
// eslint-disable-next-line @typescript-eslint/max-params -- once per line on the hot path; an options object would be made per line
export function writeLineLink(writer: ProtobufWriter, line: Buffer, spanId: number, observed: HrTime): void {
  writer.byte(NO_DROPPED_ATTRIBUTES[0]);
  writer.byte(NO_DROPPED_ATTRIBUTES[1]);
  if (spanId >= 0) {
    writer.byte(FLAGS_SAMPLED);
    writer.fixed32(1);
    writer.byte(TRACE_ID);
    writer.raw(lastTraceField);
    writer.byte(SPAN_ID);
    writer.ensure(9);
    writer.pos = hexField(writer.buffer, writer.pos, line, spanId, 8);
  }
  writer.byte(OBSERVED_TIME_UNIX_NANO);
  writer.hrTime(observed[0], observed[1]);
}

/** `YYYY-MM-DDTHH:MM:SS`: what `parseTimestamp` reads as the second, and the fraction after it. */
const SECOND_LENGTH = 19;
const POWERS_OF_TEN = Array.from({ length: 10 }, (_, power) => 10 ** power);
/** The second of the last timestamp read as a string, as its bytes (ASCII), and as seconds; none yet at first. */
const lastSecondText = Buffer.alloc(SECOND_LENGTH);
let lastSecondKnown = false;
let lastSecond = 0;

/** The time a timestamp was read as, by {@link timestampAt}. */
export const readTime = { seconds: 0, nanos: 0 };

/**
 * Reads the timestamp `line[start, end)` (between its quotes) into {@link readTime} as
 * `timeOf` (the encoder's `parseTimestamp`) reads its text; false when it is not one. A line whose
 * second is the last one read as a string and whose fraction is `.` and 1 to 9 digits then `Z`
 * (as the regular expression takes it) is read from its bytes: `parseTimestamp` gives the second
 * from the first 19 characters alone and the fraction's digits as nanoseconds.
 */
// eslint-disable-next-line @typescript-eslint/max-params -- once per line on the hot path; an options object would be made per line
export function timestampAt(line: Buffer, start: number, end: number, timeOf: (timestamp: string) => HrTime | undefined): boolean {
  const length = end - start;
  if (lastSecondKnown && length >= SECOND_LENGTH + 1 && length <= SECOND_LENGTH + 11 && line[end - 1] === 0x5a /* Z */) {
    let same = true;
    for (let index = 0; index < SECOND_LENGTH && same; index += 1) same = line[start + index] === lastSecondText[index];
    const digits = length - SECOND_LENGTH - 2;
    if (same && (digits === -1 || (digits > 0 && line[start + SECOND_LENGTH] === 0x2e)) /* . */) {
      let fraction = 0;
      for (let index = start + SECOND_LENGTH + 1; index < end - 1 && fraction >= 0; index += 1) {
        const digit = (line[index] as number) - 0x30;
        fraction = digit >= 0 && digit <= 9 ? fraction * 10 + digit : -1;
      }
      if (fraction >= 0) {
        readTime.seconds = lastSecond;
        readTime.nanos = digits > 0 ? fraction * (POWERS_OF_TEN[9 - digits] as number) : 0;
        return true;
      }
    }
  }
  const time = timeOf(line.toString('latin1', start, end));
  if (time === undefined) return false;
  readTime.seconds = time[0];
  readTime.nanos = time[1];
  // Only an ASCII second, where bytes and characters are one to one (and none a line terminator, which the expression's `.` refuses, or it would not have been read).
  let ascii = length >= SECOND_LENGTH;
  for (let index = 0; index < SECOND_LENGTH && ascii; index += 1) ascii = (line[start + index] as number) < 0x80;
  if (ascii) {
    line.copy(lastSecondText, 0, start, start + SECOND_LENGTH);
    lastSecond = time[0];
    lastSecondKnown = true;
  }
  return true;
}
