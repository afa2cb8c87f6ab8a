import { describe, expect, it } from 'vitest';
import { formatPico } from '@costspan/core';
import { tokenEvent } from './__fixtures__/token-events.js';
import { reportToJson } from './report-format.js';
import { ReportAggregator } from './report.js';
import { SpikeTracker } from './spikes.js';

const day = (index: number): string => `2026-03-${String(index).padStart(2, '0')}T12:00:00.000000Z`;

describe('spikes', () => {
  it('a day of a model above 3x its trailing 7-day median is flagged, with its runs; exactly 3x is not', () => {
    const aggregator = new ReportAggregator({ dimensions: ['model', 'agent', 'user'] });
    // Model a: $1 a day on days 1..7, $3 on day 8 (exactly 3x: no spike), $3.01 on day 9 (spike).
    for (let index = 1; index <= 7; index += 1)
      aggregator.add(tokenEvent({ input: 1, output: 0, model: 'a', timestamp: day(index), run: `r${index}` }));
    aggregator.add(tokenEvent({ input: 3, output: 0, model: 'a', timestamp: day(8), run: 'r8' }));
    aggregator.add(tokenEvent({ input: 2, output: 0, model: 'a', timestamp: day(9), run: 'big', user: 'mallory' }));
    aggregator.add(tokenEvent({ input: 1, output: 0, model: 'a', timestamp: day(9), run: 'big', user: 'mallory' }));
    aggregator.add(tokenEvent({ input: 0.01, output: 0, model: 'a', timestamp: day(9), run: 'small' }));
    const report = aggregator.result();
    const modelSpikes = report.spikes.filter((spike) => spike.dimension === 'model');
    expect(modelSpikes.map((spike) => [spike.key, spike.day, formatPico(spike.cost), formatPico(spike.median), spike.ratio])).toEqual([
      ['a', '2026-03-09', '3.01', '1', 3.01],
    ]);
    expect(modelSpikes[0]?.runs.map((run) => [run.runId, formatPico(run.cost)])).toEqual([
      ['big', '3'],
      ['small', '0.01'],
    ]);
    // The day total and the agent spike too (one model, one agent); the user had no history.
    expect(report.spikes.map((spike) => spike.dimension)).toEqual(['day', 'agent', 'model']);
    const json = reportToJson(report, { inputs: ['x'] });
    expect(json.breakdowns.model?.[0]).toMatchObject({ key: 'a', spike_days: ['2026-03-09'] });
    expect(json.spikes[0]).toMatchObject({ dimension: 'day', key: '2026-03-09', cost_usd: '3.01', median_usd: '1', ratio: 3.01 });
    expect(json.spikes[0]?.runs[0]).toEqual({ run_id: 'big', cost_usd: '3' });
  });

  it('needs 3 days with calls in the trailing window: a new key is never a spike', () => {
    const aggregator = new ReportAggregator({ dimensions: ['model'] });
    aggregator.add(tokenEvent({ input: 1, output: 0, model: 'a', timestamp: day(1) }));
    aggregator.add(tokenEvent({ input: 1, output: 0, model: 'a', timestamp: day(2) }));
    aggregator.add(tokenEvent({ input: 100, output: 0, model: 'a', timestamp: day(3) }));
    // Days 1..2 are 8+ days before day 11: outside the window.
    aggregator.add(tokenEvent({ input: 100, output: 0, model: 'b', timestamp: day(11) }));
    expect(aggregator.result().spikes).toEqual([]);
  });

  it('lists the 10 most expensive runs of a spike exactly; the rest is summed', () => {
    const tracker = new SpikeTracker(['model']);
    const call = (runId: string, day: string, cost: bigint): void => {
      tracker.add('model', 'm', day, cost);
      tracker.addRun(day, { runId, agent: 'a', user: 'u', model: 'm' }, cost);
    };
    for (let index = 1; index <= 3; index += 1) call('norm', `2026-03-0${index}`, 1_000_000_000_000n);
    // 1,500 cheap runs, then one expensive run that arrives last and must still be listed first.
    for (let index = 0; index < 1500; index += 1) call(`cheap-${index}`, '2026-03-04', 10_000_000_000n);
    call('late-expensive', '2026-03-04', 5_000_000_000_000n);
    call('late-expensive', '2026-03-04', 1_000_000_000_000n);
    const [spike] = tracker.result().spikes;
    expect(spike?.runs[0]).toEqual({ runId: 'late-expensive', cost: 6_000_000_000_000n });
    expect(spike?.runs).toHaveLength(10);
    expect(spike?.cost).toBe(21_000_000_000_000n);
    expect((spike?.runs.reduce((sum, run) => sum + run.cost, 0n) ?? 0n) + (spike?.otherCost ?? 0n)).toBe(spike?.cost);
  });

  it("a model spike lists each run's calls to that model only", () => {
    const tracker = new SpikeTracker(['model']);
    for (let index = 1; index <= 3; index += 1) {
      tracker.add('model', 'm', `2026-03-0${index}`, 1_000_000_000_000n);
      tracker.addRun(`2026-03-0${index}`, { runId: 'norm', agent: 'a', user: 'u', model: 'm' }, 1_000_000_000_000n);
    }
    tracker.add('model', 'm', '2026-03-04', 4_000_000_000_000n);
    tracker.addRun('2026-03-04', { runId: 'mixed', agent: 'a', user: 'u', model: 'm' }, 4_000_000_000_000n);
    tracker.add('model', 'other', '2026-03-04', 9_000_000_000_000n);
    tracker.addRun('2026-03-04', { runId: 'mixed', agent: 'a', user: 'u', model: 'other' }, 9_000_000_000_000n);
    const [spike] = tracker.result().spikes;
    expect(spike).toMatchObject({
      key: 'm',
      cost: 4_000_000_000_000n,
      runs: [{ runId: 'mixed', cost: 4_000_000_000_000n }],
      otherCost: 0n,
    });
  });
});
