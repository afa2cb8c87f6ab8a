import { Writable } from 'node:stream';
import type { Attributes, MeterProvider } from '@opentelemetry/api';
import { setGlobalErrorHandler, loggingErrorHandler } from '@opentelemetry/core';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider as SdkMeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { picoToUsd } from '@costspan/core';
import { createHarness } from '../__fixtures__/harness.js';
import { setupCostspan } from '../setup-costspan.js';
import { resetNotices } from '../notice.js';
import { COST_METRICS, TOKEN_TYPE_ATTRIBUTE } from './cost-metrics.js';
import { OTHER_VALUE } from './principal-cardinality.js';

/** A reader the test collects from by hand (cumulative, as Prometheus reads). */
class ManualReader extends MetricReader {
  constructor(temporality = AggregationTemporality.CUMULATIVE) {
    super({ aggregationTemporalitySelector: () => temporality });
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

async function collect(reader: MetricReader): Promise<Map<string, MetricData>> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const byName = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
  return byName;
}

function points(metrics: Map<string, MetricData>, name: string): DataPoint<number>[] {
  const metric = metrics.get(name);
  if (metric === undefined) return [];
  expect(metric.dataPointType).not.toBe(DataPointType.HISTOGRAM);
  return metric.dataPoints as DataPoint<number>[];
}

function histogramPoints(metrics: Map<string, MetricData>, name: string): DataPoint<Histogram>[] {
  const metric = metrics.get(name);
  if (metric === undefined) return [];
  expect(metric.dataPointType).toBe(DataPointType.HISTOGRAM);
  return metric.dataPoints as DataPoint<Histogram>[];
}

function find<Value>(list: DataPoint<Value>[], match: Attributes): DataPoint<Value> {
  const found = list.filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value));
  if (found.length !== 1) throw new Error(`expected one point with ${JSON.stringify(match)}, found ${found.length}`);
  return found[0] as DataPoint<Value>;
}

function setup(options: Parameters<typeof createHarness>[0] = {}) {
  const reader = new ManualReader();
  const meterProvider = new SdkMeterProvider({ readers: [reader] });
  return { reader, meterProvider, harness: createHarness({ meterProvider, ...options }) };
}

afterEach(() => {
  setGlobalErrorHandler(loggingErrorHandler());
  resetNotices();
});

describe('cost metrics from the priced calls', () => {
  it('a known workload: cost histogram, USD counter by agent and principal, tokens, unpriced and usage-missing calls', async () => {
    const { reader, harness } = setup({ metrics: { tokenUsageHistogram: true } });
    harness.tracer.agentRun('support', { principal: { userId: 'alice', teamId: 'search' } }, (run) => {
      for (let index = 0; index < 3; index += 1) {
        run.step('answer', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 })); // $0.00325 each
      }
      run.step('mystery', (step) => step.setModel('zeta-llm', 'acme').setTokenUsage({ input: 10, output: 20 }));
      run.step('cut', (step) => {
        step.setModel('gpt-4o', 'openai');
        step.span.setAttributes({ 'llm.cost.usage.missing': true, 'llm.cost.usage.missing_reason': 'stream_incomplete' });
      });
    });
    harness.tracer.agentRun('triage', { principal: { userId: 'bob' } }, (run) => {
      run.step('classify', (step) =>
        step
          .setModel('gpt-4o', 'openai')
          .setTokenUsage({ input: 1000, output: 400, cacheRead: 600, reasoning: 100 })
          .setCost({ totalUsd: 0.01 }),
      );
    });
    await harness.flush();
    const metrics = await collect(reader);

    const cost = histogramPoints(metrics, COST_METRICS.OPERATION_COST);
    expect(cost).toHaveLength(1);
    const gpt4o = find(cost, { 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.operation.name': 'chat' });
    expect(gpt4o.value.count).toBe(4); // the unpriced call is not a $0 point
    expect(gpt4o.value.sum).toBeCloseTo(0.00325 * 3 + 0.01, 15);
    expect(metrics.get(COST_METRICS.OPERATION_COST)?.descriptor.unit).toBe('USD');

    const usd = points(metrics, COST_METRICS.COST_USD);
    expect(usd).toHaveLength(2);
    expect(
      find(usd, { 'gen_ai.agent.name': 'support', 'llm.cost.principal.user_id': 'alice', 'llm.cost.principal.team_id': 'search' }).value,
    ).toBe(0.00975); // summed exactly in pico-USD, one conversion
    expect(find(usd, { 'gen_ai.agent.name': 'triage', 'llm.cost.principal.user_id': 'bob' }).value).toBe(0.01);

    // Every dollar of the events is in the counter: the events' session totals, summed.
    const sessions = harness.events.getEvents('llm.cost.session.recorded');
    const eventsTotal = sessions.reduce((sum, event) => sum + BigInt(Math.round(event.payload.total_cost.total_cost_usd * 1e12)), 0n);
    expect(usd.reduce((sum, point) => sum + point.value, 0)).toBeCloseTo(picoToUsd(eventsTotal), 15);

    const input = points(metrics, COST_METRICS.INPUT_TOKENS);
    expect(find(input, { 'gen_ai.request.model': 'gpt-4o' }).value).toBe(2500);
    expect(find(input, { 'gen_ai.request.model': 'zeta-llm' }).value).toBe(10);
    expect(find(points(metrics, COST_METRICS.OUTPUT_TOKENS), { 'gen_ai.request.model': 'gpt-4o' }).value).toBe(1000);
    expect(find(points(metrics, COST_METRICS.CACHE_READ_TOKENS), { 'gen_ai.request.model': 'gpt-4o' }).value).toBe(600);
    expect(find(points(metrics, COST_METRICS.REASONING_TOKENS), { 'gen_ai.request.model': 'gpt-4o' }).value).toBe(100);
    expect(points(metrics, COST_METRICS.CACHE_WRITE_TOKENS)).toEqual([]);

    const tokens = histogramPoints(metrics, COST_METRICS.TOKEN_USAGE);
    const inputTokens = find(tokens, { 'gen_ai.request.model': 'gpt-4o', [TOKEN_TYPE_ATTRIBUTE]: 'input' });
    expect([inputTokens.value.count, inputTokens.value.sum]).toEqual([4, 2500]);
    const outputTokens = find(tokens, { 'gen_ai.request.model': 'zeta-llm', [TOKEN_TYPE_ATTRIBUTE]: 'output' });
    expect([outputTokens.value.count, outputTokens.value.sum]).toEqual([1, 20]);

    expect(points(metrics, COST_METRICS.UNPRICED_CALLS).map((point) => [point.attributes, point.value])).toEqual([
      [{ 'gen_ai.provider.name': 'acme', 'gen_ai.request.model': 'zeta-llm', 'gen_ai.operation.name': 'chat' }, 1],
    ]);
    expect(points(metrics, COST_METRICS.USAGE_MISSING_CALLS).map((point) => [point.attributes, point.value])).toEqual([
      [{ 'gen_ai.provider.name': 'openai', 'llm.cost.usage.missing_reason': 'stream_incomplete', 'gen_ai.request.model': 'gpt-4o' }, 1],
    ]);
  });

  it('books consecutive runs to the right series: fresh principal objects of equal value share one, a new value or agent gets its own', async () => {
    const { reader, harness } = setup({ metrics: { tagKeys: ['env'] } });
    const runs: Array<[string, { userId: string; tags?: Record<string, string> }]> = [
      ['support', { userId: 'alice', tags: { env: 'prod' } }],
      ['support', { userId: 'alice', tags: { env: 'prod' } }], // equal value, new object: same series
      ['support', { userId: 'alice', tags: { env: 'dev' } }], // another tag value
      ['support', { userId: 'bob' }],
      ['triage', { userId: 'bob' }], // another agent
      ['support', { userId: 'alice', tags: { env: 'prod' } }], // back to the first
    ];
    for (const [agent, principal] of runs) {
      harness.tracer.agentRun(agent, { principal }, (run) => {
        run.step('answer', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 })); // $0.00325
      });
    }
    await harness.flush();
    const usd = points(await collect(reader), COST_METRICS.COST_USD);
    const value = (match: Attributes): number => find(usd, match).value;
    expect(usd).toHaveLength(4);
    expect(value({ 'gen_ai.agent.name': 'support', 'llm.cost.principal.user_id': 'alice', 'llm.cost.principal.tag.env': 'prod' })).toBe(
      0.00975,
    );
    expect(value({ 'gen_ai.agent.name': 'support', 'llm.cost.principal.user_id': 'alice', 'llm.cost.principal.tag.env': 'dev' })).toBe(
      0.00325,
    );
    expect(value({ 'gen_ai.agent.name': 'support', 'llm.cost.principal.user_id': 'bob' })).toBe(0.00325);
    expect(value({ 'gen_ai.agent.name': 'triage', 'llm.cost.principal.user_id': 'bob' })).toBe(0.00325);
  });

  it('counts each call once across collections, and when more values are held than the buffer takes', async () => {
    const { reader, harness } = setup({ metrics: { maxBufferedValues: 2 } });
    const runOnce = (count: number) =>
      harness.tracer.agentRun('agent', (run) => {
        for (let index = 0; index < count; index += 1)
          run.step('s', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }));
      });
    runOnce(5);
    expect(histogramPoints(await collect(reader), COST_METRICS.OPERATION_COST)[0]?.value.count).toBe(5);
    runOnce(1);
    const metrics = await collect(reader);
    expect(histogramPoints(metrics, COST_METRICS.OPERATION_COST)[0]?.value.count).toBe(6);
    expect(points(metrics, COST_METRICS.COST_USD)[0]?.value).toBe(0.0195);
    expect(points(metrics, COST_METRICS.INPUT_TOKENS)[0]?.value).toBe(3000);
    // The released token histogram is opt-in: the draft's counters count tokens by default.
    expect(metrics.has(COST_METRICS.TOKEN_USAGE)).toBe(false);
  });

  it('records the calls of another instrumentation span outside any run, without agent or principal', async () => {
    const { reader, harness } = setup();
    const span = harness.provider.getTracer('other').startSpan('chat gpt-4o', {
      attributes: {
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 500,
        'gen_ai.usage.output_tokens': 200,
      },
    });
    span.end();
    const metrics = await collect(reader);
    expect(points(metrics, COST_METRICS.COST_USD).map((point) => [point.attributes, point.value])).toEqual([
      [{ 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o' }, 0.00325],
    ]);
  });
});

describe('setupCostspan', () => {
  it('passes meterProvider and metrics through to its processor', async () => {
    const reader = new ManualReader();
    const costspan = setupCostspan({
      stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
      meterProvider: new SdkMeterProvider({ readers: [reader] }),
      metrics: { principalKeys: ['team'] },
    });
    costspan.tracer.agentRun('agent', { principal: { userId: 'alice', teamId: 'search' } }, (run) =>
      run.step('s', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 })),
    );
    await costspan.shutdown();
    expect(points(await collect(reader), COST_METRICS.COST_USD).map((point) => [point.attributes, point.value])).toEqual([
      [
        {
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.agent.name': 'agent',
          'llm.cost.principal.team_id': 'search',
        },
        0.00325,
      ],
    ]);
  });
});

describe('principal cardinality', () => {
  it('keeps allowlisted keys only, caps distinct values per key, and names the rest (other)', async () => {
    const { reader, harness } = setup({ metrics: { principalKeys: ['user'], tagKeys: ['env'], maxValuesPerKey: 2 } });
    for (const user of ['u1', 'u2', 'u3', 'u4', 'u1']) {
      harness.tracer.agentRun('agent', { principal: { userId: user, teamId: 'team-a', tags: { env: 'prod', secret: 'x' } } }, (run) =>
        run.step('s', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 })),
      );
    }
    const usd = points(await collect(reader), COST_METRICS.COST_USD);
    const byUser = Object.fromEntries(usd.map((point) => [point.attributes['llm.cost.principal.user_id'], point.value]));
    expect(byUser).toEqual({ u1: 0.0065, u2: 0.00325, [OTHER_VALUE]: 0.0065 });
    for (const point of usd) {
      expect(point.attributes['llm.cost.principal.tag.env']).toBe('prod');
      expect(point.attributes).not.toHaveProperty('llm.cost.principal.team_id');
      expect(point.attributes).not.toHaveProperty('llm.cost.principal.tag.secret');
    }
  });

  it('writes no principal attribute with principalKeys: [] and caps series overall', async () => {
    const { reader, harness } = setup({ metrics: { principalKeys: [], maxSeries: 2 } });
    for (const model of ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini']) {
      harness.tracer.agentRun('agent', { principal: { userId: 'alice' } }, (run) =>
        run.step('s', (step) => step.setModel(model, 'openai').setTokenUsage({ input: 100, output: 100 }).setCost({ totalUsd: 0.5 })),
      );
    }
    const usd = points(await collect(reader), COST_METRICS.COST_USD);
    expect(usd.map((point) => point.value)).toEqual([0.5, 0.5, 1]);
    expect(usd[2]?.attributes).toEqual({ 'otel.metric.overflow': true });
    expect(usd.some((point) => 'llm.cost.principal.user_id' in point.attributes)).toBe(false);
  });
});

describe('never in the way', () => {
  it('an instrument that throws reaches the error handler; the events are still written', async () => {
    const errors: unknown[] = [];
    setGlobalErrorHandler((error) => errors.push(error));
    const failing = {
      getMeter: () => ({
        createHistogram: () => ({
          record: () => {
            throw new Error('histogram broke');
          },
        }),
        createObservableCounter: () => ({}),
        addBatchObservableCallback: () => undefined,
      }),
    } as unknown as MeterProvider;
    const harness = createHarness({ meterProvider: failing, metrics: { maxBufferedValues: 1 } });
    harness.tracer.agentRun('agent', (run) =>
      run.step('s', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1, output: 1 })),
    );
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(1);
    expect(errors.map(String)).toEqual(['Error: histogram broke']);
  });
});
