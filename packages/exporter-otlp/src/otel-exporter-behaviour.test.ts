import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenEvent } from './__fixtures__/events.js';
import { OtlpReceiver } from './__fixtures__/otlp-receiver.js';
import { costEventToLogRecord } from './cost-event-log-record.js';

// Pins down what the OpenTelemetry OTLP/HTTP exporter (otlp-exporter-base 0.223.1) does on its own,
// which OtlpLogEventExporter builds on. If an upgrade changes this, these tests say so.

const receivers: OtlpReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.stop()));
});

async function exportOnce(url: string, timeoutMillis: number): Promise<{ result: ExportResult; attempts: number[] }> {
  const started = Date.now();
  const attempts: number[] = [];
  const exporter = new OTLPLogExporter({
    url: `${url}/v1/logs`,
    timeoutMillis,
    headers: () => {
      attempts.push(Date.now() - started);
      return Promise.resolve({});
    },
  });
  const record = costEventToLogRecord(tokenEvent(), resourceFromAttributes({}));
  const result = await new Promise<ExportResult>((resolve) => exporter.export([record], resolve));
  await exporter.shutdown();
  return { result, attempts };
}

async function receiver(): Promise<OtlpReceiver> {
  const started = await new OtlpReceiver().start(0);
  receivers.push(started);
  return started;
}

describe('the OpenTelemetry OTLP exporter alone', () => {
  it('503 with Retry-After: 1 is retried after about a second', async () => {
    const collector = await receiver();
    collector.script = ({ index }) => (index === 0 ? { status: 503, headers: { 'retry-after': '1' } } : undefined);
    const { result, attempts } = await exportOnce(collector.url, 5000);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(900);
  });

  it('a Retry-After longer than the export timeout is not waited for: the export fails at once', async () => {
    const collector = await receiver();
    collector.script = () => ({ status: 503, headers: { 'retry-after': '30' } });
    const { result, attempts } = await exportOnce(collector.url, 2000);
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(attempts).toHaveLength(1);
    expect(result.error?.message).toMatch(/retryable/);
  });

  it('connection refused is retried with backoff (about 1 s, then x1.5) until the export timeout, then fails', async () => {
    const collector = await receiver();
    await collector.stop();
    const { result, attempts } = await exportOnce(collector.url, 1800);
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect((result.error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(attempts).toHaveLength(2);
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(750);
  });

  it('400 and 500 are not retried', async () => {
    const collector = await receiver();
    collector.script = ({ index }) => ({ status: index === 0 ? 400 : 500 });
    for (const status of [400, 500]) {
      const { result, attempts } = await exportOnce(collector.url, 5000);
      expect(result.code).toBe(ExportResultCode.FAILED);
      expect((result.error as { code?: number }).code).toBe(status);
      expect(attempts).toHaveLength(1);
    }
  });
});
