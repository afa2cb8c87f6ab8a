import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it, vi } from 'vitest';
import { COST_METRICS, type CostTracer } from '@costspan/sdk';
import { captureDiag } from './__fixtures__/events.js';
import { OtlpReceiver, type ReceivedLog, type ReceivedMetric } from './__fixtures__/otlp-receiver.js';
import { registerCostspan, type RegisteredCostspan } from './register-costspan.js';
import { trackSetups } from './__fixtures__/setup-lifecycle.js';

const { receivers, setups } = trackSetups<OtlpReceiver, RegisteredCostspan>();

async function receiver(): Promise<OtlpReceiver> {
  const started = await new OtlpReceiver().start(0);
  receivers.push(started);
  return started;
}

function track(setup: RegisteredCostspan): RegisteredCostspan {
  setups.push(setup);
  return setup;
}

/** Costs given by the caller, in USD: each call's (input, output); awkward decimals on purpose. */
const CALLS: [string, number, number][] = [
  ['gpt-4o', 0.0015, 0.0006],
  ['gpt-4o', 0.000123456789, 0.000987654321],
  ['gpt-4o-mini', 0.0000033, 0.0000071],
  ['claude-sonnet-4', 0.0003, 0.00075],
  ['gpt-4o-mini', 0.1, 0.2],
];

/** Two runs over the calls above: 10 priced calls. */
async function knownWorkload(tracer: CostTracer): Promise<void> {
  for (const user of ['alice', 'bob']) {
    await tracer.agentRun('planner', { principal: { userId: user } }, async (run) => {
      for (const [index, [model, inputUsd, outputUsd]] of CALLS.entries()) {
        await run.step(`call-${index}`, async (step) => {
          step.setModel(model, model.startsWith('claude') ? 'anthropic' : 'openai').setTokenUsage({ input: 100, output: 50 });
          step.setCost({ inputUsd, outputUsd });
        });
      }
    });
  }
}

/** The events' exact total in pico-USD, from the token events' cost as the collector received them. */
function eventsTotalPico(logs: ReceivedLog[]): bigint {
  let total = 0n;
  for (const log of logs) {
    if (log.eventName !== 'llm.cost.token.recorded') continue;
    const cost = (log.body as { cost?: { total_cost_usd?: number } }).cost;
    // The wire's decimals have at most 12 places: exact in pico.
    total += BigInt(Math.round((cost?.total_cost_usd ?? 0) * 1e12));
  }
  return total;
}

/** The metric of the last export request that carried `name`. */
function last(metrics: ReceivedMetric[], name: string): ReceivedMetric {
  const found = metrics.filter((metric) => metric.name === name).at(-1);
  if (found === undefined) throw new Error(`no ${name} received; got ${[...new Set(metrics.map((metric) => metric.name))].join(', ')}`);
  return found;
}

function sumOf(values: (number | undefined)[]): number {
  return values.reduce<number>((total, value) => total + (value ?? 0), 0);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `check` until it returns a value, at most `timeoutMillis`. */
async function eventually<Value>(check: () => Promise<Value | undefined> | Value | undefined, timeoutMillis = 5000): Promise<Value> {
  const deadline = Date.now() + timeoutMillis;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMillis} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('cost metrics over OTLP/HTTP protobuf (registerCostspan)', () => {
  it('a workload of known cost: histogram count = calls, sum = the events total, the counter = the events total, per model too', async () => {
    const collector = await receiver();
    const costspan = track(registerCostspan({ endpoint: collector.url, serviceName: 'metered-agent', flushOnExit: false }));
    await knownWorkload(costspan.tracer);
    const stats = await costspan.shutdown();

    const totalPico = eventsTotalPico(collector.logs);
    const expectedTotal = CALLS.reduce((total, [, input, output]) => total + Math.round((input + output) * 1e12), 0) * 2;
    expect(totalPico).toBe(BigInt(expectedTotal));
    const total = Number(totalPico) / 1e12;

    const histogram = last(collector.metrics, COST_METRICS.OPERATION_COST);
    expect(histogram.kind).toBe('histogram');
    expect(histogram.unit).toBe('USD');
    expect(histogram.temporality).toBe(2);
    expect(histogram.resource['service.name']).toBe('metered-agent');
    expect(sumOf(histogram.dataPoints.map((point) => point.count))).toBe(CALLS.length * 2);
    expect(sumOf(histogram.dataPoints.map((point) => point.sum))).toBeCloseTo(total, 14);

    const counter = last(collector.metrics, COST_METRICS.COST_USD);
    expect(counter).toMatchObject({ kind: 'sum', monotonic: true, unit: 'USD' });
    expect(sumOf(counter.dataPoints.map((point) => point.value))).toBeCloseTo(total, 14);

    // Per model: the histogram's sums against the events of that model.
    for (const model of new Set(CALLS.map(([name]) => name))) {
      const expected = CALLS.filter(([name]) => name === model).reduce((sum, [, input, output]) => sum + (input + output) * 2, 0);
      const points = histogram.dataPoints.filter((point) => point.attributes['gen_ai.request.model'] === model);
      expect(points.length, model).toBeGreaterThan(0);
      expect(sumOf(points.map((point) => point.sum))).toBeCloseTo(expected, 14);
    }
    expect(stats.metrics).toMatchObject({ failed: 0, rejected: 0 });
    expect(stats.metrics.exported).toBeGreaterThan(0);
  });

  it('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta: each export carries only the calls since the previous one', async () => {
    const collector = await receiver();
    vi.stubEnv('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', 'delta');
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false }));
    await knownWorkload(costspan.tracer);
    await costspan.forceFlush();
    const first = last(collector.metrics, COST_METRICS.OPERATION_COST);
    await costspan.tracer.agentRun('late', async (run) => {
      await run.step('one', async (step) =>
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 10, output: 5 }).setCost({ inputUsd: 0.25, outputUsd: 0 }),
      );
    });
    await costspan.shutdown();
    const second = last(collector.metrics, COST_METRICS.OPERATION_COST);

    expect(first.temporality).toBe(1);
    expect(sumOf(first.dataPoints.map((point) => point.count))).toBe(CALLS.length * 2);
    expect(sumOf(second.dataPoints.map((point) => point.count))).toBe(1);
    expect(sumOf(second.dataPoints.map((point) => point.sum))).toBeCloseTo(0.25, 14);
  });

  it('OTEL_METRIC_EXPORT_INTERVAL: exports on its own schedule, before any flush', async () => {
    const collector = await receiver();
    vi.stubEnv('OTEL_METRIC_EXPORT_INTERVAL', '100');
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false }));
    await knownWorkload(costspan.tracer);
    const histogram = await eventually(() => {
      const found = collector.metrics.filter((metric) => metric.name === COST_METRICS.OPERATION_COST).at(-1);
      return found !== undefined && sumOf(found.dataPoints.map((point) => point.count)) === CALLS.length * 2 ? found : undefined;
    });
    expect(histogram.dataPoints.length).toBeGreaterThan(0);
  });

  it('explicit options win over the environment: metrics.exportIntervalMillis and temporality', async () => {
    const collector = await receiver();
    vi.stubEnv('OTEL_METRIC_EXPORT_INTERVAL', '600000');
    vi.stubEnv('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', 'cumulative');
    const costspan = track(
      registerCostspan({ endpoint: collector.url, flushOnExit: false, metrics: { exportIntervalMillis: 100, temporality: 'delta' } }),
    );
    await knownWorkload(costspan.tracer);
    const histogram = await eventually(() => collector.metrics.find((metric) => metric.name === COST_METRICS.OPERATION_COST));
    expect(histogram.temporality).toBe(1);
  });

  it('the collector refusing data points in a partial success: counted as rejected and failed', async () => {
    captureDiag();
    const collector = await receiver();
    collector.script = ({ path }) =>
      path === '/v1/metrics' ? { status: 200, partialSuccess: { rejected: 2, errorMessage: 'too many series' } } : undefined;
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false }));
    await knownWorkload(costspan.tracer);
    const stats = await costspan.shutdown();
    expect(stats.metrics).toMatchObject({ rejected: 2, failed: 2 });
  });

  it('a collector that is down: the metric export failures are counted, and told once', async () => {
    const logs = captureDiag();
    const collector = await new OtlpReceiver().start(0);
    await collector.stop();
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false, timeoutMillis: 300, retryTimeoutMillis: 0 }));
    await knownWorkload(costspan.tracer);
    await costspan.forceFlush({ timeoutMillis: 2000 });
    const stats = await costspan.shutdown({ timeoutMillis: 2000 });
    expect(stats.metrics.exported).toBe(0);
    expect(stats.metrics.failed).toBeGreaterThan(0);
    expect(logs.messages.filter((message) => message.includes('cost metrics could not be exported'))).toHaveLength(1);
  });
});

describe('which metrics the setup makes', () => {
  it('OTEL_METRICS_EXPORTER=none, or metrics: false: no MeterProvider and no metric request', async () => {
    const collector = await receiver();
    vi.stubEnv('OTEL_METRICS_EXPORTER', 'none');
    const fromEnvironment = track(registerCostspan({ endpoint: collector.url, flushOnExit: false }));
    const fromOption = track(registerCostspan({ endpoint: collector.url, flushOnExit: false, metrics: false }));
    vi.stubEnv('OTEL_METRICS_EXPORTER', 'otlp');
    const fromOptionOverEnvironment = track(registerCostspan({ endpoint: collector.url, flushOnExit: false, metrics: { exporters: [] } }));
    for (const costspan of [fromEnvironment, fromOption, fromOptionOverEnvironment]) {
      expect(costspan.meterProvider).toBeUndefined();
      await knownWorkload(costspan.tracer);
      await costspan.shutdown();
    }
    expect(collector.logs.length).toBeGreaterThan(0);
    expect(collector.requests.some((request) => request.path === '/v1/metrics')).toBe(false);
  });

  it('your own MeterProvider: used as is, none made, flushed with the setup and not shut down', async () => {
    const collector = await receiver();
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const yours = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 600_000 })] });
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false, meterProvider: yours }));
    expect(costspan.meterProvider).toBe(yours);
    await knownWorkload(costspan.tracer);
    await costspan.shutdown();

    const names = exporter
      .getMetrics()
      .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics.map((metric) => metric.descriptor.name)));
    expect(names).toContain(COST_METRICS.OPERATION_COST);
    expect(collector.requests.some((request) => request.path === '/v1/metrics')).toBe(false);
    // Still yours to use: a later collection works.
    await expect(yours.forceFlush()).resolves.toBeUndefined();
    await yours.shutdown();
  });

  it('OTEL_EXPORTER_OTLP_METRICS_HEADERS apply to the metric exports only', async () => {
    const collector = await receiver();
    vi.stubEnv('OTEL_EXPORTER_OTLP_METRICS_HEADERS', 'x-metrics-key=m1');
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false, headers: { 'x-all': 'yes' } }));
    await knownWorkload(costspan.tracer);
    await costspan.shutdown();
    const metricRequests = collector.requests.filter((request) => request.path === '/v1/metrics');
    expect(metricRequests.length).toBeGreaterThan(0);
    for (const request of metricRequests) expect(request.headers).toMatchObject({ 'x-metrics-key': 'm1', 'x-all': 'yes' });
    for (const request of collector.requests.filter((request) => request.path !== '/v1/metrics')) {
      expect(request.headers['x-metrics-key']).toBeUndefined();
      expect(request.headers['x-all']).toBe('yes');
    }
  });

  it('a MeterProvider given as costs.meterProvider counts as yours too', async () => {
    const collector = await receiver();
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const yours = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 600_000 })] });
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false, costs: { meterProvider: yours } }));
    expect(costspan.meterProvider).toBe(yours);
    await knownWorkload(costspan.tracer);
    await costspan.shutdown();
    expect(exporter.getMetrics().length).toBeGreaterThan(0);
    expect(collector.requests.some((request) => request.path === '/v1/metrics')).toBe(false);
    await yours.shutdown();
  });

  it('an unknown OTEL_METRICS_EXPORTER value is told once and skipped; otlp beside it still exports', async () => {
    const logs = captureDiag();
    const collector = await receiver();
    vi.stubEnv('OTEL_METRICS_EXPORTER', 'otlp,statsd');
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false }));
    await knownWorkload(costspan.tracer);
    await costspan.shutdown();
    expect(logs.messages.filter((message) => message.includes('"statsd"'))).toHaveLength(1);
    expect(collector.metrics.some((metric) => metric.name === COST_METRICS.OPERATION_COST)).toBe(true);
  });

  it('OTEL_METRICS_EXPORTER=prometheus with OTEL_EXPORTER_PROMETHEUS_HOST/PORT: a scrape endpoint serving the cost counter', async () => {
    const collector = await receiver();
    const port = await freePort();
    vi.stubEnv('OTEL_METRICS_EXPORTER', 'prometheus,otlp');
    vi.stubEnv('OTEL_EXPORTER_PROMETHEUS_HOST', '127.0.0.1');
    vi.stubEnv('OTEL_EXPORTER_PROMETHEUS_PORT', String(port));
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false }));
    await knownWorkload(costspan.tracer);
    await costspan.forceFlush();

    const total = Number(eventsTotalPico(collector.logs)) / 1e12;
    const text = await eventually(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
      return response?.ok === true ? response.text() : undefined;
    });
    const samples = text.split('\n').filter((line) => line.startsWith('llm_cost_usd_total{'));
    expect(samples.length).toBeGreaterThan(0);
    expect(sumOf(samples.map((line) => Number(line.slice(line.lastIndexOf(' ') + 1))))).toBeCloseTo(total, 12);
    expect(text).toContain('gen_ai_client_operation_cost_bucket{');
    // otlp beside it: the same figures pushed.
    expect(collector.metrics.some((metric) => metric.name === COST_METRICS.COST_USD)).toBe(true);
    await costspan.shutdown();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('a Prometheus port already in use: told once, and the rest of the setup carries on', async () => {
    const logs = captureDiag();
    const collector = await receiver();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const costspan = track(
        registerCostspan({
          endpoint: collector.url,
          flushOnExit: false,
          metrics: { exporters: ['prometheus'], prometheus: { host: '127.0.0.1', port } },
        }),
      );
      await eventually(() => (logs.messages.some((message) => message.includes('could not listen')) ? true : undefined));
      await knownWorkload(costspan.tracer);
      const stats = await costspan.shutdown();
      expect(logs.messages.filter((message) => message.includes(`could not listen on 127.0.0.1:${port}`))).toHaveLength(1);
      expect(stats.events).toMatchObject({ failed: 0, pending: 0 });
      expect(collector.logs.length).toBe(stats.events.queued);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
