import type { HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { CostEvent } from '@costspan/sdk';
import { ProtobufLogsSerializer, type ISerializer } from '@opentelemetry/otlp-transformer';
import { costEventToLogRecord, isLinked, nowHrTime, parseTimestamp } from './cost-event-log-record.js';
import { ProtobufWriter } from './protobuf-writer.js';
import { EXPORTER_NAME, EXPORTER_VERSION } from './version.js';

/*
 * Cost events straight to an OTLP `ExportLogsServiceRequest` in protobuf: the request
 * `@opentelemetry/otlp-transformer`'s `ProtobufLogsSerializer` makes of
 * `events.map((event) => costEventToLogRecord(event, resource, observed))`, byte for byte (a
 * randomized test holds the two equal), without the log record objects, the AnyValue copies of
 * each payload and the size-estimating pass in between: on the event-path bench those were about
 * a third of what sending a cost event over OTLP cost.
 *
 * Field numbers are opentelemetry-proto's (logs/v1/logs.proto, common/v1/common.proto); a tag
 * byte is `field << 3 | wire type`, wire type 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
 */

// LogRecord fields.
const TIME_UNIX_NANO = 0x09;
const SEVERITY_INFO = [0x10, 9] as const;
const SEVERITY_TEXT_INFO = Buffer.from([0x1a, 4, ...Buffer.from('INFO')]);
const BODY = 0x2a;
const ATTRIBUTE = 0x32;
const NO_DROPPED_ATTRIBUTES = [0x38, 0] as const;
const FLAGS_SAMPLED = 0x45;
const TRACE_ID = 0x4a;
const SPAN_ID = 0x52;
const OBSERVED_TIME_UNIX_NANO = 0x59;
const EVENT_NAME = 0x62;
// KeyValue: key, value. AnyValue: string, bool, int, double, array, kvlist, bytes. ArrayValue and KeyValueList: values.
const KEY = 0x0a;
const VALUE = 0x12;
const STRING_VALUE = 0x0a;
const BOOL_VALUE = 0x10;
const INT_VALUE = 0x18;
const DOUBLE_VALUE = 0x21;
const ARRAY_VALUE = 0x2a;
const KVLIST_VALUE = 0x32;
const BYTES_VALUE = 0x3a;
const VALUES = 0x0a;
// ExportLogsServiceRequest.resource_logs, ResourceLogs.resource / scope_logs / schema_url, ScopeLogs.scope / log_records.
const RESOURCE_LOGS = 0x0a;
const RESOURCE = 0x0a;
const SCOPE_LOGS = 0x12;
// Resource.attributes.
const RESOURCE_ATTRIBUTE = 0x0a;
const SCHEMA_URL = 0x1a;
const SCOPE = 0x0a;
const LOG_RECORD = 0x12;

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;
// Envelope fields with a home of their own in the record (see costEventToLogRecord).
const MAPPED_FIELDS = new Set(['event_type', 'timestamp', 'payload', 'trace_id', 'span_id']);

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
    const writer = new ProtobufWriter(Math.ceil(events.length * this.bytesPerEvent * 1.1) + 1024);
    writer.byte(RESOURCE_LOGS);
    const resourceLogs = writer.begin();
    writer.raw(this.resourceField());
    writer.byte(SCOPE_LOGS);
    const scopeLogs = writer.begin();
    writer.raw(this.scopeBytes);
    for (const event of events) {
      writer.byte(LOG_RECORD);
      const record = writer.begin();
      this.record(writer, event, observed);
      writer.end(record);
    }
    writer.end(scopeLogs);
    const schemaUrl = this.resource.schemaUrl;
    if (schemaUrl !== undefined && schemaUrl !== '') {
      writer.byte(SCHEMA_URL);
      writer.string(schemaUrl);
    }
    writer.end(resourceLogs);
    this.bytesPerEvent = Math.max(64, Math.ceil(writer.pos / events.length));
    return writer.finish();
  }

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
    writer.byte(NO_DROPPED_ATTRIBUTES[0]);
    writer.byte(NO_DROPPED_ATTRIBUTES[1]);
    if (linked) {
      writer.byte(FLAGS_SAMPLED);
      writer.fixed32(1);
      writer.byte(TRACE_ID);
      writer.hexBytes(traceId as string);
      writer.byte(SPAN_ID);
      writer.hexBytes(spanId as string);
    }
    writer.byte(OBSERVED_TIME_UNIX_NANO);
    writer.hrTime(observed[0], observed[1]);
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

const EMPTY_KVLIST = Uint8Array.from([KVLIST_VALUE, 0]);

/** What `toAnyValue` turns into a value (the rest it leaves out). */
function isConvertible(value: unknown): boolean {
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean' || type === 'object';
}

/** A number as OpenTelemetry writes it: `int_value` when an integer in int64's range, else `double_value`. */
function number(writer: ProtobufWriter, value: number): void {
  if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
    writer.byte(INT_VALUE);
    writer.varint(value);
  } else {
    writer.byte(DOUBLE_VALUE);
    writer.double(value);
  }
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
