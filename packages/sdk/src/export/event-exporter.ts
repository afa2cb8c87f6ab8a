import type { ExportResult } from '@opentelemetry/core';
import type { CostEvent } from '../events/cost-event.js';

/**
 * @internal Marks an exporter whose `export` and `exportSync` also take events as their
 * canonical JSONL lines (strings) in the array, as the span processor writes them: no event
 * object is made for it. Only costspan's own exporters declare it.
 */
export const ACCEPTS_LINES: unique symbol = Symbol.for('costspan.exporter.acceptsLines');

/**
 * What an exporter reports for a batch: OpenTelemetry's `ExportResult`, and, on a FAILED result,
 * optionally how far the batch got. Without `exportedCount` a FAILED batch counts as failed
 * whole, as OpenTelemetry's contract has it; with it, the pipeline counts that many events as
 * exported and the rest as failed, so `processor.stats()` says what reached the target.
 */
export interface EventExportResult extends ExportResult {
  /**
   * On a FAILED result: how many events at the front of the batch reached the target whole
   * before the export gave up (a write to a full pipe that timed out after some lines, ENOSPC,
   * EPIPE). An integer from 0 to the batch's size; anything else is ignored (the batch failed
   * whole). Ignored on SUCCESS.
   */
  exportedCount?: number;
}

/**
 * Sends cost events somewhere: a file, a collector, a test's memory. Follows
 * OpenTelemetry's exporter contract: `export` reports through its callback and
 * never throws; `shutdown` is idempotent; `forceFlush` awaits in-flight work.
 */
export interface EventExporter {
  /**
   * Exports a batch. Calls `resultCallback` exactly once. A returned promise (an `async export`)
   * is tolerated: its rejection counts the batch as failed, it never reaches the host. A failed
   * batch that got partly out can say so ({@link EventExportResult.exportedCount}).
   */
  export(events: readonly CostEvent[], resultCallback: (result: EventExportResult) => void): void;
  /**
   * Optional synchronous export, used to drain what is still queued when the
   * process exits (`process.exit()` leaves no time for I/O callbacks).
   */
  exportSync?(events: readonly CostEvent[]): EventExportResult;
  /**
   * Optional, for process exit: true when everything handed to `export` has reached its target,
   * so a batch whose callback has not run yet (and now never will) counts as exported rather
   * than lost. Without it, such a batch counts as failed.
   */
  flushSync?(): boolean;
  /** Resolves once everything handed to `export` is written. */
  forceFlush?(): Promise<void>;
  /** Flushes and releases resources; later exports fail. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Receives every cost event synchronously, as it is emitted (no queue). For
 * in-process consumers such as {@link CostTracker} or a budget; must be fast.
 * An exception thrown here is reported through OpenTelemetry's error handler and otherwise ignored.
 */
export interface CostEventListener {
  onEvent(event: CostEvent): void;
}

/**
 * An exporter that writes UTF-8 lines (the JSONL exporter). When every exporter of a pipeline is
 * one, the pipeline encodes each line to bytes as it arrives and hands over whole lines, each
 * ending in a newline, `count` lines in all. Internal to costspan: the shape may change.
 *
 * @internal
 */
export interface EncodedLineExporter extends EventExporter {
  exportEncoded(encoded: readonly Buffer[], count: number, resultCallback: (result: EventExportResult) => void): void;
  exportEncodedSync(encoded: readonly Buffer[]): EventExportResult;
}
