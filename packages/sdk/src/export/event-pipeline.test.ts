import { ExportResultCode, loggingErrorHandler, setGlobalErrorHandler, type ExportResult } from '@opentelemetry/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventPipeline, type EventPipelineStats } from './event-pipeline.js';
import type { EventExportResult, EventExporter } from './event-exporter.js';
import { InMemoryEventExporter } from './in-memory-event-exporter.js';
import { resetNotices, setNoticeHandler, type CostspanNotice } from '../notice.js';
import { sampleEvent } from '../__fixtures__/sample-event.js';

let notices: CostspanNotice[];
let errors: unknown[];

beforeEach(() => {
  notices = [];
  errors = [];
  setNoticeHandler((given) => notices.push(given));
  setGlobalErrorHandler((error) => errors.push(error));
});

afterEach(() => {
  setNoticeHandler(undefined);
  resetNotices();
  setGlobalErrorHandler(loggingErrorHandler());
});

/** queued = exported + failed + pending, for every exporter. */
function expectStatsAddUp(stats: EventPipelineStats): void {
  for (const row of stats.exporters) expect(row.exported + row.failed + row.pending).toBe(stats.queued);
}

const never = (): Promise<void> => new Promise<void>(() => undefined);

describe('EventPipeline: promises an exporter returns', () => {
  it('counts an async export() that rejects as failed, reports it, tells it once', async () => {
    const exporter = {
      async export(): Promise<void> {
        throw new Error('collector refused');
      },
      shutdown: async () => undefined,
    } as unknown as EventExporter;
    const pipeline = new EventPipeline([exporter], { maxExportBatchSize: 2 });
    for (let index = 0; index < 5; index += 1) pipeline.emit(sampleEvent(index));
    await pipeline.forceFlush();
    const stats = pipeline.stats();
    expect(stats).toMatchObject({ queued: 5, exported: 0, failed: 5, pending: 0 });
    expectStatsAddUp(stats);
    expect(errors.map((error) => (error as Error).message)).toEqual(['collector refused']);
    expect(notices.filter((given) => given.cause === 'events_lost')).toHaveLength(1);
    expect(notices[0]?.message).toContain('collector refused');
  });

  it('handles rejecting and throwing forceFlush and shutdown', async () => {
    const exporter: EventExporter = {
      export: (_events, done) => done({ code: ExportResultCode.SUCCESS }),
      forceFlush: () => Promise.reject(new Error('flush rejected')),
      shutdown: () => {
        throw new Error('shutdown threw');
      },
    };
    const pipeline = new EventPipeline([exporter]);
    pipeline.emit(sampleEvent(1));
    await pipeline.forceFlush();
    await pipeline.shutdown();
    expect(errors.map((error) => (error as Error).message)).toEqual(['flush rejected', 'flush rejected', 'shutdown threw']);
    expect(pipeline.stats()).toMatchObject({ queued: 1, exported: 1, failed: 0, pending: 0 });
  });
});

describe('EventPipeline: bounded, idempotent shutdown', () => {
  it('forceFlush and shutdown resolve within their bound when the exporter never settles', async () => {
    let shutdowns = 0;
    const exporter: EventExporter = {
      export: () => undefined,
      forceFlush: never,
      shutdown: () => {
        shutdowns += 1;
        return never();
      },
    };
    const pipeline = new EventPipeline([exporter], { shutdownTimeoutMillis: 500, exportTimeoutMillis: 60_000 });
    pipeline.emit(sampleEvent(1));
    let started = Date.now();
    await pipeline.forceFlush();
    expect(Date.now() - started).toBeLessThan(1000);
    started = Date.now();
    await Promise.all([pipeline.shutdown(), pipeline.shutdown()]);
    expect(Date.now() - started).toBeLessThan(1000);
    await pipeline.shutdown();
    expect(shutdowns).toBe(1);
    // The batch is still in flight: counted as pending, never as exported.
    expect(pipeline.stats()).toMatchObject({ queued: 1, exported: 0, pending: 1 });
    expect(notices.map((given) => given.cause)).toEqual(['events_flush_timeout']);
  });

  it('two concurrent shutdowns shut each exporter down once', async () => {
    const calls: string[] = [];
    const exporter = (name: string): EventExporter => ({
      export: (_events, done) => setTimeout(() => done({ code: ExportResultCode.SUCCESS }), 5),
      shutdown: async () => void calls.push(name),
    });
    const pipeline = new EventPipeline([exporter('a'), exporter('b')]);
    pipeline.emit(sampleEvent(1));
    const first = pipeline.shutdown();
    const second = pipeline.shutdown();
    expect(second).toBe(first);
    await Promise.all([first, second]);
    expect(calls.sort()).toEqual(['a', 'b']);
    expectStatsAddUp(pipeline.stats());
  });
});

describe('EventPipeline: stats add up', () => {
  it('counts a batch taken off the queue as pending until its exporter answers', async () => {
    const callbacks: ((result: ExportResult) => void)[] = [];
    const exporter: EventExporter = { export: (_events, done) => void callbacks.push(done), shutdown: async () => undefined };
    const pipeline = new EventPipeline([exporter], { maxExportBatchSize: 100 });
    for (let index = 0; index < 250; index += 1) pipeline.emit(sampleEvent(index));
    const flushed = pipeline.forceFlush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(callbacks).toHaveLength(1);
    expect(pipeline.stats()).toMatchObject({ queued: 250, exported: 0, failed: 0, pending: 250 });
    callbacks[0]?.({ code: ExportResultCode.SUCCESS });
    await new Promise((resolve) => setImmediate(resolve));
    expect(pipeline.stats()).toMatchObject({ exported: 100, pending: 150 });
    callbacks[1]?.({ code: ExportResultCode.FAILED, error: new Error('down') });
    await new Promise((resolve) => setImmediate(resolve));
    callbacks[2]?.({ code: ExportResultCode.SUCCESS });
    await flushed;
    const stats = pipeline.stats();
    expect(stats).toMatchObject({ queued: 250, exported: 150, failed: 100, pending: 0 });
    expectStatsAddUp(stats);
  });

  it('at exit, settles the batch in flight by asking the exporter and counts what it cannot write', () => {
    const hold: EventExporter = { export: () => undefined, flushSync: () => true, shutdown: async () => undefined };
    const asyncOnly: EventExporter = { export: () => undefined, shutdown: async () => undefined };
    const pipeline = new EventPipeline([hold, asyncOnly], { maxExportBatchSize: 10 });
    for (let index = 0; index < 25; index += 1) pipeline.emit(sampleEvent(index));
    (pipeline as unknown as { startDrain(): void }).startDrain();
    pipeline.drainSync();
    const stats = pipeline.stats();
    // `hold`: its in-flight batch of 10 was written; the 15 still queued cannot be (no exportSync).
    expect(stats.exporters.map((row) => [row.exported, row.failed, row.pending])).toEqual([
      [10, 15, 0],
      [0, 25, 0],
    ]);
    expectStatsAddUp(stats);
    expect(notices.filter((given) => given.cause === 'events_lost')).toHaveLength(1);
  });

  it('after the exit drain, writes a late event at once, and a flush or shutdown then settles', async () => {
    const exporter = new InMemoryEventExporter();
    const pipeline = new EventPipeline([exporter]);
    pipeline.emit(sampleEvent(1));
    pipeline.drainSync();
    // An event from an 'exit' listener that runs after costspan's: no timer or callback runs any more.
    pipeline.emit(sampleEvent(2));
    expect(exporter.getEvents().map((event) => event.payload.agent_run_id)).toEqual(['run-1', 'run-2']);
    expect(pipeline.stats().pending).toBe(0);
    // It waited on a drain loop that exported nothing past exit: a microtask loop, spinning forever.
    pipeline.emit(sampleEvent(3));
    await pipeline.forceFlush();
    await pipeline.shutdown();
    expectStatsAddUp(pipeline.stats());
  });

  it('refuses exporters that are not exporters with a typed error naming the field', () => {
    const refused = (exporters: unknown, field: string): void =>
      expect(() => new EventPipeline(exporters as EventExporter[])).toThrow(
        expect.objectContaining({ name: 'CostspanError', code: 'invalid_argument', field }),
      );
    refused('file.jsonl', 'exporters');
    refused([undefined], 'exporters[0]');
    refused([new InMemoryEventExporter(), null], 'exporters[1]');
    refused([{ shutdown: () => Promise.resolve() }], 'exporters[0]');
  });
});

describe('EventPipeline: a failed batch that got partly out (exportedCount)', () => {
  /** An exporter that fails every batch with `result`, asynchronously and at exit. */
  const failingWith = (result: EventExportResult): EventExporter => ({
    export: (_events, done) => done(result),
    exportSync: () => result,
    shutdown: async () => undefined,
  });
  const cut = (exportedCount?: number): EventExportResult => ({
    code: ExportResultCode.FAILED,
    error: new Error('EAGAIN: write timed out'),
    ...(exportedCount === undefined ? {} : { exportedCount }),
  });

  it('counts the front it reports as exported and the rest as failed, and tells only the rest as lost', async () => {
    const pipeline = new EventPipeline([failingWith(cut(3))], { maxExportBatchSize: 5 });
    for (let index = 0; index < 10; index += 1) pipeline.emit(sampleEvent(index));
    await pipeline.forceFlush();
    // At exit too: the synchronous path counts the same way.
    for (let index = 0; index < 4; index += 1) pipeline.emit(sampleEvent(index));
    pipeline.drainSync();
    const stats = pipeline.stats();
    expect(stats).toMatchObject({ queued: 14, exported: 9, failed: 5, pending: 0 });
    expectStatsAddUp(stats);
    expect(notices.find((given) => given.cause === 'events_lost')?.message).toMatch(/^2 cost events lost/);
  });

  it('keeps the whole batch failed when the exporter does not say, or says what cannot be', async () => {
    for (const exportedCount of [undefined, -1, 1.5, Number.NaN, 6]) {
      const pipeline = new EventPipeline([failingWith(cut(exportedCount))], { maxExportBatchSize: 5 });
      for (let index = 0; index < 5; index += 1) pipeline.emit(sampleEvent(index));
      await pipeline.forceFlush();
      expect(pipeline.stats()).toMatchObject({ exported: 0, failed: 5 });
      await pipeline.shutdown();
    }
    // On SUCCESS the count means nothing: the whole batch was written.
    const pipeline = new EventPipeline([failingWith({ code: ExportResultCode.SUCCESS, exportedCount: 1 })]);
    for (let index = 0; index < 5; index += 1) pipeline.emit(sampleEvent(index));
    await pipeline.forceFlush();
    expect(pipeline.stats()).toMatchObject({ exported: 5, failed: 0 });
    await pipeline.shutdown();
  });
});
