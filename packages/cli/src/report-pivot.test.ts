import { describe, expect, it } from 'vitest';
import { formatPico } from '@costspan/core';
import { tokenEvent } from './__fixtures__/token-events.js';
import { reportToJson } from './report-format.js';
import { ReportAggregator } from './report.js';

describe('pivot', () => {
  it('crosses two dimensions exactly; row and column totals are the breakdowns; tags count once per row total', () => {
    const aggregator = new ReportAggregator({ dimensions: ['user', 'tag'], pivot: ['user', 'tag'] });
    aggregator.add(tokenEvent({ input: 0.5, output: 0, user: 'alice', tags: { env: 'prod', feature: 'chat' } }));
    aggregator.add(tokenEvent({ input: 0.25, output: 0, user: 'alice', tags: { env: 'dev' } }));
    aggregator.add(tokenEvent({ input: 0.125, output: 0, user: 'bob', tags: { env: 'prod' } }));
    const report = aggregator.result();
    const pivot = report.pivot;
    expect(pivot?.rowKeys).toEqual(['alice', 'bob']);
    expect(pivot?.columnKeys).toEqual(['env=prod', 'feature=chat', 'env=dev']);
    expect(pivot?.cells.map((cell) => `${cell.rowKey}/${cell.columnKey}=${cell.row.cost}`)).toEqual([
      'alice/env=prod=500000000000',
      'alice/feature=chat=500000000000',
      'alice/env=dev=250000000000',
      'bob/env=prod=125000000000',
    ]);
    expect(pivot?.rowTotals.map((row) => row.cost)).toEqual([750_000_000_000n, 125_000_000_000n]);
    const json = reportToJson(report, { inputs: ['x'] });
    expect(json.pivot).toMatchObject({ rows: 'user', columns: 'tag', row_keys: ['alice', 'bob'] });
    expect(json.pivot?.cells[0]).toMatchObject({ row: 'alice', column: 'env=prod', cost_usd: '0.5', calls: 1 });
    expect(json.pivot?.row_totals.map((row) => row.cost_usd)).toEqual(['0.75', '0.125']);
  });

  it('--top pools the keys beyond N on each axis into one (N more) key, totals unchanged', () => {
    const aggregator = new ReportAggregator({ dimensions: ['model', 'user'], pivot: ['model', 'user'] });
    for (const [model, user, amount] of [
      ['a', 'u1', 4],
      ['b', 'u2', 2],
      ['c', 'u1', 1],
      ['c', 'u3', 0.5],
    ] as const)
      aggregator.add(tokenEvent({ input: amount, output: 0, model, user }));
    const pivot = aggregator.result({ top: 1 }).pivot;
    expect(pivot?.rowKeys).toEqual(['a', '(2 more)']);
    expect(pivot?.columnKeys).toEqual(['u1', '(2 more)']);
    expect(pivot?.cells.map((cell) => `${cell.rowKey}/${cell.columnKey}=${formatPico(cell.row.cost)}`)).toEqual([
      'a/u1=4',
      '(2 more)/u1=1',
      '(2 more)/(2 more)=2.5',
    ]);
    expect(pivot?.cells.reduce((sum, cell) => sum + cell.row.cost, 0n)).toBe(7_500_000_000_000n);
  });
});
