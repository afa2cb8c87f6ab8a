import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode } from '@opentelemetry/core';
import { afterAll, describe, expect, it } from 'vitest';
import { CostSpanProcessor, createCostTracer, setNoticeHandler, type EventExporter } from '@costspan/sdk';
import { expectStatsAddUp, printFigures, recordFault } from './harness.js';

// A real BasicTracerProvider over the built SDK, with exporters whose flush and shutdown never settle or throw.
afterAll(() => {
  setNoticeHandler(undefined);
  printFigures('shutdown-faults');
});

const BOUND_MILLIS = 1000;

function setup(exporter: EventExporter): { provider: BasicTracerProvider; processor: CostSpanProcessor; runs: (count: number) => void } {
  const processor = new CostSpanProcessor({ source: 'shutdown-test@1.0.0', exporters: [exporter], shutdownTimeoutMillis: BOUND_MILLIS });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = createCostTracer({ tracerProvider: provider });
  const runs = (count: number): void => {
    for (let index = 0; index < count; index += 1) {
      tracer.agentRun(`run-${index}`, (run) =>
        run.step('call', (step) =>
          step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 10, output: 5 }).setCost({ inputUsd: 0.001, outputUsd: 0.002 }),
        ),
      );
    }
  };
  return { provider, processor, runs };
}

describe('provider.shutdown() is bounded and shuts each exporter down once', () => {
  it('resolves within its bound when the exporter never answers, flushes or shuts down', async () => {
    setNoticeHandler(() => undefined);
    let shutdowns = 0;
    const exporter: EventExporter = {
      export: () => undefined,
      forceFlush: () => new Promise<void>(() => undefined),
      shutdown: () => {
        shutdowns += 1;
        return new Promise<void>(() => undefined);
      },
    };
    const { provider, processor, runs } = setup(exporter);
    runs(10);
    const started = Date.now();
    await Promise.all([provider.shutdown(), provider.shutdown()]);
    const millis = Date.now() - started;
    // Generous: twice the bound (before: pending forever).
    expect(millis).toBeLessThan(2 * BOUND_MILLIS);
    expect(shutdowns).toBe(1);
    const stats = processor.stats();
    expect(stats).toMatchObject({ queued: 20, exported: 0 });
    expectStatsAddUp(stats);
    recordFault({
      fault: 'never-settling exporter at shutdown',
      eventsAtStake: stats.queued,
      eventsLost: stats.failed + stats.pending,
      hostCrashed: false,
      shutdownMillis: millis,
    });
  });

  it('resolves when the exporter forceFlush never settles (provider.forceFlush)', async () => {
    setNoticeHandler(() => undefined);
    const exporter: EventExporter = {
      export: (_events, done) => done({ code: ExportResultCode.SUCCESS }),
      forceFlush: () => new Promise<void>(() => undefined),
      shutdown: async () => undefined,
    };
    const { provider, processor, runs } = setup(exporter);
    runs(5);
    const started = Date.now();
    await provider.forceFlush();
    const millis = Date.now() - started;
    expect(millis).toBeLessThan(2 * BOUND_MILLIS);
    const stats = processor.stats();
    expect(stats).toMatchObject({ queued: 10, exported: 10, failed: 0, pending: 0 });
    expectStatsAddUp(stats);
    await provider.shutdown();
    recordFault({
      fault: 'never-settling forceFlush',
      eventsAtStake: stats.queued,
      eventsLost: 0,
      hostCrashed: false,
      shutdownMillis: millis,
    });
  });

  it.each([
    [
      'throws',
      (): Promise<void> => {
        throw new Error('shutdown threw');
      },
    ],
    ['rejects', (): Promise<void> => Promise.reject(new Error('shutdown rejected'))],
  ])('resolves when the exporter shutdown %s', async (_how, shutdown) => {
    let calls = 0;
    const exporter: EventExporter = {
      export: (_events, done) => done({ code: ExportResultCode.SUCCESS }),
      shutdown: () => {
        calls += 1;
        return shutdown();
      },
    };
    const { provider, processor, runs } = setup(exporter);
    runs(3);
    const started = Date.now();
    await expect(Promise.all([provider.shutdown(), provider.shutdown()])).resolves.toBeDefined();
    const millis = Date.now() - started;
    expect(calls).toBe(1);
    const stats = processor.stats();
    expect(stats).toMatchObject({ queued: 6, exported: 6, failed: 0, pending: 0 });
    expectStatsAddUp(stats);
    recordFault({
      fault: `exporter shutdown ${_how}`,
      eventsAtStake: stats.queued,
      eventsLost: 0,
      hostCrashed: false,
      shutdownMillis: millis,
    });
  });
});
