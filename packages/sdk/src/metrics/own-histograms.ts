import type { Attributes } from '@opentelemetry/api';

/**
 * One series of a histogram costspan aggregates itself: explicit-bucket counts, sum, count, min
 * and max since `startTimeMs`, as the SDK's explicit-bucket aggregation keeps them (a value on
 * a bound counts in the bucket the bound closes, as in the OTel specification).
 */
export class HistogramAccumulator {
  /** One count per bucket: `boundaries.length + 1`. */
  readonly counts: number[];
  sum: number = 0;
  count: number = 0;
  min: number = Infinity;
  max: number = -Infinity;

  constructor(
    readonly attributes: Attributes,
    private readonly boundaries: readonly number[],
    readonly startTimeMs: number,
  ) {
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }

  record(value: number): void {
    const boundaries = this.boundaries;
    // The first bound at or above the value (binary search; the bounds are ascending).
    let low = 0;
    let high = boundaries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((boundaries[middle] as number) < value) low = middle + 1;
      else high = middle;
    }
    this.counts[low] = (this.counts[low] as number) + 1;
    this.sum += value;
    this.count += 1;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }
}

/** The cumulative state of one histogram costspan aggregates itself, for a metric producer to export. */
export interface OwnHistogram {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  /** True for integer values (tokens), false for doubles (USD). */
  readonly integer: boolean;
  readonly boundaries: readonly number[];
  /** Its series with at least one value. */
  readonly series: readonly HistogramAccumulator[];
}

/**
 * Where costspan's per-call histograms go when they are not recorded through the SDK's
 * instruments: `metrics.histograms` of the `CostSpanProcessor`. The recorder aggregates them
 * itself (a bucket search and four adds per value, against the SDK's sorting and serialising
 * of the attributes on every record) and attaches a reader of their cumulative state, which a
 * `MetricProducer` given to the metric readers exports: `CostHistogramProducer` of
 * `@costspan/exporter-otlp`, which the one-call setup wires for you.
 */
export interface CostHistogramLink {
  /** Called once by the recorder: `read` returns every histogram's cumulative state. */
  attach(read: () => readonly OwnHistogram[]): void;
}
