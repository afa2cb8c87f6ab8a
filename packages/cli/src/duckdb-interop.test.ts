import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSdkEvents } from './__fixtures__/sdk-events.js';
import { main } from './main.js';
import type { ReportJson } from './report-format.js';

let directory: string;
let eventsPath: string;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-duckdb-'));
  eventsPath = join(directory, 'events.jsonl');
  await writeSdkEvents(eventsPath, { billingRuns: 5, pricedRuns: 40 });
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** The query shown in the package README. */
export const DUCKDB_QUERY = `
SELECT payload.model.name                                         AS model,
       sum(CAST(payload.cost.total_cost_usd AS DECIMAL(38, 12)))  AS cost_usd,
       count(*)                                                   AS calls,
       sum(payload.token_usage.output_tokens)                     AS output_tokens
FROM read_json('events.jsonl', format = 'newline_delimited')
WHERE event_type = 'llm.cost.token.recorded'
GROUP BY ALL
ORDER BY cost_usd DESC, model`;

function trimDecimal(value: string): string {
  return value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
}

describe('DuckDB reads the SDK JSONL to the same totals', () => {
  it('per model and in total, to the pico-dollar', async () => {
    const stdout = new PassThrough();
    const chunks: Buffer[] = [];
    stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const code = await main(['report', eventsPath, '--format', 'json', '--group-by', 'model'], {
      stdout,
      stderr: new PassThrough(),
      stdin: Readable.from([]),
      env: {},
    });
    expect(code).toBe(0);
    const report = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReportJson;

    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(DUCKDB_QUERY.replace("'events.jsonl'", `'${eventsPath.replace(/'/g, "''")}'`));
      const rows = reader.getRowObjectsJson() as Array<{ model: string; cost_usd: string; calls: string; output_tokens: string }>;
      expect(rows.length).toBeGreaterThanOrEqual(4);
      expect(report.breakdowns.model?.map((row) => [row.key, row.cost_usd, row.calls, row.output_tokens])).toEqual(
        rows.map((row) => [row.model, trimDecimal(row.cost_usd), Number(row.calls), Number(row.output_tokens)]),
      );
      const total = await connection.runAndReadAll(
        `SELECT sum(CAST(payload.cost.total_cost_usd AS DECIMAL(38, 12)))::VARCHAR AS cost FROM read_json('${eventsPath}', format = 'newline_delimited') WHERE event_type = 'llm.cost.token.recorded'`,
      );
      expect(trimDecimal(total.getRowObjectsJson()[0]?.cost as string)).toBe(report.totals.cost_usd);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
