import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { setNoticeHandler } from '@costspan/sdk';
import { resetNotices } from '@costspan/sdk/internal';
import { AttemptCounter } from './attempt-counter.js';
import { CountingSpanExporter, SpanQueueObserver } from './span-counters.js';

function failingExporter(): SpanExporter {
  return {
    export: (_spans: ReadableSpan[], callback: (result: ExportResult) => void) =>
      setImmediate(() => callback({ code: ExportResultCode.FAILED, error: new Error('Bad Request') })),
    shutdown: () => Promise.resolve(),
  };
}

/** An exporter that answers only when told to (a collector trickling its answer never does). */
function silentExporter(): SpanExporter & { answer: (result: ExportResult) => void } {
  const callbacks: ((result: ExportResult) => void)[] = [];
  return {
    export: (_spans: ReadableSpan[], callback: (result: ExportResult) => void) => void callbacks.push(callback),
    shutdown: () => Promise.resolve(),
    answer: (result) => {
      for (const callback of callbacks.splice(0)) callback(result);
    },
  };
}

function collectNotices(): string[] {
  const told: string[] = [];
  resetNotices();
  setNoticeHandler((notice) => told.push(notice.cause));
  return told;
}

function exportOnce(exporter: CountingSpanExporter): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export([{} as ReadableSpan], resolve));
}

describe('CountingSpanExporter notices', () => {
  afterEach(() => {
    setNoticeHandler(undefined);
    resetNotices();
  });

  it('tells a failed span export once, with no diag logger', async () => {
    const told = collectNotices();
    const exporter = new CountingSpanExporter(failingExporter(), new AttemptCounter());
    await exportOnce(exporter);
    await exportOnce(exporter);
    expect(exporter.failed).toBe(2);
    expect(told).toEqual(['otlp_span_export_failed']);
  });

  it('tells spans failed after an abort', async () => {
    const told = collectNotices();
    const exporter = new CountingSpanExporter(failingExporter(), new AttemptCounter());
    exporter.abort();
    await exportOnce(exporter);
    expect(exporter.failed).toBe(1);
    expect(told).toEqual(['otlp_span_export_stopped']);
  });

  it('counts an export unanswered past its bound as failed, and ignores its late answer', async () => {
    collectNotices();
    const inner = silentExporter();
    const exporter = new CountingSpanExporter(inner, new AttemptCounter(), undefined, 8, 50);
    const result = await exportOnce(exporter);
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toMatch(/timed out/);
    inner.answer({ code: ExportResultCode.SUCCESS });
    expect({ exported: exporter.exported, failed: exporter.failed, pending: exporter.pending() }).toEqual({
      exported: 0,
      failed: 1,
      pending: 0,
    });
  });

  it('abort fails the exports still unanswered, so none stays pending', async () => {
    collectNotices();
    const exporter = new CountingSpanExporter(silentExporter(), new AttemptCounter(), undefined, 1);
    const first = exportOnce(exporter);
    const second = exportOnce(exporter); // waits for the slot
    expect(exporter.pending()).toBe(2);
    exporter.abort();
    expect((await first).code).toBe(ExportResultCode.FAILED);
    expect((await second).code).toBe(ExportResultCode.FAILED);
    expect({ failed: exporter.failed, pending: exporter.pending() }).toEqual({ failed: 2, pending: 0 });
  });

  it('tells spans dropped from a full queue, with no diag logger', () => {
    const told = collectNotices();
    const observer = new SpanQueueObserver();
    const processed = observer.getMeter().createCounter('otel.sdk.processor.span.processed');
    processed.add(3, { 'error.type': 'queue_full' });
    observer.reportDrops();
    expect(observer.dropped).toBe(3);
    expect(told).toEqual(['span_queue_full']);
  });
});
