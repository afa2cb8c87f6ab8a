import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { OtlpLogEventExporter } from './otlp-log-event-exporter.js';
import { registerCostspan } from './register-costspan.js';
import { tokenEvent } from './__fixtures__/events.js';

// A collector that answers 200 and then sends its body one byte at a time, never ending it: the
// OpenTelemetry exporter's timeout is an idle timeout, so only costspan's own bound ends the attempt.
async function tricklingCollector(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  const timers = new Set<NodeJS.Timeout>();
  const responses = new Set<ServerResponse>();
  let requests = 0;
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      requests += 1;
      responses.add(response);
      response.writeHead(200, { 'content-type': 'application/x-protobuf' });
      timers.add(setInterval(() => response.write(Buffer.from([0])), 100));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      for (const response of responses) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('OtlpLogEventExporter attempt bound', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('gives up on an answer trickling past the export timeout and counts the batch failed', async () => {
    const collector = await tricklingCollector();
    cleanups.push(collector.close);
    const exporter = new OtlpLogEventExporter({ endpoint: collector.url, timeoutMillis: 300, retryTimeoutMillis: 2500 });
    cleanups.push(() => exporter.shutdown());
    const started = Date.now();
    const result = await new Promise<ExportResult>((resolve) => exporter.export([tokenEvent(1)], resolve));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toMatch(/timed out/);
    expect(collector.requests()).toBeGreaterThanOrEqual(2);
    expect(exporter.stats()).toMatchObject({ exported: 0, failed: 1, inFlight: 0 });
  }, 10_000);

  it('span exports unanswered past the export timeout count as failed, none pending for ever', async () => {
    const collector = await tricklingCollector();
    cleanups.push(collector.close);
    const costspan = registerCostspan({
      endpoint: collector.url,
      metrics: false,
      flushOnExit: false,
      timeoutMillis: 300,
      shutdownTimeoutMillis: 5000,
      spanQueue: { scheduledDelayMillis: 20, maxExportBatchSize: 5 },
    });
    const tracer = costspan.tracerProvider.getTracer('bound');
    for (let index = 0; index < 10; index += 1) tracer.startSpan(`span-${index}`).end();
    const stats = await costspan.shutdown();
    expect(stats.spans).toMatchObject({ exported: 0, failed: 10, pending: 0 });
  }, 10_000);
});
