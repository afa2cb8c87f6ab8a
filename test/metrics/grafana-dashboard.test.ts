import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { BUDGET_METRICS, BudgetGuard, BudgetMetrics } from '@costspan/budget';
import { COST_METRICS, CostSpanProcessor, createCostTracer, setNoticeHandler } from '@costspan/sdk';

// The dashboard in examples/grafana may only query what costspan emits, as exporter-prometheus
// really prints it: every metric and label name in its PromQL is checked against a scrape of a
// workload that makes every costspan metric.
const dashboardFile = fileURLToPath(new URL('../../examples/grafana/costspan-dashboard.json', import.meta.url));

/** What a scrape of costspan's metrics offers: series names (histograms with their suffixes) and label names. */
async function scrapeEverything(): Promise<{ series: Set<string>; labels: Set<string>; text: string }> {
  setNoticeHandler(() => undefined);
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const guard = new BudgetGuard({ limits: { global: { daily: { usd: 10 } } } });
  const budgetMetrics = new BudgetMetrics({ guard, meterProvider });
  const processor = new CostSpanProcessor({ source: 'dashboard-test@1.0.0', meterProvider, metrics: { tokenUsageHistogram: true } });
  const tracer = createCostTracer({ tracerProvider: new BasicTracerProvider({ spanProcessors: [processor] }), budget: guard });
  tracer.agentRun('support', { principal: { userId: 'alice', teamId: 'search', orgId: 'acme' } }, (run) => {
    run.step('answer', (step) =>
      step
        .setModel('claude-sonnet-4', 'anthropic')
        .setTokenUsage({ input: 1000, output: 300, cacheRead: 400, cacheWrite: 200, reasoning: 50 }),
    );
    run.step('mystery', (step) => step.setModel('zeta-llm', 'acme').setTokenUsage({ input: 1, output: 1 }));
    run.step('cut', (step) => step.setModel('gpt-4o', 'openai').span.setAttribute('llm.cost.usage.missing', true));
  });
  await guard.flush();
  const server = createServer((request, response) => exporter.getMetricsRequestHandler(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const series = new Set<string>();
    const labels = new Set<string>();
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type !== null) {
        const [, name = '', kind] = type;
        for (const suffix of kind === 'histogram' ? ['_bucket', '_sum', '_count'] : ['']) series.add(`${name}${suffix}`);
      } else if (!line.startsWith('#')) {
        for (const match of line.matchAll(/[{,]([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(match[1] ?? '');
      }
    }
    return { series, labels, text };
  } finally {
    setNoticeHandler(undefined);
    budgetMetrics.close();
    await new Promise((resolve) => server.close(resolve));
    await meterProvider.shutdown();
    await guard.shutdown();
  }
}

const PROMQL_WORDS = new Set(
  [
    'sum avg min max count topk bottomk by without on ignoring group_left group_right and or unless bool offset',
    'rate irate increase histogram_quantile vector clamp_min clamp_max abs',
  ]
    .join(' ')
    .split(' '),
);

/** Metric names and label names a PromQL expression uses. */
function namesIn(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = [];
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  // Label names inside grouping clauses and matchers; then drop those parts, and range selectors.
  rest = rest.replace(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g, (_, names: string) => {
    labels.push(...names.split(',').map((name) => name.trim()));
    return ' ';
  });
  rest = rest.replace(/\{([^}]*)\}/g, (_, matchers: string) => {
    for (const match of matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) labels.push(match[1] ?? '');
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' ');
  const metrics = [...rest.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((match) => match[0]).filter((word) => !PROMQL_WORDS.has(word));
  return { metrics, labels: labels.filter((name) => name !== '' && name !== 'le') };
}

interface Panel {
  title: string;
  targets?: { expr: string; legendFormat?: string }[];
}

describe('examples/grafana dashboard', () => {
  it('queries only metric and label names costspan emits, as exporter-prometheus prints them', async () => {
    const { series, labels, text } = await scrapeEverything();
    // Every name costspan exports is in the scrape, rendered by Prometheus's rules: '.' -> '_', '_total' on counters.
    const rendered = (name: string) => name.replaceAll('.', '_');
    for (const name of [COST_METRICS.OPERATION_COST, COST_METRICS.TOKEN_USAGE]) expect(series).toContain(`${rendered(name)}_bucket`);
    for (const name of [
      COST_METRICS.COST_USD,
      COST_METRICS.INPUT_TOKENS,
      COST_METRICS.OUTPUT_TOKENS,
      COST_METRICS.CACHE_READ_TOKENS,
      COST_METRICS.CACHE_WRITE_TOKENS,
      COST_METRICS.REASONING_TOKENS,
      COST_METRICS.UNPRICED_CALLS,
      COST_METRICS.USAGE_MISSING_CALLS,
    ]) {
      expect(series).toContain(`${rendered(name)}_total`);
    }
    for (const name of Object.values(BUDGET_METRICS)) expect(series).toContain(rendered(name));
    expect(text).toContain('llm_cost_principal_org_id="acme"');

    const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { panels: Panel[] };
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        const { metrics, labels: labelNames } = namesIn(target.expr);
        expect(metrics.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
        for (const metric of metrics) {
          expect(series, `${panel.title}: ${target.expr}`).toContain(metric);
          used.add(metric);
        }
        for (const label of labelNames) expect(labels, `${panel.title}: ${target.expr}`).toContain(label);
        for (const match of (target.legendFormat ?? '').matchAll(/\{\{\s*([a-zA-Z0-9_]+)\s*\}\}/g)) expect(labels).toContain(match[1]);
      }
    }
    // The panels the issue asks for: cost per model, agent and user, budget headroom, unpriced calls.
    expect([...used].sort()).toEqual(
      expect.arrayContaining(['llm_cost_usd_total', 'llm_cost_budget_remaining', 'llm_cost_budget_limit', 'llm_cost_calls_unpriced_total']),
    );
    const titles = dashboard.panels.map((panel) => panel.title.toLowerCase()).join(' | ');
    for (const word of ['per model', 'per agent', 'users', 'headroom', 'unpriced']) expect(titles).toContain(word);
  });

  it('the PromQL name check itself: a made-up metric or label is caught', () => {
    expect(namesIn('sum by (gen_ai_request_model) (rate(llm_cost_usd_total{llm_cost_principal_user_id!=""}[5m])) * 3600')).toEqual({
      metrics: ['llm_cost_usd_total'],
      labels: ['gen_ai_request_model', 'llm_cost_principal_user_id'],
    });
    expect(namesIn('histogram_quantile(0.95, sum by (le, model) (rate(costspan_cost_bucket[5m])))')).toEqual({
      metrics: ['costspan_cost_bucket'],
      labels: ['model'],
    });
  });
});
