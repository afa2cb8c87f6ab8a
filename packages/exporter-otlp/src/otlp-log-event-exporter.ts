import { diag } from '@opentelemetry/api';
import { BindOnceFuture, ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import { millisecondsOption } from '@costspan/core';
import type { CostEvent, EventExporter } from '@costspan/sdk';
import { eventsOfEncodedLines } from '@costspan/sdk/internal';
import { AttemptCounter } from './attempt-counter.js';
import { lineCount } from './json-line-scan.js';
import { costEventToLogRecord, nowHrTime } from './cost-event-log-record.js';
import { CostEventProtobufEncoder, costEventSerializer, EncodedLogsRequest } from './cost-event-protobuf.js';
import { createGrpcLogExporter } from './otlp-grpc-exporters.js';
import { answerWithin, attemptTimeoutMillis, describeExportError, isRetryableExportError, settleWithin } from './export-retry.js';
import { createLogExporter, createLogItemExporter, PartialSuccessCounter } from './otlp-http-exporters.js';
import {
  checkedTimeoutMillis,
  resolveProtocol,
  resolveResource,
  signalUrl,
  type OtlpConnectionOptions,
  type OtlpProtocol,
} from './otlp-config.js';

/** Options of {@link OtlpLogEventExporter}. */
export interface OtlpLogEventExporterOptions extends OtlpConnectionOptions {
  /**
   * How long a batch of cost events may be retried, all attempts included,
   * before it is counted as failed. Covers a collector restart. Keep it below
   * the event pipeline's `exportTimeoutMillis` (default 30000 ms; `registerCostspan`
   * sets that for you). Default 25000 ms; from 0 (no retry) to 2147483647.
   */
  retryTimeoutMillis?: number;
  /**
   * Longest `forceFlush()` or `shutdown()` may take, even when the collector is down or
   * hangs. At the end of a shutdown, batches still unsent are given up on and counted as
   * failed. Default 10000 ms; from 1 to 2147483647.
   */
  shutdownTimeoutMillis?: number;
  /** Resource of the log records. Default: SDK defaults plus `service.name` (below). */
  resource?: Resource;
  /** `service.name` of the log records. Default: `OTEL_SERVICE_NAME`, else `unknown_service:<process>`. */
  serviceName?: string;
  /**
   * The OTLP log exporter to send through, for tests or custom transports.
   * Default: `@opentelemetry/exporter-logs-otlp-proto` (`-http` for `http/json`, `-grpc` for `grpc`).
   */
  logRecordExporter?: LogRecordExporter;
}

/** Counters of an {@link OtlpLogEventExporter} since it was made. */
export interface OtlpLogEventExporterStats {
  /** Cost events the collector accepted. */
  exported: number;
  /** Requests sent again after a retryable failure (429, 502, 503, 504, a retryable gRPC code, network error, timeout). */
  retried: number;
  /** Cost events given up on: not retryable (e.g. 400, 500), retries exhausted, shut down, or rejected. */
  failed: number;
  /**
   * Cost events the collector refused in an OTLP partial success (`rejected_log_records`);
   * also counted in `failed`, never in `exported`.
   */
  rejected: number;
  /** Cost events being exported now. */
  inFlight: number;
}

const logger = diag.createComponentLogger({ namespace: '@costspan/exporter-otlp/logs' });
const FIRST_BACKOFF_MILLIS = 500;
const MAX_BACKOFF_MILLIS = 5000;
const ASYNC_RESOURCE_WAIT_MILLIS = 5000;

/**
 * Sends cost events to an OpenTelemetry Collector as OTLP log records (one
 * record per event; see {@link costEventToLogRecord}), for a
 * `CostSpanProcessor`'s `exporters`.
 *
 * Retries: over HTTP the OpenTelemetry OTLP exporter underneath retries 429/502/503/504
 * and network errors within one export (`timeoutMillis`), honouring
 * `Retry-After`. On top of that (and over gRPC, for UNAVAILABLE and the other retryable codes) this exporter retries the whole batch with
 * exponential backoff until `retryTimeoutMillis`, so a collector that is down
 * for a while still gets every event; past that the batch counts as failed and
 * is reported through `diag`. 400 and 500 are not retried. While a batch is
 * retried, new events wait in the cost event pipeline's bounded queue (drops counted there).
 *
 * Delivery is at least once: a retry after a lost response can deliver a
 * record twice, so backends should deduplicate by the `event_id` attribute.
 *
 * @throws CostspanError `invalid_argument` naming `timeoutMillis`, `retryTimeoutMillis` or
 *   `shutdownTimeoutMillis` when it is not a number of milliseconds in its range
 * @example
 * ```ts
 * const processor = new CostSpanProcessor({
 *   exporters: [new OtlpLogEventExporter({ endpoint: 'http://127.0.0.1:4318' })],
 *   exportTimeoutMillis: 30_000,
 * });
 * ```
 */
export class OtlpLogEventExporter implements EventExporter {
  /** The encoding in use. */
  readonly protocol: OtlpProtocol;
  // Takes what `toItems` makes of a batch: log records (http/json, a given exporter) or the events themselves.
  private readonly exporter: ItemExporter;
  private readonly toItems: (events: readonly CostEvent[]) => readonly unknown[];
  /** Protobuf requests of encoded lines are written from the bytes by this encoder (not with a given `logRecordExporter`). */
  private readonly lineEncoder: CostEventProtobufEncoder | undefined;
  private readonly attempts = new AttemptCounter();
  private readonly resource: Resource;
  private readonly retryTimeoutMillis: number;
  private readonly shutdownTimeoutMillis: number;
  private readonly attemptTimeoutMillis: number;
  private readonly inFlightWork = new Set<InFlightBatch>();
  private readonly waits = new Set<() => void>();
  private readonly counters = { exported: 0, retried: 0, failed: 0, rejected: 0, inFlight: 0 };
  private readonly partialSuccess = new PartialSuccessCounter('logs');
  private retryDeadline = Number.POSITIVE_INFINITY;
  private stopped = false;
  // OpenTelemetry's idiom: concurrent and later calls share the first shutdown.
  private readonly shutdownOnce = new BindOnceFuture<void, this, () => Promise<void>>(() => this.shutdownNow(), this);

  constructor(options: OtlpLogEventExporterOptions = {}) {
    this.protocol = resolveProtocol('LOGS', options.protocol);
    this.resource = resolveResource(options.serviceName, options.resource);
    this.retryTimeoutMillis = millisecondsOption(options.retryTimeoutMillis, 'retryTimeoutMillis', { fallback: 25_000, min: 0 });
    this.shutdownTimeoutMillis = millisecondsOption(options.shutdownTimeoutMillis, 'shutdownTimeoutMillis', { fallback: 10_000 });
    this.attemptTimeoutMillis = attemptTimeoutMillis(checkedTimeoutMillis(options));
    if (options.logRecordExporter !== undefined) {
      this.exporter = options.logRecordExporter;
      this.toItems = (events) => events.map((event) => costEventToLogRecord(event, this.resource));
    } else {
      const url = signalUrl(options.endpoint, 'v1/logs', this.protocol);
      const common = {
        ...(url === undefined ? {} : { url }),
        ...(options.timeoutMillis === undefined ? {} : { timeoutMillis: options.timeoutMillis }),
        // Batches come one at a time from the cost event pipeline; a second slot serves forceFlush races.
        concurrencyLimit: 2,
      };
      // The OpenTelemetry OTLP log exporters, built from their parts so partial successes are counted. Protobuf
      // requests (HTTP and gRPC) are encoded by costspan straight from the events (cost-event-protobuf.ts).
      const encoder = new CostEventProtobufEncoder(this.resource);
      if (this.protocol !== 'http/json') this.lineEncoder = encoder;
      const serializer = costEventSerializer(encoder);
      if (this.protocol === 'grpc') {
        this.exporter = createGrpcLogExporter(
          {
            ...common,
            headers: { ...options.headers },
            ...(options.compression === undefined ? {} : { compression: options.compression }),
          },
          this.partialSuccess,
          serializer,
        );
      } else {
        const config = {
          ...common,
          headers: this.attempts.headersFactory(options.headers),
          ...(options.compression === undefined ? {} : { compression: options.compression as never }),
        };
        this.exporter =
          this.protocol === 'http/json'
            ? createLogExporter(this.protocol, config, this.partialSuccess)
            : createLogItemExporter(this.protocol, config, this.partialSuccess, serializer);
      }
      this.toItems =
        this.protocol === 'http/json'
          ? (events) => events.map((event) => costEventToLogRecord(event, this.resource))
          : // Encoded at once (see EncodedLogsRequest), unless the resource is still settling: `deliver` waits for it first.
            (events) =>
              this.resource.asyncAttributesPending === true
                ? events
                : [new EncodedLogsRequest(serializer.serializeRequest(events as CostEvent[]) as Uint8Array)];
    }
  }

  /** Exports a batch, retrying as described above. Never throws; calls back once. */
  export(events: readonly CostEvent[], resultCallback: (result: ExportResult) => void): void {
    this.exportWith(() => this.toItems(events), events.length, resultCallback);
  }

  /**
   * Exports a batch of encoded lines, as the cost event pipeline hands them when every exporter
   * takes bytes: its queue then holds lines as UTF-8 outside the JavaScript heap, not as strings
   * that each young-generation collection copies until the batch leaves. Over protobuf the
   * request is written from the lines' bytes, no event parsed (`encodeLines`). Same as `export`.
   */
  exportEncoded(encoded: readonly Buffer[], count: number, resultCallback: (result: ExportResult) => void): void {
    const encoder = this.lineEncoder;
    this.exportWith(
      () =>
        encoder !== undefined && this.resource.asyncAttributesPending !== true
          ? [new EncodedLogsRequest(encoder.encodeLines(encoded, nowHrTime()))]
          : this.toItems(eventsOfEncodedLines(encoded)),
      count,
      resultCallback,
    );
  }

  /** Sends what `toItems` makes of a batch of `count` events, unless shut down. Never throws; calls back once. */
  private exportWith(toItems: () => readonly unknown[], count: number, resultCallback: (result: ExportResult) => void): void {
    if (this.stopped || Date.now() >= this.retryDeadline) {
      this.counters.failed += count;
      const reason = this.stopped ? 'OtlpLogEventExporter is shut down' : 'shutdown time is up';
      logger.warn(`${count} cost events not sent: ${reason}`);
      resultCallback({ code: ExportResultCode.FAILED, error: new Error(reason) });
      return;
    }
    let records: readonly unknown[];
    try {
      records = toItems();
    } catch (error) {
      this.counters.failed += count;
      resultCallback({ code: ExportResultCode.FAILED, error: error as Error });
      return;
    }
    // Only the count is kept past this point: the events are garbage once encoded.
    this.counters.inFlight += count;
    let settle!: (result: Delivery) => void;
    const batch: InFlightBatch = {
      size: count,
      settle: (result) => settle(result),
      done: new Promise<void>((resolve) => {
        // Settled once: by the delivery, or by a shutdown that gave up on it (a late answer is then ignored).
        settle = (result) => {
          if (!this.inFlightWork.delete(batch)) return;
          this.counters.inFlight -= count;
          if (result.code === ExportResultCode.SUCCESS) {
            const rejected = Math.min(result.rejected ?? 0, count);
            this.counters.exported += count - rejected;
            this.counters.failed += rejected;
            this.counters.rejected += rejected;
          } else {
            this.counters.failed += count;
          }
          resolve();
          resultCallback({ code: result.code, ...(result.error === undefined ? {} : { error: result.error }) });
        };
      }),
    };
    this.inFlightWork.add(batch);
    void this.deliver(records, count).then(batch.settle, (error: unknown) =>
      batch.settle({ code: ExportResultCode.FAILED, error: error as Error }),
    );
  }

  /** `exportSync` for encoded lines: counted as failed (no I/O at exit), nothing parsed. */
  exportEncodedSync(encoded: readonly Buffer[]): ExportResult {
    const lines = lineCount(encoded);
    this.counters.failed += lines;
    logger.warn(`${lines} cost events unsent at process exit; call shutdown() before process.exit()`);
    return { code: ExportResultCode.FAILED, error: new Error('OTLP export cannot run synchronously at process exit') };
  }

  /**
   * Called by the cost event pipeline at `process.exit()`, when no I/O can run:
   * counts the events as failed and reports them through `diag`, so none is lost silently.
   */
  exportSync(events: readonly CostEvent[]): ExportResult {
    this.counters.failed += events.length;
    logger.warn(`${events.length} cost events unsent at process exit; call shutdown() before process.exit()`);
    return { code: ExportResultCode.FAILED, error: new Error('OTLP export cannot run synchronously at process exit') };
  }

  /**
   * Resolves once every batch handed to `export` is delivered or given up on, or after
   * `shutdownTimeoutMillis` (batches still in flight then carry on and are counted when they end).
   * Never rejects.
   */
  async forceFlush(): Promise<void> {
    await this.flushUntil(Date.now() + this.shutdownTimeoutMillis);
  }

  /**
   * Stops retrying after `deadline` (epoch ms; default now): batches still
   * failing then are given up on and counted. Used for bounded shutdown.
   */
  stopRetrying(deadline: number = Date.now()): void {
    this.retryDeadline = Math.min(this.retryDeadline, deadline);
    if (deadline <= Date.now()) for (const wake of [...this.waits]) wake();
  }

  /**
   * Flushes, then closes, within `shutdownTimeoutMillis`: retries end by then, and batches
   * still unsent are given up on and counted as failed. Concurrent and later calls share the
   * first shutdown, so the OTLP exporter underneath is shut down once. Never rejects; later
   * exports fail.
   */
  shutdown(): Promise<void> {
    return this.shutdownOnce.call();
  }

  /** Counters since the exporter was made. */
  stats(): OtlpLogEventExporterStats {
    return { ...this.counters, retried: this.counters.retried + this.attempts.retried() };
  }

  private async shutdownNow(): Promise<void> {
    const deadline = Date.now() + this.shutdownTimeoutMillis;
    this.stopRetrying(deadline);
    await this.flushUntil(deadline);
    this.stopped = true;
    const abandoned = [...this.inFlightWork];
    if (abandoned.length > 0) {
      const count = abandoned.reduce((total, batch) => total + batch.size, 0);
      logger.warn(
        `shutdown time is up after ${this.shutdownTimeoutMillis} ms: gave up on ${count} cost events still unsent (counted as failed)`,
      );
      for (const batch of abandoned) batch.settle({ code: ExportResultCode.FAILED, error: new Error('shutdown time is up') });
    }
    // A little time to close connections even when the flush used all of it.
    await settleWithin(this.exporter.shutdown(), Math.max(deadline - Date.now(), 100), logger);
  }

  /** Waits for in-flight batches and the exporter's own flush until `deadline`; never rejects. */
  private async flushUntil(deadline: number): Promise<void> {
    const flushed = (async () => {
      while (this.inFlightWork.size > 0) await Promise.all([...this.inFlightWork].map((batch) => batch.done));
      await this.exporter.forceFlush();
    })();
    await settleWithin(flushed, deadline - Date.now(), logger);
  }

  private async deliver(records: readonly unknown[], count: number): Promise<Delivery> {
    if (this.resource.asyncAttributesPending === true) {
      // Detected attributes (NodeSDK's host, cloud, container detectors) settle first, as the
      // BatchSpanProcessor waits for spans: the serializer would otherwise read them unsettled and
      // OpenTelemetry print "Accessing resource attributes before async attributes settled".
      // Bounded: a detector that never settles delays export by at most that long.
      await settleWithin(
        this.resource.waitForAsyncAttributes?.() ?? Promise.resolve(),
        Math.min(ASYNC_RESOURCE_WAIT_MILLIS, this.retryDeadline - Date.now()),
        logger,
      );
    }
    const giveUpAt = Date.now() + this.retryTimeoutMillis;
    let backoff = FIRST_BACKOFF_MILLIS;
    for (;;) {
      const result = await this.attempt(records);
      if (result.code === ExportResultCode.SUCCESS) return result;
      const retryable = isRetryableExportError(result.error);
      const delay = Math.min(backoff, MAX_BACKOFF_MILLIS) * (0.8 + Math.random() * 0.4);
      if (!retryable || Date.now() + delay >= Math.min(giveUpAt, this.retryDeadline)) {
        logger.warn(
          `gave up on ${count} cost events (${retryable ? 'collector unreachable or busy past the retry timeout' : 'not retryable'}): ${describeExportError(result.error)}`,
        );
        return result;
      }
      logger.debug(`retrying ${count} cost events in ${Math.round(delay)} ms: ${describeExportError(result.error)}`);
      await this.wait(delay);
      if (Date.now() >= this.retryDeadline) return result;
      this.counters.retried += 1;
      backoff *= 2;
    }
  }

  private attempt(records: readonly unknown[]): Promise<Delivery> {
    // The exporter reads the response and calls back in one step: the partial success read is this export's.
    // Bounded: a collector trickling its answer never ends the exporter's own (idle) timeout; a late answer's
    // partial success is dropped so it is not counted against the next export.
    return answerWithin<Delivery>(
      (callback) => this.attempts.export(this.exporter, records as unknown[], callback),
      this.attemptTimeoutMillis,
      {
        onAnswer: (result) => (result.code === ExportResultCode.SUCCESS ? { ...result, rejected: this.partialSuccess.take() } : result),
        onLate: () => void this.partialSuccess.take(),
      },
    );
  }

  private wait(millis: number): Promise<void> {
    return new Promise((resolve) => {
      // Kept referenced on purpose: a retry pending at exit should still run (bounded by retryTimeoutMillis).
      const timer = setTimeout(wake, millis);
      const waits = this.waits;
      function wake(): void {
        clearTimeout(timer);
        waits.delete(wake);
        resolve();
      }
      waits.add(wake);
    });
  }
}

/** An OTLP log exporter, of log records or of cost events (costspan's own protobuf encoding). */
interface ItemExporter {
  export(items: never[], resultCallback: (result: ExportResult) => void): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** The result of one delivery, with the records the collector refused in a partial success. */
type Delivery = ExportResult & { rejected?: number };

/** A batch handed to `export` and not settled yet. */
interface InFlightBatch {
  readonly size: number;
  /** Counts the result and calls the pipeline back; only the first call counts. */
  readonly settle: (result: Delivery) => void;
  /** Resolves when settled. */
  readonly done: Promise<void>;
}
