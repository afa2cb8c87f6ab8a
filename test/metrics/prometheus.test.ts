import { createServer, type Server } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetGuard, BudgetMetrics } from '@costspan/budget';
import { picoToUsd, usdToPico } from '@costspan/core';
import { CostSpanProcessor, InMemoryEventExporter, createCostTracer, setNoticeHandler } from '@costspan/sdk';
import { PrometheusServer, type PromSample } from './prometheus-server.js';

// A known workload through a CostSpanProcessor whose MeterProvider is read by exporter-prometheus;
// a real Prometheus scrapes it; PromQL through its HTTP API must equal the cost events' totals.
const prometheus = new PrometheusServer();
let endpoint: Server | undefined;
let meterProvider: MeterProvider | undefined;
const events = new InMemoryEventExporter();
let guard: BudgetGuard | undefined;
let budgetMetrics: BudgetMetrics | undefined;

async function runWorkload(): Promise<void> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  meterProvider = new MeterProvider({ readers: [exporter] });
  const server = createServer((request, response) => exporter.getMetricsRequestHandler(request, response));
  endpoint = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  guard = new BudgetGuard({ limits: { global: { daily: { usd: 10 } }, user: { daily: { usd: 0.5 } } }, circuitBreaker: false });
  budgetMetrics = new BudgetMetrics({ guard, meterProvider, targets: [{ userId: 'alice' }, { userId: 'bob' }] });
  const processor = new CostSpanProcessor({ source: 'prometheus-test@1.0.0', exporters: [events], meterProvider });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = createCostTracer({ tracerProvider, budget: guard });
  const workload: [agent: string, user: string, model: string, input: number, output: number, calls: number][] = [
    ['support', 'alice', 'gpt-4o', 500, 200, 3],
    ['support', 'bob', 'gpt-4o-mini', 1200, 300, 4],
    ['triage', 'alice', 'gpt-4o-mini', 800, 100, 2],
    ['triage', 'carol', 'gpt-4.1', 2000, 400, 2],
  ];
  for (const [agent, userId, model, input, output, calls] of workload) {
    tracer.agentRun(agent, { principal: { userId, teamId: 'search' } }, (run) => {
      for (let index = 0; index < calls; index += 1) {
        run.step('answer', (step) => step.setModel(model, 'openai').setTokenUsage({ input, output }));
      }
    });
  }
  tracer.agentRun('support', { principal: { userId: 'bob' } }, (run) => {
    run.step('custom', (step) => step.setModel('my-finetune', 'acme').setTokenUsage({ input: 10, output: 10 }));
  });
  await tracerProvider.forceFlush();
  await guard.flush();
  await guard.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.05 }); // held: shows as reserved
  await prometheus.start(`127.0.0.1:${port}`);
}

/** Per-model cost of the token events, exact in pico-USD. */
function eventCostByModel(): Map<string, bigint> {
  const byModel = new Map<string, bigint>();
  for (const event of events.getEvents('llm.cost.token.recorded')) {
    const model = event.payload.model.name;
    byModel.set(model, (byModel.get(model) ?? 0n) + usdToPico(event.payload.cost.total_cost_usd));
  }
  return byModel;
}

function byLabel(samples: PromSample[], label: string): Record<string, number> {
  return Object.fromEntries(samples.map((sample) => [sample.metric[label] ?? '', sample.value]));
}

beforeAll(async () => {
  setNoticeHandler(() => undefined); // the unpriced model is expected
  await runWorkload();
}, 60_000);

afterAll(async () => {
  setNoticeHandler(undefined);
  budgetMetrics?.close();
  await prometheus.stop();
  await meterProvider?.shutdown();
  await new Promise((resolve) => (endpoint === undefined ? resolve(undefined) : endpoint.close(resolve)));
  await guard?.shutdown();
});

describe('cost metrics scraped by a real Prometheus', () => {
  it('sum by model of llm_cost_usd_total equals the token events, per model and in total', async () => {
    const expected = eventCostByModel();
    const pricedModels = [...expected].filter(([, pico]) => pico > 0n).map(([model]) => model);
    expect(pricedModels.sort()).toEqual(['gpt-4.1', 'gpt-4o', 'gpt-4o-mini']);
    const samples = await prometheus.waitFor(
      'sum by (gen_ai_request_model) (llm_cost_usd_total)',
      (found) => found.length === pricedModels.length,
    );
    const perModel = byLabel(samples, 'gen_ai_request_model');
    for (const model of pricedModels) {
      // A double per series, summed by PromQL: equal to the exact figure to double precision.
      expect(perModel[model]).toBeCloseTo(picoToUsd(expected.get(model) ?? 0n), 12);
    }
    const total = [...expected.values()].reduce((sum, pico) => sum + pico, 0n);
    const [sum] = await prometheus.query('sum(llm_cost_usd_total)');
    expect(sum?.value).toBeCloseTo(picoToUsd(total), 12);
    // The session events say the same total.
    const sessions = events.getEvents('llm.cost.session.recorded');
    const sessionTotal = sessions.reduce((acc, event) => acc + usdToPico(event.payload.total_cost.total_cost_usd), 0n);
    expect(sessionTotal).toBe(total);
  });

  it('the per-call histogram counts the priced calls and sums their cost; unpriced calls are counted apart', async () => {
    const [count] = await prometheus.waitFor('sum(gen_ai_client_operation_cost_count)', (found) => found[0]?.value === 11);
    expect(count?.value).toBe(11);
    const histogram = byLabel(
      await prometheus.query('sum by (gen_ai_request_model) (gen_ai_client_operation_cost_sum)'),
      'gen_ai_request_model',
    );
    for (const [model, pico] of eventCostByModel()) {
      if (pico > 0n) expect(histogram[model]).toBeCloseTo(picoToUsd(pico), 12);
    }
    const unpriced = await prometheus.query('llm_cost_calls_unpriced_total');
    expect(unpriced.map((sample) => [sample.metric.gen_ai_request_model, sample.value])).toEqual([['my-finetune', 1]]);
    const input = byLabel(
      await prometheus.query('sum by (gen_ai_request_model) (gen_ai_client_inference_usage_input_tokens_total)'),
      'gen_ai_request_model',
    );
    expect(input).toEqual({ 'gpt-4o': 1500, 'gpt-4o-mini': 6400, 'gpt-4.1': 4000, 'my-finetune': 10 });
  });

  it('by user, with the principal bounded; budget gauges show remaining = limit - spent - reserved', async () => {
    const byUser = byLabel(
      await prometheus.query('sum by (llm_cost_principal_user_id) (llm_cost_usd_total)'),
      'llm_cost_principal_user_id',
    );
    expect(Object.keys(byUser).sort()).toEqual(['alice', 'bob', 'carol']);
    const gauges = async (name: string) =>
      Object.fromEntries(
        (await prometheus.query(name)).map((sample) => [
          `${sample.metric.llm_cost_budget_scope} ${sample.metric.llm_cost_budget_unit}`,
          sample.value,
        ]),
      );
    await prometheus.waitFor('llm_cost_budget_remaining', (found) => found.length >= 3);
    const [limit, spent, reserved, remaining] = await Promise.all(
      ['llm_cost_budget_limit', 'llm_cost_budget_spent', 'llm_cost_budget_reserved', 'llm_cost_budget_remaining'].map(gauges),
    );
    expect(Object.keys(limit ?? {}).sort()).toEqual(['global usd', 'user:alice usd', 'user:bob usd']);
    for (const [key, value] of Object.entries(limit ?? {})) {
      expect(remaining?.[key]).toBeCloseTo(value - (spent?.[key] ?? NaN) - (reserved?.[key] ?? NaN), 12);
    }
    expect(reserved?.['user:alice usd']).toBe(0.05);
    expect(spent?.['user:alice usd']).toBeCloseTo(byUser.alice ?? NaN, 12);
  });
});
