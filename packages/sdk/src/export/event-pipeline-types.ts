// Options and counters of EventPipeline, apart from its flow.

/**
 * Limits of the cost event pipeline. Sizes are integers ≥ 1, durations milliseconds from 1 to
 * 2147483647 (the longest timer delay); anything else (`NaN`, `Infinity`, a string, `1.5` for a
 * size) throws a `CostspanError` (`invalid_argument`) naming the option when the pipeline is made.
 */
export interface EventPipelineOptions {
  /** Events held before new ones are dropped (and counted). Default 262144; a 100k burst fits whole. */
  maxQueueSize?: number;
  /** Events handed to an exporter at once; at most `maxQueueSize`. Default 2048. */
  maxExportBatchSize?: number;
  /** Longest an event waits before export when fewer than a batch are queued. Default 500 ms. */
  scheduledDelayMillis?: number;
  /** Longest one export may take before it counts as failed. Default 30000 ms. */
  exportTimeoutMillis?: number;
  /**
   * Longest `forceFlush()` or `shutdown()` waits, in all (exporters that never settle included);
   * what is left then stays counted as pending and is reported. Default: `exportTimeoutMillis`.
   */
  shutdownTimeoutMillis?: number;
}

/** Counters of one exporter: `queued = exported + failed + pending` for each. */
export interface EventExporterStats {
  /** The exporter, for messages: its class name, and its target when it has one. */
  exporter: string;
  /** Events it reported as written, with the front of a failed batch it says got out whole (`exportedCount`). */
  exported: number;
  /** Events it reported as failed (of a batch that got partly out, the rest), that timed out, or that could not be written at exit. */
  failed: number;
  /** Events queued for it or in flight to it now. */
  pending: number;
}

/**
 * Counters of the pipeline since it started; drops and failures are never silent. With one
 * exporter, `queued = exported + failed + pending`; events refused at the door are `dropped`
 * and never queued. With several exporters `exported`, `failed` and `pending` count
 * deliveries (one per event per exporter); `exporters` has each one's counters.
 */
export interface EventPipelineStats {
  /** Events accepted into the queue. */
  queued: number;
  /** Deliveries exporters reported as written (one per event per exporter). */
  exported: number;
  /** Events refused because the queue was full or the pipeline was shut down. */
  dropped: number;
  /** Deliveries that failed, timed out, or could not be written at exit (one per event per exporter). */
  failed: number;
  /** Deliveries waiting in the queue or in flight (one per event per exporter). */
  pending: number;
  /** Counters per exporter, in the order given. */
  exporters: EventExporterStats[];
}
