/**
 * One variant of the agent-overhead case, alone in its worker thread (see `../src/variant-worker.ts`):
 * bare OpenTelemetry making the span tree, or costspan with events to JSONL and its metrics off,
 * on through `CostHistogramProducer` (as the one-call setup wires its readers), or on with the
 * histograms through the SDK's own instruments (a MeterProvider of yours without the producer).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerData } from 'node:worker_threads';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createDefaultPriceSource } from '@costspan/pricing';
import { CostHistogramProducer } from '@costspan/exporter-otlp';
import { CostSpanProcessor, JsonlEventExporter, createCostTracer, type CostTracer } from '@costspan/sdk';
import { bareVariant, DiscardingSpanExporter } from '../src/bare-otel.js';
import { serveRounds, type BenchVariant } from '../src/variant-worker.js';

/** The variants, as named in the table. */
export type AgentOverheadVariant = 'bare' | 'off' | 'producer' | 'sdk';

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

const BARE_SHAPE = {
  root: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'agent', 'app.a': 1, 'app.b': 'x', 'app.c': true },
  step: {
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.provider.name': 'openai',
    'gen_ai.usage.input_tokens': 500,
    'gen_ai.usage.output_tokens': 200,
    'gen_ai.usage.cost.amount': 0.00325,
  },
  steps: STEPS,
};

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

function costspanVariant(path: string, metrics: 'off' | 'producer' | 'sdk'): BenchVariant {
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
  const tracer = createCostTracer({ tracerProvider: provider });
  return {
    run: () => costspanRun(tracer),
    // The events, and a metric collection as a periodic reader would make one, inside the timed part.
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

const variant = workerData as AgentOverheadVariant;
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const directory = mkdtempSync(join(tmpdir(), `costspan-bench-agent-${variant}-`));
serveRounds(
  `agent overhead ${variant}`,
  variant === 'bare'
    ? bareVariant(new DiscardingSpanExporter(), { maxQueueSize: 100_000 }, BARE_SHAPE)
    : costspanVariant(join(directory, 'events.jsonl'), variant),
  () => rmSync(directory, { recursive: true, force: true }),
);
