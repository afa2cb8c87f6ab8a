import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, type Span } from '@opentelemetry/sdk-trace-base';
import { CostSpanProcessor, CostTracker, createCostTracer } from '@costspan/sdk';
import { collectGarbage, type BenchRow } from '../src/harness.js';

/**
 * Case 5: many runs in one process, some with a child span that ends after its parent
 * and some with a span that never ends. The heap must stay flat: the processor's side map
 * is bounded and releases finished trees.
 */
export async function memorySoak(options: { smoke: boolean }): Promise<BenchRow[]> {
  const runs = options.smoke ? 20_000 : Number(process.env.SOAK_RUNS ?? 1_000_000);
  const maxOpenSpans = options.smoke ? 100 : 10_000;
  const tracker = new CostTracker();
  const processor = new CostSpanProcessor({ source: 'soak@1.0.0', listeners: [tracker], maxOpenSpans });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = createCostTracer({ tracerProvider: provider });
  const otel = provider.getTracer('soak');
  const samples: number[] = [];
  let late: Span[] = [];
  for (let index = 0; index < runs; index += 1) {
    tracer.agentRun('soak', { principal: { userId: `user-${index % 100}` } }, (run) => {
      run.step('call', (step) =>
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }).setCost({ inputUsd: 0.00125, outputUsd: 0.002 }),
      );
      const parent = trace.setSpan(run.context, run.span);
      if (index % 10 === 0)
        late.push(
          otel.startSpan('late child', { attributes: { 'gen_ai.usage.input_tokens': 1, 'gen_ai.usage.output_tokens': 1 } }, parent) as Span,
        );
      // One run in a hundred leaks a span that never ends.
      if (index % 100 === 0) otel.startSpan('never ends', {}, parent);
    });
    if (late.length >= 100) {
      for (const span of late) span.end();
      late = [];
    }
    if (index % Math.floor(runs / 10) === 0) {
      collectGarbage();
      samples.push(process.memoryUsage().heapUsed);
    }
  }
  for (const span of late) span.end();
  collectGarbage();
  samples.push(process.memoryUsage().heapUsed);
  const stats = processor.stats();
  await provider.shutdown();
  // Past the half-way point the side map is at its bound: from there the heap must not grow.
  const halfway = samples[5] ?? samples[0] ?? 0;
  const last = samples[samples.length - 1] ?? 0;
  if (tracker.summary().runs !== runs) throw new Error(`expected ${runs} sessions, saw ${tracker.summary().runs}`);
  return [
    {
      name: `heap after ${runs.toLocaleString('en-US')} runs`,
      value: last / 2 ** 20,
      unit: 'MiB',
      baseline: halfway / 2 ** 20,
      baselineName: 'heap at half-way',
      target: 'flat (ratio ~1)',
    },
    { name: 'spans tracked at the end', value: stats.openSpans, unit: 'spans', target: `<= ${maxOpenSpans}` },
    { name: 'late spans (costed, attributed late)', value: stats.lateSpans, unit: 'spans' },
  ];
}
