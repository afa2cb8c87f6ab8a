import type { SpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import { OTLPExporterBase, type IOtlpExportDelegate } from '@opentelemetry/otlp-exporter-base';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  LogsExporterMetricsHelper,
  MetricsExporterMetricsHelper,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
  type IExporterMetricsHelper,
  type ISerializer,
} from '@opentelemetry/otlp-transformer';
import { notice } from '@costspan/sdk/internal';
import type { OtlpProtocol } from './otlp-config.js';

/** Connection settings handed to the OpenTelemetry OTLP/HTTP exporters. */
export interface OtlpHttpExporterConfig {
  url?: string;
  headers?: () => Promise<Record<string, string>>;
  timeoutMillis?: number;
  compression?: never;
  concurrencyLimit?: number;
}

/**
 * Reads the OTLP partial success (`rejected_log_records`, `rejected_spans`, `rejected_data_points`) of each export
 * response. The OpenTelemetry exporter reports a partial success as a success and only logs
 * it; this keeps the count so `stats()` can say how many items the collector refused.
 *
 * The exporter deserialises the response and calls back in the same synchronous step, so
 * the count read at the callback ({@link take}) belongs to that export.
 */
export class PartialSuccessCounter {
  /** Items the collector refused in all partial successes so far. */
  rejected = 0;
  private lastRejected = 0;
  private readonly signal: 'logs' | 'spans' | 'metrics';

  constructor(signal: 'logs' | 'spans' | 'metrics') {
    this.signal = signal;
  }

  /** `serializer` with its response reading observed. */
  observe<Request, Response>(serializer: ISerializer<Request, Response>): ISerializer<Request, Response> {
    return {
      serializeRequest: (request) => serializer.serializeRequest(request),
      deserializeResponse: (data) => {
        const response = serializer.deserializeResponse(data);
        this.read(response);
        return response;
      },
    };
  }

  /** Items refused in the response of the export answering now (0 when none), and forgets it. */
  take(): number {
    const count = this.lastRejected;
    this.lastRejected = 0;
    return count;
  }

  private read(response: unknown): void {
    const partial = (response as { partialSuccess?: Record<string, unknown> } | undefined)?.partialSuccess;
    if (partial === undefined || partial === null) return;
    const raw =
      this.signal === 'logs' ? partial.rejectedLogRecords : this.signal === 'spans' ? partial.rejectedSpans : partial.rejectedDataPoints;
    // int64 arrives as a number (protobuf), or a decimal string (JSON).
    const count = typeof raw === 'number' ? raw : typeof raw === 'string' || typeof raw === 'bigint' ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(count) || count <= 0) return;
    this.lastRejected += count;
    this.rejected += count;
    const what = this.signal === 'logs' ? 'cost events' : this.signal === 'spans' ? 'spans' : 'metric data points';
    const reason = typeof partial.errorMessage === 'string' && partial.errorMessage !== '' ? `: ${partial.errorMessage}` : '';
    notice(
      `otlp_partial_success:${this.signal}`,
      `the collector refused ${count} ${what} of an export (OTLP partial success${reason}); they are counted in stats() as rejected. Check the collector's limits and logs.`,
    );
  }
}

/** The OTLP/HTTP log exporter of `@opentelemetry/exporter-logs-otlp-{proto,http}`, its partial successes counted. */
export function createLogExporter(
  protocol: Exclude<OtlpProtocol, 'grpc'>,
  config: OtlpHttpExporterConfig,
  partial: PartialSuccessCounter,
): LogRecordExporter {
  return createLogItemExporter(protocol, config, partial, protocol === 'http/json' ? JsonLogsSerializer : ProtobufLogsSerializer);
}

/**
 * {@link createLogExporter} for items of any kind: `serializer` turns a batch of them into an
 * `ExportLogsServiceRequest` (costspan's own encoder takes cost events as they are).
 */
export function createLogItemExporter<Item>(
  protocol: Exclude<OtlpProtocol, 'grpc'>,
  config: OtlpHttpExporterConfig,
  partial: PartialSuccessCounter,
  serializer: ISerializer<Item[], unknown>,
): OTLPExporterBase<Item[]> {
  const options = convertLegacyHttpOptions(config, 'LOGS', 'v1/logs', {
    'Content-Type': protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
  });
  const delegate = createOtlpHttpExportDelegate(
    options,
    partial.observe<Item[], unknown>(serializer),
    'otlp_http_log_exporter',
    // It counts a request's items (`length`), whatever they are.
    LogsExporterMetricsHelper as unknown as IExporterMetricsHelper<Item[]>,
    undefined,
  );
  return new OTLPExporterBase(delegate);
}

/** The OTLP/HTTP trace exporter of `@opentelemetry/exporter-trace-otlp-{proto,http}`, its partial successes counted. */
export function createTraceExporter(
  protocol: Exclude<OtlpProtocol, 'grpc'>,
  config: OtlpHttpExporterConfig,
  partial: PartialSuccessCounter,
): SpanExporter {
  const json = protocol === 'http/json';
  const options = convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', {
    'Content-Type': json ? 'application/json' : 'application/x-protobuf',
  });
  const serializer = partial.observe<ReadableSpan[], unknown>(json ? JsonTraceSerializer : ProtobufTraceSerializer);
  const delegate = createOtlpHttpExportDelegate(options, serializer, 'otlp_http_span_exporter', TraceExporterMetricsHelper, undefined);
  return new OTLPExporterBase(delegate);
}

/** The export delegate of `@opentelemetry/exporter-metrics-otlp-{proto,http}`, its partial successes counted. */
export function createMetricDelegate(
  protocol: Exclude<OtlpProtocol, 'grpc'>,
  config: OtlpHttpExporterConfig,
  partial: PartialSuccessCounter,
): IOtlpExportDelegate<ResourceMetrics> {
  const json = protocol === 'http/json';
  const options = convertLegacyHttpOptions(config, 'METRICS', 'v1/metrics', {
    'Content-Type': json ? 'application/json' : 'application/x-protobuf',
  });
  const serializer = partial.observe<ResourceMetrics, unknown>(json ? JsonMetricsSerializer : ProtobufMetricsSerializer);
  return createOtlpHttpExportDelegate(options, serializer, 'otlp_http_metric_exporter', MetricsExporterMetricsHelper, undefined);
}
