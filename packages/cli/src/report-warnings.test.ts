import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { createDefaultPriceSource } from '@costspan/pricing';
import { CostSpanProcessor, JsonlEventExporter, createCostTracer, parseCostEvent, type CostEvent } from '@costspan/sdk';
import { main } from './main.js';
import { renderHtmlReport } from './html-report.js';
import { formatReport, reportToJson } from './report-format.js';
import { ReportAggregator, type Report } from './report.js';

let counter = 0;
function nextId(): string {
  counter += 1;
  return `01HW4Z3RXVP8Q2M6T9KB${String(counter).padStart(6, '0')}`;
}

function tokenEvent(model: string, input: number, unpriced = false): CostEvent {
  return parseCostEvent(
    JSON.stringify({
      actor_id: 'alice',
      event_id: nextId(),
      event_type: 'llm.cost.token.recorded',
      payload: {
        agent_name: 'support',
        agent_run_id: 'run-1',
        cost: { input_cost_usd: input, output_cost_usd: 0, total_cost_usd: input },
        model: { name: model, system: 'openai' },
        ...(unpriced ? { pricing_status: 'unpriced' } : {}),
        token_usage: { input_tokens: 100, output_tokens: 50, total_tokens: 150 },
      },
      schema_version: '2.0',
      source: 'test@1.0.0',
      timestamp: '2026-03-04T14:32:11.042817Z',
    }),
  );
}

function sessionEvent(extra: Record<string, unknown>): CostEvent {
  return parseCostEvent(
    JSON.stringify({
      actor_id: 'alice',
      event_id: nextId(),
      event_type: 'llm.cost.session.recorded',
      payload: {
        agent_name: 'support',
        agent_run_id: 'run-1',
        call_count: 6,
        total_cost: { input_cost_usd: 0.003, output_cost_usd: 0, total_cost_usd: 0.003 },
        total_token_usage: { input_tokens: 500, output_tokens: 250, total_tokens: 750 },
        ...extra,
      },
      schema_version: '2.0',
      source: 'test@1.0.0',
      timestamp: '2026-03-04T14:32:12.000000Z',
    }),
  );
}

const REFUSAL = {
  agent_run_id: 'run-2',
  step: 'answer',
  limit_type: 'user_daily',
  scope: 'user:alice',
  window: '2026-03-04',
  unit: 'usd',
  limit: 0.01,
  current: 0.008,
  attempted: 0.004,
};

function incompleteReport(): Report {
  const aggregator = new ReportAggregator({ dimensions: ['model', 'agent', 'user', 'day'] });
  aggregator.add(tokenEvent('gpt-4o', 0.003));
  aggregator.add(tokenEvent('my-finetune', 0, true));
  aggregator.add(tokenEvent('my-finetune', 0, true));
  aggregator.add(tokenEvent('other-finetune', 0, true));
  aggregator.add(sessionEvent({ unpriced_call_count: 3, usage_missing_call_count: 2, unpriced_models: ['my-finetune', 'other-finetune'] }));
  aggregator.add(
    sessionEvent({
      agent_run_id: 'run-2',
      call_count: 0,
      total_cost: { input_cost_usd: 0, output_cost_usd: 0, total_cost_usd: 0 },
      total_token_usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
      budget_refusals: [REFUSAL, { ...REFUSAL, step: 'retry', current: 0.008, attempted: 0.004 }],
    }),
  );
  return aggregator.result();
}

describe('report warnings: unpriced calls, calls without usage, budget refusals', () => {
  it('are collected with counts, models and the refusing limit', () => {
    const report = incompleteReport();
    expect(report.warnings).toEqual({
      unpricedCalls: 3,
      unpricedModels: [
        { model: 'my-finetune', calls: 2 },
        { model: 'other-finetune', calls: 1 },
      ],
      usageMissingCalls: 2,
      callsWithoutTokenEvent: 0,
      totalMismatchEvents: 0,
      budgetRefusals: 2,
      refusalsByLimit: [
        {
          limitType: 'user_daily',
          scope: 'user:alice',
          window: '2026-03-04',
          unit: 'usd',
          limit: 0.01,
          count: 2,
          example: { agentRunId: 'run-2', step: 'answer', current: 0.008, attempted: 0.004 },
        },
      ],
      truncatedInputs: [],
    });
    // Calls without usage count as calls (as the session event's call_count does): 4 token events + 2.
    expect(report.totals.totals.callCount).toBe(6);
    expect(report.totals.budgetRefusals).toBe(2);
  });

  it('table: a WARNING per cause, and unpriced rows are marked, not a plain $0.00', () => {
    const text = formatReport(incompleteReport(), 'table', { inputs: ['events.jsonl'] }, { width: 1000 });
    expect(text).toContain('WARNING: 3 calls could not be priced and are counted at $0: my-finetune (2 calls), other-finetune (1 call).');
    expect(text).toContain('WARNING: 2 calls reported no usage');
    expect(text).toContain('include_usage');
    expect(text).toContain(
      'WARNING: 2 budget refusals: user_daily limit $0.01 for user:alice (2026-03-04) refused 2 steps, e.g. step answer of run run-2: $0.008 spent, $0.004 attempted.',
    );
    expect(text).toMatch(/Calls: 6 calls in 2 runs; 3 unpriced \(counted at \$0\); 2 without usage; 2 refused by a budget/);
    const finetuneRow = text.split('\n').find((line) => line.includes('my-finetune') && !line.startsWith('WARNING'));
    expect(finetuneRow).toMatch(/\$0(\.00)? ! 2 unpriced/);
    expect(finetuneRow).not.toMatch(/\$0\.00 *│? *$/);
    for (const line of text.split('\n')) if (/^\W*my-finetune\W/.test(line)) expect(line).toContain('unpriced');
  });

  it('markdown: the same warnings as quoted lines, and marked rows', () => {
    const text = formatReport(incompleteReport(), 'markdown', { inputs: ['events.jsonl'] });
    expect(text).toContain('> **Warning:** 3 calls could not be priced');
    expect(text).toContain('> **Warning:** 2 budget refusals: user_daily limit $0.01');
    expect(text).toMatch(/\| my-finetune \| \$0(\.00)? ! 2 unpriced \|/);
  });

  it('json and csv carry them as fields', () => {
    const report = incompleteReport();
    const json = reportToJson(report, { inputs: ['events.jsonl'] });
    expect(json.warnings).toMatchObject({
      unpriced_calls: 3,
      unpriced_models: [
        { model: 'my-finetune', calls: 2 },
        { model: 'other-finetune', calls: 1 },
      ],
      usage_missing_calls: 2,
      budget_refusals: 2,
      budget_refusals_by_limit: [
        {
          limit_type: 'user_daily',
          scope: 'user:alice',
          limit: 0.01,
          unit: 'usd',
          count: 2,
          example: { agent_run_id: 'run-2', step: 'answer' },
        },
      ],
    });
    expect(json.warnings.messages).toHaveLength(3);
    expect(json.totals).toMatchObject({ calls: 6, unpriced_calls: 3, usage_missing_calls: 2, budget_refusals: 2 });
    expect(json.breakdowns.model?.find((row) => row.key === 'my-finetune')).toMatchObject({ unpriced_calls: 2, cost_usd: '0' });
    const csv = formatReport(report, 'csv', { inputs: ['events.jsonl'] }).split('\n');
    const header = (csv[0] ?? '').split(',');
    const total = (csv[1] ?? '').split(',');
    expect(header.slice(18, 20)).toEqual(['usage_missing_calls', 'budget_refusals']);
    expect(total[header.indexOf('unpriced_calls')]).toBe('3');
    expect(total[header.indexOf('usage_missing_calls')]).toBe('2');
    expect(total[header.indexOf('budget_refusals')]).toBe('2');
  });

  it('html: a warning banner naming the models and the limit, and marked rows', () => {
    const html = renderHtmlReport(incompleteReport(), { inputs: ['events.jsonl'] });
    const banner = /<div class="warnings" role="alert" id="warnings">(.*?)<\/div>/s.exec(html)?.[1] ?? '';
    expect(banner).toContain('3 calls could not be priced');
    expect(banner).toContain('my-finetune (2 calls)');
    expect(banner).toContain('2 calls reported no usage');
    expect(banner).toContain('user_daily limit $0.01 for user:alice');
    expect(html).toMatch(
      /<tr class="incomplete"><td>my-finetune<\/td><td class="n"[^>]*>\$0(\.00)? <span class="mark"[^>]*>&#9888; 2 unpriced<\/span><\/td>/,
    );
    expect(html).toContain('Unpriced calls (at $0)<b>3</b>');
  });

  it('session events counting calls whose token events are not in the input warn, never a silent $0.00', () => {
    const aggregator = new ReportAggregator({ dimensions: ['agent'] });
    aggregator.add(sessionEvent({}));
    aggregator.add(tokenEvent('gpt-4o', 0.001));
    const report = aggregator.result();
    expect(report.warnings.callsWithoutTokenEvent).toBe(5);
    const text = formatReport(report, 'table', { inputs: ['x'] }, { width: 1000 });
    expect(text).toContain("WARNING: The runs' session events count 5 more calls than this input has token events for");
    expect(reportToJson(report, { inputs: ['x'] }).warnings.calls_without_token_event).toBe(5);
    const complete = new ReportAggregator({ dimensions: ['agent'] });
    complete.add(sessionEvent({ call_count: 1 }));
    complete.add(tokenEvent('gpt-4o', 0.001));
    expect(complete.result().warnings.callsWithoutTokenEvent).toBe(0);
  });

  it('a run whose unpriced token events are not in the input names its models, never "0 calls could not be priced"', () => {
    const aggregator = new ReportAggregator({ dimensions: ['model', 'agent'] });
    aggregator.add(sessionEvent({ unpriced_call_count: 1, unpriced_models: ['mystery-model'] }));
    const report = aggregator.result();
    const text = formatReport(report, 'table', { inputs: ['x'] }, { width: 1000 });
    expect(text).not.toMatch(/\b0 calls could not be priced/);
    expect(text).toContain('WARNING: Runs here had calls that could not be priced, whose token events are not in this input');
    expect(text).toContain('mystery-model.');
    const html = renderHtmlReport(report, { inputs: ['x'] });
    expect(html).not.toMatch(/\b0 calls? could not be priced/);
    expect(html).toContain('Runs here had calls that could not be priced');
    expect(html).toContain('<li><code>mystery-model</code></li>');
  });

  it('a complete report has no warnings in any format', () => {
    const aggregator = new ReportAggregator({ dimensions: ['model', 'day', 'agent'] });
    aggregator.add(tokenEvent('gpt-4o', 0.003));
    aggregator.add(sessionEvent({ call_count: 1 }));
    const report = aggregator.result();
    expect(formatReport(report, 'table', { inputs: ['x'] })).not.toMatch(/WARNING|unpriced|!/);
    expect(formatReport(report, 'markdown', { inputs: ['x'] })).not.toContain('Warning');
    expect(renderHtmlReport(report, { inputs: ['x'] })).not.toContain('class="warnings"');
    expect(reportToJson(report, { inputs: ['x'] }).warnings).toMatchObject({
      unpriced_calls: 0,
      usage_missing_calls: 0,
      budget_refusals: 0,
      messages: [],
    });
  });
});

describe('report warnings from events the real SDK wrote', () => {
  it('an unknown model and a call without usage: warned, counted, exact total', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'costspan-warnings-'));
    try {
      const path = join(directory, 'events.jsonl');
      const processor = new CostSpanProcessor({
        source: 'app@1.0.0',
        exporters: [new JsonlEventExporter({ path })],
        priceSource: createDefaultPriceSource(),
      });
      const provider = new BasicTracerProvider({ spanProcessors: [processor] });
      const tracer = createCostTracer({ tracerProvider: provider });
      tracer.agentRun('partial', { principal: { userId: 'alice' } }, (run) => {
        run.step('priced', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1000, output: 500 }));
        run.step('unknown', (step) => step.setModel('my-finetune', 'acme').setTokenUsage({ input: 10, output: 10 }));
        run.step('no-usage', (step) => step.span.setAttribute('llm.cost.usage.missing', true));
      });
      await provider.shutdown();
      const stdout = new PassThrough();
      const out: Buffer[] = [];
      stdout.on('data', (chunk: Buffer) => out.push(chunk));
      const code = await main(['report', path, '--format', 'json'], {
        stdout,
        stderr: new PassThrough(),
        stdin: Readable.from([]),
        env: {},
      });
      expect(code).toBe(0);
      const json = JSON.parse(Buffer.concat(out).toString('utf8')) as ReturnType<typeof reportToJson>;
      expect(json.totals).toMatchObject({ cost_usd: '0.0075', calls: 3, unpriced_calls: 1, usage_missing_calls: 1 });
      expect(json.warnings).toMatchObject({
        unpriced_calls: 1,
        unpriced_models: [{ model: 'my-finetune', calls: 1 }],
        usage_missing_calls: 1,
        budget_refusals: 0,
      });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
