import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { millisecondsOption } from '@costspan/core';
import { notice } from '@costspan/sdk/internal';

/** OTLP transports: `http/protobuf` (the OTLP default), `http/json`, or `grpc`. */
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

/** Connection settings shared by the trace, log and metric exporters. */
export interface OtlpConnectionOptions {
  /**
   * Base URL of the collector's OTLP receiver. Over HTTP, `/v1/traces`, `/v1/logs` and
   * `/v1/metrics` are appended; over gRPC it is used as is (e.g. `http://127.0.0.1:4317`).
   * Default: `OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_ENDPOINT` (used as is), else
   * `OTEL_EXPORTER_OTLP_ENDPOINT` (+ the path over HTTP), else `http://localhost:4318`
   * (`http://localhost:4317` over gRPC).
   */
  endpoint?: string;
  /**
   * Transport and encoding. Default: `OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_PROTOCOL`, else
   * `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`. An unknown value is reported once
   * and `http/protobuf` used instead.
   */
  protocol?: OtlpProtocol;
  /**
   * Extra request headers (e.g. an API key), merged over
   * `OTEL_EXPORTER_OTLP_HEADERS` / `OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_HEADERS`
   * (gRPC metadata over gRPC).
   */
  headers?: Record<string, string>;
  /**
   * Longest one export may take, the exporter's own retries (HTTP 429/502/503/504,
   * the retryable gRPC codes, network errors, `Retry-After`) included. Default:
   * `OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10000 ms.
   * From 1 to 2147483647 ms (the longest timer delay); anything else makes the constructor throw a
   * `CostspanError` (`invalid_argument`, field `timeoutMillis`).
   */
  timeoutMillis?: number;
  /** `gzip` or `none`. Default: `OTEL_EXPORTER_OTLP_COMPRESSION`, else `none`. */
  compression?: 'gzip' | 'none';
}

/**
 * The `timeoutMillis` option, checked: undefined when not given (the exporter underneath then reads
 * the environment), else a number of milliseconds from 1 to 2147483647.
 *
 * @throws CostspanError `invalid_argument` (field `timeoutMillis`) for anything else
 */
export function checkedTimeoutMillis(options: OtlpConnectionOptions): number | undefined {
  const value: unknown = options.timeoutMillis;
  return value === undefined ? undefined : millisecondsOption(value, 'timeoutMillis', { fallback: 0 });
}

/** The signal an exporter sends; names the `OTEL_EXPORTER_OTLP_<SIGNAL>_*` variables. */
export type OtlpSignal = 'TRACES' | 'LOGS' | 'METRICS';

/** Picks the encoding: option, then the signal's variable, then the general one, then protobuf. */
export function resolveProtocol(signal: OtlpSignal, protocol: OtlpProtocol | undefined): OtlpProtocol {
  if (protocol !== undefined) return checkProtocol(protocol, 'the protocol option');
  const specific = environmentValue(`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`);
  if (specific !== undefined) return checkProtocol(specific, `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`);
  const general = environmentValue('OTEL_EXPORTER_OTLP_PROTOCOL');
  if (general !== undefined) return checkProtocol(general, 'OTEL_EXPORTER_OTLP_PROTOCOL');
  return 'http/protobuf';
}

function checkProtocol(value: string, origin: string): OtlpProtocol {
  if (value === 'http/protobuf' || value === 'http/json' || value === 'grpc') return value;
  // Once per value: the trace, log and metric exporters all read the same variable.
  notice(
    `otlp_protocol_unsupported:${value}`,
    `unsupported OTLP protocol "${value}" from ${origin}; using http/protobuf (set grpc, http/protobuf or http/json)`,
  );
  return 'http/protobuf';
}

/** The path of each signal on an OTLP/HTTP receiver. */
export type OtlpSignalPath = 'v1/traces' | 'v1/logs' | 'v1/metrics';

/**
 * The exporter's URL for an explicit base endpoint: the signal's path appended over HTTP, the
 * endpoint as is over gRPC; undefined to let the exporter read the environment.
 */
export function signalUrl(endpoint: string | undefined, path: OtlpSignalPath, protocol?: OtlpProtocol): string | undefined {
  if (endpoint === undefined) return undefined;
  if (protocol === 'grpc') return endpoint;
  return `${endpoint.endsWith('/') ? endpoint : `${endpoint}/`}${path}`;
}

/**
 * The resource of spans and cost log records: the SDK defaults, then `service.name`
 * from the option, else `OTEL_SERVICE_NAME`, else `unknown_service:<process>`.
 */
export function resolveResource(serviceName: string | undefined, resource: Resource | undefined): Resource {
  let merged = defaultResource();
  if (resource !== undefined) merged = merged.merge(resource);
  const name = serviceName ?? environmentValue('OTEL_SERVICE_NAME');
  if (name !== undefined) merged = merged.merge(resourceFromAttributes({ 'service.name': name }));
  return merged;
}

/**
 * A positive number from a variable, undefined when unset, blank or anything else: a bad variable is
 * ignored and the default applies, as OpenTelemetry reads its own (an option is checked instead).
 */
export function environmentPositive(name: string): number | undefined {
  const value = Number(environmentValue(name));
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/** A variable's trimmed value, undefined when unset or blank. */
export function environmentValue(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}
