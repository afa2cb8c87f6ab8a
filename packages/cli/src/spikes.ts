import type { PicoUsd } from '@costspan/core';
import { ratioPico } from './event-money.js';
import { compareKeys } from './report-group.js';

/** Dimensions whose days are checked for spikes; `day` is the report's own daily total. */
export type SpikeDimension = 'day' | 'agent' | 'model' | 'user';

/** Every {@link SpikeDimension}. */
export const SPIKE_DIMENSIONS: readonly SpikeDimension[] = ['day', 'agent', 'model', 'user'];

/** The spike rule: a day costs more than this many times its trailing median. */
export const SPIKE_FACTOR = 3;
/** Days before a day that make its norm. */
export const SPIKE_WINDOW_DAYS = 7;
/** Days with calls a trailing window needs before a day can be a spike (fewer is no norm to compare with). */
export const SPIKE_MIN_TRAILING_DAYS = 3;

/** One day on which a key cost more than {@link SPIKE_FACTOR}× its trailing median, with the runs that made it. */
export interface Spike {
  dimension: SpikeDimension;
  /** The agent, model or user; for `day`, the day itself. */
  key: string;
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  cost: PicoUsd;
  /** Median cost of the key's days with calls among the {@link SPIKE_WINDOW_DAYS} days before `day` (exact; the mean of the middle two for an even count). */
  median: PicoUsd;
  /** `cost / median`, rounded to 2 decimals (display only). */
  ratio: number;
  /** Days with calls in the trailing window. */
  trailingDays: number;
  /** The most expensive runs of the key that day (`agent_run_id`), highest first, exact. */
  runs: Array<{ runId: string; cost: PicoUsd }>;
  /** The rest of the day's cost: runs not listed, or not itemised because the day had too many. */
  otherCost: PicoUsd;
}

/** What spike detection found. */
export interface SpikeResult {
  spikes: Spike[];
  /** Dimensions with too many key-days to check in bounded memory: no spike is claimed for them. */
  unchecked: SpikeDimension[];
}

interface Cell {
  cost: PicoUsd;
  runs: Map<string, PicoUsd>;
  /** Runs dropped from `runs` for larger ones: their later cost goes to `untracked`, so listed runs stay exact. */
  evicted: Set<string> | undefined;
  untracked: PicoUsd;
}

const MAX_CELLS = 200_000;
const MAX_RUNS_PER_CELL = 32;
const MAX_EVICTED_PER_CELL = 1024;
const RUNS_SHOWN = 10;
const NO_RUN = '(no run id)';
const DAY_MS = 86_400_000;

/**
 * Tracks each key's cost per UTC day, and the runs behind it, to flag days
 * that cost more than {@link SPIKE_FACTOR}× the key's trailing
 * {@link SPIKE_WINDOW_DAYS}-day median. Memory is bounded: at most 200,000
 * key-days per dimension (beyond that the dimension is reported unchecked) and
 * 32 runs per key-day; a run that costs more than the smallest listed one
 * takes its place, so the runs listed are exact and the expensive ones.
 */
export class SpikeTracker {
  private readonly cells = new Map<SpikeDimension, Map<string, Map<string, Cell>>>();
  private readonly cellCounts = new Map<SpikeDimension, number>();
  private readonly unchecked = new Set<SpikeDimension>();

  constructor(readonly dimensions: readonly SpikeDimension[]) {
    for (const dimension of dimensions) {
      this.cells.set(dimension, new Map());
      this.cellCounts.set(dimension, 0);
    }
  }

  /** Adds one call's cost to `key` of `dimension` on `day`, made by run `runId`. */
  add(dimension: SpikeDimension, key: string, day: string, cost: PicoUsd, runId: string | undefined): void {
    const byKey = this.cells.get(dimension);
    if (byKey === undefined || this.unchecked.has(dimension)) return;
    let days = byKey.get(key);
    if (days === undefined) {
      days = new Map();
      byKey.set(key, days);
    }
    let cell = days.get(day);
    if (cell === undefined) {
      const count = (this.cellCounts.get(dimension) ?? 0) + 1;
      if (count > MAX_CELLS) {
        this.unchecked.add(dimension);
        this.cells.set(dimension, new Map());
        return;
      }
      this.cellCounts.set(dimension, count);
      cell = { cost: 0n, runs: new Map(), evicted: undefined, untracked: 0n };
      days.set(day, cell);
    }
    cell.cost += cost;
    addRun(cell, runId ?? NO_RUN, cost);
  }

  /** The spikes, by day then dimension then key. */
  result(): SpikeResult {
    const spikes: Spike[] = [];
    for (const [dimension, byKey] of this.cells) {
      if (this.unchecked.has(dimension)) continue;
      for (const [key, days] of byKey) {
        for (const [day, cell] of days) {
          const spike = check(dimension, key, day, cell, days);
          if (spike !== undefined) spikes.push(spike);
        }
      }
    }
    const order = (spike: Spike): number => SPIKE_DIMENSIONS.indexOf(spike.dimension);
    spikes.sort((left, right) => compareKeys(left.day, right.day) || order(left) - order(right) || compareKeys(left.key, right.key));
    return { spikes, unchecked: SPIKE_DIMENSIONS.filter((dimension) => this.unchecked.has(dimension)) };
  }
}

function addRun(cell: Cell, runId: string, cost: PicoUsd): void {
  const known = cell.runs.get(runId);
  if (known !== undefined) {
    cell.runs.set(runId, known + cost);
    return;
  }
  if (cell.evicted?.has(runId) === true) {
    cell.untracked += cost;
    return;
  }
  if (cell.runs.size < MAX_RUNS_PER_CELL) {
    cell.runs.set(runId, cost);
    return;
  }
  let smallest: [string, PicoUsd] | undefined;
  for (const entry of cell.runs) if (smallest === undefined || entry[1] < smallest[1]) smallest = entry;
  const evicted = cell.evicted ?? new Set<string>();
  if (smallest === undefined || cost <= smallest[1] || evicted.size >= MAX_EVICTED_PER_CELL) {
    cell.untracked += cost;
    return;
  }
  cell.evicted = evicted;
  evicted.add(smallest[0]);
  cell.runs.delete(smallest[0]);
  cell.untracked += smallest[1];
  cell.runs.set(runId, cost);
}

function shiftDay(day: string, offset: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + offset * DAY_MS).toISOString().slice(0, 10);
}

function check(dimension: SpikeDimension, key: string, day: string, cell: Cell, days: Map<string, Cell>): Spike | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const trailing: PicoUsd[] = [];
  for (let offset = 1; offset <= SPIKE_WINDOW_DAYS; offset += 1) {
    const before = days.get(shiftDay(day, -offset));
    if (before !== undefined) trailing.push(before.cost);
  }
  if (trailing.length < SPIKE_MIN_TRAILING_DAYS) return undefined;
  trailing.sort((left, right) => (left < right ? -1 : left > right ? 1 : 0));
  const middle = Math.floor(trailing.length / 2);
  const median =
    trailing.length % 2 === 1
      ? (trailing[middle] as PicoUsd)
      : ratioPico((trailing[middle - 1] as PicoUsd) + (trailing[middle] as PicoUsd), 1n, 2n);
  // No norm to compare with when the median day cost nothing.
  if (median <= 0n || cell.cost <= BigInt(SPIKE_FACTOR) * median) return undefined;
  const runs = [...cell.runs]
    .map(([runId, cost]) => ({ runId, cost }))
    .sort((left, right) => (left.cost === right.cost ? compareKeys(left.runId, right.runId) : left.cost > right.cost ? -1 : 1))
    .slice(0, RUNS_SHOWN);
  const listed = runs.reduce((sum, run) => sum + run.cost, 0n);
  return {
    dimension,
    key: dimension === 'day' ? day : key,
    day,
    cost: cell.cost,
    median,
    ratio: Number((cell.cost * 100n) / median) / 100,
    trailingDays: trailing.length,
    runs,
    otherCost: cell.cost - listed,
  };
}
