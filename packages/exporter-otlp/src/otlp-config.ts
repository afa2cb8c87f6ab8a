import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { notice } from '@costspan/sdk/internal';

/** OTLP/HTTP encodings: `http/protobuf` (the OTLP default) or `http/json`. */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** Connection settings shared by the trace and log exporters. */
export interface OtlpConnectionOptions {
  /**
   * Base URL of the collector's OTLP/HTTP receiver; `/v1/traces` and `/v1/logs` are appended.
   * Default: `OTEL_EXPORTER_OTLP_{TRACES,LOGS}_ENDPOINT` (used as is), else
   * `OTEL_EXPORTER_OTLP_ENDPOINT` + path, else `http://localhost:4318`.
   */
  endpoint?: string;
  /**
   * Encoding. Default: `OTEL_EXPORTER_OTLP_{TRACES,LOGS}_PROTOCOL`, else
   * `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`. `grpc` is not supported
   * (reported through `diag`; `http/protobuf` is used instead).
   */
  protocol?: OtlpProtocol;
  /**
   * Extra request headers (e.g. an API key), merged over
   * `OTEL_EXPORTER_OTLP_HEADERS` / `OTEL_EXPORTER_OTLP_{TRACES,LOGS}_HEADERS`.
   */
  headers?: Record<string, string>;
  /**
   * Longest one export may take, the OpenTelemetry exporter's own retries
   * (429/502/503/504, network errors, `Retry-After`) included. Default:
   * `OTEL_EXPORTER_OTLP_{TRACES,LOGS}_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10000 ms.
   */
  timeoutMillis?: number;
  /** `gzip` or `none`. Default: `OTEL_EXPORTER_OTLP_COMPRESSION`, else `none`. */
  compression?: 'gzip' | 'none';
}

/** The signal an exporter sends; names the `OTEL_EXPORTER_OTLP_<SIGNAL>_*` variables. */
export type OtlpSignal = 'TRACES' | 'LOGS';

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
  if (value === 'http/protobuf' || value === 'http/json') return value;
  // Once per value: the trace and the log exporter both read the same variable.
  notice(
    `otlp_protocol_unsupported:${value}`,
    `unsupported OTLP protocol "${value}" from ${origin}; using http/protobuf (costspan exports over OTLP/HTTP only: set http/protobuf or http/json, and point the endpoint at the collector's OTLP/HTTP port, usually 4318)`,
  );
  return 'http/protobuf';
}

/** The signal URL for an explicit base endpoint, or undefined to let the exporter read the environment. */
export function signalUrl(endpoint: string | undefined, path: 'v1/traces' | 'v1/logs'): string | undefined {
  if (endpoint === undefined) return undefined;
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

function environmentValue(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}
