import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { integerOption, millisecondsOption } from '@costspan/core';
import { AttemptCounter } from './attempt-counter.js';
import { attemptTimeoutMillis } from './export-retry.js';
import { environmentPositive, resolveProtocol, signalUrl, type OtlpConnectionOptions } from './otlp-config.js';
import { createGrpcTraceExporter, type RetryingExportDelegate } from './otlp-grpc-exporters.js';
import { createTraceExporter, PartialSuccessCounter } from './otlp-http-exporters.js';
import { CountingSpanExporter, type SpanQueueObserver } from './span-counters.js';

/**
 * Limits of the span batch processor (see `CostspanOtlpOptions.spanQueue`). Each option wins over
 * its `OTEL_BSP_*` variable. Sizes are integers ≥ 1, durations milliseconds from 1 to 2147483647
 * (the longest timer delay); anything else (`NaN`, `Infinity`, a string, `1.5` for a size) makes
 * the setup throw a `CostspanError` (`invalid_argument`) naming it, e.g. `spanQueue.maxQueueSize`.
 */
export interface SpanQueueOptions {
  /** Spans held before new ones are dropped (and counted). Default: `OTEL_BSP_MAX_QUEUE_SIZE`, else 16384. */
  maxQueueSize?: number;
  /** Spans sent at once; at most `maxQueueSize`. Default: `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, else 512. */
  maxExportBatchSize?: number;
  /** Longest a span waits before export when fewer than a batch are queued. Default: `OTEL_BSP_SCHEDULE_DELAY`, else 1000 ms. */
  scheduledDelayMillis?: number;
  /** Bound of one batch export. Default: `OTEL_BSP_EXPORT_TIMEOUT`, else 30000 ms. */
  exportTimeoutMillis?: number;
}

/** The batch processor's limits, every one resolved. */
export type SpanQueueLimits = Required<SpanQueueOptions>;

/**
 * The limits of the span batch processor: each option checked, else its `OTEL_BSP_*` variable
 * (a bad one ignored, as OpenTelemetry does), else the default.
 *
 * @throws CostspanError `invalid_argument` naming the option (`spanQueue.maxQueueSize`, ...) out of range
 */
export function spanQueueLimits(queue: SpanQueueOptions): SpanQueueLimits {
  const maxQueueSize = integerOption(queue.maxQueueSize, 'spanQueue.maxQueueSize', {
    fallback: environmentPositive('OTEL_BSP_MAX_QUEUE_SIZE') ?? 16_384,
  });
  const maxExportBatchSize = integerOption(queue.maxExportBatchSize, 'spanQueue.maxExportBatchSize', {
    fallback: environmentPositive('OTEL_BSP_MAX_EXPORT_BATCH_SIZE') ?? 512,
  });
  return {
    maxQueueSize,
    maxExportBatchSize: Math.min(maxQueueSize, maxExportBatchSize),
    scheduledDelayMillis: millisecondsOption(queue.scheduledDelayMillis, 'spanQueue.scheduledDelayMillis', {
      fallback: environmentPositive('OTEL_BSP_SCHEDULE_DELAY') ?? 1000,
    }),
    exportTimeoutMillis: millisecondsOption(queue.exportTimeoutMillis, 'spanQueue.exportTimeoutMillis', {
      fallback: environmentPositive('OTEL_BSP_EXPORT_TIMEOUT') ?? 30_000,
    }),
  };
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
export function createSpanExport(options: OtlpConnectionOptions, limits: SpanQueueLimits, spanQueue: SpanQueueObserver): SpanExport {
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
  const bufferConfig = {
    ...limits,
    // Self-observability hook of sdk-trace 2.12+ (not in the BufferConfig type yet): counts queue-full drops.
    selfObsMeterProvider: spanQueue,
  };
  return { exporter: counting, processor: new BatchSpanProcessor(counting, bufferConfig), grpcRetries };
}
