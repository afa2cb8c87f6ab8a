import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSdkEvents } from './__fixtures__/sdk-events.js';
import type { ReportJson } from './report-format.js';
import { runCli, type CliRun } from './__fixtures__/run-cli.js';

let directory: string;
let path: string;

// Tag keys an application may well use (or an attacker may try): JSON.parse makes them own data
// properties, so the CLI must read them like any other key, never skip the line or touch prototypes.
const ODD_TAGS = '"tags":{"__proto__":"p","constructor":"c","env":"prod","prototype":"q"}';

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-keys-'));
  const plain = join(directory, 'plain.jsonl');
  await writeSdkEvents(plain);
  const text = readFileSync(plain, 'utf8');
  expect(text).toContain('"tags":{"env":"prod"}');
  path = join(directory, 'odd-tags.jsonl');
  writeFileSync(path, text.replaceAll('"tags":{"env":"prod"}', ODD_TAGS));
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

const run = (argv: string[]): Promise<CliRun> => runCli(argv);

describe('tag keys __proto__, constructor and prototype', () => {
  it('report reads every such line: the cost is counted and each key is its own tag row', async () => {
    const result = await run(['report', path, '--format', 'json', '--group-by', 'tag,user', '--strict']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as ReportJson;
    expect(report.totals.cost_usd).toBe('0.02065');
    const tags = Object.fromEntries((report.breakdowns.tag ?? []).map((row) => [row.key, row.cost_usd]));
    expect(tags).toEqual({
      '__proto__=p': '0.01865',
      'constructor=c': '0.01865',
      'env=prod': '0.01865',
      'prototype=q': '0.01865',
      '(none)': '0.002',
    });
    expect(({} as Record<string, unknown>).p).toBeUndefined();
  });

  it('table, markdown and csv show the rows too', async () => {
    for (const format of ['table', 'markdown', 'csv']) {
      const result = await run(['report', path, '--format', format, '--group-by', 'tag']);
      expect(result.code).toBe(0);
      for (const key of ['__proto__=p', 'constructor=c', 'prototype=q']) expect(result.stdout).toContain(key);
    }
  });

  it('run and verify read them as well', async () => {
    const tree = await run(['run', 'run-support-1', path, '--format', 'json', '--strict']);
    expect(tree.code).toBe(0);
    expect(tree.stdout).toContain('0.01865');
    const verified = await run(['verify', path, '--format', 'json']);
    expect(verified.code).toBe(0);
    expect((JSON.parse(verified.stdout) as { invalid_lines: number }).invalid_lines).toBe(0);
  });
});
