/**
 * One variant of the event-path case, alone in its worker thread (one isolate per variant: run
 * side by side in one thread, OpenTelemetry's code turns megamorphic and the baseline slows by
 * about 45 %). The coordinator asks for rounds; the worker answers with µs per run and GC time.
 */
import { mkdtempSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerData } from 'node:worker_threads';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { LangfuseSpanProcessor } from '@langfuse/otel';
import { propagateAttributes, setLangfuseTracerProvider, startActiveObservation } from '@langfuse/tracing';
import { createCostspanOtlp } from '@costspan/exporter-otlp';
import { CostSpanProcessor, JsonlEventExporter, createCostTracer, type CostTracer } from '@costspan/sdk';
import { bareVariant, DiscardingSpanExporter } from '../src/bare-otel.js';
import { floorVariant, stringifyVariant, tracerFloorVariant } from './event-path-floor.js';
import { serveRounds, type BenchVariant } from '../src/variant-worker.js';

/** The variants, as named in the table. */
export type EventPathVariant = 'B0' | 'B1' | 'T' | 'C1' | 'C2' | 'L' | 'F1' | 'F2' | 'F1T' | 'S';

export interface EventPathWorkerData {
  variant: EventPathVariant;
  sinkUrl: string;
}

const STEPS = 10;
const INPUT_TOKENS = 1200;
const OUTPUT_TOKENS = 300;
// gpt-4o at $2.50 / $10 per million tokens.
const INPUT_USD = (INPUT_TOKENS * 2.5) / 1e6;
const OUTPUT_USD = (OUTPUT_TOKENS * 10) / 1e6;

/** Bare OpenTelemetry making the same tree: a root with the run's attributes, ten model-call spans. */
const BARE_SHAPE = {
  root: {
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': 'agent',
    'app.user': 'alice',
    'app.team': 'search',
    'app.org': 'acme',
  },
  step: {
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.provider.name': 'openai',
    'gen_ai.usage.input_tokens': INPUT_TOKENS,
    'gen_ai.usage.output_tokens': OUTPUT_TOKENS,
  },
  steps: STEPS,
};

/** One root run of the workload under `tracer`. */
function costspanAgentRun(tracer: CostTracer): Promise<void> {
  return tracer.agentRun('agent', { principal: { userId: 'alice', teamId: 'search', orgId: 'acme' } }, async (run) => {
    for (let step = 0; step < STEPS; step += 1) {
      await run.step(`step-${step}`, async (current) => {
        await Promise.resolve();
        current.setModel('gpt-4o', 'openai').setTokenUsage({ input: INPUT_TOKENS, output: OUTPUT_TOKENS });
      });
    }
  });
}

function costspanRun(tracer: CostTracer): (index: number) => Promise<void> {
  return () => costspanAgentRun(tracer);
}

function langfuseRun(): (index: number) => Promise<void> {
  return () =>
    propagateAttributes({ userId: 'alice', metadata: { team: 'search', org: 'acme' } }, () =>
      startActiveObservation(
        'agent',
        async () => {
          for (let step = 0; step < STEPS; step += 1) {
            await startActiveObservation(
              `step-${step}`,
              async (generation) => {
                await Promise.resolve();
                generation.update({
                  model: 'gpt-4o',
                  usageDetails: { input: INPUT_TOKENS, output: OUTPUT_TOKENS, total: INPUT_TOKENS + OUTPUT_TOKENS },
                  costDetails: { input: INPUT_USD, output: OUTPUT_USD, total: INPUT_USD + OUTPUT_USD },
                });
              },
              { asType: 'generation' },
            );
          }
        },
        { asType: 'agent' },
      ),
    );
}

async function makeVariant(data: EventPathWorkerData, directory: string): Promise<BenchVariant> {
  const spanQueue = { maxQueueSize: 100_000, maxExportBatchSize: 2048 };
  switch (data.variant) {
    case 'B0':
    case 'B1': {
      const exporter = data.variant === 'B0' ? new DiscardingSpanExporter() : new OTLPTraceExporter({ url: `${data.sinkUrl}/v1/traces` });
      return bareVariant(exporter, spanQueue, BARE_SHAPE);
    }
    case 'T': {
      // costspan's tracer with no CostSpanProcessor: its spans and usage attributes, nothing priced,
      // rolled up or written. C1 minus T is what the processor and the JSONL path cost.
      const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new DiscardingSpanExporter(), spanQueue)] });
      return {
        run: costspanRun(createCostTracer({ tracerProvider: provider })),
        flush: () => provider.forceFlush(),
        lost: () => 0,
        shutdown: () => provider.shutdown(),
      };
    }
    case 'C1': {
      const processor = new CostSpanProcessor({
        source: 'bench@1.0.0',
        exporters: [new JsonlEventExporter({ path: join(directory, 'events.jsonl') })],
      });
      const provider = new BasicTracerProvider({
        spanProcessors: [processor, new BatchSpanProcessor(new DiscardingSpanExporter(), spanQueue)],
      });
      return {
        run: costspanRun(createCostTracer({ tracerProvider: provider })),
        flush: () => provider.forceFlush(),
        lost: () => {
          const stats = processor.stats();
          return stats.dropped + stats.failed;
        },
        shutdown: () => provider.shutdown(),
      };
    }
    case 'C2': {
      const costspan = createCostspanOtlp({
        endpoint: data.sinkUrl,
        serviceName: 'bench',
        flushOnExit: false,
        spanQueue,
        costs: { source: 'bench@1.0.0' },
        // Spans and cost events only, as Langfuse and B1 send: metrics have their own case (agent overhead).
        metrics: false,
      });
      const provider = new BasicTracerProvider({ spanProcessors: costspan.spanProcessors });
      return {
        run: costspanRun(createCostTracer({ tracerProvider: provider })),
        flush: async () => {
          await costspan.forceFlush();
        },
        lost: () => {
          const stats = costspan.stats();
          return stats.events.dropped + stats.events.failed + stats.spans.dropped + stats.spans.failed;
        },
        shutdown: async () => {
          await costspan.shutdown();
          await provider.shutdown();
        },
      };
    }
    case 'F1':
    case 'F2':
      return floorVariant(data.variant, { sinkUrl: data.sinkUrl, directory, spanQueue }, costspanAgentRun);
    case 'F1T':
      return tracerFloorVariant({ directory, spanQueue }, costspanAgentRun);
    case 'S':
      return stringifyVariant(costspanAgentRun);
    case 'L': {
      const processor = new LangfuseSpanProcessor({
        publicKey: 'pk-lf-bench',
        secretKey: 'sk-lf-bench',
        baseUrl: data.sinkUrl,
        exportMode: 'batched',
        flushAt: 2048,
      });
      const provider = new BasicTracerProvider({ spanProcessors: [processor] });
      setLangfuseTracerProvider(provider);
      return { run: langfuseRun(), flush: () => provider.forceFlush(), lost: () => 0, shutdown: () => provider.shutdown() };
    }
  }
}

/**
 * Empties the variant's JSONL files before each round (C1, F1 and F1T alike). A file that grows by
 * hundreds of MB over the bench takes fresh page-cache pages all the way, and on a VM the first
 * touch of a guest page costs several times a reused one (a bare `writeSync` loop appending a
 * run's 12.5 KB measured 2 to 31 µs here): emptied, each round writes into pages the guest has
 * used, as a long-running host with rotated files does. The appends continue at the new end.
 */
function emptyJsonlFiles(directory: string): void {
  for (const name of readdirSync(directory)) if (name.endsWith('.jsonl')) truncateSync(join(directory, name), 0);
}

const data = workerData as EventPathWorkerData;
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const directory = mkdtempSync(join(tmpdir(), `costspan-bench-${data.variant}-`));
const variant = await makeVariant(data, directory);
variant.beforeRound = () => emptyJsonlFiles(directory);
serveRounds(`event path ${data.variant}`, variant, () => rmSync(directory, { recursive: true, force: true }));
