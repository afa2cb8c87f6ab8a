import { context, diag, propagation, trace, type MeterProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BindOnceFuture, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, type BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CostSpanProcessor, createCostTracer, type CostSpanProcessorOptions, type CostTracer } from '@costspan/sdk';
import { resolveResource, type OtlpConnectionOptions } from './otlp-config.js';
import type { RetryingExportDelegate } from './otlp-grpc-exporters.js';
import { OtlpLogEventExporter } from './otlp-log-event-exporter.js';
import { CostspanMetrics, type CostspanMetricsOptions, type CostspanMetricsStats } from './otlp-metrics.js';
import { SetupSpanProcessor, type SpanProcessorOwner } from './setup-span-processor.js';
import { SpanQueueObserver, type CountingSpanExporter } from './span-counters.js';
import { flushTimeoutMillis, setupLimits, underCosts, type FlushOptions } from './setup-options.js';
import { createSpanExport, type SpanQueueOptions } from './span-export.js';

/** Options of {@link createCostspanOtlp} and {@link registerCostspan}. */
export interface CostspanOtlpOptions extends OtlpConnectionOptions {
  /** `service.name` of spans and cost log records. Default: `OTEL_SERVICE_NAME`, else `unknown_service:<process>`. */
  serviceName?: string;
  /** More resource attributes (e.g. `service.version`). */
  resource?: Resource;
  /**
   * Options of the {@link CostSpanProcessor}: `source`, `priceSource`, `listeners`,
   * more `exporters` (e.g. a `JsonlEventExporter`), the event queue limits and `metrics`
   * (the principal cardinality of the cost metrics).
   * Calls are priced from the built-in table unless `priceSource` says otherwise
   * (`null`: price nothing, only costs given by the caller or provider count).
   */
  costs?: CostSpanProcessorOptions;
  /** Export spans over OTLP too. Set false when your `NodeSDK` already exports them. Default true. */
  exportSpans?: boolean;
  /**
   * Limits of the span batch processor. Defaults: queue 16384 spans (drops
   * counted in `stats().spans.dropped`), batches of 512, every 1000 ms.
   */
  spanQueue?: SpanQueueOptions;
  /**
   * Cost metrics (per-call cost histogram, cost and token counters, budget gauges) through a
   * `MeterProvider` this setup makes: exported over OTLP by default, or as a Prometheus scrape
   * endpoint, as `OTEL_METRICS_EXPORTER` says (see {@link CostspanMetricsOptions}). `false`: none.
   */
  metrics?: CostspanMetricsOptions | false;
  /**
   * Your own `MeterProvider` (e.g. `NodeSDK`'s) to record cost metrics into instead: the setup
   * makes none, ignores `metrics`, and flushes (never shuts down) yours with its own flush and shutdown.
   */
  meterProvider?: MeterProvider;
  /** How long a batch of cost events is retried while the collector is unreachable. Default 25000 ms; 0 (no retry) to 2147483647. */
  retryTimeoutMillis?: number;
  /** Default bound of `forceFlush` and `shutdown`, and of the flush at process exit. Default 10000 ms; 1 to 2147483647. */
  shutdownTimeoutMillis?: number;
  /**
   * Flush and shut down when the event loop empties (`beforeExit`), and report
   * what `process.exit()` leaves unsent through `diag`. Default true.
   */
  flushOnExit?: boolean;
}

/** Options of {@link registerCostspan}. */
export interface RegisterCostspanOptions extends CostspanOtlpOptions {
  /**
   * Also install the new provider as the global tracer provider, with an
   * AsyncLocalStorage context manager and W3C trace context propagation when
   * none is set. Default false: nothing global is touched.
   */
  global?: boolean;
}

/** Counters of the whole setup; nothing is lost without being counted here and reported through `diag`. */
export interface CostspanOtlpStats {
  events: {
    /** Cost events accepted into the queue. */
    queued: number;
    /** Cost events the collector accepted. */
    exported: number;
    /** Cost events refused because the queue was full. */
    dropped: number;
    /** Cost events given up on (not retryable, retries exhausted, unsent at exit or after a shutdown timeout, rejected). */
    failed: number;
    /** Cost events the collector refused in an OTLP partial success (`rejected_log_records`); also in `failed`. */
    rejected: number;
    /** Cost events accepted but neither exported nor failed yet: `queued = exported + failed + pending`. */
    pending: number;
    /** Requests sent again after a retryable failure. */
    retried: number;
  };
  /** OTLP metric exports, in data points. */
  metrics: CostspanMetricsStats;
  spans: {
    /** Spans the collector accepted. */
    exported: number;
    /** Spans whose export failed after the OpenTelemetry exporter's retries, or that the collector rejected. */
    failed: number;
    /** Spans the collector refused in an OTLP partial success (`rejected_spans`); also in `failed`. */
    rejected: number;
    /** Spans the batch processor dropped because its queue was full. */
    dropped: number;
    /** Spans waiting in the batch processor's queue or being exported. */
    pending: number;
    /** Requests sent again after a retryable failure. */
    retried: number;
  };
}

/** Span processors, exporters and counters made by {@link createCostspanOtlp}. */
export interface CostspanOtlp {
  /**
   * The processors to add to your provider, in this order: the cost processor,
   * then (unless `exportSpans: false`) a batch processor with the OTLP trace exporter.
   * Their `forceFlush()` and `shutdown()` go through this setup: bounded by
   * `shutdownTimeoutMillis`, never rejecting, and each processor shut down once,
   * whichever of the provider and this setup is shut down first.
   */
  readonly spanProcessors: SpanProcessor[];
  /** The cost processor (pricing, roll-up, cost events). */
  readonly costProcessor: CostSpanProcessor;
  /** The exporter sending cost events as OTLP log records. */
  readonly logExporter: OtlpLogEventExporter;
  /**
   * The `MeterProvider` cost metrics are recorded into: yours (`meterProvider`), the one this
   * setup made, or undefined when metrics are off. Flushed and shut down with the setup.
   */
  readonly meterProvider: MeterProvider | undefined;
  /** Counters of spans and cost events. */
  stats(): CostspanOtlpStats;
  /** Exports everything pending; resolves within the timeout with the counters. Never rejects. */
  forceFlush(options?: FlushOptions): Promise<CostspanOtlpStats>;
  /**
   * Flushes, then shuts everything down; resolves within the timeout with the counters.
   * Concurrent and later calls share the first call's shutdown (and its timeout); never rejects.
   */
  shutdown(options?: FlushOptions): Promise<CostspanOtlpStats>;
}

/** What {@link registerCostspan} returns: everything of {@link CostspanOtlp}, a provider and a tracer. */
export interface RegisteredCostspan extends CostspanOtlp {
  /** A new provider holding {@link CostspanOtlp.spanProcessors}. */
  readonly tracerProvider: BasicTracerProvider;
  /** A costspan tracer on that provider. */
  readonly tracer: CostTracer;
}

const logger = diag.createComponentLogger({ namespace: '@costspan/exporter-otlp' });

/**
 * Makes the span processors that send spans and cost events to an
 * OpenTelemetry Collector over OTLP, for a provider you own (e.g. `NodeSDK`),
 * and a `MeterProvider` exporting cost metrics. Sets no globals. Environment:
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf` default,
 * `http/json`, `grpc`) and its per-signal variants, `OTEL_EXPORTER_OTLP_TIMEOUT`,
 * `OTEL_METRICS_EXPORTER`, `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_SERVICE_NAME`; options win over them.
 *
 * @throws CostspanError `invalid_argument` naming a numeric option out of range, as the options spell it
 *   (`retryTimeoutMillis`, `spanQueue.maxQueueSize`, `metrics.exportIntervalMillis`, `costs.maxQueueSize`, ...):
 *   counts are integers ≥ 1, durations milliseconds from 1 (0 for `retryTimeoutMillis`) to 2147483647
 * @example
 * ```ts
 * const costspan = createCostspanOtlp({ serviceName: 'my-agent' });
 * const sdk = new NodeSDK({ spanProcessors: [...costspan.spanProcessors, ...yourProcessors] });
 * sdk.start();
 * // at the end: await costspan.shutdown(); await sdk.shutdown();
 * ```
 */
export function createCostspanOtlp(options: CostspanOtlpOptions = {}): CostspanOtlp {
  return new CostspanOtlpSetup(options, undefined);
}

/**
 * One-call setup: a new `BasicTracerProvider` with the cost processor and OTLP
 * export of spans and cost events (see {@link createCostspanOtlp}), and a
 * costspan tracer on it. Sets globals only with `global: true`.
 *
 * @example
 * ```ts
 * const costspan = registerCostspan({ serviceName: 'my-agent', endpoint: 'http://127.0.0.1:4318' });
 * await costspan.tracer.agentRun('planner', async (run) => { ... });
 * console.log(await costspan.shutdown()); // counters: exported, retried, dropped, failed
 * ```
 */
export function registerCostspan(options: RegisterCostspanOptions = {}): RegisteredCostspan {
  const resource = resolveResource(options.serviceName, options.resource);
  // The setup shuts the provider down; the provider needs the setup's processors first.
  const setup: CostspanOtlpSetup = new CostspanOtlpSetup({ ...options, resource }, (): Promise<void> => provider.shutdown());
  const provider: BasicTracerProvider = new BasicTracerProvider({ resource, spanProcessors: setup.spanProcessors });
  if (options.global === true) installGlobals(provider);
  const tracer = createCostTracer({ tracerProvider: provider });
  return Object.assign(setup, { tracerProvider: provider, tracer });
}

function installGlobals(provider: BasicTracerProvider): void {
  const contextManager = new AsyncLocalStorageContextManager();
  if (context.setGlobalContextManager(contextManager.enable())) {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  } else {
    contextManager.disable();
  }
  if (!trace.setGlobalTracerProvider(provider)) logger.warn('a global tracer provider was already set; costspan did not replace it');
}

class CostspanOtlpSetup implements CostspanOtlp, SpanProcessorOwner {
  readonly spanProcessors: SpanProcessor[];
  readonly costProcessor: CostSpanProcessor;
  readonly logExporter: OtlpLogEventExporter;
  readonly meterProvider: MeterProvider | undefined;
  private readonly metrics: CostspanMetrics;
  private readonly spanExporter: CountingSpanExporter | undefined;
  private readonly spanProcessor: BatchSpanProcessor | undefined;
  private readonly spanRetries: RetryingExportDelegate<unknown> | undefined;
  private readonly spanQueue = new SpanQueueObserver();
  private readonly shutdownTimeoutMillis: number;
  private readonly shutdownProviders: (() => Promise<void>) | undefined;
  // OpenTelemetry's idiom: concurrent and later calls share the first shutdown.
  private readonly shutdownOnce = new BindOnceFuture<void, this, () => Promise<void>>(() => this.shutdownNow(), this);
  private shutdownOptions: FlushOptions = {};
  private shutdownResult: Promise<CostspanOtlpStats> | undefined;
  private processorsShutDown: Promise<void> | undefined;
  private readonly onBeforeExit = (): void => void this.shutdown();
  private readonly onExit = (): void => this.reportUnsent();
  private readonly exitHooks: boolean;

  constructor(options: CostspanOtlpOptions, shutdownProviders: (() => Promise<void>) | undefined) {
    const limits = setupLimits(options);
    const resource = resolveResource(options.serviceName, options.resource);
    this.shutdownTimeoutMillis = limits.shutdownTimeoutMillis;
    this.shutdownProviders = shutdownProviders;
    this.logExporter = new OtlpLogEventExporter({
      ...options,
      resource,
      retryTimeoutMillis: limits.retryTimeoutMillis,
      shutdownTimeoutMillis: this.shutdownTimeoutMillis,
    });
    // An absent or undefined `priceSource` is left out, so the processor's own default (the built-in
    // price table) applies; `null`, the processor's opt-out, passes through as given.
    const { priceSource, ...costs } = options.costs ?? {};
    // Yours when given (here or as the processor's own option), else one made for the setup.
    const ownMeterProvider = options.meterProvider ?? costs.meterProvider;
    this.metrics = new CostspanMetrics({ metrics: options.metrics, meterProvider: ownMeterProvider, connection: options, resource });
    this.meterProvider = this.metrics.meterProvider;
    try {
      this.costProcessor = new CostSpanProcessor({
        ...costs,
        ...(priceSource === undefined ? {} : { priceSource }),
        ...(this.meterProvider === undefined ? {} : { meterProvider: this.meterProvider }),
        ...(this.metrics.histograms === undefined ? {} : { metrics: { ...costs.metrics, histograms: this.metrics.histograms } }),
        exporters: [this.logExporter, ...(costs.exporters ?? [])],
        exportTimeoutMillis: limits.pipelineExportTimeoutMillis,
      });
    } catch (error) {
      // An option the processor refuses: close what was made (a Prometheus reader listens already), then throw.
      void settleAll([this.metrics.shutdown(), this.logExporter.shutdown()]);
      throw underCosts(error);
    }
    const spanProcessors: SpanProcessor[] = [new SetupSpanProcessor(this.costProcessor, this)];
    if (limits.spanQueue !== undefined) {
      const spans = createSpanExport(options, limits.spanQueue, this.spanQueue);
      this.spanExporter = spans.exporter;
      this.spanProcessor = spans.processor;
      this.spanRetries = spans.grpcRetries;
      spanProcessors.push(new SetupSpanProcessor(this.spanProcessor, this));
    }
    this.spanProcessors = spanProcessors;
    this.exitHooks = options.flushOnExit !== false;
    if (this.exitHooks) {
      process.once('beforeExit', this.onBeforeExit);
      process.once('exit', this.onExit);
    }
  }

  stats(): CostspanOtlpStats {
    const pipeline = this.costProcessor.stats();
    const events = this.logExporter.stats();
    return {
      events: {
        queued: pipeline.queued,
        exported: events.exported,
        dropped: pipeline.dropped,
        failed: events.failed,
        // Queued in the pipeline, in a batch being drained, or in flight: whatever the exporter has not settled.
        pending: pipeline.queued - events.exported - events.failed,
        retried: events.retried,
        rejected: events.rejected,
      },
      metrics: this.metrics.stats(),
      spans: {
        exported: this.spanExporter?.exported ?? 0,
        failed: this.spanExporter?.failed ?? 0,
        dropped: this.spanQueue.dropped,
        rejected: this.spanExporter?.rejected ?? 0,
        pending: this.spanQueue.queued() + (this.spanExporter?.pending() ?? 0),
        retried: this.spanExporter?.attempts.retried() ?? 0,
      },
    };
  }

  async forceFlush(options: FlushOptions = {}): Promise<CostspanOtlpStats> {
    const timeoutMillis = flushTimeoutMillis(options, this.shutdownTimeoutMillis, logger);
    await this.bounded('flush', timeoutMillis, async () => {
      await settleAll([this.costProcessor.forceFlush(), this.spanProcessor?.forceFlush()]);
      // After the cost processor: the calls it has just priced are in the metrics.
      await settleAll([this.metrics.forceFlush()]);
    });
    return this.stats();
  }

  shutdown(options: FlushOptions = {}): Promise<CostspanOtlpStats> {
    // The first call's options hold: later calls share its shutdown.
    if (!this.shutdownOnce.isCalled) this.shutdownOptions = options;
    this.shutdownResult ??= this.shutdownOnce.call().then(() => this.stats());
    return this.shutdownResult;
  }

  /** @internal For {@link SetupSpanProcessor}. */
  flushProcessor(processor: SpanProcessor): Promise<void> {
    return this.bounded('flush', this.shutdownTimeoutMillis, () => settleAll([processor.forceFlush()]));
  }

  /** @internal For {@link SetupSpanProcessor}: a provider shutting down its processors. */
  shutdownProcessors(): Promise<void> {
    if (!this.shutdownOnce.isCalled) void this.shutdown();
    return this.processorsShutDown ?? Promise.resolve();
  }

  private async shutdownNow(): Promise<void> {
    const options = this.shutdownOptions;
    if (this.exitHooks) {
      process.off('beforeExit', this.onBeforeExit);
      process.off('exit', this.onExit);
    }
    const timeoutMillis = flushTimeoutMillis(options, this.shutdownTimeoutMillis, logger);
    const deadline = Date.now() + timeoutMillis;
    // Retries end when the time is up, so the last attempts fit inside it.
    this.logExporter.stopRetrying(deadline);
    // Set before the first await: a provider shutting down meanwhile waits for this, not for itself.
    // Each processor separately, so one failing does not cut the others' flush short.
    this.processorsShutDown = this.bounded('shutdown', timeoutMillis, () =>
      settleAll([this.costProcessor.shutdown(), this.spanProcessor?.shutdown()]),
    );
    await this.processorsShutDown;
    // After the cost processor, so its last calls are in the final collection; within what is left of the bound.
    await this.bounded('metrics shutdown', Math.max(deadline - Date.now(), 100), () => settleAll([this.metrics.shutdown()]));
    const shutdownProviders = this.shutdownProviders;
    if (shutdownProviders !== undefined) {
      await this.bounded('provider shutdown', Math.max(deadline - Date.now(), 100), () => settleAll([shutdownProviders()]));
    }
  }

  private async bounded(what: string, timeoutMillis: number, work: () => Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMillis);
    });
    const done = work().then(
      () => false,
      (error: unknown) => {
        logger.error(`${what} failed`, error);
        return false;
      },
    );
    const late = await Promise.race([done, timedOut]);
    clearTimeout(timer);
    this.spanQueue.reportDrops();
    // Only a shutdown gives up on what is in flight: stopping after a flush would fail every later export.
    if (late && this.shutdownOnce.isCalled) {
      this.logExporter.stopRetrying();
      this.spanExporter?.abort();
      this.spanRetries?.abort();
      this.metrics.abort();
      const stats = this.stats();
      logger.warn(
        `${what} timed out after ${timeoutMillis} ms; still unsent: ${stats.events.pending} cost events, ${stats.spans.pending} spans (they are counted as failed when their export ends)`,
      );
    } else if (late) {
      logger.warn(`${what} timed out after ${timeoutMillis} ms; export goes on in the background`);
    }
  }

  private reportUnsent(): void {
    const stats = this.stats();
    if (stats.events.pending > 0 || stats.spans.pending > 0) {
      logger.warn(
        `process exiting with ${stats.events.pending} cost events and ${stats.spans.pending} spans unsent; call shutdown() before process.exit()`,
      );
    }
  }
}

async function settleAll(work: (Promise<unknown> | undefined)[]): Promise<void> {
  const results = await Promise.allSettled(work.map((item) => item ?? Promise.resolve()));
  for (const result of results) {
    // Export failures are counted and reported by the exporters; this only adds detail.
    if (result.status === 'rejected') logger.debug('flush or shutdown of a processor failed', result.reason);
  }
}
