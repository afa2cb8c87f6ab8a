import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSdkEvents } from './__fixtures__/sdk-events.js';
import type { ReportJson } from './report-format.js';
import { runCli } from './__fixtures__/run-cli.js';

const KEY = 'cli-test-key-never-printed-7f3a';
const packageDirectory = fileURLToPath(new URL('..', import.meta.url));
const bin = join(packageDirectory, 'dist', 'bin.js');
let directory: string;
let eventsPath: string;
let signedPath: string;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-cli-'));
  eventsPath = join(directory, 'events.jsonl');
  signedPath = join(directory, 'signed.jsonl');
  await writeSdkEvents(eventsPath, { billingRuns: 2 });
  await writeSdkEvents(signedPath, { signingKey: KEY });
  // The spawned tests run the built bin: build it (incremental, quick when up to date).
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', packageDirectory], { stdio: 'pipe' });
}, 120_000);

afterAll(() => rmSync(directory, { recursive: true, force: true }));

const run = runCli;

// Spawned node processes take seconds on a loaded 2-core machine: a generous bound, not a timing assertion.
describe('costspan (built bin, spawned)', { timeout: 30_000 }, () => {
  it('report --format json on a real file; run on a missing run exits 1, a missing file exits 2', () => {
    const report = spawnSync(process.execPath, [bin, 'report', eventsPath, '--format', 'json'], { encoding: 'utf8' });
    expect(report.status).toBe(0);
    expect((JSON.parse(report.stdout) as ReportJson).totals.cost_usd).toBe('0.02265');
    const missingRun = spawnSync(process.execPath, [bin, 'run', 'no-such-run', eventsPath], { encoding: 'utf8' });
    expect(missingRun.status).toBe(1);
    expect(missingRun.stderr).toContain('run "no-such-run" not found');
    const missingFile = spawnSync(process.execPath, [bin, 'run', 'run-support-1', join(directory, 'nope.jsonl')], { encoding: 'utf8' });
    expect(missingFile.status).toBe(2);
    expect(missingFile.stderr).toMatch(/cannot read .*nope.jsonl: no such file/);
  });

  it('reads standard input through a pipe, gzip included', () => {
    const result = spawnSync(process.execPath, [bin, 'run', 'run-support-1', '-'], {
      input: gzipSync(readFileSync(eventsPath)),
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('support-agent [run run-support-1]');
    expect(result.stdout).toContain('$0.01865');
  });
});

describe('main()', () => {
  it('--help for every command', async () => {
    for (const command of ['report', 'run', 'verify']) {
      const result = await run([command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: costspan ${command}`);
    }
    expect((await run(['--help'])).stdout).toContain('costspan report [files...|-]');
    expect((await run(['frobnicate'])).code).toBe(2);
    const badFlag = await run(['report', '--colour', eventsPath]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/Unknown option '--colour'.*costspan report --help/);
  });

  it('bad lines are summarised on stderr and do not stop the report; --strict exits 1', async () => {
    const path = join(directory, 'mixed.jsonl');
    writeFileSync(
      path,
      `${readFileSync(eventsPath, 'utf8')}not json\n{"event_type":"llm.cost.other"}\n{"__proto__":{"x":1}}\n{"truncated":`,
    );
    const lenient = await run(['report', path, '--format', 'json']);
    expect(lenient.code).toBe(0);
    expect((JSON.parse(lenient.stdout) as ReportJson).totals.cost_usd).toBe('0.02265');
    expect(lenient.stderr).toMatch(/skipped 4 of \d+ lines: 1 malformed JSON, 1 unterminated last line, 2 unknown event type/);
    const strict = await run(['report', path, '--strict', '--format', 'csv']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('total,total,0.02265');
  });

  it('report: several files and stdin, --since/--until, --group-by, --top, markdown', async () => {
    const result = await run(['report', eventsPath, '-', '--group-by', 'agent,user', '--top', '1', '--format', 'markdown'], {
      stdin: readFileSync(eventsPath),
    });
    expect(result.code).toBe(0);
    // The file read twice: each event_id counts once, the second copies are told as duplicates.
    expect(result.stdout).toContain('Total cost: $0.02265');
    expect(result.stdout).toContain('| researcher | $0.01125 |');
    expect(result.stderr).toMatch(/\d+ duplicate events were counted once/);
    expect(result.stdout).toContain('| (3 more) |');
    expect(result.stdout).not.toContain('By model');
    const empty = await run(['report', eventsPath, '--since', '2000-01-01', '--until', '2000-01-02', '--format', 'json']);
    expect((JSON.parse(empty.stdout) as ReportJson).totals.cost_usd).toBe('0');
    expect((await run(['report', eventsPath, '--format', 'yaml'])).code).toBe(2);
  });

  it('run --format json', async () => {
    const result = await run(['run', 'run-research-1', eventsPath, '--format', 'json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      run_id: 'run-research-1',
      ancestors: ['support-agent'],
      tree: { inclusive_cost_usd: '0.01125', inclusive_calls: 3 },
    });
  });

  it('verify: a signed file passes with the key from COSTSPAN_SIGNING_KEY or --key-env; the key never shows', async () => {
    const fromDefault = await run(['verify', signedPath], { env: { COSTSPAN_SIGNING_KEY: KEY } });
    expect(fromDefault.code).toBe(0);
    expect(fromDefault.stdout).toMatch(/\(18 signed in 1 chain, 0 unsigned\), 0 invalid\nOK\n$/);
    const named = await run(['verify', signedPath, '--key-env', 'AUDIT_KEY', '--format', 'json'], { env: { AUDIT_KEY: KEY } });
    expect(JSON.parse(named.stdout)).toMatchObject({ ok: true, signatures_checked: true, signed: 18 });
    const unset = await run(['verify', signedPath, '--key-env', 'AUDIT_KEY']);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('environment variable AUDIT_KEY is not set');
    const noKey = await run(['verify', signedPath]);
    expect(noKey.code).toBe(0);
    expect(noKey.stdout).toContain('signatures NOT checked');

    const lines = readFileSync(signedPath, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
    const tamperedPath = join(directory, 'tampered.jsonl');
    writeFileSync(
      tamperedPath,
      `${[lines[0], lines[1], (lines[2] as string).replace(/"input_tokens":\d+/, '"input_tokens":1'), ...lines.slice(3)].join('\n')}\n`,
    );
    const wrongKey = await run(['verify', tamperedPath], { env: { COSTSPAN_SIGNING_KEY: 'wrong-key' } });
    const tampered = await run(['verify', tamperedPath], { env: { COSTSPAN_SIGNING_KEY: KEY } });
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/FIRST PROBLEM: .*tampered.jsonl:3 event \w+: tampered: payload does not match its checksum/);
    for (const output of [fromDefault, named, unset, noKey, wrongKey, tampered]) {
      expect(output.stdout + output.stderr).not.toContain(KEY);
    }
    expect(wrongKey.stdout).toContain('right key');
  });

  it('verify: invalid lines fail verification', async () => {
    const path = join(directory, 'invalid.jsonl');
    writeFileSync(path, `${readFileSync(signedPath, 'utf8')}{"schema_version":"2.0"}\n`);
    const result = await run(['verify', path], { env: { COSTSPAN_SIGNING_KEY: KEY } });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('1 invalid');
  });
});
