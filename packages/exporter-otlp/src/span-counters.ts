import { createNoopMeter, diag, type Attributes, type Meter, type MeterProvider, type ObservableCallback } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { type AttemptCounter } from './attempt-counter.js';
import { notice } from '@costspan/sdk/internal';
import type { PartialSuccessCounter } from './otlp-http-exporters.js';

const logger = diag.createComponentLogger({ namespace: '@costspan/exporter-otlp/spans' });

// Names from the OpenTelemetry SDK self-observability conventions.
const PROCESSED = 'otel.sdk.processor.span.processed';
const QUEUE_SIZE = 'otel.sdk.processor.span.queue.size';

/**
 * A minimal MeterProvider for a BatchSpanProcessor's `selfObsMeterProvider`:
 * it counts the spans the processor drops because its queue is full and reads
 * its queue size, through the SDK's public self-observability hooks.
 */
export class SpanQueueObserver implements MeterProvider {
  /** Spans the batch processor dropped (queue full). */
  dropped = 0;
  private queueSizeCallbacks: ObservableCallback[] = [];
  private droppedSinceReport = 0;
  private reportTimer: NodeJS.Timeout | undefined;

  /**
   * Reports drops through `diag` now. The batch processor itself only does so
   * when the next span fits, so drops at the end of a burst would go unreported.
   */
  reportDrops(): void {
    if (this.reportTimer !== undefined) clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
    if (this.droppedSinceReport === 0) return;
    // Also told once with no diag logger installed: a lost span is never silent.
    notice(
      'span_queue_full',
      `span queue full: spans were dropped (counted in stats().spans.dropped); raise spanQueue.maxQueueSize or OTEL_BSP_MAX_QUEUE_SIZE`,
    );
    logger.warn(
      `span queue full: dropped ${this.droppedSinceReport} spans (${this.dropped} in total); raise spanQueue.maxQueueSize or OTEL_BSP_MAX_QUEUE_SIZE`,
    );
    this.droppedSinceReport = 0;
  }

  private countDrops(count: number): void {
    this.dropped += count;
    this.droppedSinceReport += count;
    if (this.reportTimer === undefined) {
      this.reportTimer = setTimeout(() => this.reportDrops(), 100);
      this.reportTimer.unref();
    }
  }

  getMeter(): Meter {
    const noop = createNoopMeter();
    const meter = Object.create(noop) as Meter;
    meter.createCounter = (name, options) => {
      const counter = noop.createCounter(name, options);
      if (name !== PROCESSED) return counter;
      counter.add = (value: number, attributes?: Attributes) => {
        if (attributes?.['error.type'] === 'queue_full') this.countDrops(value);
      };
      return counter;
    };
    meter.createObservableUpDownCounter = (name, options) => {
      const observable = noop.createObservableUpDownCounter(name, options);
      if (name !== QUEUE_SIZE) return observable;
      observable.addCallback = (callback) => void this.queueSizeCallbacks.push(callback);
      observable.removeCallback = (callback) => {
        this.queueSizeCallbacks = this.queueSizeCallbacks.filter((known) => known !== callback);
      };
      return observable;
    };
    return meter;
  }

  /** Spans waiting in the batch processor's queue now. */
  queued(): number {
    let total = 0;
    for (const callback of this.queueSizeCallbacks) {
      void callback({ observe: (value: number) => void (total += value) });
    }
    return total;
  }
}

/**
 * Wraps the OTLP trace exporter to count what it delivers, fails and retries,
 * and to queue exports beyond `maxConcurrentExports` instead of failing them:
 * a BatchSpanProcessor flushing a full queue starts every batch at once, and
 * the OTLP exporter refuses those past its concurrency limit (30) outright.
 */
export class CountingSpanExporter implements SpanExporter {
  exported = 0;
  failed = 0;
  /** Spans the collector refused in an OTLP partial success (`rejected_spans`); also counted in `failed`. */
  rejected = 0;
  readonly attempts: AttemptCounter;
  private readonly partialSuccess: PartialSuccessCounter | undefined;
  private readonly exporter: SpanExporter;
  private readonly maxConcurrentExports: number;
  private readonly waiting: { spans: ReadableSpan[]; resultCallback: (result: ExportResult) => void }[] = [];
  /** Exports sent and not answered yet: each fails these at most once (timeout, abort). */
  private readonly unanswered = new Set<(result: ExportResult) => void>();
  private readonly attemptTimeoutMillis: number;
  private running = 0;
  private inFlight = 0;
  private aborted = false;

  /**
   * @param attemptTimeoutMillis - longest one export may go unanswered before its spans count as failed: the OTLP
   *   exporter's timeout is an idle timeout, so a collector trickling its answer would hold a slot (and its spans) for ever
   */
  constructor(
    exporter: SpanExporter,
    attempts: AttemptCounter,
    partialSuccess?: PartialSuccessCounter,
    maxConcurrentExports = 8,
    attemptTimeoutMillis: number = Number.POSITIVE_INFINITY,
  ) {
    this.exporter = exporter;
    this.attempts = attempts;
    this.partialSuccess = partialSuccess;
    this.maxConcurrentExports = maxConcurrentExports;
    this.attemptTimeoutMillis = attemptTimeoutMillis;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.aborted) {
      this.failed += spans.length;
      notice(
        'otlp_span_export_stopped',
        `spans left unsent when the flush or shutdown time was up; counted in stats().spans.failed. Raise shutdownTimeoutMillis or check the collector`,
      );
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('span export stopped: shutdown time is up') });
      return;
    }
    if (this.running >= this.maxConcurrentExports) {
      this.waiting.push({ spans, resultCallback });
      return;
    }
    this.running += 1;
    this.inFlight += spans.length;
    let answered = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (result: ExportResult): void => {
      if (answered) {
        // A late answer (after a timeout or an abort): already counted failed; its partial success is not the next export's.
        if (result.code === ExportResultCode.SUCCESS) this.partialSuccess?.take();
        return;
      }
      answered = true;
      clearTimeout(timer);
      this.unanswered.delete(finish);
      this.inFlight -= spans.length;
      if (result.code === ExportResultCode.SUCCESS) {
        // Read in the same step as the exporter's callback, so the count is this export's.
        const rejected = Math.min(this.partialSuccess?.take() ?? 0, spans.length);
        this.exported += spans.length - rejected;
        this.failed += rejected;
        this.rejected += rejected;
      } else {
        this.failed += spans.length;
        logger.warn(`failed to export ${spans.length} spans (${this.failed} in total): ${result.error?.message ?? 'unknown error'}`);
        notice(
          'otlp_span_export_failed',
          `spans could not be exported over OTLP (${result.error?.message ?? 'unknown error'}); counted in stats().spans.failed. Check the collector's OTLP endpoint (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)`,
        );
      }
      this.running -= 1;
      const next = this.waiting.shift();
      if (next !== undefined) this.export(next.spans, next.resultCallback);
      resultCallback(result);
    };
    this.unanswered.add(finish);
    if (Number.isFinite(this.attemptTimeoutMillis)) {
      timer = setTimeout(
        () =>
          finish({
            code: ExportResultCode.FAILED,
            error: new Error(`span export timed out after ${this.attemptTimeoutMillis} ms without an answer`),
          }),
        this.attemptTimeoutMillis,
      );
      timer.unref();
    }
    try {
      this.attempts.export(this.exporter, spans, finish);
    } catch (error) {
      finish({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  /** Spans handed to this exporter and not yet exported or failed. */
  pending(): number {
    let total = this.inFlight;
    for (const batch of this.waiting) total += batch.spans.length;
    return total;
  }

  /** Fails every waiting and unanswered batch and all later ones at once (counted). For bounded shutdown. */
  abort(): void {
    this.aborted = true;
    for (const batch of this.waiting.splice(0)) this.export(batch.spans, batch.resultCallback);
    // Exports still unanswered are given up on now (a late answer is then ignored), so none stays pending.
    const stopped = new Error('span export stopped: shutdown time is up');
    for (const finish of [...this.unanswered]) finish({ code: ExportResultCode.FAILED, error: stopped });
  }

  forceFlush(): Promise<void> {
    return this.exporter.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }
}
