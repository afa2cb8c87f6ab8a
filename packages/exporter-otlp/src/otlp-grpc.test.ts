import { status } from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
import { COST_METRICS, type CostTracer } from '@costspan/sdk';
import { captureDiag } from './__fixtures__/events.js';
import { OtlpGrpcReceiver } from './__fixtures__/otlp-grpc-receiver.js';
import { OtlpReceiver } from './__fixtures__/otlp-receiver.js';
import { isRetryableGrpcError } from './otlp-grpc-exporters.js';
import { registerCostspan, type RegisteredCostspan } from './register-costspan.js';
import { trackSetups } from './__fixtures__/setup-lifecycle.js';

const { receivers, setups } = trackSetups<{ stop(): Promise<void> }, RegisteredCostspan>();

async function grpcReceiver(): Promise<OtlpGrpcReceiver> {
  const started = await new OtlpGrpcReceiver().start();
  receivers.push(started);
  return started;
}

async function httpReceiver(): Promise<OtlpReceiver> {
  const started = await new OtlpReceiver().start(0);
  receivers.push(started);
  return started;
}

function track(setup: RegisteredCostspan): RegisteredCostspan {
  setups.push(setup);
  return setup;
}

/** `runs` runs of two priced calls each: 3 spans a run. */
async function workload(tracer: CostTracer, runs: number): Promise<void> {
  for (let index = 0; index < runs; index += 1) {
    await tracer.agentRun('planner', { principal: { userId: 'alice' }, sessionId: `conv-${index}` }, async (run) => {
      run.step('plan', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }));
      await run.step('answer', async (step) => step.setModel('gpt-4o-mini', 'openai').setTokenUsage({ input: 100, output: 50 }));
    });
  }
}

/** A data point recorded through the setup's own MeterProvider, so metrics travel whatever the cost processor records. */
function recordProbe(costspan: RegisteredCostspan, value: number): void {
  const meter = costspan.meterProvider?.getMeter('grpc-probe');
  meter?.createCounter('probe.calls').add(value, { 'probe.kind': 'grpc' });
}

describe('OTLP/gRPC', () => {
  it('OTEL_EXPORTER_OTLP_PROTOCOL=grpc sends spans, cost events and metrics to a gRPC collector, headers as metadata, no warning', async () => {
    const logs = captureDiag();
    const collector = await grpcReceiver();
    vi.stubEnv('OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc');
    vi.stubEnv('OTEL_EXPORTER_OTLP_HEADERS', 'x-api-key=secret');
    const costspan = track(registerCostspan({ endpoint: collector.url, serviceName: 'grpc-agent', flushOnExit: false }));
    await workload(costspan.tracer, 2);
    recordProbe(costspan, 3);
    const stats = await costspan.shutdown();

    expect(costspan.logExporter.protocol).toBe('grpc');
    expect(collector.spans).toHaveLength(6);
    expect(collector.spans[0]?.resource['service.name']).toBe('grpc-agent');
    expect(collector.logs.length).toBeGreaterThan(0);
    expect(collector.logs).toHaveLength(stats.events.queued);
    expect(new Set(collector.logs.map((log) => log.eventName))).toContain('llm.cost.token.recorded');
    const probe = collector.metrics.filter((metric) => metric.name === 'probe.calls');
    expect(probe.at(-1)?.dataPoints[0]?.value).toBe(3);
    expect(probe.at(-1)?.resource['service.name']).toBe('grpc-agent');
    // The cost processor's own metrics over the same channel: a histogram point per priced call (2 runs of 2).
    const cost = collector.metrics.filter((metric) => metric.name === COST_METRICS.OPERATION_COST).at(-1);
    expect(cost?.dataPoints.reduce((total, point) => total + (point.count ?? 0), 0)).toBe(4);
    expect(new Set(collector.calls.map((call) => call.signal))).toEqual(new Set(['trace', 'logs', 'metrics']));
    for (const call of collector.calls) expect(call.metadata).toMatchObject({ 'x-api-key': 'secret' });
    expect(stats.events).toMatchObject({ exported: stats.events.queued, failed: 0, pending: 0 });
    expect(stats.spans).toMatchObject({ exported: 6, failed: 0, pending: 0 });
    expect(stats.metrics.failed).toBe(0);
    expect(stats.metrics.exported).toBeGreaterThan(0);
    expect(logs.messages.filter((message) => message.includes('OTLP protocol'))).toEqual([]);
  });

  it('the per-signal variables: spans and metrics over gRPC, cost events over HTTP', async () => {
    const grpc = await grpcReceiver();
    const http = await httpReceiver();
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', http.url);
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'grpc');
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', grpc.url);
    vi.stubEnv('OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'grpc');
    vi.stubEnv('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', grpc.url);
    const costspan = track(registerCostspan({ flushOnExit: false }));
    await workload(costspan.tracer, 1);
    recordProbe(costspan, 1);
    const stats = await costspan.shutdown();

    expect(grpc.spans).toHaveLength(3);
    expect(grpc.logs).toHaveLength(0);
    expect(grpc.metrics.some((metric) => metric.name === 'probe.calls')).toBe(true);
    expect(http.spans).toHaveLength(0);
    expect(http.logs).toHaveLength(stats.events.queued);
    expect(http.requests.map((request) => request.path)).toEqual(expect.arrayContaining(['/v1/logs']));
    expect(http.requests.some((request) => request.path !== '/v1/logs')).toBe(false);
  });

  it('a collector answering UNAVAILABLE first, then OK: every span, cost event and metric delivered, the retries counted', async () => {
    const collector = await grpcReceiver();
    collector.script = ({ index }) => (index === 0 ? { code: status.UNAVAILABLE, details: 'collector starting' } : undefined);
    const costspan = track(registerCostspan({ endpoint: collector.url, protocol: 'grpc', flushOnExit: false }));
    await workload(costspan.tracer, 3);
    recordProbe(costspan, 5);
    const stats = await costspan.shutdown();

    // Each signal's first call was refused: a second call carried the same data.
    for (const signal of ['trace', 'logs', 'metrics'] as const) {
      const codes = collector.calls.filter((call) => call.signal === signal).map((call) => call.code);
      expect(codes[0]).toBe(status.UNAVAILABLE);
      expect(codes.slice(1).every((code) => code === (status.OK as number))).toBe(true);
      expect(codes.length).toBeGreaterThanOrEqual(2);
    }
    expect(collector.spans).toHaveLength(9);
    expect(new Set(collector.spans.map((span) => span.spanId)).size).toBe(9);
    expect(collector.logs).toHaveLength(stats.events.queued);
    expect(new Set(collector.eventIds()).size).toBe(stats.events.queued);
    expect(collector.metrics.filter((metric) => metric.name === 'probe.calls').at(-1)?.dataPoints[0]?.value).toBe(5);
    expect(stats.spans).toMatchObject({ exported: 9, failed: 0, pending: 0 });
    expect(stats.spans.retried).toBeGreaterThanOrEqual(1);
    expect(stats.events).toMatchObject({ exported: stats.events.queued, failed: 0, pending: 0 });
    expect(stats.events.retried).toBeGreaterThanOrEqual(1);
    expect(stats.metrics.failed).toBe(0);
    expect(stats.metrics.retried).toBeGreaterThanOrEqual(1);
  });

  it('a code that is not retryable (INVALID_ARGUMENT) is not retried: counted as failed at once', async () => {
    captureDiag();
    const collector = await grpcReceiver();
    collector.script = () => ({ code: status.INVALID_ARGUMENT, details: 'bad request' });
    const costspan = track(registerCostspan({ endpoint: collector.url, protocol: 'grpc', flushOnExit: false }));
    await workload(costspan.tracer, 1);
    recordProbe(costspan, 1);
    const stats = await costspan.shutdown();

    expect(collector.calls.filter((call) => call.signal === 'trace')).toHaveLength(1);
    expect(collector.calls.filter((call) => call.signal === 'logs')).toHaveLength(1);
    expect(stats.spans).toMatchObject({ exported: 0, failed: 3, retried: 0 });
    expect(stats.events).toMatchObject({ exported: 0, failed: stats.events.queued, retried: 0 });
    expect(stats.metrics.exported).toBe(0);
    expect(stats.metrics.failed).toBeGreaterThan(0);
    expect(stats.metrics.retried).toBe(0);
  });
});

describe('OTLP/gRPC: bounded shutdown', () => {
  for (const state of ['down', 'hung'] as const) {
    it(`with the gRPC collector ${state}, shutdown() resolves within its bound and counts what is unsent`, async () => {
      captureDiag();
      const collector = await grpcReceiver();
      if (state === 'down') await collector.stop();
      else collector.script = () => ({ hang: true });
      const shutdownTimeoutMillis = 1000;
      const costspan = track(registerCostspan({ endpoint: collector.url, protocol: 'grpc', flushOnExit: false, shutdownTimeoutMillis }));
      await workload(costspan.tracer, 2);
      recordProbe(costspan, 1);

      const started = performance.now();
      const stats = await costspan.shutdown();
      // Generous: twice the bound.
      expect(performance.now() - started).toBeLessThan(2 * shutdownTimeoutMillis);
      expect(stats.events.exported).toBe(0);
      expect(stats.events.failed + stats.events.pending).toBe(stats.events.queued);
      expect(stats.spans.exported).toBe(0);
      expect(stats.metrics.exported).toBe(0);
    });
  }
});

describe('OTLP protocol values', () => {
  it('an unsupported value: one warning for the whole setup (three signals read it), and http/protobuf is used', async () => {
    const logs = captureDiag();
    const collector = await httpReceiver();
    vi.stubEnv('OTEL_EXPORTER_OTLP_PROTOCOL', 'http/thrift');
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false }));
    await workload(costspan.tracer, 1);
    await costspan.shutdown();

    const warnings = logs.messages.filter((message) => message.includes('unsupported OTLP protocol'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"http/thrift" from OTEL_EXPORTER_OTLP_PROTOCOL');
    expect(costspan.logExporter.protocol).toBe('http/protobuf');
    expect(collector.spans).toHaveLength(3);
    expect(collector.requests.every((request) => request.contentType === 'application/x-protobuf')).toBe(true);
  });
});

describe('retryable gRPC codes', () => {
  it("the OTLP specification's list: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS; nothing else, and no HTTP status", () => {
    const withCode = (code: unknown): Error => Object.assign(new Error('export failed'), { code });
    const retryable = [
      status.CANCELLED,
      status.DEADLINE_EXCEEDED,
      status.ABORTED,
      status.OUT_OF_RANGE,
      status.UNAVAILABLE,
      status.DATA_LOSS,
    ];
    for (const code of retryable) expect(isRetryableGrpcError(withCode(code)), String(code)).toBe(true);
    const others = [
      status.OK,
      status.UNKNOWN,
      status.INVALID_ARGUMENT,
      status.NOT_FOUND,
      status.PERMISSION_DENIED,
      status.RESOURCE_EXHAUSTED,
    ];
    for (const code of [...others, status.UNIMPLEMENTED, status.INTERNAL, status.UNAUTHENTICATED, 503, 429, 'ECONNREFUSED'])
      expect(isRetryableGrpcError(withCode(code)), String(code)).toBe(false);
    expect(isRetryableGrpcError(undefined)).toBe(false);
  });
});
