import { describe, expect, it } from 'vitest';
import { ExactColumn, PackedStrings } from './paged-columns.js';
import { SpikeRuns } from './spike-runs.js';
import { SpikeTracker } from './spikes.js';

type Dimension = 'day' | 'agent' | 'user' | 'model';
interface Call {
  day: string;
  runId: string;
  agent: string | undefined;
  user: string | undefined;
  model: string;
  cost: bigint;
}

/** What the runs a spike lists were before the compaction: every run-day in Maps, sorted in full. */
function reference(calls: readonly Call[], maxRuns: number) {
  const byDay = new Map<string, Map<string, { agent?: string; user?: string; cost: bigint; models: Map<string, bigint> }>>();
  let count = 0;
  for (const call of calls) {
    let runs = byDay.get(call.day);
    if (runs === undefined) byDay.set(call.day, (runs = new Map()));
    let run = runs.get(call.runId);
    if (run === undefined) {
      if (count >= maxRuns) continue;
      count += 1;
      run = {
        ...(call.agent === undefined ? {} : { agent: call.agent }),
        ...(call.user === undefined ? {} : { user: call.user }),
        cost: 0n,
        models: new Map(),
      };
      runs.set(call.runId, run);
    }
    run.cost += call.cost;
    run.models.set(call.model, (run.models.get(call.model) ?? 0n) + call.cost);
  }
  return (
    { day, dimension, key }: { day: string; dimension: Dimension; key: string },
    limit: number,
  ): Array<{ runId: string; cost: bigint }> => {
    const listed: Array<{ runId: string; cost: bigint }> = [];
    for (const [runId, run] of byDay.get(day) ?? []) {
      const cost =
        dimension === 'day'
          ? run.cost
          : dimension === 'agent'
            ? run.agent === key
              ? run.cost
              : undefined
            : dimension === 'user'
              ? run.user === key
                ? run.cost
                : undefined
              : run.models.get(key);
      if (cost !== undefined && cost > 0n) listed.push({ runId, cost });
    }
    listed.sort((left, right) => (left.cost === right.cost ? (left.runId < right.runId ? -1 : 1) : left.cost > right.cost ? -1 : 1));
    return listed.slice(0, limit);
  };
}

/** A small deterministic generator (mulberry32): failures reproduce. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), state | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const bigints = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? `${value}n` : value);

const pick = <T>(next: () => number, values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;

// Ids a scan can meet: empty, non-Latin-1 (kept as strings), over the packed length, and ordinary.
const ODD_IDS = ['', 'ünï', '日本-run', 'x'.repeat(300), '(no run id)', '\u00ff\u00fe'];
const COSTS = [0n, -5n, 1n, 7n, 10_000_000_000n, 4_503_599_627_370_496n, 123_456_789_012_345_678_901n];

function randomCalls(next: () => number, size: number): Call[] {
  const days = ['2026-03-01', '2026-03-02', '2026-03-05', '2026-04-01', 'not-a-day', ''];
  const calls: Call[] = [];
  let current: Omit<Call, 'model' | 'cost'> | undefined;
  for (let index = 0; index < size; index += 1) {
    // Mostly a run's calls together, as the SDK writes them; sometimes runs interleave or come back.
    if (current === undefined || next() < 0.3) {
      const runId = next() < 0.05 ? pick(next, ODD_IDS) : `run-${Math.floor(next() * size * 0.4)}`;
      current = {
        day: pick(next, days),
        runId,
        agent: next() < 0.1 ? undefined : pick(next, ['a', 'b', 'm1']),
        user: next() < 0.1 ? undefined : pick(next, ['u', 'v', 'a']),
      };
    }
    const cost = next() < 0.2 ? pick(next, COSTS) : BigInt(Math.floor(next() * 5) * 1_000_000);
    calls.push({ ...current, agent: next() < 0.1 ? 'late-agent' : current.agent, model: pick(next, ['m1', 'm2', 'm3', 'a']), cost });
  }
  return calls;
}

function addAll(runs: SpikeRuns, calls: readonly Call[]): void {
  for (const call of calls) {
    // As the report hands them on: a safe integer, else the exact bigint.
    const pico = Number(call.cost);
    const exact = Number.isSafeInteger(pico) && BigInt(pico) === call.cost ? undefined : call.cost;
    runs.add(call.day, call.runId, call, exact === undefined ? pico : 0, exact);
  }
}

describe('SpikeRuns', () => {
  it('lists the same runs as every run-day kept in Maps, over random calls, caps and dimensions', () => {
    const dimensionSets: Dimension[][] = [['day'], ['day', 'model'], ['day', 'agent', 'user'], ['day', 'agent', 'model', 'user']];
    for (let seed = 1; seed <= 40; seed += 1) {
      const next = random(seed);
      const calls = randomCalls(next, 200 + Math.floor(next() * 2500));
      const maxRuns = seed % 4 === 0 ? 40 : 200_000;
      const dimensions = dimensionSets[seed % dimensionSets.length] as Dimension[];
      const runs = new SpikeRuns({ dimensions, maxRuns });
      addAll(runs, calls);
      const expected = reference(calls, maxRuns);
      const failures: unknown[] = [];
      for (const day of new Set(calls.map((call) => call.day).concat('2026-12-31'))) {
        for (const dimension of dimensions) {
          for (const key of ['a', 'b', 'u', 'v', 'm1', 'm2', 'm3', 'late-agent', 'nobody', '']) {
            for (const limit of [0, 3, 10]) {
              const got = runs.top({ day, dimension, key }, limit);
              const want = expected({ day, dimension, key }, limit);
              if (JSON.stringify(got, bigints) !== JSON.stringify(want, bigints)) failures.push({ day, dimension, key, limit, got, want });
            }
          }
        }
      }
      expect(failures, `seed ${seed}`).toEqual([]);
    }
  });

  it('a spike over 3,000 runs of equal cost lists the 10 lowest run ids, after a dearer one first', () => {
    const tracker = new SpikeTracker(['day', 'model']);
    for (let index = 1; index <= 3; index += 1) {
      tracker.add('day', '', `2026-03-0${index}`, 1_000_000n);
      tracker.addRun(`2026-03-0${index}`, { runId: 'norm', agent: 'a', user: 'u', model: 'm' }, 1_000_000n);
    }
    const ids = Array.from({ length: 3000 }, (_, index) => `run-${(index * 7919) % 3000}`);
    for (const runId of ids) {
      tracker.add('day', '', '2026-03-04', 1_000n);
      tracker.addRun('2026-03-04', { runId, agent: 'a', user: 'u', model: 'm' }, 1_000n);
    }
    tracker.add('day', '', '2026-03-04', 5_000n);
    tracker.addRun('2026-03-04', { runId: 'run-2999', agent: 'a', user: 'u', model: 'm2' }, 5_000n);
    const [spike] = tracker.result().spikes;
    const expected = ids
      .filter((id) => id !== 'run-2999')
      .sort()
      .slice(0, 9);
    expect(spike?.runs).toEqual([{ runId: 'run-2999', cost: 6_000n }, ...expected.map((runId) => ({ runId, cost: 1_000n }))]);
    expect(spike?.otherCost).toBe(3_005_000n - 6_000n - 9_000n);
  });
});

describe('paged columns', () => {
  it('PackedStrings gives back every string across chunk boundaries, and tells them apart', () => {
    const strings = new PackedStrings();
    const values = Array.from(
      { length: 1200 },
      (_, index) => (index % 7 === 0 ? ODD_IDS[index % ODD_IDS.length] : `${index}-`.repeat(index % 60)) as string,
    );
    values.forEach((value, index) => strings.add(index, value));
    values.forEach((value, index) => {
      expect(strings.get(index)).toBe(value);
      expect(strings.equals(index, value)).toBe(true);
      expect(strings.equals(index, `${value}x`)).toBe(false);
    });
  });

  it('ExactColumn sums exactly past the safe integers, in any page', () => {
    const column = new ExactColumn();
    for (const index of [0, 16_383, 16_384, 100_000]) {
      for (let step = 0; step < 5; step += 1) column.add(index, Number.MAX_SAFE_INTEGER, undefined);
      column.add(index, 0, 10n ** 30n);
      expect(column.value(index)).toBe(5n * BigInt(Number.MAX_SAFE_INTEGER) + 10n ** 30n);
    }
    expect(column.value(5)).toBe(0n);
    expect(column.value(1_000_000)).toBe(0n);
  });
});
