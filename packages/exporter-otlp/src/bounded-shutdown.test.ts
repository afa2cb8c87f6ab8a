import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { createCostTracer, type CostTracer } from '@costspan/sdk';
import { tokenEvent } from './__fixtures__/events.js';
import { OtlpReceiver } from './__fixtures__/otlp-receiver.js';
import { OtlpLogEventExporter } from './otlp-log-event-exporter.js';
import { createCostspanOtlp, registerCostspan } from './register-costspan.js';

const receivers: OtlpReceiver[] = [];

afterEach(async () => {
  diag.disable();
  await Promise.all(receivers.splice(0).map((receiver) => receiver.stop()));
});

/** A collector that is down: a port that was just listened on and closed. */
async function downCollector(): Promise<string> {
  const collector = await new OtlpReceiver().start(0);
  await collector.stop();
  return collector.url;
}

/** A collector that accepts connections and never answers. */
async function hungCollector(): Promise<string> {
  const collector = await new OtlpReceiver().start(0);
  collector.script = () => ({ status: 200, hang: true });
  receivers.push(collector);
  return collector.url;
}

async function agent(tracer: CostTracer): Promise<void> {
  await tracer.agentRun('planner', async (run) => {
    run.step('plan', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }));
  });
}

async function timed<Value>(work: () => Promise<Value>): Promise<{ value: Value; millis: number }> {
  const started = performance.now();
  const value = await work();
  return { value, millis: performance.now() - started };
}

/** A log exporter that counts its calls and, when asked, never settles. */
class ProbeLogExporter implements LogRecordExporter {
  exports = 0;
  shutdowns = 0;
  constructor(private readonly hang: boolean) {}
  export(_records: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    this.exports += 1;
    if (!this.hang) resultCallback({ code: ExportResultCode.SUCCESS });
  }
  forceFlush(): Promise<void> {
    return this.hang ? new Promise(() => undefined) : Promise.resolve();
  }
  shutdown(): Promise<void> {
    this.shutdowns += 1;
    return this.hang ? new Promise(() => undefined) : Promise.resolve();
  }
}

describe('bounded, idempotent shutdown', () => {
  for (const [name, collector] of [
    ['down', downCollector],
    ['hung', hungCollector],
  ] as const) {
    it(`the README's own-provider sequence (costspan.shutdown(), then the provider's) resolves with the collector ${name}`, async () => {
      const shutdownTimeoutMillis = 1000;
      const costspan = createCostspanOtlp({ endpoint: await collector(), flushOnExit: false, shutdownTimeoutMillis });
      const provider = new BasicTracerProvider({ spanProcessors: costspan.spanProcessors });
      await agent(createCostTracer({ tracerProvider: provider }));

      const { value: stats, millis } = await timed(async () => {
        const counted = await costspan.shutdown();
        await provider.shutdown();
        return counted;
      });
      // Generous: twice the bound for the whole sequence.
      expect(millis).toBeLessThan(2 * shutdownTimeoutMillis);
      expect(stats.events.queued).toBe(2);
      expect(stats.events.exported).toBe(0);
    });
  }

  it('registerCostspan: provider.shutdown() alone is bounded too with the collector hung', async () => {
    const shutdownTimeoutMillis = 1000;
    const costspan = registerCostspan({ endpoint: await hungCollector(), flushOnExit: false, shutdownTimeoutMillis });
    await agent(costspan.tracer);
    const { millis } = await timed(() => costspan.tracerProvider.shutdown());
    expect(millis).toBeLessThan(2 * shutdownTimeoutMillis);
    const { millis: again } = await timed(() => costspan.shutdown());
    expect(again).toBeLessThan(2 * shutdownTimeoutMillis);
  });

  it('two concurrent setup shutdown() calls share one shutdown', async () => {
    const costspan = createCostspanOtlp({ endpoint: await downCollector(), flushOnExit: false, shutdownTimeoutMillis: 500 });
    const [first, second] = [costspan.shutdown(), costspan.shutdown()];
    expect(second).toBe(first);
    await first;
    expect(costspan.shutdown()).toBe(first);
  });

  it('OtlpLogEventExporter: two concurrent shutdown() calls shut the OTLP exporter down once', async () => {
    const probe = new ProbeLogExporter(false);
    const exporter = new OtlpLogEventExporter({ logRecordExporter: probe });
    const [first, second] = [exporter.shutdown(), exporter.shutdown()];
    await Promise.all([first, second]);
    await exporter.shutdown();
    expect(probe.shutdowns).toBe(1);
  });

  it('OtlpLogEventExporter: forceFlush and shutdown resolve within their bound when the OTLP exporter never settles', async () => {
    const probe = new ProbeLogExporter(true);
    const exporter = new OtlpLogEventExporter({ logRecordExporter: probe, shutdownTimeoutMillis: 300 });
    const results: ExportResult[] = [];
    exporter.export([tokenEvent(1)], (result) => results.push(result));

    const flushed = await timed(() => exporter.forceFlush());
    expect(flushed.millis).toBeLessThan(600);
    const shut = await timed(() => exporter.shutdown());
    expect(shut.millis).toBeLessThan(600);
    expect(probe.shutdowns).toBe(1);
    // The batch that never answered is given up on and counted, not left pending for ever.
    expect(results.map((result) => result.code)).toEqual([ExportResultCode.FAILED]);
    expect(exporter.stats()).toMatchObject({ exported: 0, failed: 1, inFlight: 0 });
  });

  it('OtlpLogEventExporter: shutdown with the collector down is bounded and counts the batch failed', async () => {
    const exporter = new OtlpLogEventExporter({ endpoint: await downCollector(), shutdownTimeoutMillis: 500, retryTimeoutMillis: 60_000 });
    const results: ExportResult[] = [];
    exporter.export([tokenEvent(1), tokenEvent(2)], (result) => results.push(result));
    const { millis } = await timed(() => exporter.shutdown());
    expect(millis).toBeLessThan(1000);
    expect(results.map((result) => result.code)).toEqual([ExportResultCode.FAILED]);
    expect(exporter.stats()).toMatchObject({ exported: 0, failed: 2, inFlight: 0 });
  });
});
