import { TraceFlags, type HrTime } from '@opentelemetry/api';
import { SeverityNumber, type AnyValue, type AnyValueMap, type LogAttributes } from '@opentelemetry/api-logs';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { CostEvent } from '@costspan/sdk';
import { EXPORTER_NAME, EXPORTER_VERSION } from './version.js';

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
// Envelope fields that have a home of their own in the log record.
// One object for every record: OpenTelemetry's serializer groups records by scope object, so a fresh one
// per record would give each record a ScopeLogs of its own.
const SCOPE = { name: EXPORTER_NAME, version: EXPORTER_VERSION };
const MAPPED_FIELDS = new Set(['event_type', 'timestamp', 'payload', 'trace_id', 'span_id']);

/**
 * Turns a cost event into an OpenTelemetry log record, losslessly:
 *
 * - `eventName` and the `event.name` attribute: the event type (`llm.cost.token.recorded`, ...)
 * - body: the payload, as a structured map
 * - timestamp: the envelope's, to the microsecond; observed time: now
 * - trace and span ids: the envelope's `trace_id` / `span_id`, so backends link the record to its span
 * - attributes: every other envelope field under its own name (`event_id`,
 *   `schema_version`, `source`, `org_id`, `team_id`, `actor_id`, `session_id`,
 *   `parent_span_id`, `tags` as a map, ...). `event_id` lets a backend drop
 *   records delivered twice after a retry.
 */
export function costEventToLogRecord(event: CostEvent, resource: Resource, observed: HrTime = nowHrTime()): ReadableLogRecord {
  const attributes: LogAttributes = { 'event.name': event.event_type };
  for (const key of Object.keys(event)) {
    if (MAPPED_FIELDS.has(key)) continue;
    const value = toAnyValue(event[key]);
    if (value !== undefined) attributes[key] = value;
  }
  const traceId = event.trace_id;
  const spanId = event.span_id;
  const linked = isLinked(traceId, spanId);
  // A span id without a trace id cannot go in the span id field; keep it as an attribute.
  if (!linked && spanId !== undefined) attributes.span_id = spanId;
  if (!linked && traceId !== undefined) attributes.trace_id = traceId;
  return {
    hrTime: timestampToHrTime(event.timestamp),
    hrTimeObserved: observed,
    ...(linked ? { spanContext: { traceId: traceId as string, spanId: spanId as string, traceFlags: TraceFlags.SAMPLED } } : {}),
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    body: toAnyValue(event.payload) ?? {},
    eventName: event.event_type,
    resource,
    instrumentationScope: SCOPE,
    attributes,
    droppedAttributesCount: 0,
  };
}

/** Whether a record can carry the envelope's ids in its own trace and span id fields. */
export function isLinked(traceId: unknown, spanId: unknown): boolean {
  return typeof traceId === 'string' && TRACE_ID.test(traceId) && typeof spanId === 'string' && SPAN_ID.test(spanId);
}

/** `2026-03-04T14:32:11.042817Z` as `[seconds, nanoseconds]`, exact to the microsecond; now when it is not a timestamp. */
export function timestampToHrTime(timestamp: string): HrTime {
  return parseTimestamp(timestamp) ?? nowHrTime();
}

/** {@link timestampToHrTime}, or undefined when `timestamp` is not one. */
export function parseTimestamp(timestamp: string): HrTime | undefined {
  const match = /^(.{19})(?:\.(\d{1,9}))?Z$/.exec(timestamp);
  if (match === null) return undefined;
  const secondText = match[1] as string;
  // A batch's events share their second: the date part is parsed once per second, not per event.
  if (secondText !== lastSecondText) {
    const wholeMs = Date.parse(`${secondText}Z`);
    if (Number.isNaN(wholeMs)) return undefined;
    lastSecondText = secondText;
    lastSecond = Math.floor(wholeMs / 1000);
  }
  const fraction = (match[2] ?? '').padEnd(9, '0');
  return [lastSecond, Number(fraction)];
}

let lastSecondText = '';
let lastSecond = 0;

/** Now, as `[seconds, nanoseconds]` to the millisecond. */
export function nowHrTime(): HrTime {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}

function toAnyValue(value: unknown): AnyValue | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return null;
  if (Array.isArray(value)) return value.map((item) => toAnyValue(item) ?? null);
  const map: AnyValueMap = {};
  for (const [key, item] of Object.entries(value)) {
    const converted = toAnyValue(item);
    if (converted !== undefined) map[key] = converted;
  }
  return map;
}
