import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createDefaultPriceSource } from '@costspan/pricing';
import { CostHistogramProducer } from '@costspan/exporter-otlp';
import { CostSpanProcessor, JsonlEventExporter, createCostTracer, type CostTracer } from '@costspan/sdk';
import { median, timeIt, type BenchRow } from '../src/harness.js';

/** A span exporter that accepts and discards, so both sides pay the same export cost (none). */
class DiscardingSpanExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A metric reader the bench collects from once per round, inside the timed part (as a periodic reader would). */
class RoundMetricReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const STEPS = 10;

async function bareRun(tracer: Tracer, index: number): Promise<void> {
  await tracer.startActiveSpan('invoke_agent agent', async (root) => {
    root.setAttributes({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'agent',
      'gen_ai.agent.id': `run-${index}`,
      'app.a': 1,
      'app.b': 'x',
      'app.c': true,
    });
    for (let step = 0; step < STEPS; step += 1) {
      await tracer.startActiveSpan(`step-${step}`, async (span) => {
        await Promise.resolve();
        span.setAttributes({
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.provider.name': 'openai',
          'gen_ai.usage.input_tokens': 500,
          'gen_ai.usage.output_tokens': 200,
          'gen_ai.usage.cost.amount': 0.00325,
        });
        span.end();
      });
    }
    root.end();
  });
}

async function costspanRun(tracer: CostTracer): Promise<void> {
  await tracer.agentRun('agent', { principal: { userId: 'alice', teamId: 'search' } }, async (run) => {
    for (let step = 0; step < STEPS; step += 1) {
      await run.step(`step-${step}`, async (current) => {
        await Promise.resolve();
        current.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 });
      });
    }
  });
}

/** One costspan pipeline of the case: events to JSONL, metrics off, through the producer, or through the SDK's instruments. */
interface CostspanVariant {
  tracer: CostTracer;
  /** Flushes the events, and collects the metrics as a periodic reader would. */
  flush(): Promise<void>;
  lost(): number;
  shutdown(): Promise<void>;
}

function costspanVariant(path: string, metrics: 'off' | 'producer' | 'sdk'): CostspanVariant {
  const histograms = new CostHistogramProducer();
  const reader = metrics === 'off' ? undefined : new RoundMetricReader(metrics === 'producer' ? { metricProducers: [histograms] } : {});
  const meterProvider = reader === undefined ? undefined : new MeterProvider({ readers: [reader] });
  const processor = new CostSpanProcessor({
    source: 'bench@1.0.0',
    priceSource: createDefaultPriceSource(),
    exporters: [new JsonlEventExporter({ path })],
    meterProvider,
    metrics: metrics === 'producer' ? { histograms } : {},
  });
  const provider = new BasicTracerProvider({
    spanProcessors: [processor, new BatchSpanProcessor(new DiscardingSpanExporter(), { maxQueueSize: 100_000 })],
  });
  return {
    tracer: createCostTracer({ tracerProvider: provider }),
    async flush() {
      await processor.forceFlush();
      await reader?.collect();
    },
    lost: () => processor.stats().dropped + processor.stats().failed,
    async shutdown() {
      await provider.shutdown();
      await meterProvider?.shutdown();
    },
  };
}

/** Milliseconds per run over one round of `runs` runs, the flush and the collection included. */
async function timeVariant(variant: CostspanVariant, runs: number): Promise<number> {
  return (
    (await timeIt(async () => {
      for (let index = 0; index < runs; index += 1) await costspanRun(variant.tracer);
      await variant.flush();
    })) / runs
  );
}

/**
 * Case 1: time per agent run (root + 10 async steps) with costspan (priced from the
 * registry, rolled up, events to JSONL) against bare OpenTelemetry making the same span tree,
 * and costspan with its metrics on against off (issue 15's target: within 10 %).
 */
export async function agentOverhead(options: { smoke: boolean }): Promise<BenchRow[]> {
  const runsPerRound = options.smoke ? 200 : 2000;
  const rounds = options.smoke ? 3 : 11;
  const directory = mkdtempSync(join(tmpdir(), 'costspan-bench-'));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

  const bareProvider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new DiscardingSpanExporter(), { maxQueueSize: 100_000 })],
  });
  const bareTracer = bareProvider.getTracer('bench');
  // costspan with metrics off; on, wired as the one-call setup wires its readers (issue 15: the
  // histograms through CostHistogramProducer); and on with the histograms recorded through the
  // SDK's own instruments (a MeterProvider of yours without the producer: the SDK sorts and
  // serialises the attributes on every record).
  const off = costspanVariant(join(directory, 'events.jsonl'), 'off');
  const metered = costspanVariant(join(directory, 'events-metered.jsonl'), 'producer');
  const sdkMetered = costspanVariant(join(directory, 'events-sdk-metered.jsonl'), 'sdk');

  // Warm up both paths (JIT, price memo).
  for (let index = 0; index < runsPerRound; index += 1) {
    await bareRun(bareTracer, index);
    for (const variant of [off, metered, sdkMetered]) await costspanRun(variant.tracer);
  }
  for (const variant of [off, metered, sdkMetered]) await variant.flush();
  const bare: number[] = [];
  const costspan: number[] = [];
  const meteredTimes: number[] = [];
  const sdkMeteredTimes: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const pair = [
      async () =>
        bare.push(
          (await timeIt(async () => {
            for (let index = 0; index < runsPerRound; index += 1) await bareRun(bareTracer, index);
          })) / runsPerRound,
        ),
      async () => costspan.push(await timeVariant(off, runsPerRound)),
      async () => meteredTimes.push(await timeVariant(metered, runsPerRound)),
      async () => sdkMeteredTimes.push(await timeVariant(sdkMetered, runsPerRound)),
    ];
    // Rotate the order so drift in machine load hits every variant alike.
    for (let turn = 0; turn < round % pair.length; turn += 1) pair.push(pair.shift() as () => Promise<number>);
    for (const measure of pair) await measure();
  }
  const lost = [off, metered, sdkMetered].reduce((sum, variant) => sum + variant.lost(), 0);
  for (const variant of [off, metered, sdkMetered]) await variant.shutdown();
  await bareProvider.shutdown();
  trace.disable();
  context.disable();
  rmSync(directory, { recursive: true, force: true });
  const bareMedian = median(bare) * 1000;
  const costspanMedian = median(costspan) * 1000;
  // The ratio column: the median over rounds of the ratio within each round (drift in machine
  // load hits both sides of a round alike), not value / baseline of the medians.
  const perRound = (variant: number[], baseline: number[]): number =>
    median(variant.map((value, round) => value / (baseline[round] ?? NaN)));
  return [
    {
      name: 'agent run, 10 steps (µs/run)',
      value: costspanMedian,
      unit: 'µs',
      baseline: bareMedian,
      baselineName: 'bare OTel span tree',
      ratio: perRound(costspan, bare),
      // No target here: issue 14 retired "<= 1.10x bare OTel" (below the floor of costspan's own
      // span attributes); the event-path case carries the current one (JSONL <= 2.0x B0).
    },
    {
      name: 'agent run, 10 steps, metrics on (µs/run)',
      value: median(meteredTimes) * 1000,
      unit: 'µs',
      baseline: costspanMedian,
      baselineName: 'costspan, metrics off',
      ratio: perRound(meteredTimes, costspan),
      target: '<= 1.10x',
    },
    {
      name: 'agent run, 10 steps, metrics on, histograms through the SDK instruments (µs/run)',
      value: median(sdkMeteredTimes) * 1000,
      unit: 'µs',
      baseline: costspanMedian,
      baselineName: 'costspan, metrics off',
      ratio: perRound(sdkMeteredTimes, costspan),
    },
    { name: 'cost events lost in the runs (all variants)', value: lost, unit: 'events' },
  ];
}
