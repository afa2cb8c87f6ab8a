import type { ExportResult } from '@opentelemetry/core';
import type { CostEvent } from '../events/cost-event.js';

/**
 * @internal Marks an exporter whose `export` and `exportSync` also take events as their
 * canonical JSONL lines (strings) in the array, as the span processor writes them: no event
 * object is made for it. Only costspan's own exporters declare it.
 */
export const ACCEPTS_LINES: unique symbol = Symbol.for('costspan.exporter.acceptsLines');

/**
 * Sends cost events somewhere: a file, a collector, a test's memory. Follows
 * OpenTelemetry's exporter contract: `export` reports through its callback and
 * never throws; `shutdown` is idempotent; `forceFlush` awaits in-flight work.
 */
export interface EventExporter {
  /**
   * Exports a batch. Calls `resultCallback` exactly once. A returned promise (an `async export`)
   * is tolerated: its rejection counts the batch as failed, it never reaches the host.
   */
  export(events: readonly CostEvent[], resultCallback: (result: ExportResult) => void): void;
  /**
   * Optional synchronous export, used to drain what is still queued when the
   * process exits (`process.exit()` leaves no time for I/O callbacks).
   */
  exportSync?(events: readonly CostEvent[]): ExportResult;
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
  exportEncoded(encoded: readonly Buffer[], count: number, resultCallback: (result: ExportResult) => void): void;
  exportEncodedSync(encoded: readonly Buffer[]): ExportResult;
}
