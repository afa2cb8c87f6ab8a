import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventPipeline } from './event-pipeline.js';
import { JsonlEventExporter } from './jsonl-event-exporter.js';
import { resetNotices, setNoticeHandler } from '../notice.js';
import { sampleEvent } from '../__fixtures__/sample-event.js';
import { drain } from '../__fixtures__/fifo.js';

let directory: string;
let readFd: number | undefined;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-fifo-'));
  setNoticeHandler(() => undefined);
});

afterEach(() => {
  if (readFd !== undefined) closeSync(readFd);
  readFd = undefined;
  rmSync(directory, { recursive: true, force: true });
  setNoticeHandler(undefined);
  resetNotices();
});

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(process.platform === 'win32')('JsonlEventExporter on a FIFO or stream whose reader stops reading', () => {
  it('blocks the host once per stall, and a torn batch never swallows the next event', async () => {
    const fifo = join(directory, 'events.fifo');
    execFileSync('mkfifo', [fifo]);
    // A reader that is there but reads only when the test says so.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    readFd = reader;
    const pipeline = new EventPipeline([new JsonlEventExporter({ path: fifo, blockedWriteTimeoutMillis: 300 })], {
      maxExportBatchSize: 500,
    });
    // ~300 bytes an event: the first batch overfills the pipe (64 KiB) and times out part-way;
    // the lines before the cut count as exported, the torn one and the rest as failed.
    for (let index = 0; index < 500; index += 1) pipeline.emit(sampleEvent(index));
    await pipeline.forceFlush();
    const first = pipeline.stats();
    expect(first.exported).toBeGreaterThan(0);
    expect(first.exported + first.failed).toBe(500);
    // The reader is still stalled: six more batches fail at once instead of waiting 300 ms each.
    const started = Date.now();
    for (let index = 500; index < 3500; index += 1) pipeline.emit(sampleEvent(index));
    await pipeline.forceFlush();
    expect(Date.now() - started).toBeLessThan(300);
    const stalled = pipeline.stats();
    expect(stalled.exported + stalled.failed).toBe(3500);
    // The reader catches up; the next event counts as exported and is a line of its own.
    const before = drain(reader);
    pipeline.emit(sampleEvent(9999));
    await pipeline.forceFlush();
    expect(pipeline.stats().exported).toBe(stalled.exported + 1);
    const lines = (before + drain(reader)).split('\n');
    // Exported counts exactly the events the reader got whole.
    expect(lines.filter((line) => isJson(line))).toHaveLength(stalled.exported + 1);
    expect(lines.at(-1)).toBe('');
    expect(JSON.parse(lines.at(-2) as string)).toMatchObject({ payload: { agent_run_id: 'run-9999' } });
    // Only the line the timed-out write tore is unreadable.
    const unreadable = lines.slice(0, -1).filter((line) => !isJson(line));
    expect(unreadable).toHaveLength(1);
    await pipeline.shutdown();
  });

  it('shutdown() of an exporter on a stream nobody reads settles within blockedWriteTimeoutMillis', async () => {
    const stream = new PassThrough({ highWaterMark: 16 });
    const exporter = new JsonlEventExporter({ stream, blockedWriteTimeoutMillis: 100 });
    const results: ExportResult[] = [];
    for (let index = 0; index < 3; index += 1) exporter.export([sampleEvent(index)], (result) => results.push(result));
    const started = Date.now();
    await exporter.forceFlush();
    await exporter.shutdown();
    expect(Date.now() - started).toBeLessThan(1000);
    // The writes still buffered are not counted yet; once the stream takes them, they are.
    expect(results.length).toBeLessThan(3);
    stream.resume();
    await new Promise((resolve) => setImmediate(resolve));
    expect(results).toEqual([0, 1, 2].map(() => ({ code: ExportResultCode.SUCCESS })));
  });

  it("keeps handling the stream's errors while writes a timed-out shutdown left are in flight", async () => {
    const stream = new PassThrough({ highWaterMark: 16 });
    const exporter = new JsonlEventExporter({ stream, blockedWriteTimeoutMillis: 50 });
    const results: ExportResult[] = [];
    for (let index = 0; index < 3; index += 1) exporter.export([sampleEvent(index)], (result) => results.push(result));
    await exporter.shutdown();
    // A PassThrough nobody reads never calls these writes back, not even when destroyed.
    expect(results).toHaveLength(0);
    expect(stream.listenerCount('error')).toBe(1);
    // The reader goes away: without a listener this 'error' would be an uncaught exception in the host.
    stream.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.destroyed).toBe(true);
  });
});
