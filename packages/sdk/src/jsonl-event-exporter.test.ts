import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { ExportResultCode, setGlobalErrorHandler, loggingErrorHandler } from '@opentelemetry/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness } from './__fixtures__/harness.js';
import { parseCostEvent, type CostEvent } from './cost-event.js';
import { EventPipeline } from './event-pipeline.js';
import type { EventExporter } from './event-exporter.js';
import { JsonlEventExporter } from './jsonl-event-exporter.js';

let directory: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-jsonl-'));
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
  diag.disable();
});

function readLines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

function sampleEvent(index: number): CostEvent {
  return {
    schema_version: '2.0',
    event_id: `01HW4Z3RXVP8Q2M6T9KB${String(index).padStart(6, '0')}`,
    event_type: 'llm.cost.session.recorded',
    timestamp: '2026-03-04T14:32:11.042817Z',
    source: 'test@1.0.0',
    payload: {
      total_cost: { input_cost_usd: 0, output_cost_usd: 0, total_cost_usd: 0 },
      total_token_usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
      call_count: 0,
      agent_run_id: `run-${index}`,
    },
  };
}

describe('JsonlEventExporter', () => {
  it('writes one canonical event per line to a file created 0600', async () => {
    const path = join(directory, 'events.jsonl');
    const harness = createHarness({ exporters: [new JsonlEventExporter({ path })] });
    harness.tracer.agentRun('run', { principal: { userId: 'alice' } }, (run) => run.step('s', (step) => step.setCost({ inputUsd: 0.0015, outputUsd: 0.00375 })));
    await harness.processor.shutdown();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const lines = readLines(path);
    expect(lines).toHaveLength(3);
    const events = lines.map((line) => parseCostEvent(line));
    expect(events.map((event) => event.event_type)).toEqual(['llm.cost.token.recorded', 'llm.cost.session.recorded', 'llm.cost.attributed']);
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
    expect(chunks.join('').split('\n').filter(Boolean).map((line) => parseCostEvent(line).payload.agent_run_id)).toEqual(['run-1', 'run-2']);
  });

  it('a 100k-event burst loses nothing', async () => {
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
    } finally {
      setGlobalErrorHandler(loggingErrorHandler());
    }
  });
});

describe('EventPipeline', () => {
  it('counts drops past its bound and reports them through diag', async () => {
    const warnings: string[] = [];
    diag.setLogger({ verbose: () => undefined, debug: () => undefined, info: () => undefined, warn: (...parts: unknown[]) => warnings.push(parts.join(' ')), error: () => undefined }, DiagLogLevel.WARN);
    const received: CostEvent[] = [];
    const exporter: EventExporter = { export: (events, done) => { received.push(...events); done({ code: ExportResultCode.SUCCESS }); }, shutdown: async () => undefined };
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
      const exporter: EventExporter = { export: (_events, done) => done({ code: ExportResultCode.FAILED, error: new Error('collector down') }), shutdown: async () => undefined };
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
      const exporter: EventExporter = { export: () => { throw new Error('boom'); }, shutdown: async () => undefined };
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
