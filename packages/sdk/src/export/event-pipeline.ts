import { context, diag } from '@opentelemetry/api';
import { integerOption, millisecondsOption } from '@costspan/core';
import { ExportResultCode, suppressTracing, type ExportResult } from '@opentelemetry/core';
import { notice } from '../notice.js';
import { drainOnExit, forgetOnExit } from './pipeline-exit-hooks.js';
import { reportError, wasTold } from '../report-error.js';
import { OnceFuture, asError, isThenable, settleWithin } from './settle.js';
import {
  attempt,
  checkExporters,
  exportTo,
  exportedOf,
  exporterName,
  failure,
  flushExporter,
  sumOf,
  toObjects,
  type QueuedEvent,
} from './event-pipeline-support.js';

export type { QueuedEvent } from './event-pipeline-support.js';
import type { CostEvent } from '../events/cost-event.js';
import { ACCEPTS_LINES, type EncodedLineExporter, type EventExportResult, type EventExporter } from './event-exporter.js';
import { ArrayEventQueue, EncodedLineQueue, isEncodedLineExporter, type EventBatch, type EventQueue } from './event-queue.js';

export type { EventExporterStats, EventPipelineOptions, EventPipelineStats } from './event-pipeline-types.js';
import type { EventPipelineOptions, EventPipelineStats } from './event-pipeline-types.js';

interface ExporterSlot {
  readonly exporter: EventExporter;
  /** The exporter takes lines as they are (`ACCEPTS_LINES`); others get event objects. */
  readonly acceptsLines: boolean;
  readonly name: string;
  readonly shutdownOnce: OnceFuture<void>;
  exported: number;
  failed: number;
  /** Events of the batch handed to `export` whose result is not in yet. */
  inFlight: number;
  /** Settles the batch in flight (used at exit, when its callback can no longer arrive). */
  settleInFlight: ((result: ExportResult) => void) | undefined;
  lastReported: string | undefined;
}

const logger = diag.createComponentLogger({ namespace: '@costspan/sdk/pipeline' });
const EXIT_HINT = 'call `await provider.shutdown()` (or `processor.shutdown()`) before process.exit()';

/**
 * The bounded, counted queue between the span processor and the event
 * exporters. Unlike OpenTelemetry's BatchSpanProcessor it never drops silently:
 * every refused or failed event is counted ({@link EventPipeline.stats}) and
 * told once (`notice('events_lost')`). Export runs off the caller's path, with
 * tracing suppressed so exporters do not trace themselves; every promise an
 * exporter returns is handled and every wait is bounded.
 */
export class EventPipeline {
  private readonly queue: EventQueue;
  private readonly slots: readonly ExporterSlot[];
  private readonly maxQueueSize: number;
  private readonly maxExportBatchSize: number;
  private readonly scheduledDelayMillis: number;
  private readonly exportTimeoutMillis: number;
  private readonly shutdownTimeoutMillis: number;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private draining: Promise<void> | undefined;
  private stopped = false;
  private exited = false;
  private queued = 0;
  private dropped = 0;
  private droppedSinceReport = 0;
  private readonly reference: WeakRef<EventPipeline>;
  private readonly shutdownOnce = new OnceFuture(() => this.runShutdown());

  constructor(exporters: readonly EventExporter[], options: EventPipelineOptions = {}) {
    this.slots = checkExporters(exporters).map((exporter) => ({
      exporter,
      acceptsLines: (exporter as { [ACCEPTS_LINES]?: boolean })[ACCEPTS_LINES] === true,
      name: exporterName(exporter),
      // Each exporter is shut down once, even when a timed-out shutdown and a late one both ask.
      shutdownOnce: new OnceFuture(() => exporter.shutdown()),
      exported: 0,
      failed: 0,
      inFlight: 0,
      settleInFlight: undefined,
      lastReported: undefined,
    }));
    // Exporters that all write bytes (JSONL) get the lines encoded as they arrive; others get entries.
    const allEncoded = this.slots.length > 0 && this.slots.every((slot) => isEncodedLineExporter(slot.exporter));
    this.queue = allEncoded ? new EncodedLineQueue() : new ArrayEventQueue();
    this.maxQueueSize = integerOption(options.maxQueueSize, 'maxQueueSize', { fallback: 262_144 });
    this.maxExportBatchSize = Math.min(
      integerOption(options.maxExportBatchSize, 'maxExportBatchSize', { fallback: 2048 }),
      this.maxQueueSize,
    );
    this.scheduledDelayMillis = millisecondsOption(options.scheduledDelayMillis, 'scheduledDelayMillis', { fallback: 500 });
    this.exportTimeoutMillis = millisecondsOption(options.exportTimeoutMillis, 'exportTimeoutMillis', { fallback: 30_000 });
    this.shutdownTimeoutMillis = millisecondsOption(options.shutdownTimeoutMillis, 'shutdownTimeoutMillis', {
      fallback: this.exportTimeoutMillis,
    });
    this.reference = new WeakRef(this);
    if (exporters.length > 0) {
      drainOnExit(this.reference);
    }
  }

  /**
   * Whether lines are copied out as UTF-8 the moment they are emitted (a queue of bytes, for
   * exporters that all write bytes): the writer can then hand over a concatenated line, which
   * the copy flattens once, instead of flattening it first itself.
   */
  get encodesOnArrival(): boolean {
    return this.queue instanceof EncodedLineQueue;
  }

  /** Queues one event (an object, or its canonical JSONL line); never throws, never blocks. */
  emit(event: QueuedEvent): void {
    if (this.slots.length === 0) return;
    if (this.stopped || this.waiting() >= this.maxQueueSize) {
      this.dropped += 1;
      this.droppedSinceReport += 1;
      if (this.droppedSinceReport === 1) {
        // Reported once per overflow episode (the next export reports the episode's total).
        const why = this.stopped
          ? 'cost event emitted after shutdown; dropped'
          : `cost event queue full (${this.maxQueueSize}); dropping events`;
        logger.warn(why);
        const fix = this.stopped ? 'end runs before shutdown()' : 'raise maxQueueSize, or use a faster exporter';
        notice('events_lost', `${why}; every loss is counted in processor.stats().dropped. To fix: ${fix}.`);
      }
      return;
    }
    this.queue.push(event);
    this.queued += 1;
    // Past the exit drain (an event from a later 'exit' listener) nothing scheduled would run: write it now.
    if (this.exited) this.writeQueuedSync();
    else if (this.waiting() >= this.maxExportBatchSize) this.scheduleNow();
    else this.scheduleLater();
  }

  /** True when events are queued or being exported. */
  hasPending(): boolean {
    return this.waiting() > 0 || this.draining !== undefined;
  }

  /** Counters since start. */
  stats(): EventPipelineStats {
    const waiting = this.waiting();
    const exporters = this.slots.map((slot) => ({
      exporter: slot.name,
      exported: slot.exported,
      failed: slot.failed,
      pending: waiting + slot.inFlight,
    }));
    return {
      queued: this.queued,
      exported: sumOf(exporters, 'exported'),
      dropped: this.dropped,
      failed: sumOf(exporters, 'failed'),
      pending: sumOf(exporters, 'pending'),
      exporters,
    };
  }

  /**
   * Exports everything queued and waits for the exporters to flush, at most
   * `shutdownTimeoutMillis`. Never rejects; a timeout is reported, and what is left stays pending.
   */
  async forceFlush(): Promise<void> {
    await this.flushWithin(true, 'forceFlush');
  }

  /** The flush the `beforeExit` hook starts: its bound does not keep the process alive by itself. @internal */
  async flushBeforeExit(): Promise<void> {
    await this.flushWithin(false, 'flush at exit');
  }

  /**
   * Flushes, then shuts each exporter down once, all within `shutdownTimeoutMillis`. Idempotent:
   * concurrent and later calls share the first call's promise. Never rejects.
   */
  shutdown(): Promise<void> {
    return this.shutdownOnce.call();
  }

  /**
   * At process exit: writes what is queued through exporters that can write synchronously, and
   * settles batches in flight. What cannot be written is counted as failed and told once.
   */
  drainSync(): void {
    if (this.exited) return;
    this.exited = true;
    this.clearSchedule();
    for (const slot of this.slots) {
      if (slot.settleInFlight !== undefined) {
        // Its callback cannot run after `exit`: the exporter says whether the batch reached its target.
        const written = attempt(() => slot.exporter.flushSync?.() === true, false);
        slot.settleInFlight(
          written
            ? { code: ExportResultCode.SUCCESS }
            : failure(`the process exited while ${slot.inFlight} cost events were being exported; ${EXIT_HINT}`),
        );
      }
    }
    this.writeQueuedSync();
  }

  /** At exit: writes what is queued through exporters that can write synchronously; counts the rest as failed. */
  private writeQueuedSync(): void {
    const batch = this.queue.take(Number.POSITIVE_INFINITY);
    if (batch.count === 0) return;
    let objects: CostEvent[] | undefined;
    for (const slot of this.slots) {
      const events = batch.encoded ?? (slot.acceptsLines ? (batch.events as CostEvent[]) : (objects ??= toObjects(batch.events ?? [])));
      const exportSync =
        batch.encoded === undefined
          ? slot.exporter.exportSync?.bind(slot.exporter, events as CostEvent[])
          : (slot.exporter as EncodedLineExporter).exportEncodedSync.bind(slot.exporter, batch.encoded);
      const result =
        exportSync === undefined
          ? failure(
              `the process exited with ${batch.count} cost events queued for an exporter that cannot write synchronously; ${EXIT_HINT}`,
            )
          : attempt(exportSync, failure('exportSync threw at exit'));
      this.account(slot, result, batch.count);
    }
  }

  private waiting(): number {
    return this.queue.length;
  }

  private async flushWithin(keepAlive: boolean, operation: string): Promise<void> {
    const ended = await settleWithin(this.flushAll(), this.shutdownTimeoutMillis, keepAlive);
    if (ended.outcome === 'timeout') this.reportTimeout(operation);
  }

  private async flushAll(): Promise<void> {
    // Past the exit drain, the drain loop exports nothing: waiting on it would spin forever.
    while (this.hasPending() && !this.exited) {
      this.draining ??= this.drain();
      await this.draining;
    }
    await Promise.all(this.slots.map((slot) => flushExporter(slot.exporter)));
  }

  private async runShutdown(): Promise<void> {
    const shutDownExporters = async (): Promise<void> => {
      this.stopped = true;
      this.clearSchedule();
      await Promise.all(this.slots.map((slot) => slot.shutdownOnce.call().catch((error: unknown) => reportError(error))));
    };
    const ended = await settleWithin(this.flushAll().then(shutDownExporters), this.shutdownTimeoutMillis, true);
    this.stopped = true;
    this.clearSchedule();
    if (ended.outcome === 'timeout') {
      this.reportTimeout('shutdown');
      // Past the bound: still ask each exporter (once) to release what it holds, without waiting.
      for (const slot of this.slots) slot.shutdownOnce.call().catch((error: unknown) => reportError(error));
    }
    // A pipeline that gave up with events still pending stays known to the exit hook, which counts them.
    if (!this.hasPending()) forgetOnExit(this.reference);
  }

  private reportTimeout(operation: string): void {
    const pending = this.stats().pending;
    reportError(new Error(`cost event ${operation} timed out after ${this.shutdownTimeoutMillis} ms with ${pending} deliveries pending`));
    notice(
      'events_flush_timeout',
      `cost event ${operation} gave up after ${this.shutdownTimeoutMillis} ms: an exporter did not finish (${pending} events pending, counted in processor.stats()). Check the exporter's target, or raise shutdownTimeoutMillis.`,
    );
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
    if (this.draining === undefined && this.waiting() > 0) this.draining = this.drain();
  }

  private async drain(): Promise<void> {
    this.clearSchedule();
    try {
      // One batch at a time leaves the queue, so what is not yet handed to an exporter stays counted as pending.
      while (this.waiting() > 0 && !this.exited) await this.exportBatch(this.takeBatch());
    } finally {
      this.draining = undefined;
      if (this.droppedSinceReport > 0) {
        logger.warn(`dropped ${this.droppedSinceReport} cost events (queue full); ${this.dropped} in total`);
        this.droppedSinceReport = 0;
      }
    }
  }

  private takeBatch(): EventBatch {
    return this.queue.take(this.maxExportBatchSize);
  }

  private exportBatch(batch: EventBatch): Promise<void> {
    return new Promise<void>((resolve) => {
      let remaining = this.slots.length;
      const done = (): void => {
        remaining -= 1;
        if (remaining === 0) resolve();
      };
      let objects: CostEvent[] | undefined;
      for (const slot of this.slots) {
        // Lines pass as they are to exporters that declare ACCEPTS_LINES; the cast is theirs to honour.
        const events = batch.encoded ?? (slot.acceptsLines ? (batch.events as CostEvent[]) : (objects ??= toObjects(batch.events ?? [])));
        this.deliver(slot, events, batch.count, done);
      }
    });
  }

  private deliver(slot: ExporterSlot, events: readonly CostEvent[] | readonly Buffer[], count: number, done: () => void): void {
    let settled = false;
    const finish = (result: EventExportResult | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      slot.inFlight = 0;
      slot.settleInFlight = undefined;
      this.account(slot, result ?? failure('export() reported no result'), count);
      done();
    };
    const timeout = setTimeout(() => finish(failure(`export timed out after ${this.exportTimeoutMillis} ms`)), this.exportTimeoutMillis);
    timeout.unref();
    slot.inFlight = count;
    slot.settleInFlight = finish;
    try {
      // The batch goes as an argument, not in a closure: `finish` must not keep it alive until the export ends.
      const returned: unknown = context.with(suppressTracing(context.active()), exportTo, undefined, slot.exporter, events, count, finish);
      // An `async export()` that rejects instead of calling back must not become an unhandledRejection in the host.
      if (isThenable(returned))
        returned.then(undefined, (error: unknown) => finish({ code: ExportResultCode.FAILED, error: asError(error, 'export() rejected') }));
    } catch (error) {
      finish({ code: ExportResultCode.FAILED, error: asError(error) });
    }
  }

  private account(slot: ExporterSlot, result: EventExportResult, count: number): void {
    // A failed batch that got partly out (a pipe full past its timeout) counts its front as exported.
    const exported = exportedOf(result, count);
    slot.exported += exported;
    if (result.code === ExportResultCode.SUCCESS) return;
    const lost = count - exported;
    slot.failed += lost;
    const error = result.error ?? new Error(`cost event export failed (${lost} events)`);
    // One report per distinct failure in a row, not one per batch: a dead target fails every batch the same way.
    if (slot.lastReported !== error.message) {
      slot.lastReported = error.message;
      reportError(error);
    }
    if (!wasTold(error) && lost > 0) {
      notice(
        'events_lost',
        `${lost} cost ${lost === 1 ? 'event' : 'events'} lost: ${slot.name} failed (${error.message}). Every loss is counted in processor.stats(); check the exporter's target (file, stream, collector).`,
      );
    }
  }
}
