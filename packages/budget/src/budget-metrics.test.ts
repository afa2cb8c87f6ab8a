import { AggregationTemporality, MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { BudgetGuard } from './budget-guard.js';
import { BUDGET_METRICS, BudgetMetrics } from './budget-metrics.js';
import type { BudgetStoreReading } from './budget-store.js';
import { InMemoryBudgetStore } from './in-memory-budget-store.js';

const T0 = Date.UTC(2026, 2, 4, 12, 0, 0);

class ManualReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A store whose reads can be made to hang, as a stalled Redis would. */
class StallingStore extends InMemoryBudgetStore {
  mode: 'ok' | 'stalled' | 'failing' = 'ok';
  reads = 0;
  override read(keys: readonly string[], now: number): Promise<BudgetStoreReading[]> {
    this.reads += 1;
    if (this.mode === 'stalled') return new Promise(() => undefined);
    if (this.mode === 'failing') return Promise.reject(new Error('store down'));
    return super.read(keys, now);
  }
}

/** Gauge values by metric name, then `scope window unit`. */
async function gauges(reader: MetricReader): Promise<Record<string, Record<string, number>>> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const values: Record<string, Record<string, number>> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      const byLimit: Record<string, number> = {};
      for (const point of metric.dataPoints as DataPoint<number>[]) {
        const attributes = point.attributes;
        byLimit[
          `${String(attributes['llm.cost.budget.limit_type'])} ${String(attributes['llm.cost.budget.scope'])} ${String(attributes['llm.cost.budget.window'])} ${String(attributes['llm.cost.budget.unit'])}`
        ] = point.value;
      }
      values[metric.descriptor.name] = byLimit;
    }
  }
  return values;
}

function setup(store = new InMemoryBudgetStore()) {
  const errors: unknown[] = [];
  const guard = new BudgetGuard({
    store,
    limits: { global: { daily: { usd: 1 } }, user: { daily: { usd: 0.5, tokens: 1000 } } },
    now: () => T0,
    onError: (error) => errors.push(error),
    circuitBreaker: false,
  });
  const reader = new ManualReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return { guard, reader, meterProvider, errors };
}

describe('budget gauges', () => {
  it('spent, reserved, remaining and the limit of the global limits, the targets given and every setLimit target', async () => {
    const { guard, reader, meterProvider } = setup();
    await guard.settle(await guard.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.1 }), 0.125, 300);
    await guard.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.2, estimatedTokens: 100 }); // held
    await guard.setLimit({ teamId: 'search' }, { monthly: { usd: 20 } });
    await guard.settle(await guard.reserve({ principal: { teamId: 'search' }, estimatedUsd: 0.4 }), 0.5);
    new BudgetMetrics({ guard, meterProvider, targets: [{ userId: 'alice' }] });

    const values = await gauges(reader);
    expect(values[BUDGET_METRICS.SPENT]).toEqual({
      'daily global 2026-03-04 usd': 0.625,
      'user_daily user:alice 2026-03-04 usd': 0.125,
      'user_daily user:alice 2026-03-04 tokens': 300,
      'team_monthly team:search 2026-03 usd': 0.5,
    });
    expect(values[BUDGET_METRICS.RESERVED]).toEqual({
      'daily global 2026-03-04 usd': 0.2,
      'user_daily user:alice 2026-03-04 usd': 0.2,
      'user_daily user:alice 2026-03-04 tokens': 100,
      'team_monthly team:search 2026-03 usd': 0,
    });
    expect(values[BUDGET_METRICS.LIMIT]).toEqual({
      'daily global 2026-03-04 usd': 1,
      'user_daily user:alice 2026-03-04 usd': 0.5,
      'user_daily user:alice 2026-03-04 tokens': 1000,
      'team_monthly team:search 2026-03 usd': 20,
    });
    const remaining = values[BUDGET_METRICS.REMAINING] ?? {};
    for (const [limit, value] of Object.entries(values[BUDGET_METRICS.LIMIT] ?? {})) {
      const expected = value - (values[BUDGET_METRICS.SPENT]?.[limit] ?? NaN) - (values[BUDGET_METRICS.RESERVED]?.[limit] ?? NaN);
      expect(remaining[limit]).toBeCloseTo(expected, 12);
    }
    expect(remaining['user_daily user:alice 2026-03-04 usd']).toBe(0.175);
  });

  it('a stalled store: the collection ends within its timeout with the last readings', async () => {
    const store = new StallingStore();
    const { guard, reader, meterProvider, errors } = setup(store);
    await guard.settle(await guard.reserve({ principal: {}, estimatedUsd: 0.1 }), 0.25);
    const metrics = new BudgetMetrics({ guard, meterProvider, timeoutMs: 500 });
    expect((await gauges(reader))[BUDGET_METRICS.SPENT]).toEqual({ 'daily global 2026-03-04 usd': 0.25 });
    store.mode = 'stalled';
    const started = Date.now();
    expect((await gauges(reader))[BUDGET_METRICS.SPENT]).toEqual({ 'daily global 2026-03-04 usd': 0.25 });
    expect(Date.now() - started).toBeLessThan(1000); // within 2x its timeout
    expect((await gauges(reader))[BUDGET_METRICS.SPENT]).toEqual({ 'daily global 2026-03-04 usd': 0.25 });
    expect(store.reads).toBe(2); // one per collection, but the second stalled collection waited on the same read
    expect(errors).toEqual([]); // the stalled read never answered: nothing late to report
    // Closed: the guard is no longer read (its new spend does not reach the gauges).
    metrics.close();
    metrics.close();
    store.mode = 'ok';
    await guard.settle(await guard.reserve({ principal: {}, estimatedUsd: 0.1 }), 0.25);
    expect((await gauges(reader))[BUDGET_METRICS.SPENT]?.['daily global 2026-03-04 usd']).not.toBe(0.5);
  });

  it('a failing store is reported, never thrown into the collection; a bad target is refused naming the field', async () => {
    const store = new StallingStore();
    const { guard, reader, meterProvider } = setup(store);
    const errors: unknown[] = [];
    store.mode = 'failing';
    new BudgetMetrics({ guard, meterProvider, onError: (error) => errors.push(error) });
    expect(await gauges(reader)).toEqual({});
    expect(errors.map(String)).toEqual([expect.stringContaining('store down')]);
    expect(() => new BudgetMetrics({ guard, meterProvider, targets: [{ userId: '' }] })).toThrow(
      expect.objectContaining({ field: 'target.userId' }),
    );
  });
});

describe('BudgetMetrics options', () => {
  const guard = new BudgetGuard({ limits: { global: { daily: { usd: 1 } } } });
  const meterProvider = new MeterProvider();
  it.each([
    ['maxTargets', 0],
    ['maxTargets', 1.5],
    ['maxTargets', Number.NaN],
    ['maxTargets', '10'],
    ['timeoutMs', 0],
    ['timeoutMs', -1],
    ['timeoutMs', Number.POSITIVE_INFINITY],
    ['timeoutMs', 2 ** 31],
    ['timeoutMs', null],
  ])('refuses %s = %s with a CostspanError naming it (it fell back to the default before)', (field, value) => {
    expect(() => new BudgetMetrics({ guard, meterProvider, [field]: value })).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field }),
    );
  });
  it('accepts the edges: maxTargets 1, timeoutMs 1 and 2147483647, and none for the defaults', () => {
    const edges: Array<{ maxTargets?: number; timeoutMs?: number }> = [
      { maxTargets: 1 },
      { timeoutMs: 1 },
      { timeoutMs: 2_147_483_647 },
      {},
    ];
    for (const options of edges) {
      expect(() => new BudgetMetrics({ guard, meterProvider, ...options }).close()).not.toThrow();
    }
  });
});
