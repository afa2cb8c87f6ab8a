import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { BasicTracerProvider, type Sampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { millisecondsOption } from '@costspan/core';
import type { BudgetGate, Principal } from './budget-gate.js';
import { CostSpanProcessor, type CostSpanProcessorOptions, type CostSpanProcessorStats } from './processing/cost-span-processor.js';
import { CostTracer } from './tracing/cost-tracer.js';
import type { EventExporter } from './export/event-exporter.js';
import { JsonlEventExporter } from './export/jsonl-event-exporter.js';
import { notice } from './notice.js';
import { reportError } from './report-error.js';

/** Options of {@link setupCostspan}; every one is optional. */
export interface SetupCostspanOptions extends CostSpanProcessorOptions {
  /**
   * JSONL file the cost events are appended to (created with mode 0600). Default: the
   * `COSTSPAN_EVENTS_FILE` environment variable, else `events.jsonl` in the current directory.
   * Resolved to an absolute path once, when `setupCostspan` is called.
   */
  path?: string;
  /** Write the JSONL lines to this stream (e.g. `process.stdout`) instead of a file. */
  stream?: Writable;
  /** More event exporters, besides the JSONL file (e.g. `@costspan/exporter-otlp`'s). */
  exporters?: EventExporter[];
  /** More span processors on the provider, after costspan's (e.g. `new BatchSpanProcessor(yourSpanExporter)`). */
  spanProcessors?: SpanProcessor[];
  /** Sampler of the provider, e.g. `new CostRecordingSampler(yourSampler)`. Default: OTel's (always on). */
  sampler?: Sampler;
  /** Principal of every root run; a run's own `principal` fields win. */
  principal?: Principal;
  /** Budget of every root run without its own (e.g. `@costspan/budget`'s `BudgetGuard`). */
  budget?: BudgetGate;
  /**
   * Longest `forceFlush()` and `shutdown()` wait before they resolve anyway (and say so once). Default
   * 30000 ms; 1 to 2147483647, else `setupCostspan` throws a `CostspanError` naming it, as it does
   * for every numeric option of the processor.
   */
  shutdownTimeoutMillis?: number;
}

/** What {@link setupCostspan} made: a tracer that prices, rolls up and writes events, and its parts. */
export interface Costspan {
  /** Starts agent runs and steps (`costspan.tracer.agentRun(...)`). */
  readonly tracer: CostTracer;
  /** The cost processor: prices calls, rolls costs up, emits cost events. */
  readonly processor: CostSpanProcessor;
  /** The tracer provider costspan made and owns; not registered globally. */
  readonly provider: BasicTracerProvider;
  /** Absolute path of the JSONL file, or `undefined` when writing to a `stream`. */
  readonly eventsFile: string | undefined;
  /** Counters of events queued, exported, dropped and failed, calls unpriced, spans evicted. */
  stats(): CostSpanProcessorStats;
  /** Writes every ended run's events now. Resolves within `shutdownTimeoutMillis`; never rejects. */
  forceFlush(): Promise<void>;
  /**
   * Ends the provider: flushes and closes the JSONL file and every exporter. Call it once at the end;
   * further calls return the same promise. Resolves within `shutdownTimeoutMillis`; never rejects
   * (failures are reported through OpenTelemetry's `globalErrorHandler` and counted in `stats()`).
   */
  shutdown(): Promise<void>;
}

const DEFAULT_TIMEOUT_MILLIS = 30_000;

/**
 * One call to start, like spanforge's `configure(exporter="jsonl")`: a tracer whose runs are
 * priced from the built-in price table, rolled up exactly, and written to `events.jsonl` (or
 * `COSTSPAN_EVENTS_FILE`). costspan owns the tracer provider it makes and sets no globals: no
 * global provider, no context manager (runs and steps nest without one). To add costspan to a
 * provider you already own, use `new CostSpanProcessor(...)` and `createCostTracer(...)` instead.
 *
 * @example
 * ```ts
 * import { setupCostspan } from '@costspan/sdk';
 *
 * const costspan = setupCostspan({ source: 'my-app@1.0.0' });
 * await costspan.tracer.agentRun('support-bot', { principal: { userId: 'alice' } }, async (run) => {
 *   await run.step('answer', async (step) => {
 *     step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }); // $0.00325
 *   });
 * });
 * await costspan.shutdown(); // events.jsonl now holds the token, session and attribution events
 * ```
 */
export function setupCostspan(options: SetupCostspanOptions = {}): Costspan {
  const { path, stream, exporters, spanProcessors, sampler, principal, budget, shutdownTimeoutMillis, ...processorOptions } = options;
  // Checked before the file is opened: bad input throws with nothing left behind.
  const timeoutMillis = millisecondsOption(shutdownTimeoutMillis, 'shutdownTimeoutMillis', { fallback: DEFAULT_TIMEOUT_MILLIS });
  let eventsFile: string | undefined;
  let jsonl: JsonlEventExporter;
  if (stream !== undefined && path === undefined) {
    jsonl = new JsonlEventExporter({ stream });
  } else {
    const environment = process.env.COSTSPAN_EVENTS_FILE;
    // JsonlEventExporter refuses a non-string path or a path beside a stream, naming the field.
    const chosen =
      path !== undefined && path !== '' ? path : environment !== undefined && environment !== '' ? environment : 'events.jsonl';
    eventsFile = typeof chosen === 'string' ? resolve(chosen) : chosen;
    jsonl = new JsonlEventExporter({ path: eventsFile, ...(stream === undefined ? {} : { stream }) });
  }
  // The pipeline gets the same bound: its own wait must not hold the process open past the one given here.
  let processor: CostSpanProcessor;
  try {
    processor = new CostSpanProcessor({
      ...processorOptions,
      shutdownTimeoutMillis: timeoutMillis,
      exporters: [jsonl, ...(exporters ?? [])],
    });
  } catch (error) {
    // An option the processor refuses (a queue size, the source): close the file just opened, then throw.
    jsonl.shutdown().catch(reportError);
    throw error;
  }
  const provider = new BasicTracerProvider({
    spanProcessors: [processor, ...(spanProcessors ?? [])],
    ...(sampler === undefined ? {} : { sampler }),
  });
  const tracer = new CostTracer({
    tracerProvider: provider,
    ...(principal === undefined ? {} : { principal }),
    ...(budget === undefined ? {} : { budget }),
  });
  let shutdownPromise: Promise<void> | undefined;
  return {
    tracer,
    processor,
    provider,
    eventsFile,
    stats: () => processor.stats(),
    forceFlush: () => (shutdownPromise === undefined ? bounded(() => provider.forceFlush(), timeoutMillis, 'forceFlush') : shutdownPromise),
    shutdown: () => (shutdownPromise ??= bounded(() => provider.shutdown(), timeoutMillis, 'shutdown')),
  };
}

/**
 * Runs `work`, resolving when it settles or after `timeoutMillis`, whichever comes first; never
 * rejects. The timer is not unref'd on purpose: an `await costspan.shutdown()` at the top level of a
 * script whose exporter hangs must wait the bound out, not end the process as an unsettled await.
 */
function bounded(work: () => Promise<void>, timeoutMillis: number, operation: string): Promise<void> {
  return new Promise((resolveBounded) => {
    const timer = setTimeout(() => {
      notice(
        `setup_${operation}_timeout`,
        `costspan ${operation}() did not finish within ${timeoutMillis} ms (an exporter did not answer); ` +
          'cost events still queued may be lost: check costspan.stats() and the exporters, or raise shutdownTimeoutMillis',
      );
      resolveBounded();
    }, timeoutMillis);
    const settle = (): void => {
      clearTimeout(timer);
      resolveBounded();
    };
    const failed = (error: unknown): void => {
      reportError(error);
      settle();
    };
    try {
      work().then(settle, failed);
    } catch (error) {
      failed(error);
    }
  });
}
