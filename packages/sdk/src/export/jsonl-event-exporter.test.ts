import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { diag } from '@opentelemetry/api';
import { ExportResultCode, setGlobalErrorHandler, loggingErrorHandler, type ExportResult } from '@opentelemetry/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureDiagWarnings, createHarness } from '../__fixtures__/harness.js';
import { parseCostEvent, type CostEvent } from '../events/cost-event.js';
import { EventPipeline } from './event-pipeline.js';
import type { EventExporter } from './event-exporter.js';
import { JsonlEventExporter } from './jsonl-event-exporter.js';
import { resetNotices, setNoticeHandler, type CostspanNotice } from '../notice.js';
import { sampleEvent } from '../__fixtures__/sample-event.js';

let directory: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-jsonl-'));
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
  diag.disable();
  setNoticeHandler(undefined);
  resetNotices();
});

function readLines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

describe('JsonlEventExporter', () => {
  it('writes one canonical event per line to a file created 0600', async () => {
    const path = join(directory, 'events.jsonl');
    const harness = createHarness({ exporters: [new JsonlEventExporter({ path })] });
    harness.tracer.agentRun('run', { principal: { userId: 'alice' } }, (run) =>
      run.step('s', (step) => step.setCost({ inputUsd: 0.0015, outputUsd: 0.00375 })),
    );
    await harness.processor.shutdown();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const lines = readLines(path);
    expect(lines).toHaveLength(3);
    const events = lines.map((line) => parseCostEvent(line));
    expect(events.map((event) => event.event_type)).toEqual([
      'llm.cost.token.recorded',
      'llm.cost.session.recorded',
      'llm.cost.attributed',
    ]);
    expect(lines[1]).toContain('"total_cost_usd":0.00525');
    expect(lines[0]?.startsWith('{"actor_id":"alice","event_id":')).toBe(true);
  });

  it('appends to an existing file and keeps its mode', async () => {
    const path = join(directory, 'events.jsonl');
    for (let round = 0; round < 2; round += 1) {
      const exporter = new JsonlEventExporter({ path });
      expect(exporter.exportSync([sampleEvent(round)]).code).toBe(ExportResultCode.SUCCESS);
      await exporter.shutdown();
    }
    expect(readLines(path)).toHaveLength(2);
  });

  it('writes to a stream', async () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    const exporter = new JsonlEventExporter({ stream });
    const result = await new Promise((resolve) => exporter.export([sampleEvent(1), sampleEvent(2)], resolve));
    expect(result).toEqual({ code: ExportResultCode.SUCCESS });
    await exporter.shutdown();
    expect(
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => parseCostEvent(line).payload.agent_run_id),
    ).toEqual(['run-1', 'run-2']);
  });

  // Serializing 100k events takes seconds on a loaded 2-core CI machine; the default 5 s is too tight.
  it('a 100k-event burst loses nothing', { timeout: 60_000 }, async () => {
    const path = join(directory, 'burst.jsonl');
    const pipeline = new EventPipeline([new JsonlEventExporter({ path })]);
    for (let index = 0; index < 100_000; index += 1) pipeline.emit(sampleEvent(index));
    await pipeline.shutdown();
    const lines = readLines(path);
    expect(lines).toHaveLength(100_000);
    expect(new Set(lines.map((line) => line.slice(13, 39))).size).toBe(100_000);
    expect(pipeline.stats()).toMatchObject({ queued: 100_000, exported: 100_000, dropped: 0, failed: 0, pending: 0 });
  });

  it('an unopenable path fails exports and reports, without throwing into the app', async () => {
    const notices: CostspanNotice[] = [];
    setNoticeHandler((given) => notices.push(given));
    const errors: unknown[] = [];
    setGlobalErrorHandler((error) => errors.push(error));
    try {
      const exporter = new JsonlEventExporter({ path: join(directory, 'missing-dir', 'events.jsonl') });
      const pipeline = new EventPipeline([exporter]);
      pipeline.emit(sampleEvent(1));
      await pipeline.forceFlush();
      expect(pipeline.stats().failed).toBe(1);
      expect(errors).toHaveLength(1);
      expect(String(errors[0])).toContain('ENOENT');
      // One notice, naming the path and the fix; the failed events add no second one.
      expect(notices).toHaveLength(1);
      expect(notices[0]?.cause).toBe(`jsonl_open_failed:${join(directory, 'missing-dir', 'events.jsonl')}`);
      expect(notices[0]?.message).toContain('COSTSPAN_EVENTS_FILE');
    } finally {
      setGlobalErrorHandler(loggingErrorHandler());
    }
  });
});

describe('JsonlEventExporter on odd targets (real files)', () => {
  it('starts on a new line when the file ends mid-line (torn by a crash)', async () => {
    const path = join(directory, 'torn.jsonl');
    writeFileSync(path, `${JSON.stringify(sampleEvent(0))}\n{"event_id":"01HW4Z3RX`);
    const exporter = new JsonlEventExporter({ path });
    expect(exporter.exportSync([sampleEvent(1)]).code).toBe(ExportResultCode.SUCCESS);
    await exporter.shutdown();
    const lines = readLines(path);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe('{"event_id":"01HW4Z3RX');
    expect(parseCostEvent(lines[2] as string).payload.agent_run_id).toBe('run-1');
  });

  it('adds no newline to a file that ends with one', async () => {
    const path = join(directory, 'whole.jsonl');
    writeFileSync(path, 'x\n');
    await new JsonlEventExporter({ path }).shutdown();
    expect(readFileSync(path, 'utf8')).toBe('x\n');
  });

  it('follows a symlink by default; refuses it with followSymlinks: false', async () => {
    const target = join(directory, 'real.jsonl');
    const link = join(directory, 'link.jsonl');
    writeFileSync(target, '');
    symlinkSync(target, link);
    const following = new JsonlEventExporter({ path: link });
    expect(following.exportSync([sampleEvent(1)]).code).toBe(ExportResultCode.SUCCESS);
    await following.shutdown();
    expect(readLines(target)).toHaveLength(1);

    const notices: CostspanNotice[] = [];
    setNoticeHandler((given) => notices.push(given));
    const refusing = new JsonlEventExporter({ path: link, followSymlinks: false });
    const result = refusing.exportSync([sampleEvent(2)]);
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(notices.map((given) => given.message).join('')).toContain('symbolic link');
    expect(readLines(target)).toHaveLength(1);
  });

  it('creates missing folders only when asked', async () => {
    const path = join(directory, 'a', 'b', 'events.jsonl');
    const exporter = new JsonlEventExporter({ path, createDirectory: true });
    expect(exporter.exportSync([sampleEvent(1)]).code).toBe(ExportResultCode.SUCCESS);
    await exporter.shutdown();
    expect(readLines(path)).toHaveLength(1);
  });

  it('a stream that errors is written no more and its events count as failed', async () => {
    let writes = 0;
    const stream = new Writable({
      write(_chunk, _encoding, callback) {
        writes += 1;
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    setNoticeHandler(() => undefined);
    setGlobalErrorHandler(() => undefined);
    try {
      const pipeline = new EventPipeline([new JsonlEventExporter({ stream })], { maxExportBatchSize: 1 });
      for (let index = 0; index < 4; index += 1) pipeline.emit(sampleEvent(index));
      await pipeline.shutdown();
      expect(writes).toBe(1);
      expect(pipeline.stats()).toMatchObject({ queued: 4, exported: 0, failed: 4, pending: 0 });
    } finally {
      setGlobalErrorHandler(loggingErrorHandler());
    }
  });

  it('counts a stream write as exported only once the stream has taken it', async () => {
    const stream = new PassThrough({ highWaterMark: 16 });
    const exporter = new JsonlEventExporter({ stream });
    let result: ExportResult | undefined;
    exporter.export([sampleEvent(1)], (given) => (result = given));
    exporter.export([sampleEvent(2)], () => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    // Nobody reads the stream: the second write is still buffered, so it is not written yet.
    expect(exporter.flushSync()).toBe(false);
    stream.resume();
    await exporter.forceFlush();
    expect(result).toEqual({ code: ExportResultCode.SUCCESS });
    expect(exporter.flushSync()).toBe(true);
  });

  it('two concurrent shutdowns are one', async () => {
    const exporter = new JsonlEventExporter({ path: join(directory, 'once.jsonl') });
    const first = exporter.shutdown();
    expect(exporter.shutdown()).toBe(first);
    await first;
  });
});

describe('EventPipeline', () => {
  it('counts drops past its bound and reports them through diag', async () => {
    const warnings = captureDiagWarnings();
    const received: CostEvent[] = [];
    const exporter: EventExporter = {
      export: (events, done) => {
        received.push(...events);
        done({ code: ExportResultCode.SUCCESS });
      },
      shutdown: async () => undefined,
    };
    const pipeline = new EventPipeline([exporter], { maxQueueSize: 10, maxExportBatchSize: 10 });
    for (let index = 0; index < 100; index += 1) pipeline.emit(sampleEvent(index));
    await pipeline.forceFlush();
    expect(received).toHaveLength(10);
    expect(pipeline.stats()).toMatchObject({ queued: 10, exported: 10, dropped: 90 });
    expect(warnings.some((message) => message.includes('dropped 90 cost events'))).toBe(true);
  });

  it('counts failed exports and reports them to the global error handler', async () => {
    const errors: unknown[] = [];
    setGlobalErrorHandler((error) => errors.push(error));
    try {
      const exporter: EventExporter = {
        export: (_events, done) => done({ code: ExportResultCode.FAILED, error: new Error('collector down') }),
        shutdown: async () => undefined,
      };
      const pipeline = new EventPipeline([exporter]);
      pipeline.emit(sampleEvent(1));
      pipeline.emit(sampleEvent(2));
      await pipeline.forceFlush();
      expect(pipeline.stats()).toMatchObject({ failed: 2, exported: 0 });
      expect(errors.map((error) => (error as Error).message)).toEqual(['collector down']);
    } finally {
      setGlobalErrorHandler(loggingErrorHandler());
    }
  });

  it('times out an exporter that never answers', async () => {
    const exporter: EventExporter = { export: () => undefined, shutdown: async () => undefined };
    const errors: unknown[] = [];
    setGlobalErrorHandler((error) => errors.push(error));
    try {
      const pipeline = new EventPipeline([exporter], { exportTimeoutMillis: 20 });
      pipeline.emit(sampleEvent(1));
      await pipeline.forceFlush();
      expect(pipeline.stats().failed).toBe(1);
      expect(String(errors[0])).toContain('timed out');
    } finally {
      setGlobalErrorHandler(loggingErrorHandler());
    }
  });

  it('a throwing exporter is contained', async () => {
    const errors: unknown[] = [];
    setGlobalErrorHandler((error) => errors.push(error));
    try {
      const exporter: EventExporter = {
        export: () => {
          throw new Error('boom');
        },
        shutdown: async () => undefined,
      };
      const pipeline = new EventPipeline([exporter]);
      pipeline.emit(sampleEvent(1));
      await pipeline.forceFlush();
      expect(pipeline.stats().failed).toBe(1);
    } finally {
      setGlobalErrorHandler(loggingErrorHandler());
    }
  });

  it('drops (counted) after shutdown', async () => {
    const pipeline = new EventPipeline([new JsonlEventExporter({ path: join(directory, 'x.jsonl') })]);
    await pipeline.shutdown();
    pipeline.emit(sampleEvent(1));
    expect(pipeline.stats().dropped).toBe(1);
    await pipeline.shutdown();
  });
});
