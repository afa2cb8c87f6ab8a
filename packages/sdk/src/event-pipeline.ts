import { context, diag } from '@opentelemetry/api';
import { ExportResultCode, suppressTracing, type ExportResult } from '@opentelemetry/core';
import { reportError } from './report-error.js';
import type { CostEvent } from './cost-event.js';
import type { EventExporter } from './event-exporter.js';

/** Limits of the cost event pipeline. */
export interface EventPipelineOptions {
  /** Events held before new ones are dropped (and counted). Default 262144; a 100k burst fits whole. */
  maxQueueSize?: number;
  /** Events handed to an exporter at once. Default 2048. */
  maxExportBatchSize?: number;
  /** Longest an event waits before export when fewer than a batch are queued. Default 500 ms. */
  scheduledDelayMillis?: number;
  /** Longest one export may take before it counts as failed. Default 30000 ms. */
  exportTimeoutMillis?: number;
}

/** Counters of the pipeline since it started; drops and failures are never silent. */
export interface EventPipelineStats {
  /** Events accepted into the queue. */
  queued: number;
  /** Deliveries exporters reported as written (one per event per exporter). */
  exported: number;
  /** Events refused because the queue was full. */
  dropped: number;
  /** Deliveries an exporter reported as failed or that timed out (one per event per exporter). */
  failed: number;
  /** Events waiting now. */
  pending: number;
}

const logger = diag.createComponentLogger({ namespace: '@costspan/sdk/pipeline' });

const livePipelines = new Set<WeakRef<EventPipeline>>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  // `exit` allows synchronous work only: exporters that can write synchronously get what is still queued.
  process.once('exit', () => {
    for (const reference of livePipelines) reference.deref()?.drainSync();
  });
  process.on('beforeExit', () => {
    for (const reference of livePipelines) {
      const pipeline = reference.deref();
      if (pipeline === undefined) livePipelines.delete(reference);
      else if (pipeline.hasPending()) void pipeline.forceFlush();
    }
  });
}

/**
 * The bounded, counted queue between the span processor and the event
 * exporters. Unlike OpenTelemetry's BatchSpanProcessor it never drops silently:
 * every refused or failed event is counted ({@link EventPipeline.stats}) and
 * reported through `diag`. Export runs off the caller's path, with tracing
 * suppressed so exporters do not trace themselves.
 */
export class EventPipeline {
  private queue: CostEvent[] = [];
  private readonly exporters: readonly EventExporter[];
  private readonly maxQueueSize: number;
  private readonly maxExportBatchSize: number;
  private readonly scheduledDelayMillis: number;
  private readonly exportTimeoutMillis: number;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private draining: Promise<void> | undefined;
  private stopped = false;
  private readonly counters = { queued: 0, exported: 0, dropped: 0, failed: 0 };
  private droppedSinceReport = 0;
  private readonly reference: WeakRef<EventPipeline>;

  constructor(exporters: readonly EventExporter[], options: EventPipelineOptions = {}) {
    this.exporters = exporters;
    this.maxQueueSize = positiveInteger(options.maxQueueSize, 262_144);
    this.maxExportBatchSize = Math.min(positiveInteger(options.maxExportBatchSize, 2048), this.maxQueueSize);
    this.scheduledDelayMillis = positiveInteger(options.scheduledDelayMillis, 500);
    this.exportTimeoutMillis = positiveInteger(options.exportTimeoutMillis, 30_000);
    this.reference = new WeakRef(this);
    if (exporters.length > 0) {
      livePipelines.add(this.reference);
      installExitHooks();
    }
  }

  /** Queues one event; never throws, never blocks. */
  emit(event: CostEvent): void {
    if (this.exporters.length === 0) return;
    if (this.stopped || this.queue.length >= this.maxQueueSize) {
      this.counters.dropped += 1;
      this.droppedSinceReport += 1;
      if (this.droppedSinceReport === 1) {
        // Reported once per overflow episode (the next export reports the episode's total).
        logger.warn(this.stopped ? 'cost event emitted after shutdown; dropped' : `cost event queue full (${this.maxQueueSize}); dropping events`);
      }
      return;
    }
    this.queue.push(event);
    this.counters.queued += 1;
    if (this.queue.length >= this.maxExportBatchSize) this.scheduleNow();
    else this.scheduleLater();
  }

  /** True when events are queued or being exported. */
  hasPending(): boolean {
    return this.queue.length > 0 || this.draining !== undefined;
  }

  /** Counters since start. */
  stats(): EventPipelineStats {
    return { ...this.counters, pending: this.queue.length };
  }

  /** Exports everything queued and waits for the exporters to flush. */
  async forceFlush(): Promise<void> {
    while (this.hasPending()) {
      if (this.draining === undefined) this.draining = this.drain();
      await this.draining;
    }
    await Promise.all(this.exporters.map((exporter) => (exporter.forceFlush === undefined ? Promise.resolve() : exporter.forceFlush().catch(reportError))));
  }

  /** Flushes, then shuts the exporters down. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    await this.forceFlush();
    this.stopped = true;
    this.clearSchedule();
    livePipelines.delete(this.reference);
    await Promise.all(this.exporters.map((exporter) => exporter.shutdown().catch(reportError)));
  }

  /** Writes what is queued through exporters that can write synchronously. For process exit. */
  drainSync(): void {
    const events = this.queue;
    if (events.length === 0) return;
    this.queue = [];
    for (const exporter of this.exporters) {
      if (exporter.exportSync === undefined) {
        this.counters.failed += events.length;
        continue;
      }
      try {
        this.account(exporter.exportSync(events), events.length);
      } catch (error) {
        this.account({ code: ExportResultCode.FAILED, error: error as Error }, events.length);
      }
    }
  }

  private scheduleNow(): void {
    if (this.immediate !== undefined || this.draining !== undefined) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.startDrain();
    });
  }

  private scheduleLater(): void {
    if (this.timer !== undefined || this.draining !== undefined || this.immediate !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.startDrain();
    }, this.scheduledDelayMillis);
    this.timer.unref();
  }

  private clearSchedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private startDrain(): void {
    if (this.draining === undefined && this.queue.length > 0) this.draining = this.drain();
  }

  private async drain(): Promise<void> {
    this.clearSchedule();
    try {
      while (this.queue.length > 0) {
        const events = this.queue;
        this.queue = [];
        for (let start = 0; start < events.length; start += this.maxExportBatchSize) {
          await this.exportBatch(events.slice(start, start + this.maxExportBatchSize));
        }
      }
    } finally {
      this.draining = undefined;
      if (this.droppedSinceReport > 0) {
        logger.warn(`dropped ${this.droppedSinceReport} cost events (queue full); ${this.counters.dropped} in total`);
        this.droppedSinceReport = 0;
      }
    }
  }

  private exportBatch(events: CostEvent[]): Promise<void> {
    return new Promise<void>((resolve) => {
      let remaining = this.exporters.length;
      for (const exporter of this.exporters) {
        let settled = false;
        const timeout = setTimeout(() => finish({ code: ExportResultCode.FAILED, error: new Error(`export timed out after ${this.exportTimeoutMillis} ms`) }), this.exportTimeoutMillis);
        timeout.unref();
        const finish = (result: ExportResult): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timeout);
          this.account(result, events.length);
          remaining -= 1;
          if (remaining === 0) resolve();
        };
        try {
          context.with(suppressTracing(context.active()), () => exporter.export(events, finish));
        } catch (error) {
          finish({ code: ExportResultCode.FAILED, error: error as Error });
        }
      }
    });
  }

  private account(result: ExportResult, count: number): void {
    if (result.code === ExportResultCode.SUCCESS) {
      this.counters.exported += count;
    } else {
      this.counters.failed += count;
      reportError(result.error ?? new Error(`cost event export failed (${count} events)`));
    }
  }
}


function positiveInteger(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}
