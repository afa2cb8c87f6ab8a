import { execFileSync } from 'node:child_process';
import { closeSync, constants, createWriteStream, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventPipeline, type EventPipelineStats } from './event-pipeline.js';
import { InMemoryEventExporter } from './in-memory-event-exporter.js';
import { JsonlEventExporter } from './jsonl-event-exporter.js';
import { resetNotices, setNoticeHandler } from '../notice.js';
import { sampleEvent } from '../__fixtures__/sample-event.js';
import { drain } from '../__fixtures__/fifo.js';

// A write cut part-way (a FIFO full past blockedWriteTimeoutMillis) must count exactly what the
// reader got: the lines before the cut as exported, the torn line and the rest as failed.

let directory: string;
const opened: number[] = [];

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-partial-'));
  setNoticeHandler(() => undefined);
});

afterEach(() => {
  for (const fd of opened.splice(0)) closeSync(fd);
  rmSync(directory, { recursive: true, force: true });
  setNoticeHandler(undefined);
  resetNotices();
});

/** A FIFO with a reader that is there (so a writer can open it) but reads only when told. */
function stalledFifo(): { path: string; reader: number } {
  const path = join(directory, 'events.fifo');
  execFileSync('mkfifo', [path]);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  opened.push(reader);
  return { path, reader };
}

/**
 * The run ids of the events the reader got whole, in order. Everything after the last newline is
 * the line the write tore; the test checks it is not a whole event.
 */
function eventsReceivedWhole(text: string): string[] {
  const lines = text.split('\n');
  const torn = lines.pop() as string;
  expect(torn).not.toBe('');
  expect(() => JSON.parse(torn)).toThrow();
  return lines.map((line) => (JSON.parse(line) as { payload: { agent_run_id: string } }).payload.agent_run_id);
}

/** The stats of the first exporter say exactly what the reader got: `received` whole, the rest failed. */
function expectCountsMatch(stats: EventPipelineStats, received: string[], queued: number): void {
  const exporter = stats.exporters[0];
  expect(received).toEqual(Array.from({ length: received.length }, (_, index) => `run-${index}`));
  expect(exporter).toMatchObject({ exported: received.length, failed: queued - received.length, pending: 0 });
  expect(received.length).toBeGreaterThan(0);
  expect(received.length).toBeLessThan(queued);
}

// Reads a FIFO in another thread while the main thread blocks in a synchronous write: it reads
// until it has `stopAfter` bytes, stops (the pipe then fills), and on the signal reads the rest.
const READER = `
const { readSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const { fd, stopAfter, signal } = workerData;
const flag = new Int32Array(signal);
const buffer = Buffer.alloc(1 << 16);
const chunks = [];
let received = 0;
const readNow = (length) => {
  try {
    return readSync(fd, buffer, 0, length, null);
  } catch (error) {
    if (error.code === 'EAGAIN') return 0;
    throw error;
  }
};
parentPort.postMessage('ready');
while (received < stopAfter) {
  const read = readNow(Math.min(buffer.length, stopAfter - received));
  if (read > 0) {
    chunks.push(Buffer.from(buffer.subarray(0, read)));
    received += read;
  } else Atomics.wait(flag, 1, 0, 1);
}
Atomics.wait(flag, 0, 0);
for (let read = readNow(buffer.length); read > 0; read = readNow(buffer.length)) chunks.push(Buffer.from(buffer.subarray(0, read)));
parentPort.postMessage(Buffer.concat(chunks).toString('utf8'));
`;

/** Starts the reader thread; `rest()` tells it to read what is left and gives all it read. */
async function slowReader(fd: number, stopAfter: number): Promise<{ rest: () => Promise<string> }> {
  const signal = new SharedArrayBuffer(8);
  const worker = new Worker(READER, { eval: true, workerData: { fd, stopAfter, signal } });
  const messages: unknown[] = [];
  let wake: (() => void) | undefined;
  worker.on('message', (message: unknown) => {
    messages.push(message);
    wake?.();
  });
  const next = async (): Promise<unknown> => {
    while (messages.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return messages.shift();
  };
  expect(await next()).toBe('ready');
  return {
    rest: async () => {
      const flag = new Int32Array(signal);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      const text = (await next()) as string;
      await worker.terminate();
      return text;
    },
  };
}

describe.skipIf(process.platform === 'win32')('JsonlEventExporter: a write cut part-way counts what got through', () => {
  it('a batch a full FIFO cuts: the lines before the cut exported, the torn one and the rest failed', async () => {
    const fifo = stalledFifo();
    const pipeline = new EventPipeline([new JsonlEventExporter({ path: fifo.path, blockedWriteTimeoutMillis: 100 })], {
      maxExportBatchSize: 500,
    });
    // ~330 bytes an event: 500 overfill the pipe (64 KiB).
    for (let index = 0; index < 500; index += 1) pipeline.emit(sampleEvent(index));
    await pipeline.forceFlush();
    const stats = pipeline.stats();
    expectCountsMatch(stats, eventsReceivedWhole(drain(fifo.reader)), 500);
    expect(stats.exported + stats.failed).toBe(stats.queued);
    await pipeline.shutdown();
  });

  it('the same at process exit, where the queue is written synchronously', async () => {
    const fifo = stalledFifo();
    const pipeline = new EventPipeline([new JsonlEventExporter({ path: fifo.path, blockedWriteTimeoutMillis: 100 })]);
    for (let index = 0; index < 500; index += 1) pipeline.emit(sampleEvent(index));
    pipeline.drainSync();
    expectCountsMatch(pipeline.stats(), eventsReceivedWhole(drain(fifo.reader)), 500);
    await pipeline.shutdown();
  });

  it('the same through a stream with a descriptor (stdout on a pipe) written synchronously at exit', async () => {
    const fifo = stalledFifo();
    const stream = createWriteStream(fifo.path, { fd: openSync(fifo.path, constants.O_WRONLY | constants.O_NONBLOCK) });
    const pipeline = new EventPipeline([new JsonlEventExporter({ stream, blockedWriteTimeoutMillis: 100 })]);
    for (let index = 0; index < 500; index += 1) pipeline.emit(sampleEvent(index));
    pipeline.drainSync();
    expectCountsMatch(pipeline.stats(), eventsReceivedWhole(drain(fifo.reader)), 500);
    await pipeline.shutdown();
    stream.destroy();
  });

  it('a batch of several encoded parts cut in its second part counts the first part whole', async () => {
    const fifo = stalledFifo();
    // Past the first 1 MiB part of the batch: the cut falls in the second. The bound is generous:
    // the reader thread must take its 1.2 MB before the write gives up, on a loaded machine too.
    const reader = await slowReader(fifo.reader, 1_200_000);
    const pipeline = new EventPipeline([new JsonlEventExporter({ path: fifo.path, blockedWriteTimeoutMillis: 1000 })], {
      maxExportBatchSize: 6000,
    });
    expect(pipeline.encodesOnArrival).toBe(true);
    for (let index = 0; index < 6000; index += 1) pipeline.emit(sampleEvent(index));
    await pipeline.forceFlush();
    const text = await reader.rest();
    expect(Buffer.byteLength(text)).toBeGreaterThan(1 << 20);
    expectCountsMatch(pipeline.stats(), eventsReceivedWhole(text), 6000);
    await pipeline.shutdown();
  });

  it('a batch of event objects written in 1 MiB chunks, cut in its second chunk, counts the first chunk whole', async () => {
    const fifo = stalledFifo();
    const reader = await slowReader(fifo.reader, 1_200_000);
    const memory = new InMemoryEventExporter();
    // A second exporter that takes objects: the JSONL exporter gets events, not encoded lines.
    const pipeline = new EventPipeline([new JsonlEventExporter({ path: fifo.path, blockedWriteTimeoutMillis: 1000 }), memory], {
      maxExportBatchSize: 6000,
    });
    expect(pipeline.encodesOnArrival).toBe(false);
    for (let index = 0; index < 6000; index += 1) pipeline.emit(sampleEvent(index));
    await pipeline.forceFlush();
    const text = await reader.rest();
    const stats = pipeline.stats();
    expectCountsMatch(stats, eventsReceivedWhole(text), 6000);
    expect(stats.exporters[1]).toMatchObject({ exported: 6000, failed: 0 });
    for (const row of stats.exporters) expect(row.exported + row.failed + row.pending).toBe(stats.queued);
    await pipeline.shutdown();
  });
});
