import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CostEvent } from '@costspan/sdk';
import { writeSdkEvents } from './__fixtures__/sdk-events.js';
import { describeSkipped, EventScanner } from './read-events.js';

let directory: string;
let eventsPath: string;
let lines: string[];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-read-'));
  eventsPath = join(directory, 'events.jsonl');
  await writeSdkEvents(eventsPath);
  lines = readFileSync(eventsPath, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function scanAll(
  inputs: string[],
  options: ConstructorParameters<typeof EventScanner>[0] = {},
): Promise<{ scanner: EventScanner; events: CostEvent[] }> {
  const scanner = new EventScanner(options);
  const events: CostEvent[] = [];
  await scanner.scan(inputs, (event) => events.push(event));
  return { scanner, events };
}

describe('EventScanner', () => {
  it('reads every event the SDK wrote', async () => {
    const { scanner, events } = await scanAll([eventsPath]);
    expect(events).toHaveLength(lines.length);
    expect(scanner.stats.skipped).toBe(0);
    expect(scanner.stats.bytes).toBe(readFileSync(eventsPath).length);
  });

  it('skips and counts bad lines without stopping: malformed, unknown type, invalid, unterminated; reads __proto__/constructor keys as data', async () => {
    const good = lines[0] as string;
    const proto = good.replace('"payload":{', '"payload":{"__proto__":{"polluted":true},');
    const constructorKey = good.replace('"tags":{', '"tags":{"constructor":"x",');
    const path = join(directory, 'bad.jsonl');
    writeFileSync(
      path,
      [
        good,
        '{"event_id": oops',
        good.replace('llm.cost.token.recorded', 'llm.cost.budget.exceeded'),
        good.replace('"input_cost_usd":0.0015', '"input_cost_usd":-1'),
        proto,
        constructorKey,
        '',
        '   ',
        `${good}\r`,
        good.slice(0, 120),
      ].join('\n'),
    );
    // The same event id on every line: duplicates are kept here to see each line's own fate.
    const { scanner, events } = await scanAll([path], { deduplicate: false });
    expect(events).toHaveLength(4);
    expect(scanner.stats.skippedByReason).toEqual({ malformed: 1, oversized: 0, unterminated: 1, unknown_event_type: 1, invalid_event: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(events[1]?.payload)).toBe(Object.prototype);
    expect(Object.hasOwn(events[1]?.payload ?? {}, '__proto__')).toBe(true);
    expect(events[2]?.tags?.constructor).toBe('x');
    const summary = describeSkipped(scanner.stats) ?? '';
    expect(summary).toMatch(/^skipped 4 of 8 lines: 1 malformed JSON, 1 unterminated last line, 1 unknown event type, 1 invalid event/);
    expect(summary).toContain(`${path}:2: malformed JSON`);
  });

  it('quotes a damaged line in the summary with its control characters escaped, never sent to the terminal', async () => {
    const path = join(directory, 'escapes.jsonl');
    writeFileSync(path, 'x\u001b[2J\u0007\n{"event_type":"llm.cost.token.recorded\\u001b[31m"}\n');
    const { scanner } = await scanAll([path]);
    const summary = describeSkipped(scanner.stats) ?? '';
    expect([...summary].some((character) => character !== '\n' && (character.codePointAt(0) as number) < 0x20)).toBe(false);
    expect(summary).toContain('x\\u001b[2J\\u0007');
  });

  it('skips a 10 MB line as it streams by, and reads the lines after it', async () => {
    const path = join(directory, 'huge.jsonl');
    const huge = `{"event_id":"${'x'.repeat(10 * 1024 * 1024)}"}`;
    writeFileSync(path, `${lines[0]}\n${huge}\n${lines[1]}\n${huge}`);
    const { scanner, events } = await scanAll([path], { maxLineBytes: 64 * 1024 });
    expect(events.map((event) => event.event_id)).toEqual([
      JSON.parse(lines[0] as string).event_id,
      JSON.parse(lines[1] as string).event_id,
    ]);
    expect(scanner.stats.skippedByReason.oversized).toBe(2);
  });

  it('reads gzip by its magic bytes, whatever the name, from files and standard input, and several inputs in order', async () => {
    const compressed = gzipSync(readFileSync(eventsPath));
    const gz = join(directory, 'events.jsonl.gz');
    const disguised = join(directory, 'events-compressed.jsonl');
    writeFileSync(gz, compressed);
    writeFileSync(disguised, compressed);
    const stdin = Readable.from([compressed.subarray(0, 1), compressed.subarray(1)]);
    const { scanner, events } = await scanAll([gz, disguised, '-', eventsPath], { stdin, deduplicate: false });
    expect(events).toHaveLength(lines.length * 4);
    expect(scanner.stats.skipped).toBe(0);
    // By default each event id is handed on once: the three copies are duplicates.
    const again = await scanAll([gz, disguised, eventsPath]);
    expect(again.events).toHaveLength(lines.length);
    expect(again.scanner.stats.duplicates).toBe(lines.length * 2);
  });

  it('plain standard input, with a byte-order mark', async () => {
    const stdin = Readable.from([Buffer.from(`\uFEFF${lines.join('\n')}\n`)]);
    const { events } = await scanAll(['-'], { stdin });
    expect(events).toHaveLength(lines.length);
  });

  it('a missing file is an input error before anything is read', async () => {
    await expect(scanAll([eventsPath, join(directory, 'missing.jsonl')])).rejects.toMatchObject({ code: 'input_not_found' });
  });

  it('corrupt gzip (a bad header, a CRC mismatch) is an input error, not a crash', async () => {
    // Not a cut followed by junk: inflate may read junk as data and then find the stream cut short (see truncated-gzip.test.ts).
    const compressed = gzipSync(readFileSync(eventsPath));
    const badHeader = Buffer.from(compressed);
    badHeader[2] = 0x07; // a compression method other than deflate
    const badCrc = Buffer.from(compressed);
    badCrc.writeUInt8(badCrc.readUInt8(badCrc.length - 8) ^ 0xff, badCrc.length - 8);
    for (const [name, bytes, message] of [
      ['header.jsonl.gz', badHeader, /unknown compression method/],
      ['crc.jsonl.gz', badCrc, /incorrect data check/],
    ] as const) {
      const path = join(directory, name);
      writeFileSync(path, bytes);
      await expect(scanAll([path])).rejects.toMatchObject({ code: 'input_error', message: expect.stringMatching(message) });
    }
  });

  it('zstd (a collector file exporter with compression: zstd) is an input error that says what to do, from a file or standard input', async () => {
    // The zstd frame magic, then bytes: Node 20 has no zstd decoder to get further.
    const zstd = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x00, 0x01, 0x02]);
    const path = join(directory, 'collector.json');
    writeFileSync(path, zstd);
    await expect(scanAll([path])).rejects.toMatchObject({
      code: 'input_error',
      message: expect.stringMatching(/zstd-compressed.*zstd -dc/),
    });
    await expect(scanAll(['-'], { stdin: Readable.from([zstd.subarray(0, 2), zstd.subarray(2)]) })).rejects.toMatchObject({
      code: 'input_error',
      message: expect.stringContaining('standard input is zstd-compressed'),
    });
  });
});
