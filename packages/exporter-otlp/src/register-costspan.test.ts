import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it, vi } from 'vitest';
import { CostSpanProcessor, createCostTracer, type CostTracer } from '@costspan/sdk';
import { captureDiag } from './__fixtures__/events.js';
import { OtlpReceiver } from './__fixtures__/otlp-receiver.js';
import { createCostspanOtlp, registerCostspan, type CostspanOtlp } from './register-costspan.js';
import { trackSetups } from './__fixtures__/setup-lifecycle.js';

const { receivers, setups } = trackSetups<OtlpReceiver, CostspanOtlp>({ resetNotices: false });

async function receiver(): Promise<OtlpReceiver> {
  const started = await new OtlpReceiver().start(0);
  receivers.push(started);
  return started;
}

function track<Setup extends CostspanOtlp>(setup: Setup): Setup {
  setups.push(setup);
  return setup;
}

/** An agent: a run with a principal and two model calls (one priced by the caller, one with usage only). */
async function agent(tracer: CostTracer, index: number): Promise<void> {
  await tracer.agentRun(`planner`, { principal: { userId: 'alice', teamId: 'search' }, sessionId: `conv-${index}` }, async (run) => {
    run.step('plan', (step) => {
      step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 });
      step.setCost({ inputUsd: 0.0015, outputUsd: 0.0006 });
    });
    await run.step('answer', async (step) => {
      step.setModel('claude-sonnet-4', 'anthropic').setTokenUsage({ input: 100, output: 50 });
      step.setCost({ inputUsd: 0.0003, outputUsd: 0.00075 });
    });
  });
}

function syncAgent(tracer: CostTracer, index: number): void {
  tracer.agentRun('burst', { runId: `run-${index}` }, (run) => {
    run.step('call', (step) => {
      step.setModel('gpt-4o-mini', 'openai').setTokenUsage({ input: 10, output: 5 });
      step.setCost({ inputUsd: 0.000001, outputUsd: 0.000002 });
    });
  });
}

describe('registerCostspan: spans and cost events to a collector', () => {
  it('spans carry the cost attributes; events are log records linked to those spans', async () => {
    const collector = await receiver();
    const costspan = track(registerCostspan({ serviceName: 'agent-e2e', endpoint: collector.url, flushOnExit: false }));
    await agent(costspan.tracer, 1);
    const stats = await costspan.shutdown();

    const names = collector.spans.map((span) => span.name).sort();
    expect(names).toEqual(['answer', 'invoke_agent planner', 'plan']);
    const run = collector.spans.find((span) => span.name === 'invoke_agent planner')!;
    expect(run.attributes['llm.cost.inclusive.total_usd']).toBe(0.00315);
    expect(run.attributes['gen_ai.agent.name']).toBe('planner');
    expect(run.resource['service.name']).toBe('agent-e2e');
    const plan = collector.spans.find((span) => span.name === 'plan')!;
    expect(plan.attributes['gen_ai.usage.cost.amount']).toBe(0.0021);

    const types = collector.logs.map((log) => log.eventName).sort();
    expect(types).toEqual([
      'llm.cost.attributed',
      'llm.cost.attributed',
      'llm.cost.session.recorded',
      'llm.cost.token.recorded',
      'llm.cost.token.recorded',
    ]);
    const token = collector.logs.find((log) => log.eventName === 'llm.cost.token.recorded' && log.spanId === plan.spanId)!;
    expect(token.traceId).toBe(plan.traceId);
    expect(token.attributes).toMatchObject({ actor_id: 'alice', team_id: 'search', source: 'agent-e2e@0.0.0' });
    const session = collector.logs.find((log) => log.eventName === 'llm.cost.session.recorded')!;
    expect(session.spanId).toBe(run.spanId);
    expect(session.attributes.session_id).toBe('conv-1');
    expect(session.body).toMatchObject({ call_count: 2, total_cost: { total_cost_usd: 0.00315 } });
    expect(session.resource['service.name']).toBe('agent-e2e');

    expect(stats.events).toMatchObject({ queued: 5, exported: 5, dropped: 0, failed: 0, pending: 0 });
    expect(stats.spans).toMatchObject({ exported: 3, failed: 0, dropped: 0, pending: 0 });
    expect(trace.getTracerProvider()).not.toBe(costspan.tracerProvider);
  });

  it('honours OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS, _PROTOCOL=http/json and OTEL_SERVICE_NAME', async () => {
    const collector = await receiver();
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', collector.url);
    vi.stubEnv('OTEL_EXPORTER_OTLP_HEADERS', 'x-api-key=secret,x-tenant=acme');
    vi.stubEnv('OTEL_EXPORTER_OTLP_PROTOCOL', 'http/json');
    vi.stubEnv('OTEL_SERVICE_NAME', 'from-env');
    const costspan = track(registerCostspan({ flushOnExit: false }));
    await agent(costspan.tracer, 2);
    await costspan.shutdown();

    expect(new Set(collector.requests.map((request) => `${request.path} ${request.contentType}`))).toEqual(
      new Set(['/v1/traces application/json', '/v1/logs application/json', '/v1/metrics application/json']),
    );
    for (const request of collector.requests) expect(request.headers).toMatchObject({ 'x-api-key': 'secret', 'x-tenant': 'acme' });
    expect(collector.spans[0]?.resource['service.name']).toBe('from-env');
    expect(collector.logs[0]?.resource['service.name']).toBe('from-env');
    expect(collector.logs).toHaveLength(5);
  });

  it('honours the signal-specific OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_ENDPOINT, and protobuf by default', async () => {
    const traces = await receiver();
    const logs = await receiver();
    const metrics = await receiver();
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', 'http://127.0.0.1:9');
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', `${traces.url}/v1/traces`);
    vi.stubEnv('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', `${logs.url}/v1/logs`);
    vi.stubEnv('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', `${metrics.url}/v1/metrics`);
    const costspan = track(registerCostspan({ flushOnExit: false }));
    await agent(costspan.tracer, 3);
    await costspan.shutdown();

    expect(traces.spans).toHaveLength(3);
    expect(traces.logs).toHaveLength(0);
    expect(logs.logs).toHaveLength(5);
    expect(logs.requests[0]?.contentType).toBe('application/x-protobuf');
    expect(metrics.requests.map((request) => `${request.path} ${request.contentType}`)).toEqual(['/v1/metrics application/x-protobuf']);
    expect([...traces.requests, ...logs.requests].some((request) => request.path === '/v1/metrics')).toBe(false);
  });

  it('createCostspanOtlp adds to a provider you own, beside your processors, and sets no global', async () => {
    const collector = await receiver();
    const yours = new InMemorySpanExporter();
    const costspan = track(createCostspanOtlp({ endpoint: collector.url, serviceName: 'owned', flushOnExit: false }));
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(yours), ...costspan.spanProcessors] });
    await agent(createCostTracer({ tracerProvider: provider }), 4);
    await costspan.forceFlush();

    expect(yours.getFinishedSpans()).toHaveLength(3);
    expect(collector.spans).toHaveLength(3);
    expect(collector.logs).toHaveLength(5);
    expect(trace.getTracerProvider()).not.toBe(provider);
    await provider.shutdown();
  });

  it('a burst of 10k agent runs: every span and every cost event arrives exactly once', async () => {
    const collector = await receiver();
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false, spanQueue: { maxQueueSize: 32_768 } }));
    for (let index = 0; index < 10_000; index += 1) syncAgent(costspan.tracer, index);
    const stats = await costspan.shutdown({ timeoutMillis: 30_000 });

    const ids = collector.eventIds();
    expect(ids).toHaveLength(20_000);
    expect(new Set(ids).size).toBe(20_000);
    expect(new Set(collector.spans.map((span) => span.spanId)).size).toBe(20_000);
    expect(collector.spans).toHaveLength(20_000);
    expect(stats.events).toMatchObject({ queued: 20_000, exported: 20_000, dropped: 0, failed: 0, pending: 0 });
    expect(stats.spans).toMatchObject({ exported: 20_000, dropped: 0, failed: 0 });
  }, 60_000);

  it('a span burst past the span queue: exported plus dropped is exactly what ended, and diag says so', async () => {
    const logs = captureDiag();
    const collector = await receiver();
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false, spanQueue: { maxQueueSize: 500 } }));
    for (let index = 0; index < 1000; index += 1) syncAgent(costspan.tracer, index);
    const stats = await costspan.shutdown();

    expect(stats.spans.dropped).toBeGreaterThan(0);
    expect(stats.spans.exported + stats.spans.dropped).toBe(2000);
    expect(collector.spans).toHaveLength(stats.spans.exported);
    expect(stats.events.exported).toBe(2000);
    expect(logs.text()).toContain(`dropped ${stats.spans.dropped} spans`);
  }, 30_000);

  it('collector down, then hung: agent code never throws and is not slowed; shutdown is bounded and counts the loss', async () => {
    const logs = captureDiag();
    const runs = 1000;
    const timeAgents = async (tracer: CostTracer, midway?: () => Promise<void>): Promise<number> => {
      const started = performance.now();
      for (let index = 0; index < runs; index += 1) {
        if (index === runs / 2) await midway?.();
        await agent(tracer, index);
        // The model call's I/O, as in a real agent: lets exports run between runs.
        await new Promise((resolve) => setImmediate(resolve));
      }
      return performance.now() - started;
    };

    // Baseline: the same agents, costs computed, nothing exported.
    const bare = new BasicTracerProvider({ spanProcessors: [new CostSpanProcessor()] });
    const bareMillis = await timeAgents(createCostTracer({ tracerProvider: bare }));
    await bare.shutdown();

    const up = await receiver();
    const healthy = track(registerCostspan({ endpoint: up.url, flushOnExit: false, timeoutMillis: 2000 }));
    const upMillis = await timeAgents(healthy.tracer);
    await healthy.shutdown();

    // Killed halfway through the run, with exports in flight.
    const killed = await receiver();
    const down = track(
      registerCostspan({
        endpoint: killed.url,
        flushOnExit: false,
        timeoutMillis: 2000,
        costs: { scheduledDelayMillis: 10 },
        spanQueue: { scheduledDelayMillis: 10 },
      }),
    );
    const downMillis = await timeAgents(down.tracer, () => killed.stop());
    expect(killed.logs.length).toBeGreaterThan(0);

    const hung = await receiver();
    hung.script = () => ({ status: 200, hang: true });
    const stuck = track(
      registerCostspan({
        endpoint: hung.url,
        flushOnExit: false,
        timeoutMillis: 2000,
        costs: { scheduledDelayMillis: 10 },
        spanQueue: { scheduledDelayMillis: 10 },
      }),
    );
    const hungMillis = await timeAgents(stuck.tracer);

    // Generous bound: the export I/O is off the agent's path. (With the collector up, its decoding runs in this
    // process too, so that figure is the slowest; the no-export baseline is the fair reference.)
    const bound = Math.max(bareMillis, upMillis) * 4 + 500;
    expect(downMillis).toBeLessThan(bound);
    expect(hungMillis).toBeLessThan(bound);
    console.info(
      `agent time for ${runs} runs: no export ${bareMillis.toFixed(0)} ms, collector up ${upMillis.toFixed(0)} ms, killed halfway ${downMillis.toFixed(0)} ms, hung ${hungMillis.toFixed(0)} ms`,
    );

    const shutdownStarted = performance.now();
    const [downStats, hungStats] = await Promise.all([down.shutdown({ timeoutMillis: 1000 }), stuck.shutdown({ timeoutMillis: 1000 })]);
    const shutdownMillis = performance.now() - shutdownStarted;
    expect(shutdownMillis).toBeLessThan(2500);
    for (const stats of [downStats, hungStats]) {
      expect(stats.events.queued).toBe(runs * 5);
      // Every event is delivered, counted as failed, or still pending (an attempt in flight when time ran out).
      expect(stats.events.exported + stats.events.failed + stats.events.pending).toBe(runs * 5);
    }
    expect(hungStats.events.exported).toBe(0);
    expect(downStats.events.exported).toBe(killed.logs.length);
    expect(logs.text()).toMatch(/shutdown timed out after 1000 ms/);
  }, 60_000);

  it('shutdown is idempotent and removes its exit hooks', async () => {
    const collector = await receiver();
    const before = process.listenerCount('beforeExit');
    const costspan = registerCostspan({ endpoint: collector.url });
    expect(process.listenerCount('beforeExit')).toBe(before + 1);
    const first = costspan.shutdown();
    expect(costspan.shutdown()).toBe(first);
    await first;
    expect(process.listenerCount('beforeExit')).toBe(before);
  });
});
