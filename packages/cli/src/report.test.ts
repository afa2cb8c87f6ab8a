import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPico, parseUsd } from '@costspan/core';
import { parseCostEvent, type CostEvent } from '@costspan/sdk';
import { readEventsFile, writeSdkEvents } from './__fixtures__/sdk-events.js';
import { formatReport, reportToJson } from './report-format.js';
import { parseDimensions, parseTimeBound } from './report-options.js';
import { ReportAggregator } from './report.js';

let directory: string;
let sdkEvents: CostEvent[];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-report-'));
  const path = join(directory, 'events.jsonl');
  await writeSdkEvents(path, { billingRuns: 2 });
  sdkEvents = readEventsFile(path);
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

let counter = 0;
function tokenEvent(options: {
  input: number;
  output: number;
  model?: string;
  timestamp?: string;
  user?: string;
  tags?: Record<string, string>;
  agent?: string;
}): CostEvent {
  counter += 1;
  const id = `01HW4Z3RXVP8Q2M6T9KB${String(counter).padStart(6, '0')}`;
  const total = formatPico((parseUsd(String(options.input)) ?? 0n) + (parseUsd(String(options.output)) ?? 0n));
  return parseCostEvent(
    JSON.stringify({
      ...(options.user === undefined ? {} : { actor_id: options.user }),
      event_id: id,
      event_type: 'llm.cost.token.recorded',
      payload: {
        agent_name: options.agent ?? 'agent',
        agent_run_id: 'run',
        cost: { input_cost_usd: options.input, output_cost_usd: options.output, total_cost_usd: Number(total) },
        model: { name: options.model ?? 'gpt-4o', system: 'openai' },
        scope: `${options.agent ?? 'agent'}/step`,
        token_usage: { input_tokens: 100, output_tokens: 50, total_tokens: 150 },
      },
      schema_version: '2.0',
      source: 'test@1.0.0',
      ...(options.tags === undefined ? {} : { tags: options.tags }),
      timestamp: options.timestamp ?? '2026-03-04T14:32:11.042817Z',
    }),
  );
}

describe('ReportAggregator', () => {
  it('sums money exactly: 0.005 + 0.003 + 0.010 = 0.018 and 0.0015 + 0.00375 = 0.00525', () => {
    const aggregator = new ReportAggregator();
    for (const amount of [0.005, 0.003, 0.01]) aggregator.add(tokenEvent({ input: amount, output: 0, model: 'a' }));
    aggregator.add(tokenEvent({ input: 0.0015, output: 0, model: 'b' }));
    aggregator.add(tokenEvent({ input: 0.00125, output: 0.0025, model: 'b' }));
    const json = reportToJson(aggregator.result(), { inputs: ['x'] });
    expect(json.breakdowns.model?.map((row) => [row.key, row.cost_usd])).toEqual([
      ['a', '0.018'],
      ['b', '0.00525'],
    ]);
    expect(json.totals.cost_usd).toBe('0.02325');
  });

  it('the SDK events: totals, sorted breakdowns by model, agent and principal, runs from session events', () => {
    const aggregator = new ReportAggregator();
    for (const event of sdkEvents) aggregator.add(event);
    const json = reportToJson(aggregator.result(), { inputs: ['events.jsonl'] });
    // support run 0.01865 + 2 billing runs of 0.002.
    expect(json.totals).toMatchObject({
      cost_usd: '0.02265',
      calls: 10,
      runs: 3,
      unpriced_calls: 1,
      output_tokens: 1505,
      total_tokens: 5215,
    });
    expect(json.totals.cost_per_1k_output_tokens_usd).toBe('0.015049833887');
    expect(json.totals.token_efficiency).toBe(0.2886);
    expect(json.breakdowns.model?.map((row) => `${row.key}=${row.cost_usd}`)).toEqual([
      'claude-sonnet-4=0.01125',
      'gpt-4o=0.0111',
      'gpt-4o-mini=0.0003',
      'mystery-model=0',
    ]);
    expect(json.breakdowns.agent?.map((row) => `${row.key}=${row.cost_usd}/${row.runs}`)).toEqual([
      'researcher=0.01125/0',
      'support-agent=0.0071/1',
      'billing-agent=0.004/2',
      'fact-checker=0.0003/0',
    ]);
    expect(json.breakdowns.user?.map((row) => `${row.key}=${row.cost_usd}`)).toEqual(['alice=0.01865', 'bob=0.004']);
    expect(json.breakdowns.team?.map((row) => row.key)).toEqual(['search', 'billing']);
    expect(json.breakdowns.tag?.map((row) => `${row.key}=${row.cost_usd}`)).toEqual(['env=prod=0.01865', '(none)=0.004']);
    expect(json.breakdowns.provider?.[0]?.key).toBe('openai');
  });

  it('--since/--until filter by event time; days are UTC dates; --top pools the rest', () => {
    const aggregator = new ReportAggregator({
      sinceMs: parseTimeBound('2026-03-02', '--since'),
      untilMs: parseTimeBound('2026-03-03', '--until'),
      dimensions: ['day', 'model'],
    });
    aggregator.add(tokenEvent({ input: 1, output: 0, timestamp: '2026-03-01T23:59:59.999999Z' }));
    aggregator.add(tokenEvent({ input: 0.1, output: 0, model: 'x', timestamp: '2026-03-02T00:00:00.000000Z' }));
    aggregator.add(tokenEvent({ input: 0.2, output: 0, model: 'y', timestamp: '2026-03-03T23:59:59.999999Z' }));
    aggregator.add(tokenEvent({ input: 0.05, output: 0, model: 'z', timestamp: '2026-03-03T12:00:00.000000Z' }));
    aggregator.add(tokenEvent({ input: 1, output: 0, timestamp: '2026-03-04T00:00:00.000000Z' }));
    const report = aggregator.result({ top: 1 });
    const json = reportToJson(report, { inputs: ['x'] });
    expect(json.totals.cost_usd).toBe('0.35');
    expect(json.events.outside_period).toBe(2);
    expect(json.breakdowns.model?.map((row) => `${row.key}=${row.cost_usd}`)).toEqual(['y=0.2', '(2 more)=0.15']);
    // Days keep the latest N, in date order.
    expect(json.breakdowns.day?.map((row) => `${row.key}=${row.cost_usd}`)).toEqual(['(1 more)=0.1', '2026-03-03=0.25']);
  });

  it('month to date and a linear projection, exact', () => {
    const aggregator = new ReportAggregator({ dimensions: ['day'] });
    aggregator.add(tokenEvent({ input: 1, output: 0, timestamp: '2026-02-27T10:00:00.000000Z' }));
    aggregator.add(tokenEvent({ input: 3, output: 0, timestamp: '2026-04-01T00:00:00.000000Z' }));
    aggregator.add(tokenEvent({ input: 3, output: 0, timestamp: '2026-04-05T00:00:00.000000Z' }));
    const month = aggregator.result({ asOfMs: Date.parse('2026-04-11T00:00:00Z') }).monthToDate;
    expect(month?.month).toBe('2026-04');
    expect(formatPico(month?.cost ?? -1n)).toBe('6');
    expect(month?.daysElapsed).toBe(10);
    // $6 in 10 of 30 days -> $18.
    expect(formatPico(month?.projected ?? -1n)).toBe('18');
  });

  it('a tag row per key=value; an event with two tags counts in both', () => {
    const aggregator = new ReportAggregator({ dimensions: ['tag'] });
    aggregator.add(tokenEvent({ input: 0.5, output: 0, tags: { env: 'prod', feature: 'chat' } }));
    aggregator.add(tokenEvent({ input: 0.25, output: 0, tags: { env: 'dev' } }));
    const json = reportToJson(aggregator.result(), { inputs: ['x'] });
    expect(json.breakdowns.tag?.map((row) => `${row.key}:${row.cost_usd}`)).toEqual(['env=prod:0.5', 'feature=chat:0.5', 'env=dev:0.25']);
  });

  it('caps distinct keys per dimension, pooling the rest as (other)', () => {
    const aggregator = new ReportAggregator({ dimensions: ['user'], maxGroupsPerDimension: 3 });
    for (let index = 0; index < 10; index += 1) aggregator.add(tokenEvent({ input: 0.001, output: 0, user: `user-${index}` }));
    const rows = reportToJson(aggregator.result(), { inputs: ['x'] }).breakdowns.user ?? [];
    expect(rows).toHaveLength(4);
    expect(rows.find((row) => row.key === '(other)')?.cost_usd).toBe('0.007');
  });

  it('property: every breakdown sums to the total, to the pico-dollar, in any event order', () => {
    const amount = fc.integer({ min: 0, max: 10_000_000 }).map((micros) => micros / 1_000_000);
    fc.assert(
      fc.property(
        fc.array(fc.record({ input: amount, output: amount, model: fc.constantFrom('a', 'b', 'c'), agent: fc.constantFrom('x', 'y') }), {
          maxLength: 40,
        }),
        (calls) => {
          const aggregator = new ReportAggregator({ dimensions: ['model', 'agent'] });
          let expected = 0n;
          for (const call of calls) {
            aggregator.add(tokenEvent(call));
            expected += (parseUsd(String(call.input)) ?? 0n) + (parseUsd(String(call.output)) ?? 0n);
          }
          const report = aggregator.result();
          expect(report.totals.cost).toBe(expected);
          for (const breakdown of report.breakdowns) expect(breakdown.rows.reduce((sum, row) => sum + row.cost, 0n)).toBe(expected);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('renders table, csv and markdown with exact amounts', () => {
    const aggregator = new ReportAggregator({ dimensions: ['model'] });
    aggregator.add(tokenEvent({ input: 0.0015, output: 0.00375, model: 'm,"quoted"' }));
    const report = aggregator.result();
    expect(formatReport(report, 'table', { inputs: ['f'] })).toContain('$0.00525');
    expect(formatReport(report, 'csv', { inputs: ['f'] }).split('\n')[2]).toMatch(/^model,"m,""quoted""",0.00525,/);
    expect(formatReport(report, 'markdown', { inputs: ['f'] })).toContain('| m,"quoted" | $0.00525 |');
  });

  it('--top 0 pools every row; the breakdown is shown as that row, not "no event has it"', () => {
    const aggregator = new ReportAggregator({ dimensions: ['model'] });
    aggregator.add(tokenEvent({ input: 0.0015, output: 0, model: 'a' }));
    aggregator.add(tokenEvent({ input: 0.001, output: 0, model: 'b' }));
    const report = aggregator.result({ top: 0 });
    for (const format of ['table', 'markdown'] as const) {
      const text = formatReport(report, format, { inputs: ['f'] });
      expect(text).not.toContain('Not shown');
      expect(text).toMatch(/\(2 more\) +[│|] +\$0\.0025/);
    }
  });
});

describe('flags', () => {
  it('parses --group-by, principal expanding to user,team,org,tag', () => {
    expect(parseDimensions('model, principal,day')).toEqual(['model', 'user', 'team', 'org', 'tag', 'day']);
    expect(() => parseDimensions('colour')).toThrow(/unknown dimension "colour"/);
  });

  it('parses time bounds: dates, months (until = end of period), ISO times', () => {
    expect(parseTimeBound('2026-03', '--until')).toBe(Date.UTC(2026, 3, 1));
    expect(parseTimeBound('2026-03-01T12:00:00Z', '--since')).toBe(Date.UTC(2026, 2, 1, 12));
    expect(() => parseTimeBound('yesterday', '--since')).toThrow(/--since must be/);
  });

  it('reads a time without an offset as UTC and refuses days that do not exist', () => {
    expect(parseTimeBound('2026-03-01T12:00:00', '--since')).toBe(Date.UTC(2026, 2, 1, 12));
    expect(parseTimeBound('2026-03-01T12:00', '--until')).toBe(Date.UTC(2026, 2, 1, 12));
    expect(parseTimeBound('2026-03-01T12:00:00+02:00', '--since')).toBe(Date.UTC(2026, 2, 1, 10));
    expect(parseTimeBound('2024-02-29', '--since')).toBe(Date.UTC(2024, 1, 29));
    for (const text of ['2026-02-30', '2026-02-29', '2026-04-31', '2026-02-30T00:00:00Z', '2026-00-10']) {
      expect(() => parseTimeBound(text, '--since')).toThrow(/--since must be/);
    }
  });
});
