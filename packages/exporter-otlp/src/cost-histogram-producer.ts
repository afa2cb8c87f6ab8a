import { ValueType } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type HistogramMetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { CostHistogramLink, OwnHistogram } from '@costspan/sdk';
import { notice, SDK_NAME, SDK_VERSION } from '@costspan/sdk/internal';

/**
 * Exports the per-call histograms costspan aggregates itself (`gen_ai.client.operation.cost`,
 * and `gen_ai.client.token.usage` when on) to the metric readers it is given to, as cumulative
 * explicit-bucket histograms under costspan's instrumentation scope. Give it to the readers and
 * to the processor:
 *
 * ```ts
 * const histograms = new CostHistogramProducer();
 * const reader = new PeriodicExportingMetricReader({ exporter, metricProducers: [histograms] });
 * const meterProvider = new MeterProvider({ readers: [reader] });
 * new CostSpanProcessor({ meterProvider, metrics: { histograms } });
 * ```
 *
 * The one-call setup does this itself when it makes the readers. Cumulative only: for a reader
 * with delta temporality leave it out (the SDK's instruments honour the reader's temporality).
 * One producer can serve several readers; it reads, never resets.
 */
export class CostHistogramProducer implements MetricProducer, CostHistogramLink {
  private read: (() => readonly OwnHistogram[]) | undefined;

  /** Called by costspan's metrics recorder; a second recorder replaces the first. */
  attach(read: () => readonly OwnHistogram[]): void {
    this.read = read;
  }

  collect(): Promise<CollectionResult> {
    const errors: unknown[] = [];
    const metrics: HistogramMetricData[] = [];
    try {
      const endTime = millisToHrTime(Date.now());
      for (const histogram of this.read?.() ?? []) {
        if (histogram.series.length === 0) continue;
        metrics.push({
          descriptor: {
            name: histogram.name,
            description: histogram.description,
            unit: histogram.unit,
            valueType: histogram.integer ? ValueType.INT : ValueType.DOUBLE,
          },
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: histogram.series.map((series) => ({
            attributes: series.attributes,
            startTime: millisToHrTime(series.startTimeMs),
            endTime,
            value: {
              buckets: { boundaries: [...histogram.boundaries], counts: [...series.counts] },
              sum: series.sum,
              count: series.count,
              min: series.min,
              max: series.max,
            },
          })),
        });
      }
    } catch (error) {
      // The reader passes collection errors to diag only: tell a person once, too.
      errors.push(error);
      notice(
        'cost_histograms_collect_failed',
        `costspan's per-call histograms could not be collected (${error instanceof Error ? error.message : 'unknown error'}); they are missing from this export, the counters and the cost events are not affected.`,
      );
    }
    return Promise.resolve({
      resourceMetrics: {
        // The reader exports these under its MeterProvider's resource; this one is not read.
        resource: emptyResource(),
        scopeMetrics: metrics.length === 0 ? [] : [{ scope: { name: SDK_NAME, version: SDK_VERSION }, metrics }],
      },
      errors,
    });
  }
}
