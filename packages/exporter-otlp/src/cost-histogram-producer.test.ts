import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { DataPointType, MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COST_METRICS, CostSpanProcessor, InMemoryEventExporter, createCostTracer, type CostMetricsOptions } from '@costspan/sdk';
import { resetNotices, SDK_NAME } from '@costspan/sdk/internal';
import { setNoticeHandler } from '@costspan/sdk';
import { CostHistogramProducer } from './cost-histogram-producer.js';

class ManualReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** One pipeline: the SDK's instruments (no producer) or costspan's own aggregation through the producer. */
function pipeline(own: boolean) {
  const histograms = new CostHistogramProducer();
  const reader = new ManualReader(own ? { metricProducers: [histograms] } : {});
  const meterProvider = new MeterProvider({ readers: [reader] });
  const metrics: CostMetricsOptions = { tokenUsageHistogram: true, ...(own ? { histograms } : {}) };
  const processor = new CostSpanProcessor({ source: 'test-app@1.0.0', exporters: [new InMemoryEventExporter()], meterProvider, metrics });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [processor] });
  return { reader, processor, tracer: createCostTracer({ tracerProvider }), shutdown: () => tracerProvider.shutdown() };
}

type Pipeline = ReturnType<typeof pipeline>;

/** Calls of several prices, one exactly on a bucket bound ($0.01), one unpriced, across two models. */
function workload(target: Pipeline, rounds: number): void {
  for (let round = 0; round < rounds; round += 1) {
    target.tracer.agentRun('support', { principal: { userId: `user-${round}` } }, (run) => {
      run.step('answer', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500 + round, output: 200 }));
      run.step('exact', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1, output: 1 }).setCost({ totalUsd: 0.01 }));
      run.step('large', (step) => step.setModel('claude-sonnet-4-5', 'anthropic').setTokenUsage({ input: 2_000_000, output: 90_000 }));
      run.step('mystery', (step) => step.setModel('zeta-llm', 'acme').setTokenUsage({ input: 10, output: 20 }));
    });
  }
}

async function histograms(target: Pipeline): Promise<Map<string, { scope: string; points: DataPoint<Histogram>[] }>> {
  await target.processor.forceFlush();
  const { resourceMetrics, errors } = await target.reader.collect();
  expect(errors).toEqual([]);
  const byName = new Map<string, { scope: string; points: DataPoint<Histogram>[] }>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.dataPointType !== DataPointType.HISTOGRAM) continue;
      const points = [...metric.dataPoints].sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
      byName.set(metric.descriptor.name, { scope: scope.scope.name, points });
    }
  }
  return byName;
}

/** What the two aggregations must agree on (times differ by construction). */
const comparable = (points: DataPoint<Histogram>[]) => points.map((point) => ({ attributes: point.attributes, value: point.value }));

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  context.disable();
});

describe('CostHistogramProducer: costspan aggregates its per-call histograms itself', () => {
  it('exports the same buckets, sum, count, min and max as the SDK instruments, cumulatively, under costspan scope', async () => {
    const sdk = pipeline(false);
    const own = pipeline(true);
    try {
      for (const rounds of [3, 2]) {
        workload(sdk, rounds);
        workload(own, rounds);
        const expected = await histograms(sdk);
        const actual = await histograms(own);
        for (const name of [COST_METRICS.OPERATION_COST, COST_METRICS.TOKEN_USAGE]) {
          expect(actual.get(name)?.scope).toBe(SDK_NAME);
          expect(comparable(actual.get(name)?.points ?? [])).toEqual(comparable(expected.get(name)?.points ?? []));
        }
      }
      const cost = (await histograms(own)).get(COST_METRICS.OPERATION_COST)?.points ?? [];
      // Two priced series (the unpriced model is no $0 point); 5 rounds of 2 and of 1 priced calls.
      expect(cost.map((point) => [point.attributes['gen_ai.request.model'], point.value.count])).toEqual([
        ['claude-sonnet-4-5', 5],
        ['gpt-4o', 10],
      ]);
      const gpt4o = cost[1]!.value;
      // $0.01 sits on a bound: counted in the bucket that bound closes, (0.005, 0.01].
      const tenCents = gpt4o.buckets.boundaries.indexOf(0.01);
      expect(gpt4o.buckets.counts[tenCents]).toBe(5);
      expect(gpt4o.max).toBe(0.01);
      expect(cost[0]!.value.min).toBeGreaterThan(5); // a tiered long-context price: past the last bound
      expect(cost[0]!.value.buckets.counts.at(-1)).toBe(5);
    } finally {
      await Promise.all([sdk.shutdown(), own.shutdown()]);
    }
  });

  it('a failing read is returned as the collection error and told once; the next collection works again', async () => {
    const told: string[] = [];
    setNoticeHandler((notice) => told.push(notice.message));
    resetNotices();
    try {
      const producer = new CostHistogramProducer();
      let failing = true;
      producer.attach(() => {
        if (failing) throw new Error('broken table');
        return [];
      });
      for (let round = 0; round < 2; round += 1) {
        const result = await producer.collect();
        expect(result.errors.map((error) => (error as Error).message)).toEqual(['broken table']);
        expect(result.resourceMetrics.scopeMetrics).toEqual([]);
      }
      expect(told).toHaveLength(1);
      expect(told[0]).toContain('broken table');
      failing = false;
      expect((await producer.collect()).errors).toEqual([]);
    } finally {
      setNoticeHandler(undefined);
      resetNotices();
    }
  });

  it('exports nothing before the first call and when no recorder is attached', async () => {
    const idle = new CostHistogramProducer();
    expect((await idle.collect()).resourceMetrics.scopeMetrics).toEqual([]);
    const own = pipeline(true);
    try {
      expect((await histograms(own)).size).toBe(0);
    } finally {
      await own.shutdown();
    }
  });
});
