import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPico, parseUsd } from '@costspan/core';
import { serializeEvent } from '@costspan/sdk';
import { tokenEvent } from './__fixtures__/token-events.js';
import { EventScanner } from './read-events.js';
import type { ReportJson } from './report-json.js';
import { runCli, type CliRun } from './__fixtures__/run-cli.js';

const EVENTS = 3000;
const WARNING = /is cut short \(its gzip stream ends early\): the events after the cut are missing/;
let directory: string;
let plainPath: string;
let cutPath: string;
let cutBytes: Buffer;
/** The complete lines zlib decompresses from the cut bytes, and whether the cut fell inside a line. */
let survivors: string[];
let tornLine: boolean;

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-truncated-'));
  const lines = Array.from({ length: EVENTS }, (_, index) =>
    serializeEvent(
      tokenEvent({
        input: (index + 1) / 1e6,
        output: 0.000002,
        user: `user-${index % 7}`,
        agent: `agent-${index % 3}`,
        run: `run-${index}`,
      }),
    ),
  );
  const text = `${lines.join('\n')}\n`;
  plainPath = join(directory, 'intact.jsonl');
  writeFileSync(plainPath, text);
  const compressed = gzipSync(text);
  // A collector killed mid-write: 60% of the compressed bytes.
  cutBytes = compressed.subarray(0, Math.floor(compressed.length * 0.6));
  cutPath = join(directory, 'events.jsonl.gz');
  writeFileSync(cutPath, cutBytes);
  const prefix = gunzipSync(cutBytes, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
  const complete = prefix.slice(0, prefix.lastIndexOf('\n') + 1);
  survivors = complete.split('\n').filter((line) => line !== '');
  tornLine = complete.length < prefix.length;
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

const run = (argv: string[], stdin?: Buffer): Promise<CliRun> => runCli(argv, stdin === undefined ? {} : { stdin });

async function reportJson(inputs: string[], stdin?: Buffer): Promise<{ code: number; json: ReportJson; stderr: string }> {
  const result = await run(['report', ...inputs, '--format', 'json', '--no-progress'], stdin);
  return { code: result.code, json: JSON.parse(result.stdout) as ReportJson, stderr: result.stderr };
}

/** The cost of lines as the report sums it (pico-dollars, exact). */
function costOf(lines: readonly string[]): string {
  let pico = 0n;
  for (const line of lines) {
    const cost = (JSON.parse(line) as { payload: { cost: { input_cost_usd: number; output_cost_usd: number } } }).payload.cost;
    pico += (parseUsd(String(cost.input_cost_usd)) ?? 0n) + (parseUsd(String(cost.output_cost_usd)) ?? 0n);
  }
  return formatPico(pico);
}

describe('a gzip input cut short (a writer killed mid-write)', () => {
  it('the cut falls mid-stream, inside a line', () => {
    expect(survivors.length).toBeGreaterThan(EVENTS * 0.3);
    expect(survivors.length).toBeLessThan(EVENTS);
    expect(tornLine).toBe(true);
  });

  it('reports every line before the cut, skips the torn line as unterminated, warns once naming the file; exit 0', async () => {
    const { code, json, stderr } = await reportJson([cutPath]);
    expect(code).toBe(0);
    expect(json.totals.cost_usd).toBe(costOf(survivors));
    expect(json.totals.calls).toBe(survivors.length);
    expect(json.skipped).toEqual({ total: 1, by_reason: expect.objectContaining({ unterminated: 1, malformed: 0 }) as unknown });
    expect(json.warnings.truncated_inputs).toEqual([cutPath]);
    const messages = json.warnings.messages.filter((message) => WARNING.test(message));
    expect(messages).toEqual([
      `${cutPath} is cut short (its gzip stream ends early): the events after the cut are missing from these totals.`,
    ]);
    expect(stderr).toContain('cut off where the gzip stream ends early');
    // The same figures as the lines before the cut written plainly.
    const prefixPath = join(directory, 'prefix.jsonl');
    writeFileSync(prefixPath, `${survivors.join('\n')}\n`);
    expect((await reportJson([prefixPath])).json.totals).toEqual(json.totals);
  });

  it('wherever the cut falls, the scan reads what zlib decompresses before it, line for line', async () => {
    const compressed = gzipSync(readFileSync(plainPath));
    for (const fraction of [0.02, 0.15, 0.33, 0.5, 0.71, 0.9, 0.999]) {
      const bytes = compressed.subarray(0, Math.floor(compressed.length * fraction));
      const prefix = gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
      const path = join(directory, `cut-${fraction}.jsonl.gz`);
      writeFileSync(path, bytes);
      const scanner = new EventScanner();
      let events = 0;
      await scanner.scanRecords([path], () => (events += 1));
      expect(events).toBe(prefix.split('\n').length - 1);
      expect(scanner.stats.skippedByReason.unterminated).toBe(prefix.endsWith('\n') || prefix === '' ? 0 : 1);
      expect(scanner.stats.truncatedInputs).toEqual([path]);
    }
  });

  it('--strict exits 1, still printing the report', async () => {
    const result = await run(['report', cutPath, '--format', 'json', '--no-progress', '--strict']);
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as ReportJson).totals.cost_usd).toBe(costOf(survivors));
  });

  it('--format csv: the warning on stderr once, in the words of the table; stdout pure CSV; --strict exits 1', async () => {
    const table = await run(['report', cutPath, '--no-progress']);
    const tableWarnings = table.stdout
      .replace(/\n {2}/g, ' ')
      .split('\n')
      .filter((line) => line.startsWith('WARNING: '));
    for (const strict of [false, true]) {
      const result = await run(['report', cutPath, '--format', 'csv', '--no-progress', ...(strict ? ['--strict'] : [])]);
      expect(result.code).toBe(strict ? 1 : 0);
      expect(result.stdout.split('\n')[0]).toMatch(/^dimension,key,cost_usd,/);
      expect(result.stdout).not.toMatch(WARNING);
      const warnings = result.stderr.split('\n').filter((line) => line.startsWith('costspan: WARNING: '));
      expect(warnings.filter((line) => WARNING.test(line))).toHaveLength(1);
      expect(warnings.map((line) => line.replace(/^costspan: /, ''))).toEqual(tableWarnings);
    }
  });

  it('a fleet of an intact plain JSONL and a cut gzip: both are reported', async () => {
    const { code, json } = await reportJson([plainPath, cutPath]);
    expect(code).toBe(0);
    // Every event of the cut file is also in the intact one: counted once, so the totals are the intact file's.
    expect(json.totals.cost_usd).toBe(costOf(readFileSync(plainPath, 'utf8').trim().split('\n')));
    expect(json.warnings.truncated_inputs).toEqual([cutPath]);
    const otherPath = join(directory, 'other.jsonl');
    const other = [serializeEvent(tokenEvent({ input: 1, output: 2, run: 'run-other' }))];
    writeFileSync(otherPath, `${other.join('\n')}\n`);
    const fleet = await reportJson([otherPath, cutPath]);
    expect(fleet.code).toBe(0);
    expect(fleet.json.totals.cost_usd).toBe(costOf([...other, ...survivors]));
    expect(fleet.json.totals.calls).toBe(1 + survivors.length);
  });

  it('standard input cut short: the same figures, warned about as standard input', async () => {
    const { code, json } = await reportJson(['-'], cutBytes);
    expect(code).toBe(0);
    expect(json.totals.cost_usd).toBe(costOf(survivors));
    expect(json.warnings.truncated_inputs).toEqual(['-']);
    expect(json.warnings.messages.filter((message) => WARNING.test(message))).toEqual([
      'standard input is cut short (its gzip stream ends early): the events after the cut are missing from these totals.',
    ]);
    expect((await run(['report', '-', '--format', 'json', '--no-progress', '--strict'], cutBytes)).code).toBe(1);
  });

  it('the table, Markdown and HTML formats warn once, naming the input, never quoting its contents', async () => {
    for (const format of ['table', 'markdown']) {
      const { code, stdout } = await run(['report', cutPath, '--format', format, '--no-progress']);
      expect(code).toBe(0);
      expect(stdout.replace(/\s+/g, ' ').match(/cut short/g)).toHaveLength(1);
      expect(stdout.replace(/\s+/g, ' ')).toMatch(WARNING);
      expect(stdout).not.toContain('01HW4Z3RXVP8Q2M6T9KC');
    }
    // Standard input is spooled to disk for the page: still named standard input, not the spool file.
    const page = join(directory, 'report.html');
    const { code } = await run(['report', '-', '--format', 'json', '--no-progress', '--html', page], cutBytes);
    expect(code).toBe(0);
    const html = readFileSync(page, 'utf8');
    expect(html.match(/is cut short/g)).toHaveLength(1);
    expect(html).toContain('standard input is cut short (its gzip stream ends early)');
  });

  it('a cut in the trailer (every line decompressed): nothing skipped, still warned; --strict exits 1', async () => {
    const compressed = readFileSync(plainPath);
    const gzipped = gzipSync(compressed);
    const path = join(directory, 'no-trailer.jsonl.gz');
    writeFileSync(path, gzipped.subarray(0, gzipped.length - 4));
    const { code, json } = await reportJson([path]);
    expect(code).toBe(0);
    expect(json.totals.calls).toBe(EVENTS);
    expect(json.skipped?.total).toBe(0);
    expect(json.warnings.truncated_inputs).toEqual([path]);
    expect((await run(['report', path, '--format', 'json', '--no-progress', '--strict'])).code).toBe(1);
  });

  it('the what-if report (--reprice) carries the same warnings in every format; --strict exits 1', async () => {
    const reprice = ['--reprice', 'gpt-4o=gpt-4o-mini', '--no-progress'];
    const report = (await reportJson([cutPath])).json;
    const json = await run(['report', cutPath, ...reprice, '--format', 'json']);
    expect(json.code).toBe(0);
    // The report's warnings object, field for field.
    expect((JSON.parse(json.stdout) as { warnings: unknown }).warnings).toEqual(report.warnings);
    for (const format of ['table', 'markdown']) {
      const { stdout } = await run(['report', cutPath, ...reprice, '--format', format]);
      expect(stdout.replace(/\s+/g, ' ').match(/cut short/g)).toHaveLength(1);
      expect(stdout.replace(/\s+/g, ' ')).toMatch(WARNING);
    }
    const text = await run(['report', cutPath, ...reprice]);
    const tableWarnings = text.stdout
      .replace(/\n {2}/g, ' ')
      .split('\n')
      .filter((line) => line.startsWith('WARNING: '));
    expect(tableWarnings.filter((line) => WARNING.test(line))).toHaveLength(1);
    for (const strict of [false, true]) {
      const csv = await run(['report', cutPath, ...reprice, '--format', 'csv', ...(strict ? ['--strict'] : [])]);
      expect(csv.code).toBe(strict ? 1 : 0);
      expect(csv.stdout.split('\n')[0]).toMatch(/^dimension,key,target,/);
      expect(csv.stdout).not.toMatch(WARNING);
      const warnings = csv.stderr.split('\n').filter((line) => line.startsWith('costspan: WARNING: '));
      expect(warnings.map((line) => line.replace(/^costspan: /, ''))).toEqual(tableWarnings);
    }
  });

  it('run <id> warns of the cut in JSON and text, naming standard input as such; --strict exits 1', async () => {
    const runId = (JSON.parse(survivors[0] as string) as { payload: { agent_run_id: string } }).payload.agent_run_id;
    const json = await run(['run', runId, cutPath, '--format', 'json', '--no-progress']);
    expect(json.code).toBe(0);
    const warnings = (JSON.parse(json.stdout) as { warnings: ReportJson['warnings'] }).warnings;
    expect(warnings).toMatchObject({ truncated_inputs: [cutPath], unpriced_calls: 0, total_mismatch_events: 0 });
    expect(warnings.messages).toEqual([
      `${cutPath} is cut short (its gzip stream ends early): the events after the cut are missing from these totals.`,
    ]);
    const text = await run(['run', runId, cutPath, '--no-progress']);
    expect(text.code).toBe(0);
    expect(text.stdout.replace(/\s+/g, ' ').match(/cut short/g)).toHaveLength(1);
    expect(text.stdout.replace(/\n {2}/g, ' ')).toContain(`WARNING: ${cutPath} is cut short`);
    expect((await run(['run', runId, cutPath, '--no-progress', '--strict'])).code).toBe(1);
    const piped = await run(['run', runId, '-', '--format', 'json', '--no-progress'], cutBytes);
    expect((JSON.parse(piped.stdout) as { warnings: ReportJson['warnings'] }).warnings.truncated_inputs).toEqual(['-']);
    expect((await run(['run', runId, '-', '--no-progress', '--strict'], cutBytes)).code).toBe(1);
    // An intact input: nothing to warn about.
    const intact = await run(['run', runId, plainPath, '--format', 'json', '--no-progress', '--strict']);
    expect(intact.code).toBe(0);
    expect((JSON.parse(intact.stdout) as { warnings: ReportJson['warnings'] }).warnings.messages).toEqual([]);
  });

  it('verify does not pass a chain checked only up to a cut', async () => {
    const result = await run(['verify', cutPath, '--no-progress']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`cut short: ${cutPath} (its gzip stream ends early)`);
  });

  it('corrupt gzip (bytes flipped in the header, a CRC mismatch) is still an input error, exit 2', async () => {
    const gzipped = gzipSync(readFileSync(plainPath));
    const badHeader = Buffer.from(gzipped);
    badHeader[2] = 0x07;
    badHeader[3] = 0xe0;
    const badCrc = Buffer.from(gzipped);
    badCrc.writeUInt8(badCrc.readUInt8(badCrc.length - 8) ^ 0xff, badCrc.length - 8);
    for (const [name, bytes] of [
      ['header.jsonl.gz', badHeader],
      ['crc.jsonl.gz', badCrc],
    ] as const) {
      const path = join(directory, name);
      writeFileSync(path, bytes);
      const result = await run(['report', plainPath, path, '--format', 'json', '--no-progress']);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`cannot read ${path}`);
      expect((await run(['report', '-', '--format', 'json', '--no-progress'], bytes)).code).toBe(2);
    }
  });
});
