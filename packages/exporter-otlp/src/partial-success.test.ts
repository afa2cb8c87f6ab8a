import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { resetNotices } from '@costspan/sdk/internal';
import { captureDiag, tokenEvent } from './__fixtures__/events.js';
import { OtlpReceiver } from './__fixtures__/otlp-receiver.js';
import { OtlpLogEventExporter } from './otlp-log-event-exporter.js';
import { registerCostspan } from './register-costspan.js';

const receivers: OtlpReceiver[] = [];

afterEach(async () => {
  diag.disable();
  resetNotices();
  await Promise.all(receivers.splice(0).map((receiver) => receiver.stop()));
});

async function partialCollector(rejected: number): Promise<OtlpReceiver> {
  const collector = await new OtlpReceiver().start(0);
  collector.script = () => ({ status: 200, partialSuccess: { rejected, errorMessage: 'record too large' } });
  receivers.push(collector);
  return collector;
}

describe('OTLP partial success is counted, not only logged', () => {
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`${protocol}: rejected_log_records count in the log exporter's stats as rejected and failed`, async () => {
      const logs = captureDiag();
      const collector = await partialCollector(2);
      const exporter = new OtlpLogEventExporter({ endpoint: collector.url, protocol });
      const result = await new Promise<ExportResult>((resolve) => exporter.export([tokenEvent(1), tokenEvent(2), tokenEvent(3)], resolve));
      await exporter.shutdown();

      expect(result.code).toBe(ExportResultCode.SUCCESS);
      expect(exporter.stats()).toMatchObject({ exported: 1, failed: 2, rejected: 2, inFlight: 0 });
      // Told once, with the collector's reason.
      expect(logs.messages.filter((message) => message.includes('refused 2 cost events')).length).toBe(1);
      expect(logs.text()).toContain('record too large');
    });
  }

  it('registerCostspan: rejected_spans and rejected_log_records appear in stats()', async () => {
    const collector = await partialCollector(1);
    const costspan = registerCostspan({ endpoint: collector.url, flushOnExit: false });
    await costspan.tracer.agentRun('planner', async (run) => {
      run.step('plan', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }));
    });
    const stats = await costspan.shutdown();

    expect(stats.events).toMatchObject({ queued: 2, exported: 1, failed: 1, rejected: 1, pending: 0 });
    expect(stats.spans).toMatchObject({ exported: 1, failed: 1, rejected: 1, pending: 0 });
  });

  it('a full success counts nothing as rejected', async () => {
    const collector = await new OtlpReceiver().start(0);
    receivers.push(collector);
    const exporter = new OtlpLogEventExporter({ endpoint: collector.url });
    await new Promise<ExportResult>((resolve) => exporter.export([tokenEvent(1)], resolve));
    await exporter.shutdown();
    expect(exporter.stats()).toMatchObject({ exported: 1, failed: 0, rejected: 0 });
  });
});
