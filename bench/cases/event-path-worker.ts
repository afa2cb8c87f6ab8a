/**
 * One variant of the event-path case, alone in its worker thread (one isolate per variant: run
 * side by side in one thread, OpenTelemetry's code turns megamorphic and the baseline slows by
 * about 45 %). The coordinator asks for rounds; the worker answers with µs per run and GC time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GCProfiler } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { context, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { LangfuseSpanProcessor } from '@langfuse/otel';
import { propagateAttributes, setLangfuseTracerProvider, startActiveObservation } from '@langfuse/tracing';
import { createCostspanOtlp } from '@costspan/exporter-otlp';
import { CostSpanProcessor, JsonlEventExporter, createCostTracer, type CostTracer } from '@costspan/sdk';

/** The variants, as named in the table. */
export type EventPathVariant = 'B0' | 'B1' | 'C1' | 'C2' | 'L';

export interface EventPathWorkerData {
  variant: EventPathVariant;
  sinkUrl: string;
}

export interface RoundRequest {
  runs: number;
  concurrency: number;
}

export interface RoundResult {
  microsPerRun: number;
  gcMicrosPerRun: number;
  /** Cost events or spans the variant reports as lost so far. */
  lost: number;
}

const STEPS = 10;
const INPUT_TOKENS = 1200;
const OUTPUT_TOKENS = 300;
// gpt-4o at $2.50 / $10 per million tokens.
const INPUT_USD = (INPUT_TOKENS * 2.5) / 1e6;
const OUTPUT_USD = (OUTPUT_TOKENS * 10) / 1e6;

/** Accepts and discards, so the bare baseline pays no export cost. */
class DiscardingSpanExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

interface Variant {
  run: (index: number) => Promise<void>;
  flush: () => Promise<void>;
  lost: () => number;
  shutdown: () => Promise<void>;
}

/** Bare OpenTelemetry making the same tree: a root with the run's attributes, ten model-call spans. */
function bareRun(tracer: Tracer): (index: number) => Promise<void> {
  return (index) =>
    tracer.startActiveSpan('invoke_agent agent', async (root) => {
      root.setAttributes({
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.name': 'agent',
        'gen_ai.agent.id': `run-${index}`,
        'app.user': 'alice',
        'app.team': 'search',
        'app.org': 'acme',
      });
      for (let step = 0; step < STEPS; step += 1) {
        await tracer.startActiveSpan(`step-${step}`, async (span) => {
          await Promise.resolve();
          span.setAttributes({
            'gen_ai.operation.name': 'chat',
            'gen_ai.request.model': 'gpt-4o',
            'gen_ai.provider.name': 'openai',
            'gen_ai.usage.input_tokens': INPUT_TOKENS,
            'gen_ai.usage.output_tokens': OUTPUT_TOKENS,
          });
          span.end();
        });
      }
      root.end();
    });
}

function costspanRun(tracer: CostTracer): (index: number) => Promise<void> {
  return () =>
    tracer.agentRun('agent', { principal: { userId: 'alice', teamId: 'search', orgId: 'acme' } }, async (run) => {
      for (let step = 0; step < STEPS; step += 1) {
        await run.step(`step-${step}`, async (current) => {
          await Promise.resolve();
          current.setModel('gpt-4o', 'openai').setTokenUsage({ input: INPUT_TOKENS, output: OUTPUT_TOKENS });
        });
      }
    });
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

function makeVariant(data: EventPathWorkerData, directory: string): Variant {
  const spanQueue = { maxQueueSize: 100_000, maxExportBatchSize: 2048 };
  switch (data.variant) {
    case 'B0':
    case 'B1': {
      const exporter = data.variant === 'B0' ? new DiscardingSpanExporter() : new OTLPTraceExporter({ url: `${data.sinkUrl}/v1/traces` });
      const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, spanQueue)] });
      return {
        run: bareRun(provider.getTracer('bench')),
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

async function main(): Promise<void> {
  const data = workerData as EventPathWorkerData;
  process.on('unhandledRejection', (reason) => {
    console.error(`[${data.variant}] unhandled rejection:`, reason);
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const directory = mkdtempSync(join(tmpdir(), `costspan-bench-${data.variant}-`));
  const variant = makeVariant(data, directory);
  const port = parentPort;
  if (port === null) throw new Error('event-path-worker runs as a worker thread');
  port.on('message', (message: RoundRequest | 'stop') => {
    if (message === 'stop') {
      void variant.shutdown().finally(() => {
        rmSync(directory, { recursive: true, force: true });
        port.postMessage('stopped');
      });
      return;
    }
    void (async () => {
      const lanes = Math.max(1, message.concurrency);
      const perLane = Math.ceil(message.runs / lanes);
      // V8's own GC accounting for this isolate: every pause's cost, in microseconds.
      const profiler = new GCProfiler();
      profiler.start();
      const start = performance.now();
      await Promise.all(
        Array.from({ length: lanes }, async (_, lane) => {
          for (let index = 0; index < perLane; index += 1) await variant.run(lane * perLane + index);
        }),
      );
      await variant.flush();
      const elapsed = performance.now() - start;
      const gcMicros = (profiler.stop()?.statistics ?? []).reduce((sum, entry) => sum + entry.cost, 0);
      const runs = perLane * lanes;
      const result: RoundResult = {
        microsPerRun: (elapsed * 1000) / runs,
        gcMicrosPerRun: gcMicros / runs,
        lost: variant.lost(),
      };
      port.postMessage(result);
    })();
  });
  port.postMessage('ready');
}

await main();
