import { ARRAY_VALUE, BOOL_VALUE, KEY, KVLIST_VALUE, number, STRING_VALUE, VALUE, VALUES } from './log-record-fields.js';
import { probe, probed, remember, rememberRun, writeRemembered } from './entry-memo.js';
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
  skipValue,
  isKey,
  numberAt,
} from './json-line-scan.js';

/*
 * The values of a canonical line written from its bytes, for canonical-line-records.ts: each as
 * the AnyValue the encoder's `converted` writes of the parsed value, each object entry looked up
 * in the entry memo first (entry-memo.ts) and remembered once written.
 */

const PROTO = Buffer.from('__proto__');
/** The most a one-pass entry (see simpleEntry) takes: tag and length, content under 128 bytes. */
const SIMPLE_ENTRY = 2 + 127;
/** How many objects deep the value being written is: entries are remembered per key and depth. */
let depth = 0;

/**
 * The AnyValue of a top-level field's value at `at` (a record attribute's): one object deep, as
 * the top-level slots of the memo hold attributes only (an entry of `tags` is not one).
 */
export function attributeValue(writer: ProtobufWriter, line: Buffer, at: number): number {
  depth = 1;
  return value(writer, line, at);
}

/** The entries of the payload's object at `at` as a KeyValueList's values; the offset just past it. */
export function payloadEntries(writer: ProtobufWriter, line: Buffer, at: number): number {
  depth = 1;
  return entries(writer, line, at);
}

/** Keys in text order only: not an array index (listed first by a parsed object), not `__proto__`. */
export function checkKey(line: Buffer, start: number, end: number): void {
  if (end < 0) throw OUTSIDE;
  let digits = true;
  for (let index = start; index < end && digits; index += 1) digits = (line[index] as number) >= 0x30 && (line[index] as number) <= 0x39;
  if ((digits && end > start) || isKey(line, start, end, PROTO)) throw OUTSIDE;
}

/**
 * Writes the entry at `at` (its key's opening quote) under `tag` in one pass over its bytes, when
 * its key is short and no array index or `__proto__`, its value a short string or a finite number
 * and the whole under 128 bytes (one byte of length each): scanning the key and the value for
 * their ends and copying them after, through the writer's calls, was most of what an entry cost.
 * The offset just past the value; -1, with nothing written, for any other entry.
 */
// eslint-disable-next-line @typescript-eslint/max-params -- once an entry on the hot path; an options object would be made per entry
export function simpleEntry(writer: ProtobufWriter, line: Buffer, at: number, tag: number): number {
  writer.ensure(SIMPLE_ENTRY);
  const buffer = writer.buffer;
  const start = writer.pos;
  const stop = start + SIMPLE_ENTRY;
  const limit = line.length;
  let out = start + 4;
  let index = at + 1;
  let digits = true;
  for (; ; index += 1) {
    if (index === limit || out === stop) return -1;
    const byte = line[index] as number;
    if (byte === QUOTE) break;
    buffer[out++] = byte;
    digits &&= byte >= 0x30 && byte <= 0x39;
  }
  const keyLength = out - start - 4;
  if ((digits && keyLength > 0) || isKey(line, at + 1, index, PROTO) || line[index + 1] !== COLON) return -1;
  const valueAt = index + 2;
  const first = line[valueAt] as number;
  if (out + 4 > stop) return -1;
  buffer[out++] = VALUE;
  const nested = out++;
  let end: number;
  if (first === QUOTE) {
    buffer[out++] = STRING_VALUE;
    const string = out++;
    for (index = valueAt + 1; ; index += 1) {
      if (index === limit || out === stop) return -1;
      const byte = line[index] as number;
      if (byte === QUOTE) break;
      buffer[out++] = byte;
    }
    buffer[string] = out - string - 1;
    end = index + 1;
  } else if (first === 0x2d /* - */ || (first >= 0x30 && first <= 0x39)) {
    end = skipValue(line, valueAt);
    const parsed = numberAt(line, valueAt, end);
    // A number takes at most 11 bytes: the room ensured above holds it.
    if (!Number.isFinite(parsed) || out + 11 > stop) return -1;
    writer.pos = out;
    number(writer, parsed);
    out = writer.pos;
    writer.pos = start;
  } else {
    return -1;
  }
  if (out - start - 2 >= 0x80) return -1;
  buffer[start] = tag;
  buffer[start + 1] = out - start - 2;
  buffer[start + 2] = KEY;
  buffer[start + 3] = keyLength;
  buffer[nested] = out - nested - 1;
  writer.pos = out;
  return end;
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
  const end = entries(writer, line, at);
  writer.end(list);
  return end;
}

/** The entries of the object at `at` as a KeyValueList's values; the offset just past the object. */
function entries(writer: ProtobufWriter, line: Buffer, at: number): number {
  let index = at + 1;
  if (line[index] === CLOSE_OBJECT) return index + 1;
  // The steady entries found one after the other so far (see probed.steady): where they start in the line and in the writer, the first one's set, how many.
  let runFrom = -1;
  let runEncodedFrom = 0;
  let runSet = 0;
  let runCount = 0;
  for (;;) {
    if (line[index] !== QUOTE) throw OUTSIDE;
    const hit = probe(line, index, depth);
    const slot = probed.slot;
    if (hit >= 0 && probed.steady) {
      if (runCount === 0) {
        runFrom = index;
        runEncodedFrom = writer.pos;
        runSet = probed.set;
      }
      runCount += 1;
      writeRemembered(writer, slot);
      index = hit;
    } else {
      // A run of two and more, remembered once it ends: up to the comma before this entry.
      if (runCount > 1) rememberRun(runSet, line, runFrom, index - 1, writer, runEncodedFrom);
      runCount = 0;
      index = hit >= 0 ? remembered(writer, slot, hit) : written(writer, line, index, slot);
    }
    if (line[index] === COMMA) index += 1;
    else if (line[index] === CLOSE_OBJECT) {
      if (runCount > 1) rememberRun(runSet, line, runFrom, index, writer, runEncodedFrom);
      return index + 1;
    } else throw OUTSIDE;
  }
}

/** Writes the encoding `slot` remembers; returns `end`, the offset past its entry. */
function remembered(writer: ProtobufWriter, slot: number, end: number): number {
  writeRemembered(writer, slot);
  return end;
}

/** Writes the entry at `index` (its key's opening quote) and remembers it at `slot`; the offset just past its value. */
// eslint-disable-next-line @typescript-eslint/max-params -- once an entry on the hot path; an options object would be made per entry
function written(writer: ProtobufWriter, line: Buffer, index: number, slot: number): number {
  const from = writer.pos;
  const simple = simpleEntry(writer, line, index, VALUES);
  if (simple >= 0) {
    remember(slot, line, index, simple, writer, from);
    return simple;
  }
  const keyEnd = closingQuote(line, index + 1);
  checkKey(line, index + 1, keyEnd);
  if (line[keyEnd + 1] !== COLON) throw OUTSIDE;
  const valueEnd = entry(writer, line, index, keyEnd, VALUES);
  remember(slot, line, index, valueEnd, writer, from);
  return valueEnd;
}

/**
 * The KeyValue under `tag` of the entry whose key's quotes are at `at` and `keyEnd` (checked, a
 * colon after it), its value converted one object deeper; the offset just past the value.
 */
// eslint-disable-next-line @typescript-eslint/max-params -- once an entry on the hot path; an options object would be made per entry
function entry(writer: ProtobufWriter, line: Buffer, at: number, keyEnd: number, tag: number): number {
  writer.byte(tag);
  const start = writer.begin();
  writer.byte(KEY);
  writer.bytesOf(line, at + 1, keyEnd);
  writer.byte(VALUE);
  const nested = writer.begin();
  depth += 1;
  const valueEnd = value(writer, line, keyEnd + 2);
  depth -= 1;
  writer.end(nested);
  writer.end(start);
  return valueEnd;
}

/** A record attribute (`tag`) of the top-level field whose key's quotes are at `at` and `keyEnd`: its value one object deep. */
// eslint-disable-next-line @typescript-eslint/max-params -- once a field on the hot path; an options object would be made per field
export function attributeEntry(writer: ProtobufWriter, line: Buffer, at: number, keyEnd: number, tag: number): number {
  depth = 0;
  return entry(writer, line, at, keyEnd, tag);
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
