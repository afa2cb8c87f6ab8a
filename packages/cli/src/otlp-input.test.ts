import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpLogEventExporter } from '@costspan/exporter-otlp';
import { serializeEvent, type CostEvent } from '@costspan/sdk';
import { CollectorFileReceiver } from './__fixtures__/collector-file.js';
import { readEventsFile, writeSdkEvents } from './__fixtures__/sdk-events.js';
import { EventIdSet } from './event-id-set.js';
import { main } from './main.js';
import { otlpLineContents } from './otlp-records.js';
import { EventScanner } from './read-events.js';

let directory: string;
let jsonlPath: string;
let events: CostEvent[];
let collectorLines: string[];
let retriedRecords: number;

async function report(inputs: string[]): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const code = await main(['report', ...inputs, '--format', 'json', '--no-progress', '--stats'], { stdout, stderr, env: {} });
  const json = JSON.parse(out) as Record<string, unknown>;
  delete json.inputs;
  return { code, json, stderr: err };
}

const FOREIGN_LINE = JSON.stringify({
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'web' } }] },
      scopeLogs: [{ logRecords: [{ timeUnixNano: '1772634731042817000', severityNumber: 9, body: { stringValue: 'GET /health 200' } }] }],
    },
  ],
});

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-otlp-input-'));
  jsonlPath = join(directory, 'events.jsonl');
  await writeSdkEvents(jsonlPath, { billingRuns: 3, pricedRuns: 12 });
  events = readEventsFile(jsonlPath);
  const collector = await new CollectorFileReceiver().start();
  // The first request is written to the file and then answered 503: the exporter sends it again.
  collector.failAfterWriting = 1;
  const exporter = new OtlpLogEventExporter({
    endpoint: collector.url,
    protocol: 'http/protobuf',
    serviceName: 'fleet-test',
    timeoutMillis: 5000,
  });
  try {
    const half = Math.floor(events.length / 2);
    retriedRecords = half;
    for (const batch of [events.slice(0, half), events.slice(half)]) {
      const result = await new Promise<{ code: number }>((resolve) => exporter.export(batch, resolve));
      expect(result.code).toBe(0);
    }
  } finally {
    await exporter.shutdown();
    await collector.stop();
  }
  collectorLines = collector.lines;
}, 30_000);

afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('reading OpenTelemetry Collector file exporter output', () => {
  it('the collector file holds every event, the retried batch twice', () => {
    expect(collectorLines).toHaveLength(3);
    const records = collectorLines.map((line) => otlpLineContents(JSON.parse(line) as Record<string, unknown>).events.length);
    expect(records).toEqual([retriedRecords, retriedRecords, events.length - retriedRecords]);
    // The JSON mapping, as the collector writes it: int64 as strings, hex ids.
    expect(collectorLines[0]).toMatch(/"timeUnixNano":"\d+"/);
    expect(collectorLines[0]).toMatch(/"traceId":"[0-9a-f]{32}"/);
  });

  it('rebuilds each event exactly: the canonical line equals the JSONL one', async () => {
    const path = join(directory, 'rebuilt.log');
    writeFileSync(path, `${collectorLines.join('\n')}\n`);
    const rebuilt: CostEvent[] = [];
    const scanner = new EventScanner();
    await scanner.scan([path], (event) => rebuilt.push(event));
    expect(rebuilt.map((event) => serializeEvent(event))).toEqual(events.map((event) => serializeEvent(event)));
    expect(scanner.stats).toMatchObject({
      events: events.length,
      duplicates: retriedRecords,
      otlpRecords: events.length + retriedRecords,
      skipped: 0,
    });
  });

  it('a collector line whose first bytes end a read still gets the collector limit, cut anywhere in its start', async () => {
    const line = collectorLines[2] as string;
    const bytes = Buffer.from(`${line}\n`);
    // Smaller than the line: only the collector limit lets it through.
    const maxLineBytes = 256;
    expect(bytes.length).toBeGreaterThan(4 * maxLineBytes);
    for (const cut of [1, 2, 3, 5, 10, 15, 17, 18, 30]) {
      const read: CostEvent[] = [];
      const scanner = new EventScanner({
        maxLineBytes,
        stdin: Readable.from([bytes.subarray(0, cut), bytes.subarray(cut, cut + 300), bytes.subarray(cut + 300)]),
      });
      await scanner.scan(['-'], (event) => read.push(event));
      expect({ cut, skipped: scanner.stats.skipped, events: read.length }).toEqual({
        cut,
        skipped: 0,
        events: events.length - retriedRecords,
      });
    }
  });

  it('plain and gzip collector files (named anything), other logs among them: the same totals as the JSONL, duplicates once', async () => {
    const plain = join(directory, 'collector-1.log');
    const compressed = join(directory, 'collector-2.json');
    writeFileSync(plain, `${collectorLines[0]}\n${FOREIGN_LINE}\n${collectorLines[1]}\n`);
    writeFileSync(compressed, gzipSync(`${collectorLines[2]}\n`));

    const expected = await report([jsonlPath]);
    const fromCollector = await report([plain, compressed]);
    expect(fromCollector.code).toBe(0);
    expect(fromCollector.json).toEqual(expected.json);
    expect((fromCollector.json.totals as { calls: number }).calls).toBeGreaterThan(20);
    expect(fromCollector.stderr).toContain(`${retriedRecords} duplicate events were counted once`);
    expect(fromCollector.stderr).toMatch(
      new RegExp(
        `"collector_records":${events.length + retriedRecords},"other_log_records":1,"other_telemetry_lines":0,"duplicates":${retriedRecords},`,
      ),
    );
    expect(expected.stderr).not.toContain('duplicate events');

    // Mixed with the JSONL of the same events: every event still counts once.
    const mixed = await report([compressed, jsonlPath, plain]);
    expect(mixed.json).toEqual(expected.json);
    expect(mixed.stderr).toContain(`${events.length + retriedRecords} duplicate events were counted once`);
  });

  it('collector and JSONL lines in one file', async () => {
    const path = join(directory, 'mixed.txt');
    const jsonl = events.slice(0, 5).map((event) => serializeEvent(event));
    // A file exporter shared with a traces and a metrics pipeline writes their requests too.
    const traces = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'GET /' }] }] }] });
    const metrics = JSON.stringify({ resourceMetrics: [{ scopeMetrics: [] }] });
    writeFileSync(path, `${jsonl.join('\n')}\n${traces}\n${collectorLines.join('\n')}\n${metrics}\n`);
    const result = await report([path]);
    expect(result.json).toEqual((await report([jsonlPath])).json);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('skipped');
    expect(result.stderr).toContain('"other_telemetry_lines":2,');
    expect(result.stderr).toContain(`${retriedRecords + 5} duplicate events were counted once`);
  });

  it('a collector line (a whole batch) may be longer than --max-line-bytes, up to its own limit, across chunks', async () => {
    const line = collectorLines[2] as string;
    const jsonl = serializeEvent(events[0] as CostEvent);
    const text = Buffer.from(`${jsonl}\n${line}\n${line.replace('{"resourceLogs"', '{"resource_logs"')}\n`);
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < text.length; offset += 700) chunks.push(text.subarray(offset, offset + 700));
    const read = async (maxCollectorLineBytes: number): Promise<EventScanner> => {
      const scanner = new EventScanner({ maxLineBytes: 300, maxCollectorLineBytes, stdin: Readable.from(chunks), deduplicate: false });
      await scanner.scan(['-'], () => undefined);
      return scanner;
    };
    expect(line.length).toBeGreaterThan(10_000);
    expect(jsonl.length).toBeGreaterThan(300);
    const roomy = await read(line.length + 16);
    expect(roomy.stats).toMatchObject({ events: 2 * (events.length - retriedRecords), skipped: 1, skippedByReason: { oversized: 1 } });
    expect(roomy.stats.examples[0]).toMatchObject({ line: 1, detail: 'longer than 300 bytes' });
    const tight = await read(4096);
    expect(tight.stats).toMatchObject({ events: 0, skipped: 3 });
    expect(tight.stats.examples.map((example) => example.detail)).toEqual([
      'longer than 300 bytes',
      'longer than 4096 bytes',
      'longer than 4096 bytes',
    ]);
  });

  it('a broken record is skipped and counted, the rest of its line is read', async () => {
    const request = JSON.parse(collectorLines[2] as string) as {
      resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<Record<string, unknown>> }> }>;
    };
    const records = request.resourceLogs.flatMap((resource) => resource.scopeLogs.flatMap((scope) => scope.logRecords));
    delete records[0]?.timeUnixNano;
    const path = join(directory, 'broken.log');
    writeFileSync(path, `${JSON.stringify(request)}\n`);
    const scanner = new EventScanner();
    let count = 0;
    await scanner.scan([path], () => (count += 1));
    expect(count).toBe(records.length - 1);
    expect(scanner.stats.skippedByReason.invalid_event).toBe(1);
    expect(scanner.stats.examples[0]?.detail).toMatch(/^log record 1: .*timestamp/);
  });

  it('proto field names (resource_logs, int_value, ...) are read as well', () => {
    const line = {
      resource_logs: [
        {
          scope_logs: [
            {
              log_records: [
                {
                  time_unix_nano: 1772634731042817000,
                  event_name: 'llm.cost.token.recorded',
                  attributes: [{ key: 'event_id', value: { string_value: '01HW4Z3RXVP8Q2M6T9KB000001' } }],
                  body: {
                    kvlist_value: {
                      values: [
                        { key: 'tokens', value: { int_value: '42' } },
                        { key: 'rate', value: { double_value: 0.25 } },
                        { key: 'list', value: { array_value: { values: [{ bool_value: true }, {}] } } },
                      ],
                    },
                  },
                  trace_id: 'CvdlGRbNQ92ESOshHIAxnA==',
                  span_id: 'obLD1OX2p7g=',
                },
                { body: { stringValue: 'not a cost event' } },
              ],
            },
          ],
        },
      ],
    };
    const contents = otlpLineContents(line);
    expect(contents.foreign).toBe(1);
    expect(contents.events).toEqual([
      {
        event_id: '01HW4Z3RXVP8Q2M6T9KB000001',
        event_type: 'llm.cost.token.recorded',
        payload: { tokens: 42, rate: 0.25, list: [true, null] },
        timestamp: '2026-03-04T14:32:11.042817Z',
        trace_id: '0af7651916cd43dd8448eb211c80319c',
        span_id: 'a1b2c3d4e5f6a7b8',
      },
    ]);
  });
});

describe('EventIdSet', () => {
  it('holds ULIDs and other ids exactly, across several tables', () => {
    const set = new EventIdSet();
    const ids: string[] = [];
    const digits = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    for (let index = 0; index < 60_000; index += 1) {
      let id = '01HW';
      let value = index * 7919 + 13;
      for (let position = 0; position < 22; position += 1) {
        id += digits[value % 32];
        value = Math.floor(value / 32) + position * 31;
      }
      ids.push(id);
    }
    ids.push('not-a-ulid', '01hw4z3rxvp8q2m6t9kb000001', '81HW4Z3RXVP8Q2M6T9KB000001');
    // 60k ids fill the first two tables (21,299 and 31,948 slots at 0.65) and start a third.
    const distinct = new Set(ids);
    let added = 0;
    for (const id of ids) if (set.add(id)) added += 1;
    expect(added).toBe(distinct.size);
    expect(set.size).toBe(distinct.size);
    expect(ids.filter((id) => set.add(id))).toEqual([]);
    // Ids differing in one digit only are different ids.
    expect(set.add('01HW4Z3RXVP8Q2M6T9KB000002')).toBe(true);
    expect(set.add('01HW4Z3RXVP8Q2M6T9KB000003')).toBe(true);
    expect(set.add('01HW4Z3RXVP8Q2M6T9KB000002')).toBe(false);
  });
});
