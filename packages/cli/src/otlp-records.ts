import { COST_EVENT_TYPES } from '@costspan/sdk';
import { formatEventTimestamp } from '@costspan/sdk/internal';

/**
 * Reading the files an OpenTelemetry Collector's `file` exporter writes: one
 * OTLP/JSON `ExportLogsServiceRequest` per line, in the protobuf JSON mapping
 * (lowerCamelCase names, int64 as strings, trace and span ids as hex). The
 * original proto names (`resource_logs`, `int_value`, ...) are accepted too,
 * as the OTLP spec asks of receivers.
 *
 * A log record is a cost event when its `eventName` (or `event.name`
 * attribute) is a costspan event type; it is rebuilt as
 * `@costspan/exporter-otlp` mapped it (see its `cost-event-log-record.ts`):
 * body = payload, attributes = the other envelope fields, time = timestamp,
 * trace and span ids = `trace_id` / `span_id`.
 */

/** What one collector line held. */
export interface OtlpLineContents {
  /** Rebuilt envelopes, unvalidated, in record order. */
  events: Record<string, unknown>[];
  /** Log records that are not cost events (other logs sharing the collector), ignored. */
  foreign: number;
}

type JsonObject = Record<string, unknown>;

/** True when a parsed line is an OTLP logs request rather than a cost event. */
export function isOtlpLogsRequest(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const object = value as JsonObject;
  return object.event_type === undefined && (Array.isArray(object.resourceLogs) || Array.isArray(object.resource_logs));
}

const OTHER_SIGNALS = ['resourceSpans', 'resource_spans', 'resourceMetrics', 'resource_metrics', 'resourceProfiles', 'resource_profiles'];

/**
 * True when a parsed line is a collector's traces, metrics or profiles request: a file
 * exporter in a pipeline that carries more than logs writes those to the same file.
 */
export function isOtherOtlpRequest(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const object = value as JsonObject;
  return object.event_type === undefined && OTHER_SIGNALS.some((name) => Array.isArray(object[name]));
}

/** The cost events of one parsed `ExportLogsServiceRequest`. */
export function otlpLineContents(request: JsonObject): OtlpLineContents {
  const contents: OtlpLineContents = { events: [], foreign: 0 };
  for (const resourceLogs of objects(field(request, 'resourceLogs', 'resource_logs'))) {
    for (const scopeLogs of objects(field(resourceLogs, 'scopeLogs', 'scope_logs'))) {
      for (const record of objects(field(scopeLogs, 'logRecords', 'log_records'))) {
        const event = recordToEvent(record);
        if (event === undefined) contents.foreign += 1;
        else contents.events.push(event);
      }
    }
  }
  return contents;
}

function recordToEvent(record: JsonObject): JsonObject | undefined {
  const attributes = keyValues(record.attributes);
  const name = field(record, 'eventName', 'event_name');
  const eventType = typeof name === 'string' && name !== '' ? name : attributes['event.name'];
  if (!(COST_EVENT_TYPES as readonly unknown[]).includes(eventType)) return undefined;
  const event: JsonObject = {};
  for (const [key, value] of Object.entries(attributes)) if (key !== 'event.name') event[key] = value;
  event.event_type = eventType;
  event.payload = anyValue(record.body);
  const timestamp = nanosToTimestamp(field(record, 'timeUnixNano', 'time_unix_nano'));
  // Left out when absent or zero, so validation names the missing timestamp instead of inventing one.
  if (timestamp !== undefined) event.timestamp = timestamp;
  const traceId = hexId(field(record, 'traceId', 'trace_id'));
  const spanId = hexId(field(record, 'spanId', 'span_id'));
  if (traceId !== undefined) event.trace_id = traceId;
  if (spanId !== undefined) event.span_id = spanId;
  return event;
}

function field(object: JsonObject, camel: string, snake: string): unknown {
  const value = object[camel];
  return value === undefined ? object[snake] : value;
}

function objects(value: unknown): JsonObject[] {
  return Array.isArray(value) ? value.filter((item): item is JsonObject => typeof item === 'object' && item !== null) : [];
}

function keyValues(value: unknown): JsonObject {
  const map: JsonObject = {};
  for (const pair of objects(value)) if (typeof pair.key === 'string') map[pair.key] = anyValue(pair.value);
  return map;
}

/** An OTLP `AnyValue` as the plain JSON value it was made from; the empty value is `null`. */
function anyValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return null;
  const item = value as JsonObject;
  const text = field(item, 'stringValue', 'string_value');
  if (text !== undefined) return text;
  const flag = field(item, 'boolValue', 'bool_value');
  if (flag !== undefined) return flag;
  // int64 is a decimal string in the JSON mapping (a number is accepted too); doubles may be "NaN" or "Infinity".
  const integer = field(item, 'intValue', 'int_value');
  if (integer !== undefined) return Number(integer);
  const double = field(item, 'doubleValue', 'double_value');
  if (double !== undefined) return Number(double);
  const array = field(item, 'arrayValue', 'array_value');
  if (array !== undefined) return objects((array as JsonObject | null)?.values).map(anyValue);
  const list = field(item, 'kvlistValue', 'kvlist_value');
  if (list !== undefined) return keyValues((list as JsonObject | null)?.values);
  const bytes = field(item, 'bytesValue', 'bytes_value');
  if (bytes !== undefined) return bytes;
  return null;
}

/** `timeUnixNano` (a decimal string or number) as the envelope's microsecond timestamp. */
function nanosToTimestamp(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value);
  if (!/^\d{1,20}$/.test(text)) return undefined;
  const nanos = BigInt(text);
  if (nanos === 0n) return undefined;
  return formatEventTimestamp([Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)]);
}

/** Trace and span ids are hex in OTLP/JSON; base64 (what a protobuf-to-JSON tool without the OTLP rule writes) is accepted. */
function hexId(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const hex =
    /^[0-9a-fA-F]+$/.test(value) && (value.length === 32 || value.length === 16)
      ? value.toLowerCase()
      : Buffer.from(value, 'base64').toString('hex');
  if (hex.length !== 32 && hex.length !== 16) return undefined;
  // An all-zero id is "no id" in OTLP.
  return /^0+$/.test(hex) ? undefined : hex;
}
