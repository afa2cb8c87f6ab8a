import type { HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { CostEvent } from '@costspan/sdk';
import { ProtobufLogsSerializer, type ISerializer } from '@opentelemetry/otlp-transformer';
import { costEventToLogRecord, isLinked, nowHrTime, parseTimestamp } from './cost-event-log-record.js';
import { ProtobufWriter, varintSize } from './protobuf-writer.js';
import { transcodeRecord, type RecordContext } from './canonical-line-records.js';
import { releaseLines } from './entry-memo.js';
import { BACKSLASH } from './json-line-scan.js';
import {
  TIME_UNIX_NANO,
  SEVERITY_INFO,
  SEVERITY_TEXT_INFO,
  BODY,
  ATTRIBUTE,
  EVENT_NAME,
  KEY,
  VALUE,
  STRING_VALUE,
  BOOL_VALUE,
  ARRAY_VALUE,
  KVLIST_VALUE,
  BYTES_VALUE,
  VALUES,
  RESOURCE_LOGS,
  RESOURCE,
  SCOPE_LOGS,
  RESOURCE_ATTRIBUTE,
  SCHEMA_URL,
  SCOPE,
  LOG_RECORD,
  EMPTY_KVLIST,
  number,
  writeRecordLink,
} from './log-record-fields.js';
import { EXPORTER_NAME, EXPORTER_VERSION } from './version.js';

/*
 * Cost events straight to an OTLP `ExportLogsServiceRequest` in protobuf: the request
 * `@opentelemetry/otlp-transformer`'s `ProtobufLogsSerializer` makes of
 * `events.map((event) => costEventToLogRecord(event, resource, observed))`, byte for byte (a
 * randomized test holds the two equal), without the log record objects, the AnyValue copies of
 * each payload and the size-estimating pass in between: on the event-path bench those were about
 * a third of what sending a cost event over OTLP cost.
 * Field numbers and tags: log-record-fields.ts.
 */

// Envelope fields with a home of their own in the record (see costEventToLogRecord).
const MAPPED_FIELDS = new Set(['event_type', 'timestamp', 'payload', 'trace_id', 'span_id']);

/** A request being written: its writer, the starts of its open ResourceLogs and ScopeLogs, and the bytes of length kept for each. */
interface OpenRequest {
  readonly writer: ProtobufWriter;
  readonly resourceLogs: number;
  readonly scopeLogs: number;
  readonly lengthBytes: number;
}

/** Whether costspan's encoding takes the event; anything else goes through OpenTelemetry's serializer. */
export function isDirectlyEncodable(event: CostEvent): boolean {
  const type = event.event_type as unknown;
  return typeof type === 'string' && type !== '' && typeof event.timestamp === 'string' && parseTimestamp(event.timestamp) !== undefined;
}

/**
 * Encodes a request's events, for one resource; each call of {@link CostEventProtobufEncoder.encode}
 * makes a new buffer (a request may still be in flight while the next is encoded).
 */
export class CostEventProtobufEncoder {
  private resourceBytes: Uint8Array | undefined;
  private readonly scopeBytes: Uint8Array;
  private readonly keyBytes = new Map<string, Uint8Array>();
  private lastTimestamp = '';
  private lastTime: HrTime = [0, 0];
  private bytesPerEvent = 1024;
  /** Request bytes per byte of the lines they were written from: sizes a request without counting its lines first (a search per line). */
  private bytesPerLineByte = 1.1;

  constructor(readonly resource: Resource) {
    const writer = new ProtobufWriter(64);
    writer.byte(SCOPE);
    const scope = writer.begin();
    writer.byte(0x0a);
    writer.string(EXPORTER_NAME);
    writer.byte(0x12);
    writer.string(EXPORTER_VERSION);
    writer.end(scope);
    this.scopeBytes = Uint8Array.from(writer.finish());
  }

  /** The request for `events` (each one {@link isDirectlyEncodable}), observed at `observed`. */
  encode(events: readonly CostEvent[], observed: HrTime): Uint8Array {
    if (events.length === 0) return new Uint8Array(0);
    const request = this.openRequest(events.length * this.bytesPerEvent);
    const writer = request.writer;
    for (const event of events) {
      writer.byte(LOG_RECORD);
      const record = writer.begin();
      this.record(writer, event, observed);
      writer.end(record);
    }
    return this.closeRequest(request, events.length);
  }

  /** A request's writer, its ResourceLogs and ScopeLogs opened, sized for `expected` bytes. */
  private openRequest(expected: number): OpenRequest {
    const writer = new ProtobufWriter(Math.ceil(expected * 1.1) + 1024);
    // The lengths the request's size as expected takes: closing it then moves nothing (with one byte kept, as `begin` keeps, it moved the whole request twice).
    const lengthBytes = varintSize(expected);
    writer.byte(RESOURCE_LOGS);
    const resourceLogs = writer.beginReserved(lengthBytes);
    writer.raw(this.resourceField());
    writer.byte(SCOPE_LOGS);
    const scopeLogs = writer.beginReserved(lengthBytes);
    writer.raw(this.scopeBytes);
    return { writer, resourceLogs, scopeLogs, lengthBytes };
  }

  /** Closes what `openRequest` opened, after `records` (at least one) records, of `lineBytes` bytes of lines if written from lines; the request's bytes. */
  private closeRequest(request: OpenRequest, records: number, lineBytes = 0): Uint8Array {
    const writer = request.writer;
    writer.endReserved(request.scopeLogs, request.lengthBytes);
    const schemaUrl = this.resource.schemaUrl;
    if (schemaUrl !== undefined && schemaUrl !== '') {
      writer.byte(SCHEMA_URL);
      writer.string(schemaUrl);
    }
    writer.endReserved(request.resourceLogs, request.lengthBytes);
    this.bytesPerEvent = Math.max(64, Math.ceil(writer.pos / records));
    if (lineBytes > 0) this.bytesPerLineByte = Math.max(0.5, writer.pos / lineBytes);
    return writer.finish();
  }

  /**
   * The request for a batch of encoded lines (UTF-8, each ending in a newline, as the cost event
   * pipeline queues them), the same bytes as `serializeRequest` of their parsed events: each
   * line's record written from its bytes (canonical-line-records.ts), or, outside that subset,
   * parsed and encoded as an event; events the encoder does not take go through OpenTelemetry's
   * serializer as `costEventSerializer` sends them.
   */
  encodeLines(encoded: readonly Buffer[], observed: HrTime): Uint8Array {
    let lineBytes = 0;
    for (const chunk of encoded) lineBytes += chunk.length;
    const request = this.openRequest(Math.ceil(lineBytes * this.bytesPerLineByte));
    const writer = request.writer;
    const context: RecordContext = { writer, observed, timeOf: this.timeOf };
    const others: CostEvent[] = [];
    let records = 0;
    for (const chunk of encoded) {
      let nextEscape = chunk.indexOf(BACKSLASH);
      for (let start = 0, end = chunk.indexOf(0x0a); end >= 0; start = end + 1, end = chunk.indexOf(0x0a, start)) {
        if (nextEscape !== -1 && nextEscape < start) nextEscape = chunk.indexOf(BACKSLASH, start);
        const mark = writer.pos;
        writer.byte(LOG_RECORD);
        // Records written from lines take two bytes of length (128 bytes to 16 KiB): no move at the end.
        const record = writer.beginReserved(2);
        if ((nextEscape === -1 || nextEscape >= end) && transcodeRecord(context, chunk, start, end)) {
          writer.endReserved(record, 2);
          records += 1;
          continue;
        }
        writer.pos = mark;
        const event = JSON.parse(chunk.toString('utf8', start, end)) as CostEvent;
        if (!isDirectlyEncodable(event)) {
          others.push(event);
          continue;
        }
        writer.byte(LOG_RECORD);
        const parsed = writer.begin();
        this.record(writer, event, observed);
        writer.end(parsed);
        records += 1;
      }
    }
    releaseLines();
    // As serializeRequest: no ResourceLogs at all for a batch of none the encoder takes.
    const direct = records > 0 ? this.closeRequest(request, records, others.length === 0 ? lineBytes : 0) : new Uint8Array(0);
    if (others.length === 0) return direct;
    const rest = ProtobufLogsSerializer.serializeRequest(others.map((event) => costEventToLogRecord(event, this.resource, observed)));
    return Buffer.concat([direct, rest ?? new Uint8Array(0)]);
  }

  /** `parseTimestamp`, remembering the last one: a batch's events come in runs of one timestamp. */
  private readonly timeOf = (timestamp: string): HrTime | undefined => {
    if (timestamp !== this.lastTimestamp) {
      const time = parseTimestamp(timestamp);
      if (time === undefined) return undefined;
      this.lastTime = time;
      this.lastTimestamp = timestamp;
    }
    return this.lastTime;
  };

  private record(writer: ProtobufWriter, event: CostEvent, observed: HrTime): void {
    if (event.timestamp !== this.lastTimestamp) {
      this.lastTime = parseTimestamp(event.timestamp) ?? this.lastTime;
      this.lastTimestamp = event.timestamp;
    }
    writer.byte(TIME_UNIX_NANO);
    writer.hrTime(this.lastTime[0], this.lastTime[1]);
    writer.byte(SEVERITY_INFO[0]);
    writer.byte(SEVERITY_INFO[1]);
    writer.raw(SEVERITY_TEXT_INFO);
    writer.byte(BODY);
    const body = writer.begin();
    // `toAnyValue(payload) ?? {}`: a missing or null payload is an empty map.
    if (event.payload !== null && isConvertible(event.payload)) this.converted(writer, event.payload);
    else writer.raw(EMPTY_KVLIST);
    writer.end(body);
    this.entry(writer, ATTRIBUTE, 'event.name', event.event_type, false);
    for (const key of Object.keys(event)) {
      if (MAPPED_FIELDS.has(key) || key === '__proto__') continue;
      const value = (event as unknown as Record<string, unknown>)[key];
      if (isConvertible(value)) this.entry(writer, ATTRIBUTE, key, value, true);
    }
    const traceId = event.trace_id;
    const spanId = event.span_id;
    const linked = isLinked(traceId, spanId);
    if (!linked) {
      // As costEventToLogRecord keeps them: as attributes, at the end, values as they are.
      for (const [key, value] of [
        ['span_id', spanId],
        ['trace_id', traceId],
      ] as const) {
        if (value !== undefined) this.entry(writer, ATTRIBUTE, key, value, false);
      }
    }
    writeRecordLink(writer, linked ? { traceId: traceId as string, spanId: spanId as string } : undefined, observed);
    writer.byte(EVENT_NAME);
    writer.string(event.event_type);
  }

  /**
   * A KeyValue under the tag `field` (a record's attribute, a kvlist's entry, a resource attribute):
   * its value `converted` as costEventToLogRecord converts it, or written as it is.
   */
  // eslint-disable-next-line @typescript-eslint/max-params -- the hot path's one writer of a KeyValue; an options object would be made per entry
  private entry(writer: ProtobufWriter, field: number, key: string, value: unknown, converted: boolean): void {
    writer.byte(field);
    const entry = writer.begin();
    let bytes = this.keyBytes.get(key);
    if (bytes === undefined) {
      const keyWriter = new ProtobufWriter(key.length * 3 + 8);
      keyWriter.byte(KEY);
      keyWriter.string(key);
      bytes = Uint8Array.from(keyWriter.finish());
      // Bounded: keys come from the event format, but odd events must not grow it without end.
      if (this.keyBytes.size < 1024) this.keyBytes.set(key, bytes);
    }
    writer.raw(bytes);
    this.nested(writer, VALUE, value, converted);
    writer.end(entry);
  }

  /**
   * `value` as the AnyValue OpenTelemetry writes of `toAnyValue(value)` (costEventToLogRecord's
   * conversion): non-finite numbers as strings, entries whose value is not convertible left out.
   */
  private converted(writer: ProtobufWriter, value: unknown): void {
    switch (typeof value) {
      case 'string':
        writer.byte(STRING_VALUE);
        writer.string(value);
        return;
      case 'boolean':
        writer.byte(BOOL_VALUE);
        writer.byte(value ? 1 : 0);
        return;
      case 'number':
        if (Number.isFinite(value)) number(writer, value);
        else {
          writer.byte(STRING_VALUE);
          writer.string(String(value));
        }
        return;
      case 'object':
        break;
      default:
        return;
    }
    // null: an empty AnyValue.
    if (value === null) return;
    if (Array.isArray(value)) {
      this.array(writer, value as unknown[], true);
      return;
    }
    writer.byte(KVLIST_VALUE);
    const list = writer.begin();
    const map = value as Record<string, unknown>;
    for (const key of Object.keys(map)) {
      const item = map[key];
      // `__proto__` as a key of the converted map would set its prototype, not an entry: left out there too.
      if (!isConvertible(item) || key === '__proto__') continue;
      this.entry(writer, VALUES, key, item, true);
    }
    writer.end(list);
  }

  /** An `array_value` of `items`, each {@link converted} or written {@link raw}. */
  private array(writer: ProtobufWriter, items: readonly unknown[], converted: boolean): void {
    writer.byte(ARRAY_VALUE);
    const array = writer.begin();
    for (const item of items) this.nested(writer, VALUES, item, converted);
    writer.end(array);
  }

  /** `value` as a length-delimited AnyValue under field `tag`, {@link converted} or written {@link raw}. */
  private nested(writer: ProtobufWriter, tag: number, value: unknown, converted: boolean): void {
    writer.byte(tag);
    const start = writer.begin();
    if (converted) this.converted(writer, value);
    else this.raw(writer, value);
    writer.end(start);
  }

  /** `value` as OpenTelemetry's `writeAnyValue` writes an attribute value as it is. */
  private raw(writer: ProtobufWriter, value: unknown): void {
    if (typeof value === 'string') {
      writer.byte(STRING_VALUE);
      writer.string(value);
    } else if (typeof value === 'boolean') {
      writer.byte(BOOL_VALUE);
      writer.byte(value ? 1 : 0);
    } else if (typeof value === 'number') {
      number(writer, value);
    } else if (value instanceof Uint8Array) {
      writer.byte(BYTES_VALUE);
      writer.varint(value.length);
      writer.raw(value);
    } else if (Array.isArray(value)) {
      this.array(writer, value as unknown[], false);
    } else if (typeof value === 'object' && value !== null) {
      writer.byte(KVLIST_VALUE);
      const list = writer.begin();
      for (const key in value) {
        if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
        this.entry(writer, VALUES, key, (value as Record<string, unknown>)[key], false);
      }
      writer.end(list);
    }
  }

  /** The request's `resource` field, encoded once the resource's attributes have settled. */
  private resourceField(): Uint8Array {
    if (this.resourceBytes !== undefined) return this.resourceBytes;
    const writer = new ProtobufWriter(512);
    writer.byte(RESOURCE);
    const resource = writer.begin();
    const attributes = this.resource.attributes;
    for (const key in attributes) {
      if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
      this.entry(writer, RESOURCE_ATTRIBUTE, key, attributes[key], false);
    }
    writer.byte(0x10);
    writer.byte(0);
    writer.end(resource);
    const bytes = Uint8Array.from(writer.finish());
    if (this.resource.asyncAttributesPending !== true) this.resourceBytes = bytes;
    return bytes;
  }
}

/** What `toAnyValue` turns into a value (the rest it leaves out). */
function isConvertible(value: unknown): boolean {
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean' || type === 'object';
}

/**
 * A request encoded once, when its batch is handed to the exporter, and sent as it is on every
 * attempt: the batch's event objects are then garbage at once instead of living through the
 * request and its retries, copied by each young-generation collection on the way.
 */
export class EncodedLogsRequest {
  constructor(readonly bytes: Uint8Array) {}
}

/**
 * The serializer of costspan's protobuf requests: events straight to bytes; an event the encoder
 * does not take (no event type, an unreadable timestamp) through OpenTelemetry's serializer, in a
 * second `ResourceLogs` of the same request (concatenated protobuf messages merge). A batch of one
 * {@link EncodedLogsRequest} is its bytes.
 */
export function costEventSerializer(encoder: CostEventProtobufEncoder): ISerializer<Array<CostEvent | EncodedLogsRequest>, unknown> {
  return {
    serializeRequest: (items) => {
      const first = items[0];
      if (items.length === 1 && first instanceof EncodedLogsRequest) return first.bytes;
      const events = items as CostEvent[];
      const observed = nowHrTime();
      if (events.every(isDirectlyEncodable)) return encoder.encode(events, observed);
      const direct = encoder.encode(events.filter(isDirectlyEncodable), observed);
      const others = ProtobufLogsSerializer.serializeRequest(
        events.filter((event) => !isDirectlyEncodable(event)).map((event) => costEventToLogRecord(event, encoder.resource, observed)),
      );
      return Buffer.concat([direct, others ?? new Uint8Array(0)]);
    },
    deserializeResponse: (data) => ProtobufLogsSerializer.deserializeResponse(data),
  };
}
