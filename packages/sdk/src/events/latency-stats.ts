/** p50, p95 and total of the calls' latencies in a group. */
export interface LatencySummary {
  /** Calls whose event carried a latency (`latency_ms`). */
  latencyCalls: number;
  /** Median call latency in ms (0 without calls). */
  latencyP50Ms: number;
  /** 95th percentile call latency in ms (0 without calls). */
  latencyP95Ms: number;
  /** Sum of the calls' latencies in ms, exact to the microsecond. */
  latencyTotalMs: number;
}

/** Samples kept per group: percentiles are exact up to this many calls, a uniform sample's beyond. */
const MAX_SAMPLES = 4096;

/**
 * Latencies of one group's calls, bounded: the total is exact (integer microseconds); the
 * percentiles come from every call up to {@link MAX_SAMPLES}, then from a uniform reservoir
 * sample of them, so memory stays flat however many calls a long-lived process makes.
 */
export class LatencyStats {
  private readonly samples: number[] = [];
  private count = 0;
  private totalMicros = 0;

  add(milliseconds: number): void {
    if (!(milliseconds >= 0) || !Number.isFinite(milliseconds)) return;
    this.count += 1;
    this.totalMicros += Math.round(milliseconds * 1000);
    if (this.samples.length < MAX_SAMPLES) {
      this.samples.push(milliseconds);
      return;
    }
    // Reservoir sampling (algorithm R): each call stays with probability MAX_SAMPLES / count.
    const slot = Math.floor(Math.random() * this.count);
    if (slot < MAX_SAMPLES) this.samples[slot] = milliseconds;
  }

  summary(): LatencySummary {
    const sorted = [...this.samples].sort((left, right) => left - right);
    return {
      latencyCalls: this.count,
      latencyP50Ms: percentile(sorted, 0.5),
      latencyP95Ms: percentile(sorted, 0.95),
      latencyTotalMs: this.totalMicros / 1000,
    };
  }
}

/** Nearest-rank percentile of sorted values (0 when empty). */
function percentile(sorted: readonly number[], quantile: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.max(0, Math.ceil(quantile * sorted.length) - 1)] as number;
}
