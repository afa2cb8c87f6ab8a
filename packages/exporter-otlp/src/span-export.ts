import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { AttemptCounter } from './attempt-counter.js';
import { attemptTimeoutMillis } from './export-retry.js';
import { resolveProtocol, signalUrl, type OtlpConnectionOptions } from './otlp-config.js';
import { createGrpcTraceExporter, type RetryingExportDelegate } from './otlp-grpc-exporters.js';
import { createTraceExporter, PartialSuccessCounter } from './otlp-http-exporters.js';
import { CountingSpanExporter, type SpanQueueObserver } from './span-counters.js';

/** Limits of the span batch processor (see `CostspanOtlpOptions.spanQueue`). */
export interface SpanQueueOptions {
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  scheduledDelayMillis?: number;
  exportTimeoutMillis?: number;
}

/** The span side of a setup: the OTLP trace exporter (counted) behind a batch processor. */
export interface SpanExport {
  readonly exporter: CountingSpanExporter;
  readonly processor: BatchSpanProcessor;
  /** Over gRPC: the retries of UNAVAILABLE and the other retryable codes. */
  readonly grpcRetries: RetryingExportDelegate<unknown> | undefined;
}

/**
 * The OpenTelemetry OTLP trace exporter for the setup's protocol, built from its parts so
 * partial successes and retries are counted, behind a `BatchSpanProcessor` with the
 * `OTEL_BSP_*` limits.
 */
export function createSpanExport(options: OtlpConnectionOptions, queue: SpanQueueOptions, spanQueue: SpanQueueObserver): SpanExport {
  const attempts = new AttemptCounter();
  const protocol = resolveProtocol('TRACES', options.protocol);
  const url = signalUrl(options.endpoint, 'v1/traces', protocol);
  const common = {
    ...(url === undefined ? {} : { url }),
    ...(options.timeoutMillis === undefined ? {} : { timeoutMillis: options.timeoutMillis }),
  };
  const partialSuccess = new PartialSuccessCounter('spans');
  let exporter: SpanExporter;
  let grpcRetries: RetryingExportDelegate<unknown> | undefined;
  if (protocol === 'grpc') {
    const compression = options.compression === undefined ? {} : { compression: options.compression };
    const grpc = createGrpcTraceExporter({ ...common, ...compression, headers: { ...options.headers } }, partialSuccess);
    exporter = grpc.exporter;
    grpcRetries = grpc.retries;
    attempts.countRetriesOf(grpc.retries);
  } else {
    const compression = options.compression === undefined ? {} : { compression: options.compression as never };
    exporter = createTraceExporter(
      protocol,
      { ...common, ...compression, headers: attempts.headersFactory(options.headers) },
      partialSuccess,
    );
  }
  // Over gRPC the export's own retries may start a last attempt just before their deadline: twice the bound.
  const bound = attemptTimeoutMillis(options.timeoutMillis, 'TRACES') * (protocol === 'grpc' ? 2 : 1);
  const counting = new CountingSpanExporter(exporter, attempts, partialSuccess, 8, bound);
  const maxQueueSize = positive(queue.maxQueueSize ?? environmentNumber('OTEL_BSP_MAX_QUEUE_SIZE'), 16_384);
  const bufferConfig = {
    maxQueueSize,
    maxExportBatchSize: Math.min(
      maxQueueSize,
      positive(queue.maxExportBatchSize ?? environmentNumber('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'), 512),
    ),
    scheduledDelayMillis: positive(queue.scheduledDelayMillis ?? environmentNumber('OTEL_BSP_SCHEDULE_DELAY'), 1000),
    exportTimeoutMillis: positive(queue.exportTimeoutMillis ?? environmentNumber('OTEL_BSP_EXPORT_TIMEOUT'), 30_000),
    // Self-observability hook of sdk-trace 2.12+ (not in the BufferConfig type yet): counts queue-full drops.
    selfObsMeterProvider: spanQueue,
  };
  return { exporter: counting, processor: new BatchSpanProcessor(counting, bufferConfig), grpcRetries };
}

/** A numeric environment variable, undefined when unset or not a number. */
export function environmentNumber(name: string): number | undefined {
  const value = Number(process.env[name]);
  return process.env[name] === undefined || !Number.isFinite(value) ? undefined : value;
}

/** `value` when a positive finite number, else `fallback`. */
export function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}
