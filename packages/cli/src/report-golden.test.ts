import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGoldenEvents } from './__fixtures__/golden-events.js';
import { main } from './main.js';
import { textWidth } from './text-table.js';

// Golden outputs of `report` and `run` on a fixed event file, read from standard input
// (so the header names `-`, not a temporary path), at 80 columns unless a test says otherwise.

let directory: string;
let path: string;

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-golden-'));
  path = join(directory, 'events.jsonl');
  writeGoldenEvents(path);
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await main(args, { stdout, stderr: new PassThrough(), stdin: createReadStream(path), env });
  expect(code).toBe(0);
  return Buffer.concat(chunks).toString('utf8');
}

const golden = (name: string): string => `./__fixtures__/golden/${name}`;

function expectFits(text: string, width: number): void {
  const long = text.split('\n').filter((line) => textWidth(line) > width);
  expect(long).toEqual([]);
}

describe('golden output at 80 columns', () => {
  it('report, table: every line fits; amounts rounded for reading; own plurals; spikes marked with their runs', async () => {
    const text = await cli(['report', '-', '--no-progress']);
    expectFits(text, 80);
    expect(text).toContain('Calls: 18 calls in 10 runs');
    expect(text).toContain('Total cost: $0.1496 (input $0.06088, output $0.0887)');
    expect(text).not.toMatch(/\$0\.\d{7,}/);
    expect(text).toMatch(/│ gpt-4o +│ +\$0\.1383 ▲ │/);
    expect(text).toContain('▲ 2026-03-09 model gpt-4o: $0.05833, 5.83× the median $0.01; runs:');
    expect(text).toMatch(/p95/);
    await expect(text).toMatchFileSnapshot(golden('report.table.txt'));
  });

  it('report --exact keeps every digit; a wider terminal shows more columns and still fits', async () => {
    const exact = await cli(['report', '-', '--exact', '--group-by', 'model']);
    expect(exact).toContain('$0.1495825');
    expectFits(exact, 80);
    const wide = await cli(['report', '-', '--group-by', 'model'], { COLUMNS: '160' });
    expectFits(wide, 160);
    expect(wide).toContain('$/1k out');
    expect(wide).toContain('claude-sonnet-4-20250514');
    expect(exact).not.toContain('$/1k out');
  });

  it('report, markdown, csv and json', async () => {
    await expect(await cli(['report', '-', '--format', 'markdown'])).toMatchFileSnapshot(golden('report.md'));
    const csv = await cli(['report', '-', '--format', 'csv']);
    expect(csv).toContain('model,gpt-4o,0.1383325,');
    await expect(csv).toMatchFileSnapshot(golden('report.csv'));
    const json = await cli(['report', '-', '--format', 'json']);
    expect(JSON.parse(json)).toMatchObject({ totals: { cost_usd: '0.1495825', latency_calls: 17 } });
    await expect(json).toMatchFileSnapshot(golden('report.json'));
  });

  it('report --group-by user,model: a pivot in table, csv and json, fitting 80 columns', async () => {
    const text = await cli(['report', '-', '--group-by', 'user,model']);
    expectFits(text, 80);
    expect(text).toContain('Cost by user × model');
    await expect(text).toMatchFileSnapshot(golden('pivot.table.txt'));
    const csv = await cli(['report', '-', '--group-by', 'user,model', '--format', 'csv']);
    expect(csv).toMatch(/^user\*model,alice,0\.0033325,.*,gpt-4o$/m);
    await expect(csv).toMatchFileSnapshot(golden('pivot.csv'));
    const json = JSON.parse(await cli(['report', '-', '--group-by', 'user,model', '--format', 'json'])) as {
      pivot: { cells: Array<{ row: string; column: string; cost_usd: string }> };
    };
    expect(json.pivot.cells.map((cell) => `${cell.row}/${cell.column}=${cell.cost_usd}`)).toEqual([
      'bob/gpt-4o=0.135',
      'alice/gpt-4o=0.0033325',
      'alice/claude-sonnet-4-20250514=0.01125',
      'alice/my-finetune-llama-3-70b-instruct-2026-02=0',
    ]);
  });

  it('run, text: every line fits; a root run shows its own cost (its steps), not $0.00', async () => {
    const text = await cli(['run', 'run-support-1', '-']);
    expectFits(text, 80);
    expect(text).toContain('(own $0.003333, $0.01125 in 1 nested run); 6 calls;');
    expect(text).not.toContain('own $0.00)');
    expect(text).toMatch(/│ support-agent \[run run-support-1\] +│ \$0\.003333 │/);
    await expect(text).toMatchFileSnapshot(golden('run.txt'));
    const exact = await cli(['run', 'run-support-1', '-', '--exact']);
    expect(exact).toContain('(own $0.0033325, $0.01125 in 1 nested run)');
  });

  it("run, json: own is the run's own work, exact", async () => {
    const json = await cli(['run', 'run-support-1', '-', '--format', 'json']);
    expect(JSON.parse(json)).toMatchObject({ tree: { own_cost_usd: '0.0033325', inclusive_cost_usd: '0.0145825', calls: 3 } });
    await expect(json).toMatchFileSnapshot(golden('run.json'));
  });
});
