/** One measured figure. `baseline` is the same metric for the baseline, measured in the same run. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  baseline?: number | undefined;
  /** What the baseline is, e.g. `bare OpenTelemetry`. */
  baselineName?: string | undefined;
  /** The ratio to print, when it is not `value / baseline` (e.g. a median of per-round ratios). */
  ratio?: number | undefined;
  /** A target to print beside the figure, e.g. `<= 1.10x`. */
  target?: string | undefined;
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Runs `fn` and returns elapsed milliseconds. */
export async function timeIt(fn: () => Promise<void> | void): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Forces a garbage collection when node runs with --expose-gc. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
