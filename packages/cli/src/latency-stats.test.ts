import { describe, expect, it } from 'vitest';
import { tokenEvent } from './__fixtures__/token-events.js';
import { EXACT_SAMPLES, LatencyStats, latencyOf } from './latency-stats.js';
import { reportToJson } from './report-format.js';
import { ReportAggregator } from './report.js';

describe('LatencyStats', () => {
  it('nearest-rank p50/p95 and an exact total for small groups', () => {
    const stats = new LatencyStats();
    for (const ms of [120.5, 80, 300.125, 95, 1000]) stats.add(ms);
    expect(stats.summary()).toEqual({ calls: 5, p50Ms: 120.5, p95Ms: 1000, totalMs: 1595.625 });
    expect(new LatencyStats().summary()).toBeNull();
  });

  it('beyond the exact samples, percentiles stay within 1% and the total stays exact', () => {
    const stats = new LatencyStats();
    // 1..1000 ms with a thousandth each: exact p50 = 500.5, p95 = 950.95.
    for (let index = 1; index <= 1000; index += 1) stats.add(index + index / 1000);
    const summary = stats.summary();
    expect(summary?.calls).toBe(1000);
    expect(Math.abs((summary?.p50Ms ?? 0) / 500.5 - 1)).toBeLessThan(0.01);
    expect(Math.abs((summary?.p95Ms ?? 0) / 950.95 - 1)).toBeLessThan(0.01);
    expect(summary?.totalMs).toBe(500_500 + 500.5);
    expect(EXACT_SAMPLES).toBeLessThan(1000);
  });

  it('merging sketches and samples keeps counts and totals', () => {
    const big = new LatencyStats();
    for (let index = 0; index < 200; index += 1) big.add(10);
    const small = new LatencyStats();
    small.add(0);
    small.add(2000);
    big.merge(small);
    expect(big.summary()).toMatchObject({ calls: 202, totalMs: 4000 });
    expect(big.summary()?.p95Ms).toBeCloseTo(10, 0);
  });

  it('latency_ms must be a finite non-negative number; anything else is "no latency"', () => {
    expect(latencyOf({ latency_ms: 12.345 })).toBe(12.345);
    expect(latencyOf({})).toBeUndefined();
    expect(latencyOf({ latency_ms: '12' })).toBeUndefined();
    expect(latencyOf({ latency_ms: -1 })).toBeUndefined();
  });
});

describe('latency in reports', () => {
  it('every breakdown row and the totals carry p50/p95 and total time; lines without latency_ms count as no latency', () => {
    const aggregator = new ReportAggregator({ dimensions: ['model', 'user'] });
    aggregator.add(tokenEvent({ input: 0.01, output: 0, model: 'a', user: 'u1', latencyMs: 100 }));
    aggregator.add(tokenEvent({ input: 0.01, output: 0, model: 'a', user: 'u2', latencyMs: 300.5 }));
    aggregator.add(tokenEvent({ input: 0.01, output: 0, model: 'b', user: 'u1' }));
    const json = reportToJson(aggregator.result(), { inputs: ['x'] });
    expect(json.totals).toMatchObject({ calls: 3, latency_calls: 2, latency_p50_ms: 100, latency_p95_ms: 300.5, latency_total_ms: 400.5 });
    expect(json.breakdowns.model?.map((row) => [row.key, row.latency_calls, row.latency_p95_ms])).toEqual([
      ['a', 2, 300.5],
      ['b', 0, null],
    ]);
    expect(json.breakdowns.user?.find((row) => row.key === 'u1')?.latency_total_ms).toBe(100);
  });
});
