import type { HrTime } from '@opentelemetry/api';
import {
  ARRAY_VALUE,
  ATTRIBUTE,
  BODY,
  BOOL_VALUE,
  EMPTY_KVLIST,
  EVENT_NAME,
  KEY,
  KVLIST_VALUE,
  number,
  SEVERITY_INFO,
  SEVERITY_TEXT_INFO,
  STRING_VALUE,
  TIME_UNIX_NANO,
  VALUE,
  VALUES,
  writeRecordLink,
} from './log-record-fields.js';
import type { ProtobufWriter } from './protobuf-writer.js';
import {
  OUTSIDE,
  QUOTE,
  COMMA,
  COLON,
  OPEN_OBJECT,
  CLOSE_OBJECT,
  OPEN_ARRAY,
  CLOSE_ARRAY,
  closingQuote,
  outside,
  skipValue,
  isKey,
  numberAt,
} from './json-line-scan.js';

/*
 * A cost event's OTLP log record written straight from its JSONL line's UTF-8 bytes, as the
 * pipeline queues them: the bytes `CostEventProtobufEncoder.record` writes of `JSON.parse(line)`,
 * without parsing the line into an object first (JSON.parse was 3.4 µs a line, about a tenth of
 * the OTLP event path). Strings are copied as the bytes they already are.
 *
 * It takes the lines the processor writes: no escape sequence anywhere, no key that is an array
 * index (an object parsed from JSON lists those first, out of text order) or `__proto__`, an event
 * type and a timestamp the encoder takes. A line outside that subset is left to the encoder's
 * parse-then-encode path: `transcodeRecord` returns false and the caller rewinds.
 */

const EVENT_NAME_KEY = Uint8Array.from([KEY, 10, ...Buffer.from('event.name')]);
const NAMES = {
  eventType: Buffer.from('event_type'),
  timestamp: Buffer.from('timestamp'),
  payload: Buffer.from('payload'),
  traceId: Buffer.from('trace_id'),
  spanId: Buffer.from('span_id'),
  proto: Buffer.from('__proto__'),
};

/** The top-level fields of the line being written: offsets of each key's text and of its value. */
const MAX_FIELDS = 64;
const keyStarts = new Int32Array(MAX_FIELDS);
const keyEnds = new Int32Array(MAX_FIELDS);
const valueStarts = new Int32Array(MAX_FIELDS);
const valueEnds = new Int32Array(MAX_FIELDS);

/** What the records of one request share. */
export interface RecordContext {
  readonly writer: ProtobufWriter;
  readonly observed: HrTime;
  /** The envelope timestamp as `[seconds, nanoseconds]`, or undefined when it is not one. */
  readonly timeOf: (timestamp: string) => HrTime | undefined;
}

/**
 * Writes the record fields of the line `chunk[start, end)` (no newline) into the context's writer,
 * inside the LogRecord's length; false when the line is outside the subset (what was written
 * then is to be rewound). The caller leaves out lines with a backslash (searching each chunk once).
 */
// eslint-disable-next-line @typescript-eslint/max-params -- the hot path of the OTLP event path; an options object would be made per line
export function transcodeRecord(context: RecordContext, line: Buffer, start: number, end: number): boolean {
  const { writer, observed, timeOf } = context;
  try {
    // The body is written while the line is scanned (one pass over the payload); the time before
    // it, from a timestamp that comes later in the line, is filled in once read (a fixed64).
    writer.byte(TIME_UNIX_NANO);
    const timeAt = writer.pos;
    writer.ensure(8);
    writer.pos += 8;
    writer.byte(SEVERITY_INFO[0]);
    writer.byte(SEVERITY_INFO[1]);
    writer.raw(SEVERITY_TEXT_INFO);
    writer.byte(BODY);
    const body = writer.begin();
    const count = topLevelFields(writer, line, start, end);
    const payload = payloadField;
    if (payload < 0) writer.raw(EMPTY_KVLIST);
    writer.end(body);
    let eventType = -1;
    let timestamp = -1;
    let traceId = -1;
    let spanId = -1;
    for (let field = 0; field < count; field += 1) {
      const keyStart = keyStarts[field] as number;
      const keyEnd = keyEnds[field] as number;
      if (isKey(line, keyStart, keyEnd, NAMES.eventType)) eventType = field;
      else if (isKey(line, keyStart, keyEnd, NAMES.timestamp)) timestamp = field;
      else if (isKey(line, keyStart, keyEnd, NAMES.traceId)) traceId = field;
      else if (isKey(line, keyStart, keyEnd, NAMES.spanId)) spanId = field;
    }
    // An event type and a timestamp the encoder takes (isDirectlyEncodable), as strings.
    if (eventType < 0 || !isString(line, eventType) || (valueEnds[eventType] as number) - (valueStarts[eventType] as number) <= 2)
      return false;
    if (timestamp < 0 || !isString(line, timestamp)) return false;
    const time = timeOf(line.toString('latin1', (valueStarts[timestamp] as number) + 1, (valueEnds[timestamp] as number) - 1));
    if (time === undefined) return false;
    const linked = isHexString(line, traceId, 32) && isHexString(line, spanId, 16);
    // Unlinked ids go in as attributes as they are: the encoder writes those raw, which differs from the converted form only for non-strings.
    if (!linked && ((traceId >= 0 && !isString(line, traceId)) || (spanId >= 0 && !isString(line, spanId)))) return false;

    const afterBody = writer.pos;
    writer.pos = timeAt;
    writer.hrTime(time[0], time[1]);
    writer.pos = afterBody;
    writer.byte(ATTRIBUTE);
    const name = writer.begin();
    writer.raw(EVENT_NAME_KEY);
    stringValueField(writer, line, eventType);
    writer.end(name);
    for (let field = 0; field < count; field += 1) {
      if (field === eventType || field === timestamp || field === payload || field === traceId || field === spanId) continue;
      attribute(writer, line, field);
    }
    if (!linked) {
      if (spanId >= 0) attribute(writer, line, spanId);
      if (traceId >= 0) attribute(writer, line, traceId);
    }
    const link = linked
      ? {
          traceId: line.toString('latin1', (valueStarts[traceId] as number) + 1, (valueEnds[traceId] as number) - 1),
          spanId: line.toString('latin1', (valueStarts[spanId] as number) + 1, (valueEnds[spanId] as number) - 1),
        }
      : undefined;
    writeRecordLink(writer, link, observed);
    writer.byte(EVENT_NAME);
    writer.bytesOf(line, (valueStarts[eventType] as number) + 1, (valueEnds[eventType] as number) - 1);
    return true;
  } catch (error) {
    if (error === OUTSIDE) return false;
    throw error;
  }
}

/** The field of the payload among the top-level fields just recorded; -1 when the line has none. */
let payloadField = -1;

/**
 * Records the top-level fields of the object `line[start, end)` and returns how many; writes the
 * payload's AnyValue (`payloadField`) as it passes it (null: an empty map).
 */
function topLevelFields(writer: ProtobufWriter, line: Buffer, start: number, end: number): number {
  payloadField = -1;
  if (line[start] !== OPEN_OBJECT || line[end - 1] !== CLOSE_OBJECT) throw OUTSIDE;
  let at = start + 1;
  let count = 0;
  if (line[at] === CLOSE_OBJECT) return at + 1 === end ? 0 : outside();
  for (;;) {
    if (count === MAX_FIELDS || line[at] !== QUOTE) throw OUTSIDE;
    const keyEnd = closingQuote(line, at + 1);
    checkKey(line, at + 1, keyEnd);
    keyStarts[count] = at + 1;
    keyEnds[count] = keyEnd;
    if (line[keyEnd + 1] !== COLON) throw OUTSIDE;
    valueStarts[count] = keyEnd + 2;
    if (payloadField < 0 && isKey(line, at + 1, keyEnd, NAMES.payload)) {
      payloadField = count;
      if (line[keyEnd + 2] === 0x6e /* null */) {
        writer.raw(EMPTY_KVLIST);
        at = keyEnd + 6;
      } else {
        at = value(writer, line, keyEnd + 2);
      }
    } else {
      at = skipValue(line, keyEnd + 2);
    }
    valueEnds[count] = at;
    count += 1;
    if (line[at] === COMMA) at += 1;
    else if (line[at] === CLOSE_OBJECT && at + 1 === end) return count;
    else throw OUTSIDE;
  }
}

/** Keys in text order only: not an array index (listed first by a parsed object), not `__proto__`. */
function checkKey(line: Buffer, start: number, end: number): void {
  if (end < 0) throw OUTSIDE;
  let digits = true;
  for (let index = start; index < end && digits; index += 1) digits = (line[index] as number) >= 0x30 && (line[index] as number) <= 0x39;
  if ((digits && end > start) || isKey(line, start, end, NAMES.proto)) throw OUTSIDE;
}

function isString(line: Buffer, field: number): boolean {
  return line[valueStarts[field] as number] === QUOTE;
}

/** Whether the field is a string of `length` lowercase hex digits (what `isLinked` accepts). */
function isHexString(line: Buffer, field: number, length: number): boolean {
  if (field < 0 || !isString(line, field)) return false;
  const start = (valueStarts[field] as number) + 1;
  if ((valueEnds[field] as number) - 1 - start !== length) return false;
  for (let index = start; index < start + length; index += 1) {
    const byte = line[index] as number;
    if (!((byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66))) return false;
  }
  return true;
}

/** A record attribute: the top-level field's key and its value, converted. */
function attribute(writer: ProtobufWriter, line: Buffer, field: number): void {
  writer.byte(ATTRIBUTE);
  const entry = writer.begin();
  writer.byte(KEY);
  writer.bytesOf(line, keyStarts[field] as number, keyEnds[field] as number);
  writer.byte(VALUE);
  const nested = writer.begin();
  value(writer, line, valueStarts[field] as number);
  writer.end(nested);
  writer.end(entry);
}

function stringValueField(writer: ProtobufWriter, line: Buffer, field: number): void {
  writer.byte(VALUE);
  const nested = writer.begin();
  writer.byte(STRING_VALUE);
  writer.bytesOf(line, (valueStarts[field] as number) + 1, (valueEnds[field] as number) - 1);
  writer.end(nested);
}

/**
 * The AnyValue of the JSON value at `at`, as the encoder's `converted` writes it of the parsed
 * value (null: nothing; non-finite numbers as strings). Returns the offset just past the value.
 */
function value(writer: ProtobufWriter, line: Buffer, at: number): number {
  const first = line[at] as number;
  if (first === QUOTE) {
    const end = closingQuote(line, at + 1);
    if (end < 0) throw OUTSIDE;
    writer.byte(STRING_VALUE);
    writer.bytesOf(line, at + 1, end);
    return end + 1;
  }
  if (first === OPEN_OBJECT) return object(writer, line, at);
  if (first === OPEN_ARRAY) return array(writer, line, at);
  if (first === 0x74 /* true */ || first === 0x66 /* false */) {
    writer.byte(BOOL_VALUE);
    writer.byte(first === 0x74 ? 1 : 0);
    return at + (first === 0x74 ? 4 : 5);
  }
  if (first === 0x6e /* null */) return at + 4;
  const end = skipValue(line, at);
  const parsed = numberAt(line, at, end);
  if (Number.isFinite(parsed)) number(writer, parsed);
  else {
    writer.byte(STRING_VALUE);
    writer.string(String(parsed));
  }
  return end;
}

function object(writer: ProtobufWriter, line: Buffer, at: number): number {
  writer.byte(KVLIST_VALUE);
  const list = writer.begin();
  let index = at + 1;
  if (line[index] === CLOSE_OBJECT) {
    writer.end(list);
    return index + 1;
  }
  for (;;) {
    if (line[index] !== QUOTE) throw OUTSIDE;
    const keyEnd = closingQuote(line, index + 1);
    checkKey(line, index + 1, keyEnd);
    if (line[keyEnd + 1] !== COLON) throw OUTSIDE;
    writer.byte(VALUES);
    const entry = writer.begin();
    writer.byte(KEY);
    writer.bytesOf(line, index + 1, keyEnd);
    writer.byte(VALUE);
    const nested = writer.begin();
    index = value(writer, line, keyEnd + 2);
    writer.end(nested);
    writer.end(entry);
    if (line[index] === COMMA) index += 1;
    else if (line[index] === CLOSE_OBJECT) break;
    else throw OUTSIDE;
  }
  writer.end(list);
  return index + 1;
}

function array(writer: ProtobufWriter, line: Buffer, at: number): number {
  writer.byte(ARRAY_VALUE);
  const list = writer.begin();
  let index = at + 1;
  if (line[index] === CLOSE_ARRAY) {
    writer.end(list);
    return index + 1;
  }
  for (;;) {
    writer.byte(VALUES);
    const nested = writer.begin();
    index = value(writer, line, index);
    writer.end(nested);
    if (line[index] === COMMA) index += 1;
    else if (line[index] === CLOSE_ARRAY) break;
    else throw OUTSIDE;
  }
  writer.end(list);
  return index + 1;
}
