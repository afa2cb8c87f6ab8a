import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import {
  CostSpanProcessor,
  EventPipeline,
  InMemoryEventExporter,
  JsonlEventExporter,
  createCostTracer,
  type CostEvent,
} from '@costspan/sdk';
import { median, timeIt, type BenchRow } from '../src/harness.js';

/** Real events, made by the span processor from agent runs (each run: 1 token, 1 session, 2 attributed). */
export async function processorEvents(count: number): Promise<CostEvent[]> {
  const memory = new InMemoryEventExporter();
  const processor = new CostSpanProcessor({ source: 'bench@1.0.0', exporters: [memory], maxQueueSize: count * 2 });
  const tracer = createCostTracer({ tracerProvider: new BasicTracerProvider({ spanProcessors: [processor] }) });
  // Each run makes four events: a token event, a session event and one attribution per principal target.
  for (let index = 0; index < Math.ceil(count / 4); index += 1) {
    tracer.agentRun('agent', { principal: { userId: 'alice', teamId: 'search' } }, (run) =>
      run.step('step', (step) =>
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }).setCost({ inputUsd: 0.00125, outputUsd: 0.002 }),
      ),
    );
    if (index % 1000 === 999) await processor.forceFlush();
  }
  await processor.forceFlush();
  return memory.getEvents().slice(0, count);
}

/**
 * Case 2: sustained events/s through the bounded pipeline into a JSONL file (events as the
 * span processor makes them), against the baseline of serialising the same events with
 * JSON.stringify and nothing else; and a
 * 100k-event burst: zero lost, or the exact count reported.
 */
export async function eventPipeline(options: { smoke: boolean }): Promise<BenchRow[]> {
  const count = options.smoke ? 20_000 : 200_000;
  const rounds = options.smoke ? 2 : 5;
  const events = await processorEvents(count);
  const directory = mkdtempSync(join(tmpdir(), 'costspan-bench-'));
  const pipelineRates: number[] = [];
  const stringifyRates: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const path = join(directory, `round-${round}.jsonl`);
    const pipeline = new EventPipeline([new JsonlEventExporter({ path })]);
    const elapsed = await timeIt(async () => {
      for (const event of events) pipeline.emit(event);
      await pipeline.shutdown();
    });
    pipelineRates.push(count / (elapsed / 1000));
    let sink = 0;
    const baseline = await timeIt(() => {
      for (const event of events) sink += JSON.stringify(event).length;
    });
    if (sink === 0) throw new Error('unreachable');
    stringifyRates.push(count / (baseline / 1000));
    rmSync(path);
  }

  const burstPath = join(directory, 'burst.jsonl');
  const burst = new EventPipeline([new JsonlEventExporter({ path: burstPath })]);
  const burstEvents = count >= 100_000 ? events : await processorEvents(100_000);
  for (let index = 0; index < 100_000; index += 1) burst.emit(burstEvents[index] as CostEvent);
  await burst.shutdown();
  const written = readFileSync(burstPath, 'utf8').split('\n').length - 1;
  const stats = burst.stats();
  rmSync(directory, { recursive: true, force: true });
  if (written + stats.dropped + stats.failed !== 100_000)
    throw new Error(`burst accounting broken: ${written} written, ${stats.dropped} dropped`);
  return [
    {
      name: 'events/s to JSONL (sustained)',
      value: median(pipelineRates),
      unit: 'events/s',
      baseline: median(stringifyRates),
      baselineName: 'JSON.stringify only',
      target: '>= 300k events/s',
    },
    { name: '100k burst: lines written', value: written, unit: 'events' },
    { name: '100k burst: dropped (counted)', value: stats.dropped, unit: 'events' },
  ];
}
