import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPExporterBase, type IOtlpExportDelegate } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyOtlpGrpcOptions, createEmptyMetadata, createOtlpGrpcExportDelegate } from '@opentelemetry/otlp-grpc-exporter-base';
import {
  LogsExporterMetricsHelper,
  MetricsExporterMetricsHelper,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
  type IExporterMetricsHelper,
  type ISerializer,
} from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { PartialSuccessCounter } from './otlp-http-exporters.js';

/** Connection settings handed to the OpenTelemetry OTLP/gRPC exporters. */
export interface OtlpGrpcExporterConfig {
  /** `http://host:port` (plaintext) or `https://host:port` (TLS); default from the environment. */
  url?: string;
  /** Sent as gRPC metadata, merged over `OTEL_EXPORTER_OTLP_{,<SIGNAL>_}HEADERS`. */
  headers?: Record<string, string>;
  timeoutMillis?: number;
  compression?: 'gzip' | 'none';
  concurrencyLimit?: number;
}

/**
 * gRPC status codes the OTLP specification lists as retryable: CANCELLED, DEADLINE_EXCEEDED,
 * ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS. (RESOURCE_EXHAUSTED only with RetryInfo,
 * which the OpenTelemetry gRPC transport does not hand back, so it is not retried.)
 */
const RETRYABLE_GRPC_CODES = new Set([1, 4, 10, 11, 14, 15]);

/**
 * True for a gRPC error whose status code is retryable. gRPC codes are 0–16; HTTP statuses
 * (the other exporters' `code`) start at 100, so the two never mix up.
 */
export function isRetryableGrpcError(error: Error | undefined): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && code < 100 && RETRYABLE_GRPC_CODES.has(code);
}

// The OpenTelemetry JS retry schedule (otlp-exporter-base's retrying transport), which its
// gRPC transport does not use (0.223 answers every gRPC error as a plain failure).
const MAX_ATTEMPTS = 5;
const INITIAL_BACKOFF_MILLIS = 1000;
const MAX_BACKOFF_MILLIS = 5000;
const BACKOFF_MULTIPLIER = 1.5;

/**
 * Retries an export delegate's failures that carry a retryable gRPC code, with exponential
 * backoff and jitter, within `timeoutMillis` per export, as the OTLP specification asks of
 * an exporter. Counts each retry. {@link abort} ends waiting retries at once (bounded shutdown).
 */
export class RetryingExportDelegate<Internal> implements IOtlpExportDelegate<Internal> {
  /** Requests sent again after a retryable failure. */
  retried = 0;
  private readonly delegate: IOtlpExportDelegate<Internal>;
  private readonly timeoutMillis: number;
  private readonly waits = new Set<() => void>();
  private aborted = false;

  constructor(delegate: IOtlpExportDelegate<Internal>, timeoutMillis: number) {
    this.delegate = delegate;
    this.timeoutMillis = timeoutMillis;
  }

  export(internalRepresentation: Internal, resultCallback: (result: ExportResult) => void): void {
    const deadline = Date.now() + this.timeoutMillis;
    let attemptsLeft = MAX_ATTEMPTS;
    let backoff = INITIAL_BACKOFF_MILLIS;
    const attempt = (): void => {
      try {
        this.delegate.export(internalRepresentation, onResult);
      } catch (error) {
        resultCallback({ code: ExportResultCode.FAILED, error: error as Error });
      }
    };
    const onResult = (result: ExportResult): void => {
      const delay = Math.min(backoff, MAX_BACKOFF_MILLIS) * (0.8 + Math.random() * 0.4);
      if (
        result.code === ExportResultCode.SUCCESS ||
        this.aborted ||
        attemptsLeft === 0 ||
        !isRetryableGrpcError(result.error) ||
        Date.now() + delay >= deadline
      ) {
        resultCallback(result);
        return;
      }
      attemptsLeft -= 1;
      backoff *= BACKOFF_MULTIPLIER;
      this.wait(delay, () => {
        if (this.aborted) {
          resultCallback(result);
          return;
        }
        this.retried += 1;
        attempt();
      });
    };
    attempt();
  }

  /** Stops retrying: exports waiting for their next attempt answer their last failure now. */
  abort(): void {
    this.aborted = true;
    for (const wake of [...this.waits]) wake();
  }

  forceFlush(): Promise<void> {
    return this.delegate.forceFlush();
  }

  shutdown(): Promise<void> {
    this.abort();
    return this.delegate.shutdown();
  }

  setMetrics(metrics: Parameters<IOtlpExportDelegate<Internal>['setMetrics']>[0]): void {
    this.delegate.setMetrics(metrics);
  }

  private wait(millis: number, then: () => void): void {
    const waits = this.waits;
    const timer = setTimeout(wake, millis);
    function wake(): void {
      clearTimeout(timer);
      if (!waits.delete(wake)) return;
      then();
    }
    waits.add(wake);
  }
}

function grpcOptions(
  config: OtlpGrpcExporterConfig,
  signal: 'TRACES' | 'LOGS' | 'METRICS',
): ReturnType<typeof convertLegacyOtlpGrpcOptions> {
  const metadata = createEmptyMetadata();
  for (const [key, value] of Object.entries(config.headers ?? {})) metadata.set(key, value);
  return convertLegacyOtlpGrpcOptions(
    {
      ...(config.url === undefined ? {} : { url: config.url }),
      metadata,
      ...(config.timeoutMillis === undefined ? {} : { timeoutMillis: config.timeoutMillis }),
      ...(config.compression === undefined ? {} : { compression: config.compression as never }),
      ...(config.concurrencyLimit === undefined ? {} : { concurrencyLimit: config.concurrencyLimit }),
    },
    signal,
  );
}

/** The trace exporter of `@opentelemetry/exporter-trace-otlp-grpc`, built from its parts: partial successes counted, retryable codes retried. */
export function createGrpcTraceExporter(
  config: OtlpGrpcExporterConfig,
  partial: PartialSuccessCounter,
): { exporter: SpanExporter; retries: RetryingExportDelegate<ReadableSpan[]> } {
  const options = grpcOptions(config, 'TRACES');
  const delegate = createOtlpGrpcExportDelegate(
    options,
    partial.observe<ReadableSpan[], unknown>(ProtobufTraceSerializer),
    'otlp_grpc_span_exporter',
    TraceExporterMetricsHelper,
    undefined,
    'TraceExportService',
    '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  );
  const retries = new RetryingExportDelegate(delegate, options.timeoutMillis);
  return { exporter: new OTLPExporterBase(retries), retries };
}

/**
 * The log exporter of `@opentelemetry/exporter-logs-otlp-grpc`, built from its parts so partial
 * successes are counted. Not retried here: the cost event exporter retries whole batches itself.
 */
export function createGrpcLogExporter<Item = ReadableLogRecord>(
  config: OtlpGrpcExporterConfig,
  partial: PartialSuccessCounter,
  serializer: ISerializer<Item[], unknown> = ProtobufLogsSerializer as unknown as ISerializer<Item[], unknown>,
): OTLPExporterBase<Item[]> {
  const delegate = createOtlpGrpcExportDelegate(
    grpcOptions(config, 'LOGS'),
    partial.observe<Item[], unknown>(serializer),
    'otlp_grpc_log_exporter',
    // It counts a request's items (`length`), whatever they are.
    LogsExporterMetricsHelper as unknown as IExporterMetricsHelper<Item[]>,
    undefined,
    'LogsExportService',
    '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  );
  return new OTLPExporterBase(delegate);
}

/** The export delegate of `@opentelemetry/exporter-metrics-otlp-grpc`: partial successes counted, retryable codes retried. */
export function createGrpcMetricDelegate(
  config: OtlpGrpcExporterConfig,
  partial: PartialSuccessCounter,
): RetryingExportDelegate<ResourceMetrics> {
  const options = grpcOptions(config, 'METRICS');
  const delegate = createOtlpGrpcExportDelegate(
    options,
    partial.observe<ResourceMetrics, unknown>(ProtobufMetricsSerializer),
    'otlp_grpc_metric_exporter',
    MetricsExporterMetricsHelper,
    undefined,
    'MetricsExportService',
    '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  );
  return new RetryingExportDelegate(delegate, options.timeoutMillis);
}
