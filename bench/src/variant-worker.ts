/**
 * Benchmark variants that run alone in a worker thread each (one isolate per variant: side by
 * side in one thread, OpenTelemetry's code turns megamorphic and a baseline slows by about
 * 45 %). The coordinator asks for rounds; the worker answers with µs per run and GC time.
 */
import { GCProfiler } from 'node:v8';
import { parentPort, Worker } from 'node:worker_threads';

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

/** One variant, built inside its worker. */
export interface BenchVariant {
  run: (index: number) => Promise<void>;
  /** Flushes what a round made (events, spans, a metric collection), inside the timed part. */
  flush: () => Promise<void>;
  lost: () => number;
  shutdown: () => Promise<void>;
  /** Runs before each round, outside the timed part (e.g. emptying the files the last round wrote). */
  beforeRound?: () => void;
}

/** Worker side: answers the coordinator's rounds with `variant`, until it says stop. */
export function serveRounds(name: string, variant: BenchVariant, cleanup: () => void): void {
  process.on('unhandledRejection', (reason) => {
    console.error(`[${name}] unhandled rejection:`, reason);
  });
  const port = parentPort;
  if (port === null) throw new Error(`${name} runs as a worker thread`);
  port.on('message', (message: RoundRequest | 'stop') => {
    if (message === 'stop') {
      void variant.shutdown().finally(() => {
        cleanup();
        port.postMessage('stopped');
      });
      return;
    }
    void (async () => {
      const lanes = Math.max(1, message.concurrency);
      const perLane = Math.ceil(message.runs / lanes);
      // V8's own GC accounting for this isolate: every pause's cost, in microseconds.
      variant.beforeRound?.();
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
      const result: RoundResult = { microsPerRun: (elapsed * 1000) / runs, gcMicrosPerRun: gcMicros / runs, lost: variant.lost() };
      port.postMessage(result);
    })();
  });
  port.postMessage('ready');
}

/** Coordinator side: one variant's worker. */
export class VariantWorker<Name extends string> {
  private readonly worker: Worker;
  private pending: ((message: unknown) => void) | undefined;

  constructor(
    readonly variant: Name,
    script: URL,
    workerData: unknown,
  ) {
    this.worker = new Worker(script, { workerData });
    this.worker.on('message', (message: unknown) => this.answer(message));
    this.worker.on('error', (error) => this.answer(error));
  }

  private answer(message: unknown): void {
    const resolve = this.pending;
    this.pending = undefined;
    resolve?.(message);
  }

  private next(): Promise<unknown> {
    return new Promise((resolve) => (this.pending = resolve));
  }

  async ready(): Promise<void> {
    const message = await this.next();
    if (message instanceof Error) throw message;
  }

  async round(request: RoundRequest): Promise<RoundResult> {
    const answer = this.next();
    this.worker.postMessage(request);
    const message = await answer;
    if (message instanceof Error) throw message;
    return message as RoundResult;
  }

  async stop(): Promise<void> {
    const answer = this.next();
    this.worker.postMessage('stop');
    await Promise.race([answer, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    await this.worker.terminate();
  }
}

/**
 * Runs a warm-up round (JIT, price memo, connections; not counted) and then `rounds` rounds of
 * every worker, the order rotating each round so drift in machine load hits every variant alike.
 */
export async function interleavedRounds<Name extends string>(
  workers: readonly VariantWorker<Name>[],
  request: RoundRequest & { rounds: number },
): Promise<Map<Name, RoundResult[]>> {
  const results = new Map<Name, RoundResult[]>(workers.map((worker) => [worker.variant, []]));
  for (const worker of workers) await worker.round(request);
  for (let round = 0; round < request.rounds; round += 1) {
    const order = workers.map((_, index) => workers[(index + round) % workers.length] as VariantWorker<Name>);
    for (const worker of order) results.get(worker.variant)?.push(await worker.round(request));
  }
  return results;
}
