import type { HrTime } from '@opentelemetry/api';
import type { ProtobufWriter } from './protobuf-writer.js';

/*
 * The OTLP logs fields costspan's own protobuf encoding writes (cost-event-protobuf.ts and, from
 * canonical lines, canonical-line-records.ts). Field numbers are opentelemetry-proto's
 * (logs/v1/logs.proto, common/v1/common.proto); a tag byte is `field << 3 | wire type`, wire type
 * 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
 */

// LogRecord fields.
export const TIME_UNIX_NANO = 0x09;
export const SEVERITY_INFO = [0x10, 9] as const;
export const SEVERITY_TEXT_INFO: Buffer = Buffer.from([0x1a, 4, ...Buffer.from('INFO')]);
export const BODY = 0x2a;
export const ATTRIBUTE = 0x32;
export const NO_DROPPED_ATTRIBUTES = [0x38, 0] as const;
export const FLAGS_SAMPLED = 0x45;
export const TRACE_ID = 0x4a;
export const SPAN_ID = 0x52;
export const OBSERVED_TIME_UNIX_NANO = 0x59;
export const EVENT_NAME = 0x62;
// KeyValue: key, value. AnyValue: string, bool, int, double, array, kvlist, bytes. ArrayValue and KeyValueList: values.
export const KEY = 0x0a;
export const VALUE = 0x12;
export const STRING_VALUE = 0x0a;
export const BOOL_VALUE = 0x10;
export const INT_VALUE = 0x18;
export const DOUBLE_VALUE = 0x21;
export const ARRAY_VALUE = 0x2a;
export const KVLIST_VALUE = 0x32;
export const BYTES_VALUE = 0x3a;
export const VALUES = 0x0a;
// ExportLogsServiceRequest.resource_logs, ResourceLogs.resource / scope_logs / schema_url, ScopeLogs.scope / log_records.
export const RESOURCE_LOGS = 0x0a;
export const RESOURCE = 0x0a;
export const SCOPE_LOGS = 0x12;
// Resource.attributes.
export const RESOURCE_ATTRIBUTE = 0x0a;
export const SCHEMA_URL = 0x1a;
export const SCOPE = 0x0a;
export const LOG_RECORD = 0x12;

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

export const EMPTY_KVLIST: Uint8Array = Uint8Array.from([KVLIST_VALUE, 0]);

/** A number as OpenTelemetry writes it: `int_value` when an integer in int64's range, else `double_value`. */
export function number(writer: ProtobufWriter, value: number): void {
  if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
    writer.byte(INT_VALUE);
    writer.varint(value);
  } else {
    writer.byte(DOUBLE_VALUE);
    writer.double(value);
  }
}

/**
 * The fields of a LogRecord after its attributes, as OpenTelemetry writes them: no dropped
 * attributes, the trace and span ids with the sampled flag when the record links its span (ids
 * as lowercase hex), the observed time. The event name follows.
 */
export function writeRecordLink(writer: ProtobufWriter, link: { traceId: string; spanId: string } | undefined, observed: HrTime): void {
  writer.byte(NO_DROPPED_ATTRIBUTES[0]);
  writer.byte(NO_DROPPED_ATTRIBUTES[1]);
  if (link !== undefined) {
    writer.byte(FLAGS_SAMPLED);
    writer.fixed32(1);
    writer.byte(TRACE_ID);
    writer.hexBytes(link.traceId);
    writer.byte(SPAN_ID);
    writer.hexBytes(link.spanId);
  }
  writer.byte(OBSERVED_TIME_UNIX_NANO);
  writer.hrTime(observed[0], observed[1]);
}
