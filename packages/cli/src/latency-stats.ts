/** Calls' latency in a report row: how many calls had one, their p50/p95 and total time. */
export interface LatencySummary {
  /** Calls whose event carried `latency_ms` (the others have no latency). */
  calls: number;
  /** Median call latency, ms (nearest rank; within 1% once a group has more than {@link EXACT_SAMPLES} calls). */
  p50Ms: number;
  /** 95th percentile call latency, ms (same accuracy as `p50Ms`). */
  p95Ms: number;
  /** Sum of the calls' latencies, ms, exact to the microsecond. */
  totalMs: number;
}

/** Calls kept as exact samples per group; beyond this a group switches to a sketch, so memory stays bounded. */
export const EXACT_SAMPLES = 64;

// DDSketch-style logarithmic buckets: every value in bucket i is within ALPHA of its estimate.
const ALPHA = 0.01;
const GAMMA = (1 + ALPHA) / (1 - ALPHA);
const LOG_GAMMA = Math.log(GAMMA);

/** The sketch bucket of a latency (ms > 0): compute it once per call when adding to several groups. */
export function latencyBucket(ms: number): number {
  return Math.ceil(Math.log(ms) / LOG_GAMMA);
}

/**
 * The latency of a token event's payload: `latency_ms` as a finite non-negative
 * number, else `undefined` (no latency: the span had no duration, or the event
 * was written before the field existed).
 */
export function latencyOf(payload: { readonly [field: string]: unknown }): number | undefined {
  const value = payload.latency_ms;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Accumulates call latencies for one group in bounded memory: the first
 * {@link EXACT_SAMPLES} are kept as they are (exact percentiles for small
 * groups), after which they move into logarithmic buckets with 1% relative
 * accuracy (the DDSketch scheme). The total is summed exactly in microseconds.
 */
export class LatencyStats {
  private count = 0;
  private totalMicros = 0;
  private samples: number[] | undefined = [];
  private buckets: Map<number, number> | undefined;
  private zeros = 0;

  /** Adds one call's latency in milliseconds; `bucket` is {@link latencyBucket}`(ms)` when already known. */
  add(ms: number, bucket?: number): void {
    this.count += 1;
    // `latency_ms` has at most 3 decimals: microseconds are integers and sum exactly.
    this.totalMicros += Math.round(ms * 1000);
    if (this.samples !== undefined) {
      this.samples.push(ms);
      if (this.samples.length > EXACT_SAMPLES) {
        const samples = this.samples;
        this.samples = undefined;
        this.buckets = new Map();
        for (const sample of samples) this.bucket(sample);
      }
      return;
    }
    this.bucket(ms, bucket);
  }

  private bucket(ms: number, known?: number): void {
    if (ms <= 0) {
      this.zeros += 1;
      return;
    }
    const buckets = this.buckets as Map<number, number>;
    const index = known ?? latencyBucket(ms);
    buckets.set(index, (buckets.get(index) ?? 0) + 1);
  }

  /** Adds every latency of `other` (for pooled and total rows). */
  merge(other: LatencyStats): void {
    if (other.count === 0) return;
    if (other.samples !== undefined) {
      const before = this.totalMicros;
      for (const sample of other.samples) this.add(sample);
      // Totals add exactly whatever the representation.
      this.totalMicros = before + other.totalMicros;
      return;
    }
    if (this.samples !== undefined) {
      const samples = this.samples;
      this.samples = undefined;
      this.buckets = new Map();
      for (const sample of samples) this.bucket(sample);
    }
    const buckets = this.buckets as Map<number, number>;
    for (const [index, count] of other.buckets ?? []) buckets.set(index, (buckets.get(index) ?? 0) + count);
    this.zeros += other.zeros;
    this.count += other.count;
    this.totalMicros += other.totalMicros;
  }

  /** The summary, or `null` when no call had a latency. */
  summary(): LatencySummary | null {
    if (this.count === 0) return null;
    return { calls: this.count, p50Ms: this.quantile(0.5), p95Ms: this.quantile(0.95), totalMs: this.totalMicros / 1000 };
  }

  /** Nearest-rank quantile: the smallest value with at least `q` of the calls at or below it. */
  private quantile(q: number): number {
    const rank = Math.max(1, Math.ceil(q * this.count));
    if (this.samples !== undefined) return [...this.samples].sort((left, right) => left - right)[rank - 1] as number;
    if (rank <= this.zeros) return 0;
    let seen = this.zeros;
    const indexes = [...(this.buckets as Map<number, number>).keys()].sort((left, right) => left - right);
    for (const index of indexes) {
      seen += (this.buckets as Map<number, number>).get(index) as number;
      if (seen >= rank) return Math.round(((2 * GAMMA ** index) / (GAMMA + 1)) * 1000) / 1000;
    }
    return 0;
  }
}
