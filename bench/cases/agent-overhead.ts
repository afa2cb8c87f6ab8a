import { median, type BenchRow } from '../src/harness.js';
import { interleavedRounds, VariantWorker, type RoundResult } from '../src/variant-worker.js';
import type { AgentOverheadVariant } from './agent-overhead-worker.js';

/**
 * Case 1: time per agent run (root + 10 async steps, gpt-4o 500 in / 200 out, principal
 * user/team) with costspan (priced from the registry, rolled up, events to JSONL) against bare
 * OpenTelemetry making the same span tree, and costspan with its metrics on against off (issue
 * 15's target: within 10 %). Each variant in its own worker, rounds interleaved (the order
 * rotates each round), medians of per-round ratios; a metric collection per round is timed.
 */
export async function agentOverhead(options: { smoke: boolean }): Promise<BenchRow[]> {
  const runsPerRound = options.smoke ? 200 : 2000;
  const rounds = options.smoke ? 3 : 15;
  const variants: AgentOverheadVariant[] = ['bare', 'off', 'producer', 'sdk'];
  const script = new URL('./agent-overhead-worker.js', import.meta.url);
  const workers = variants.map((variant) => new VariantWorker(variant, script, variant));
  let results: Map<AgentOverheadVariant, RoundResult[]>;
  try {
    await Promise.all(workers.map((worker) => worker.ready()));
    results = await interleavedRounds(workers, { runs: runsPerRound, concurrency: 1, rounds });
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
  const of = (variant: AgentOverheadVariant): RoundResult[] => results.get(variant) ?? [];
  const micros = (variant: AgentOverheadVariant): number => median(of(variant).map((result) => result.microsPerRun));
  // The ratio column: the median over rounds of the ratio within each round (drift in machine
  // load hits both sides of a round alike), not value / baseline of the medians.
  const ratio = (variant: AgentOverheadVariant, baseline: AgentOverheadVariant): number =>
    median(of(variant).map((result, round) => result.microsPerRun / (of(baseline)[round]?.microsPerRun ?? NaN)));
  return [
    {
      name: 'agent run, 10 steps (µs/run)',
      value: micros('off'),
      unit: 'µs',
      baseline: micros('bare'),
      baselineName: 'bare OTel span tree',
      ratio: ratio('off', 'bare'),
      // No target here: issue 14 retired "<= 1.10x bare OTel" (below the floor of costspan's own
      // span attributes); the event-path case carries the current one (JSONL <= 2.0x B0).
    },
    {
      name: 'agent run, 10 steps, metrics on (µs/run)',
      value: micros('producer'),
      unit: 'µs',
      baseline: micros('off'),
      baselineName: 'costspan, metrics off',
      ratio: ratio('producer', 'off'),
      target: '<= 1.10x',
    },
    {
      name: 'agent run, 10 steps, metrics on, histograms through the SDK instruments (µs/run)',
      value: micros('sdk'),
      unit: 'µs',
      baseline: micros('off'),
      baselineName: 'costspan, metrics off',
      ratio: ratio('sdk', 'off'),
    },
    {
      name: 'cost events lost in the runs (all variants)',
      value: variants.reduce((sum, variant) => sum + (of(variant).at(-1)?.lost ?? 0), 0),
      unit: 'events',
    },
  ];
}
