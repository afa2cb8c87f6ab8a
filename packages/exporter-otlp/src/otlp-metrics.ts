import { diag, type MeterProvider } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  ConsoleMetricExporter,
  InstrumentType,
  MeterProvider as SdkMeterProvider,
  PeriodicExportingMetricReader,
  type AggregationOption,
  type IMetricReader,
  type MetricProducer,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { invalidInput, millisecondsOption } from '@costspan/core';
import { notice } from '@costspan/sdk/internal';
import { AttemptCounter } from './attempt-counter.js';
import { CostHistogramProducer } from './cost-histogram-producer.js';
import { environmentPositive, environmentValue, resolveProtocol, signalUrl, type OtlpConnectionOptions } from './otlp-config.js';
import { createGrpcMetricDelegate, type RetryingExportDelegate } from './otlp-grpc-exporters.js';
import { createMetricDelegate, PartialSuccessCounter } from './otlp-http-exporters.js';

const logger = diag.createComponentLogger({ namespace: '@costspan/exporter-otlp/metrics' });

/** Where the setup's cost metrics go: `OTEL_METRICS_EXPORTER`'s values. */
export type MetricsExporterName = 'otlp' | 'prometheus' | 'console';

/** Options of the cost metrics a setup exports; each default is read as OpenTelemetry's `NodeSDK` reads it. */
export interface CostspanMetricsOptions {
  /**
   * Readers to make: `otlp` (push over OTLP, with the setup's connection options and
   * `OTEL_EXPORTER_OTLP_METRICS_*`), `prometheus` (a scrape endpoint), `console`. An empty
   * list exports none. Default: `OTEL_METRICS_EXPORTER` (comma-separated; `none` for none), else `otlp`.
   */
  exporters?: readonly MetricsExporterName[];
  /**
   * How often the push readers collect and export. Default: `OTEL_METRIC_EXPORT_INTERVAL`, else 60000 ms.
   * From 1 to 2147483647 ms, else the setup throws a `CostspanError` naming `metrics.exportIntervalMillis`.
   */
  exportIntervalMillis?: number;
  /**
   * Bound of one collection and export; at most the interval. Default: `OTEL_METRIC_EXPORT_TIMEOUT`, else 30000 ms.
   * From 1 to 2147483647 ms, else the setup throws a `CostspanError` naming `metrics.exportTimeoutMillis`.
   */
  exportTimeoutMillis?: number;
  /**
   * Aggregation temporality of the OTLP metrics. Default:
   * `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, else `cumulative`.
   */
  temporality?: 'cumulative' | 'delta' | 'lowmemory';
  /**
   * The Prometheus scrape endpoint. Defaults: host `OTEL_EXPORTER_PROMETHEUS_HOST`, else all
   * interfaces; port `OTEL_EXPORTER_PROMETHEUS_PORT`, else 9464; path `/metrics`. The port is an
   * integer from 0 (any free port) to 65535, else the setup throws a `CostspanError` naming
   * `metrics.prometheus.port`.
   */
  prometheus?: { host?: string; port?: number; endpoint?: string };
}

/** Counters of the cost metrics exported over OTLP (a Prometheus scrape is pulled, so not counted). */
export interface CostspanMetricsStats {
  /** Data points the collector accepted. */
  exported: number;
  /** Data points whose export failed (with cumulative temporality the next export carries their totals again). */
  failed: number;
  /** Data points the collector refused in an OTLP partial success (`rejected_data_points`); also in `failed`. */
  rejected: number;
  /** Requests sent again after a retryable failure. */
  retried: number;
}

/** What {@link CostspanMetrics} needs from the setup. */
export interface CostspanMetricsConfig {
  /** `false`: no metrics. */
  metrics: CostspanMetricsOptions | false | undefined;
  /** The user's provider: used as is; none is made. */
  meterProvider: MeterProvider | undefined;
  connection: OtlpConnectionOptions;
  resource: Resource;
}

type Temporality = NonNullable<CostspanMetricsOptions['temporality']>;

/**
 * The temporality of each instrument kind under a preference, as the OTLP metric exporter
 * specification (and `@opentelemetry/exporter-metrics-otlp-http`) defines them.
 */
function temporalityOf(preference: Temporality, instrumentType: InstrumentType): AggregationTemporality {
  if (preference === 'cumulative') return AggregationTemporality.CUMULATIVE;
  const delta =
    preference === 'delta'
      ? instrumentType !== InstrumentType.UP_DOWN_COUNTER && instrumentType !== InstrumentType.OBSERVABLE_UP_DOWN_COUNTER
      : instrumentType === InstrumentType.COUNTER || instrumentType === InstrumentType.HISTOGRAM;
  return delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
}

/** The option, else `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, else cumulative (an unknown value told once). */
function resolveTemporality(option: Temporality | undefined): Temporality {
  if (option !== undefined) return option;
  const value = environmentValue('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE')?.toLowerCase();
  if (value === undefined) return 'cumulative';
  if (value === 'cumulative' || value === 'delta' || value === 'lowmemory') return value;
  notice(
    `otlp_metrics_temporality_unsupported:${value}`,
    `unsupported OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE "${value}"; using cumulative (set cumulative, delta or lowmemory)`,
  );
  return 'cumulative';
}

/**
 * The metrics side of a setup: the `MeterProvider` the cost processor records into, made
 * with the readers `OTEL_METRICS_EXPORTER` names (or the user's own provider, left to them),
 * and the counters of its OTLP exports.
 */
export class CostspanMetrics {
  /** The provider cost metrics are recorded into, or undefined when metrics are off. */
  readonly meterProvider: MeterProvider | undefined;
  /**
   * The producer of the per-call histograms costspan aggregates itself, given to every reader
   * made here (for the processor's `metrics.histograms`); undefined with the user's provider or
   * a delta OTLP reader, where the SDK's instruments record them.
   */
  readonly histograms: CostHistogramProducer | undefined;
  private readonly owned: SdkMeterProvider | undefined;
  private readonly exporter: CountingMetricExporter | undefined;

  constructor(config: CostspanMetricsConfig) {
    if (config.meterProvider !== undefined) {
      this.meterProvider = config.meterProvider;
      return;
    }
    if (config.metrics === false) return;
    const options = config.metrics ?? {};
    // Checked before any reader is made (a Prometheus reader listens at once): bad input leaves nothing running.
    const intervalMillis = millisecondsOption(options.exportIntervalMillis, 'metrics.exportIntervalMillis', {
      fallback: environmentPositive('OTEL_METRIC_EXPORT_INTERVAL') ?? 60_000,
    });
    const timeoutMillis = Math.min(
      intervalMillis,
      millisecondsOption(options.exportTimeoutMillis, 'metrics.exportTimeoutMillis', {
        fallback: environmentPositive('OTEL_METRIC_EXPORT_TIMEOUT') ?? 30_000,
      }),
    );
    checkPort(options.prometheus?.port);
    const names = options.exporters ?? exportersFromEnvironment();
    if (names.length === 0) return;
    const readers: IMetricReader[] = [];
    const cumulative = !names.includes('otlp') || resolveTemporality(options.temporality) === 'cumulative';
    this.histograms = cumulative ? new CostHistogramProducer() : undefined;
    const producers = this.histograms === undefined ? [] : [this.histograms];
    for (const name of new Set(names)) {
      if (name === 'otlp') {
        this.exporter ??= new CountingMetricExporter(config.connection, options.temporality);
        readers.push(periodic(this.exporter, { intervalMillis, timeoutMillis, producers }));
      } else if (name === 'console') {
        readers.push(periodic(new ConsoleMetricExporter(), { intervalMillis, timeoutMillis, producers }));
      } else {
        readers.push(prometheusReader(options.prometheus ?? {}, producers));
      }
    }
    this.owned = new SdkMeterProvider({ resource: config.resource, readers });
    this.meterProvider = this.owned;
  }

  /** Counters of the OTLP metric exports. */
  stats(): CostspanMetricsStats {
    return this.exporter?.stats() ?? { exported: 0, failed: 0, rejected: 0, retried: 0 };
  }

  /** Collects and exports now (the user's provider too, when it can). */
  forceFlush(): Promise<void> {
    const provider = (this.owned ?? this.meterProvider) as { forceFlush?: () => Promise<void> } | undefined;
    return provider?.forceFlush?.() ?? Promise.resolve();
  }

  /** A last collection and export, then the readers close; the user's provider is only flushed. */
  shutdown(): Promise<void> {
    return this.owned === undefined ? this.forceFlush() : this.owned.shutdown();
  }

  /** Stops retrying at once (bounded shutdown). */
  abort(): void {
    this.exporter?.abort();
  }
}

/** `OTEL_METRICS_EXPORTER`: a comma-separated list; `none` anywhere turns metrics off, as in `NodeSDK`. */
function exportersFromEnvironment(): MetricsExporterName[] {
  const value = environmentValue('OTEL_METRICS_EXPORTER');
  if (value === undefined) return ['otlp'];
  const names = value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (names.includes('none')) return [];
  const known: MetricsExporterName[] = [];
  for (const name of names) {
    if (name === 'otlp' || name === 'prometheus' || name === 'console') known.push(name);
    else
      notice(
        `otel_metrics_exporter_unsupported:${name}`,
        `unsupported OTEL_METRICS_EXPORTER value "${name}" ignored; costspan exports cost metrics with otlp, prometheus or console (none for no metrics)`,
      );
  }
  return known;
}

function periodic(
  exporter: PushMetricExporter,
  timing: { intervalMillis: number; timeoutMillis: number; producers: MetricProducer[] },
): IMetricReader {
  return new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: timing.intervalMillis,
    exportTimeoutMillis: timing.timeoutMillis,
    metricProducers: timing.producers,
  });
}

function prometheusReader(options: { host?: string; port?: number; endpoint?: string }, producers: MetricProducer[]): IMetricReader {
  const exporter = new PrometheusExporter(
    {
      metricProducers: producers,
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    },
    (error?: unknown) => {
      if (error === undefined || error === null) return;
      const where = `${options.host ?? process.env.OTEL_EXPORTER_PROMETHEUS_HOST ?? ''}:${options.port ?? process.env.OTEL_EXPORTER_PROMETHEUS_PORT ?? 9464}`;
      notice(
        `prometheus_listen_failed:${where}`,
        `the Prometheus scrape endpoint could not listen on ${where} (${error instanceof Error ? error.message : 'unknown error'}); cost metrics are not served there. Set metrics.prometheus.port or OTEL_EXPORTER_PROMETHEUS_PORT to a free port`,
      );
    },
  );
  // Built on its own copy of sdk-metrics (the exporter pins 2.12.0): it is a reader by the interface, not the class.
  return exporter;
}

/**
 * The OTLP metric exporter of `@opentelemetry/exporter-metrics-otlp-{proto,http,grpc}`, built
 * from its parts, counting the data points it delivers, fails and retries.
 */
class CountingMetricExporter implements PushMetricExporter {
  private readonly exporter: OTLPExporterBase<ResourceMetrics>;
  private readonly temporality: Temporality;
  private readonly attempts = new AttemptCounter();
  private readonly partialSuccess = new PartialSuccessCounter('metrics');
  private readonly grpc: RetryingExportDelegate<ResourceMetrics> | undefined;
  private readonly counters = { exported: 0, failed: 0, rejected: 0 };

  constructor(connection: OtlpConnectionOptions, temporality: CostspanMetricsOptions['temporality']) {
    const protocol = resolveProtocol('METRICS', connection.protocol);
    const url = signalUrl(connection.endpoint, 'v1/metrics', protocol);
    const common = {
      ...(url === undefined ? {} : { url }),
      ...(connection.timeoutMillis === undefined ? {} : { timeoutMillis: connection.timeoutMillis }),
    };
    let delegate;
    if (protocol === 'grpc') {
      const compression = connection.compression === undefined ? {} : { compression: connection.compression };
      this.grpc = createGrpcMetricDelegate({ ...common, ...compression, headers: { ...connection.headers } }, this.partialSuccess);
      this.attempts.countRetriesOf(this.grpc);
      delegate = this.grpc;
    } else {
      const compression = connection.compression === undefined ? {} : { compression: connection.compression as never };
      delegate = createMetricDelegate(
        protocol,
        { ...common, ...compression, headers: this.attempts.headersFactory(connection.headers) },
        this.partialSuccess,
      );
    }
    this.exporter = new OTLPExporterBase(delegate);
    this.temporality = resolveTemporality(temporality);
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    const points = dataPointCount(metrics);
    const finish = (result: ExportResult): void => {
      if (result.code === ExportResultCode.SUCCESS) {
        // Read in the same step as the exporter's callback, so the count is this export's.
        const rejected = Math.min(this.partialSuccess.take(), points);
        this.counters.exported += points - rejected;
        this.counters.failed += rejected;
        this.counters.rejected += rejected;
      } else {
        this.counters.failed += points;
        logger.debug(`failed to export ${points} metric data points: ${result.error?.message ?? 'unknown error'}`);
        notice(
          'otlp_metrics_export_failed',
          `cost metrics could not be exported over OTLP (${result.error?.message ?? 'unknown error'}); counted in stats().metrics.failed. Check the collector's OTLP endpoint (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)`,
        );
      }
      // Counted and told once above. The periodic reader would only print the error with its stack
      // through the global error handler at every interval; it retries nothing, so it hears success.
      resultCallback({ code: ExportResultCode.SUCCESS });
    };
    try {
      this.attempts.send((callback) => this.exporter.export(metrics, callback), finish);
    } catch (error) {
      finish({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    return temporalityOf(this.temporality, instrumentType);
  }

  selectAggregation(): AggregationOption {
    return { type: AggregationType.DEFAULT };
  }

  stats(): CostspanMetricsStats {
    return { ...this.counters, retried: this.attempts.retried() };
  }

  abort(): void {
    this.grpc?.abort();
  }

  forceFlush(): Promise<void> {
    return this.exporter.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }
}

function dataPointCount(metrics: ResourceMetrics): number {
  let total = 0;
  for (const scope of metrics.scopeMetrics) for (const metric of scope.metrics) total += metric.dataPoints.length;
  return total;
}

/** A Prometheus port option: undefined (the exporter reads its variable) or an integer from 0 to 65535. */
function checkPort(port: unknown): void {
  if (port !== undefined && !(typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65_535)) {
    throw invalidInput('invalid_argument', 'metrics.prometheus.port', port, 'a TCP port, an integer from 0 to 65535');
  }
}
