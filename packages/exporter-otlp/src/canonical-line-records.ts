import type { HrTime } from '@opentelemetry/api';
import {
  ATTRIBUTE,
  BODY,
  EMPTY_KVLIST,
  EVENT_NAME,
  KEY,
  KVLIST_VALUE,
  SEVERITY_INFO,
  SEVERITY_TEXT_INFO,
  STRING_VALUE,
  TIME_UNIX_NANO,
  VALUE,
} from './log-record-fields.js';
import { nextRecord, pin, probe, probed, remember, viewOf, writeRemembered } from './entry-memo.js';
import { attributeEntry, attributeValue, checkKey, payloadEntries, simpleEntry } from './line-values.js';
import { isHexAt, isTraceIdAt, readTime, timestampAt, writeLineLink } from './line-time-and-ids.js';
import type { ProtobufWriter } from './protobuf-writer.js';
import { OUTSIDE, QUOTE, COMMA, COLON, OPEN_OBJECT, CLOSE_OBJECT, closingQuote, outside, skipValue, isKey } from './json-line-scan.js';

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
/** What every record starts with: its time (filled in once read), severity, and the body's tag. */
const RECORD_HEAD = Uint8Array.from([TIME_UNIX_NANO, 0, 0, 0, 0, 0, 0, 0, 0, ...SEVERITY_INFO, ...SEVERITY_TEXT_INFO, BODY]);
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
/** Each field's entry-memo slot (-1: a field with a home of its own), and whether it was found there. */
const slots = new Int32Array(MAX_FIELDS);
const found = new Uint8Array(MAX_FIELDS);
/** Envelope fields with a home of their own in the record, as indices of `mapped`. */
const PAYLOAD = 0;
const EVENT_TYPE = 1;
const TIMESTAMP = 2;
const TRACE_ID = 3;
const SPAN_ID = 4;
/** What homeAt says of a key that names none, and of one too near the end of its chunk to read as words. */
const NO_HOME = -1;
const UNKNOWN = -2;
/** The field of each home among the fields just recorded by topLevelFields; -1 when absent. */
const mapped = new Int32Array(5);
/** Where the key read by homeAt ends (its closing quote). */
let homeKeyEnd = -1;

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
    nextRecord();
    // The body is written while the line is scanned (one pass over the payload); the time before
    // it, from a timestamp that comes later in the line, is filled in once read (a fixed64).
    const timeAt = writer.pos + 1;
    writer.raw(RECORD_HEAD);
    const body = writer.beginReserved(2);
    const count = topLevelFields(writer, line, start, end);
    const payload = mapped[PAYLOAD] as number;
    const eventType = mapped[EVENT_TYPE] as number;
    const timestamp = mapped[TIMESTAMP] as number;
    const traceId = mapped[TRACE_ID] as number;
    const spanId = mapped[SPAN_ID] as number;
    if (payload < 0) writer.raw(EMPTY_KVLIST);
    writer.endReserved(body, 2);
    // An event type and a timestamp the encoder takes (isDirectlyEncodable), as strings.
    if (eventType < 0 || !isString(line, eventType) || (valueEnds[eventType] as number) - (valueStarts[eventType] as number) <= 2)
      return false;
    if (timestamp < 0 || !isString(line, timestamp)) return false;
    if (!timestampAt(line, (valueStarts[timestamp] as number) + 1, (valueEnds[timestamp] as number) - 1, timeOf)) return false;
    // The trace id first: isTraceIdAt keeps it for writeLineLink.
    const linked =
      hexStringOf(line, traceId, 32) && isTraceIdAt(line, (valueStarts[traceId] as number) + 1) && isHexString(line, spanId, 16);
    // Unlinked ids go in as attributes as they are: the encoder writes those raw, which differs from the converted form only for non-strings.
    if (!linked && ((traceId >= 0 && !isString(line, traceId)) || (spanId >= 0 && !isString(line, spanId)))) return false;

    const afterBody = writer.pos;
    writer.pos = timeAt;
    writer.hrTime(readTime.seconds, readTime.nanos);
    writer.pos = afterBody;
    const eventName = eventNameOf(writer, line, eventType);
    writer.raw(eventName.attribute);
    for (let field = 0; field < count; field += 1) {
      const slot = slots[field] as number;
      if (slot < 0) continue;
      if (found[field] === 1) {
        writeRemembered(writer, slot);
      } else {
        attribute(writer, line, field);
      }
    }
    if (!linked) {
      if (spanId >= 0) attribute(writer, line, spanId);
      if (traceId >= 0) attribute(writer, line, traceId);
    }
    writeLineLink(writer, line, linked ? (valueStarts[spanId] as number) + 1 : -1, observed);
    writer.raw(eventName.field);
    return true;
  } catch (error) {
    if (error === OUTSIDE) return false;
    throw error;
  }
}

/**
 * Records the top-level fields of the object `line[start, end)` and returns how many, with the
 * fields that have a home of their own in `mapped`; writes the payload's AnyValue as it passes it
 * (null: an empty map). An attribute found in the entry memo is only recorded (its slot pinned
 * until it is copied), the others are written after the body.
 */
function topLevelFields(writer: ProtobufWriter, line: Buffer, start: number, end: number): number {
  mapped.fill(-1);
  if (line[start] !== OPEN_OBJECT || line[end - 1] !== CLOSE_OBJECT) throw OUTSIDE;
  const view = viewOf(line);
  let at = start + 1;
  let count = 0;
  if (line[at] === CLOSE_OBJECT) return at + 1 === end ? 0 : outside();
  for (;;) {
    if (count === MAX_FIELDS || line[at] !== QUOTE) throw OUTSIDE;
    let home = homeAt(view, line, at);
    const hit = home === NO_HOME ? probe(line, at, 0) : -1;
    slots[count] = probed.slot;
    found[count] = 0;
    if (hit >= 0) {
      // Only attributes are remembered at the top level: a field found there is one.
      found[count] = 1;
      pin(probed.slot);
      at = hit;
    } else {
      const keyEnd = home >= 0 ? homeKeyEnd : closingQuote(line, at + 1);
      if (home < 0) checkKey(line, at + 1, keyEnd);
      if (home === UNKNOWN) home = homeOf(line, at + 1, keyEnd);
      keyStarts[count] = at + 1;
      keyEnds[count] = keyEnd;
      if (line[keyEnd + 1] !== COLON) throw OUTSIDE;
      valueStarts[count] = keyEnd + 2;
      if (home >= 0) {
        // Twice the same: JSON.parse keeps the last value at the first place, which the encoder's path writes.
        if ((mapped[home] as number) >= 0) throw OUTSIDE;
        mapped[home] = count;
        slots[count] = -1;
      }
      if (home === PAYLOAD) {
        if (line[keyEnd + 2] === 0x6e /* null */) {
          writer.raw(EMPTY_KVLIST);
          at = keyEnd + 6;
        } else if (line[keyEnd + 2] === OPEN_OBJECT) {
          // A payload's map usually takes two bytes of length.
          writer.byte(KVLIST_VALUE);
          const list = writer.beginReserved(2);
          at = payloadEntries(writer, line, keyEnd + 2);
          writer.endReserved(list, 2);
        } else {
          at = attributeValue(writer, line, keyEnd + 2);
        }
      } else {
        at = skipValue(line, keyEnd + 2);
      }
      valueEnds[count] = at;
    }
    count += 1;
    if (line[at] === COMMA) at += 1;
    else if (line[at] === CLOSE_OBJECT && at + 1 === end) return count;
    else throw OUTSIDE;
  }
}

/** Four bytes as DataView's `getInt32` reads them (big-endian). */
function word(text: string): number {
  return Buffer.from(text, 'latin1').readInt32BE(0);
}

const WORDS = {
  payl: word('payl'),
  oad: word('oad"'),
  span: word('span'),
  id: word('_id"'),
  trac: word('trac'),
  eId: word('e_id'),
  time: word('time'),
  stam: word('stam'),
  even: word('even'),
  tTy: word('t_ty'),
  pe: word('pe":'),
};

/**
 * The home of the key whose opening quote is at `at` (its end in homeKeyEnd), read as words:
 * scanning a key for its end and matching it against each name cost as much as the rest of the
 * field. NO_HOME for any other key; UNKNOWN when the chunk ends too soon to read them.
 */
function homeAt(view: DataView, line: Buffer, at: number): number {
  if (at + 13 > line.length) return UNKNOWN;
  const first = view.getInt32(at + 1);
  const second = view.getInt32(at + 5);
  homeKeyEnd = at + 8;
  if (first === WORDS.payl) return second === WORDS.oad ? PAYLOAD : NO_HOME;
  if (first === WORDS.span) return second === WORDS.id ? SPAN_ID : NO_HOME;
  homeKeyEnd = at + 9;
  if (first === WORDS.trac) return second === WORDS.eId && line[at + 9] === QUOTE ? TRACE_ID : NO_HOME;
  homeKeyEnd = at + 10;
  if (first === WORDS.time) return second === WORDS.stam && line[at + 9] === 0x70 /* p */ && line[at + 10] === QUOTE ? TIMESTAMP : NO_HOME;
  homeKeyEnd = at + 11;
  if (first === WORDS.even) return second === WORDS.tTy && view.getInt32(at + 9) === WORDS.pe ? EVENT_TYPE : NO_HOME;
  return NO_HOME;
}

/** The home the key `line[start, end)` names, or NO_HOME (for a key too near its chunk's end for homeAt). */
function homeOf(line: Buffer, start: number, end: number): number {
  switch (end - start) {
    case 7:
      return isKey(line, start, end, NAMES.payload) ? PAYLOAD : isKey(line, start, end, NAMES.spanId) ? SPAN_ID : NO_HOME;
    case 8:
      return isKey(line, start, end, NAMES.traceId) ? TRACE_ID : NO_HOME;
    case 9:
      return isKey(line, start, end, NAMES.timestamp) ? TIMESTAMP : NO_HOME;
    case 10:
      return isKey(line, start, end, NAMES.eventType) ? EVENT_TYPE : NO_HOME;
    default:
      return NO_HOME;
  }
}

function isString(line: Buffer, field: number): boolean {
  return line[valueStarts[field] as number] === QUOTE;
}

/** Whether the field is a string of `length` characters (bytes: hex digits are ASCII). */
function hexStringOf(line: Buffer, field: number, length: number): boolean {
  return field >= 0 && isString(line, field) && (valueEnds[field] as number) - (valueStarts[field] as number) - 2 === length;
}

/** Whether the field is a string of `length` lowercase hex digits (what `isLinked` accepts). */
function isHexString(line: Buffer, field: number, length: number): boolean {
  return hexStringOf(line, field, length) && isHexAt(line, (valueStarts[field] as number) + 1, length);
}

/** A record attribute: the top-level field's key and its value, converted; remembered at its slot unless a home field. */
function attribute(writer: ProtobufWriter, line: Buffer, field: number): void {
  const from = writer.pos;
  const keyStart = (keyStarts[field] as number) - 1;
  const slot = slots[field] as number;
  if (simpleEntry(writer, line, keyStart, ATTRIBUTE) < 0) attributeEntry(writer, line, keyStart, keyEnds[field] as number, ATTRIBUTE);
  if (slot >= 0) remember(slot, line, keyStart, valueEnds[field] as number, writer, from);
}

/** An event type's `event.name` attribute and `event_name` field, encoded. */
interface EventName {
  readonly text: Buffer;
  readonly attribute: Uint8Array;
  readonly field: Uint8Array;
}

/** The event types seen last: a batch has a few, each line one of them. */
const eventNames: EventName[] = [];
const EVENT_NAMES = 8;
let nextEventName = 0;

/** The encodings of the event type the string field `field` holds, from the ones seen last or made now. */
function eventNameOf(writer: ProtobufWriter, line: Buffer, field: number): EventName {
  const start = (valueStarts[field] as number) + 1;
  const end = (valueEnds[field] as number) - 1;
  for (const known of eventNames) if (isKey(line, start, end, known.text)) return known;
  const from = writer.pos;
  writer.byte(ATTRIBUTE);
  const name = writer.begin();
  writer.raw(EVENT_NAME_KEY);
  writer.byte(VALUE);
  const nested = writer.begin();
  writer.byte(STRING_VALUE);
  writer.bytesOf(line, start, end);
  writer.end(nested);
  writer.end(name);
  const attribute = new Uint8Array(writer.buffer.subarray(from, writer.pos));
  writer.byte(EVENT_NAME);
  writer.bytesOf(line, start, end);
  const eventNameField = new Uint8Array(writer.buffer.subarray(from + attribute.length, writer.pos));
  writer.pos = from;
  const made: EventName = { text: Buffer.from(line.subarray(start, end)), attribute, field: eventNameField };
  eventNames[nextEventName] = made;
  nextEventName = (nextEventName + 1) % EVENT_NAMES;
  return made;
}
