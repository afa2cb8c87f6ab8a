import type { PicoUsd } from '@costspan/core';
import { ratioPico } from './wire-pico.js';
import { compareKeys } from './report-group.js';
import { SpikeRuns } from './spike-runs.js';

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

/**
 * Pico-dollars summed as a float while every partial sum is a safe integer
 * (exact, and far cheaper than bigint on the hot path), folded into a bigint
 * before it could lose a digit.
 */
class ExactSum {
  private small = 0;
  private big = 0n;

  /** Adds `pico` (a safe integer), or `exact` when the amount is too large for one. */
  add(pico: number, exact: PicoUsd | undefined): void {
    if (exact !== undefined) {
      this.big += exact;
      return;
    }
    const next = this.small + pico;
    if (Number.isSafeInteger(next)) {
      this.small = next;
      return;
    }
    this.big += BigInt(this.small) + BigInt(pico);
    this.small = 0;
  }

  get value(): PicoUsd {
    return this.big + BigInt(this.small);
  }
}

/** The exact amount when `pico` does not hold `cost` exactly, else undefined. */
function split(cost: PicoUsd, pico: number): PicoUsd | undefined {
  return Number.isSafeInteger(pico) && BigInt(pico) === cost ? undefined : cost;
}

/** What a call tells about its run, for {@link SpikeTracker.addRun}. */
export interface SpikeRunCall {
  runId: string | undefined;
  agent: string | undefined;
  user: string | undefined;
  model: string;
}

const MAX_CELLS = 200_000;
const RUNS_SHOWN = 10;
const NO_RUN = '(no run id)';
const DAY_MS = 86_400_000;

/**
 * One key's cost per UTC day. Events come in time order and a run's calls
 * together, so the last day is kept at hand: adding is usually a string
 * comparison and a float add.
 */
export class DailyCost {
  readonly days: Map<string, ExactSum> = new Map();
  private lastDay = '';
  private last: ExactSum | undefined;

  constructor(private readonly budget: { cells: number; full: boolean }) {}

  /** Adds one call's cost on `day`: `pico`, a safe integer, or `exact` when the cost is too large for one. */
  add(day: string, pico: number, exact: PicoUsd | undefined): void {
    if (this.last !== undefined && day === this.lastDay) {
      this.last.add(pico, exact);
      return;
    }
    let sum = this.days.get(day);
    if (sum === undefined) {
      if (this.budget.cells >= MAX_CELLS) {
        this.budget.full = true;
        return;
      }
      this.budget.cells += 1;
      sum = new ExactSum();
      this.days.set(day, sum);
    }
    this.lastDay = day;
    this.last = sum;
    sum.add(pico, exact);
  }
}

/**
 * Tracks each key's cost per UTC day, and the runs behind each day, to flag
 * days that cost more than {@link SPIKE_FACTOR}× the key's trailing
 * {@link SPIKE_WINDOW_DAYS}-day median. Memory is bounded: at most 200,000
 * key-days per dimension (beyond that the dimension is reported unchecked) and
 * 200,000 run-days: runs first seen after that are not itemised (their cost
 * is in a spike's `otherCost`), so every run listed is exact.
 */
export class SpikeTracker {
  private readonly series = new Map<SpikeDimension, Map<string, DailyCost>>();
  private readonly budgets = new Map<SpikeDimension, { cells: number; full: boolean }>();
  private readonly runs: SpikeRuns;

  constructor(readonly dimensions: readonly SpikeDimension[]) {
    this.runs = new SpikeRuns({ dimensions });
    for (const dimension of dimensions) {
      this.series.set(dimension, new Map());
      this.budgets.set(dimension, { cells: 0, full: false });
    }
  }

  /** The daily costs of `key` in `dimension`, to keep beside the key's other totals and add to per call. */
  dailyCost(dimension: SpikeDimension, key: string): DailyCost | undefined {
    const byKey = this.series.get(dimension);
    if (byKey === undefined) return undefined;
    let series = byKey.get(key);
    if (series === undefined) {
      series = new DailyCost(this.budgets.get(dimension) as { cells: number; full: boolean });
      byKey.set(key, series);
    }
    return series;
  }

  /** Adds one call's cost to `key` of `dimension` on `day` (the slow way: {@link SpikeTracker.dailyCost} once per key is faster). */
  add(dimension: SpikeDimension, key: string, day: string, cost: PicoUsd, pico: number = Number(cost)): void {
    this.dailyCost(dimension, key)?.add(day, pico, split(cost, pico));
  }

  /** Adds one call to its run's cost on `day` (once per call, whatever the dimensions). */
  addRun(day: string, call: SpikeRunCall, cost: PicoUsd, pico: number = Number(cost)): void {
    this.addRunCost(day, call, pico, split(cost, pico));
  }

  /** {@link SpikeTracker.addRun} with the cost as `pico`, a safe integer, or `exact` when too large for one. */
  addRunCost(day: string, call: SpikeRunCall, pico: number, exact: PicoUsd | undefined): void {
    this.runs.add(day, call.runId ?? NO_RUN, call, pico, exact);
  }

  /** The spikes, by day then dimension then key. */
  result(): SpikeResult {
    const spikes: Spike[] = [];
    for (const [dimension, byKey] of this.series) {
      if (this.budgets.get(dimension)?.full === true) continue;
      for (const [key, series] of byKey) {
        for (const [day, cell] of series.days) {
          const spike = check(dimension, key, day, cell.value, series.days, this.runs);
          if (spike !== undefined) spikes.push(spike);
        }
      }
    }
    const order = (spike: Spike): number => SPIKE_DIMENSIONS.indexOf(spike.dimension);
    spikes.sort((left, right) => compareKeys(left.day, right.day) || order(left) - order(right) || compareKeys(left.key, right.key));
    return { spikes, unchecked: SPIKE_DIMENSIONS.filter((dimension) => this.budgets.get(dimension)?.full === true) };
  }
}

function shiftDay(day: string, offset: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + offset * DAY_MS).toISOString().slice(0, 10);
}

function check(
  dimension: SpikeDimension,
  key: string,
  day: string,
  total: PicoUsd,
  days: Map<string, ExactSum>,
  runs: SpikeRuns,
): Spike | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const trailing: PicoUsd[] = [];
  for (let offset = 1; offset <= SPIKE_WINDOW_DAYS; offset += 1) {
    const before = days.get(shiftDay(day, -offset));
    if (before !== undefined) trailing.push(before.value);
  }
  if (trailing.length < SPIKE_MIN_TRAILING_DAYS) return undefined;
  trailing.sort((left, right) => (left < right ? -1 : left > right ? 1 : 0));
  const middle = Math.floor(trailing.length / 2);
  const median =
    trailing.length % 2 === 1
      ? (trailing[middle] as PicoUsd)
      : ratioPico((trailing[middle - 1] as PicoUsd) + (trailing[middle] as PicoUsd), 1n, 2n);
  // No norm to compare with when the median day cost nothing.
  if (median <= 0n || total <= BigInt(SPIKE_FACTOR) * median) return undefined;
  const shown = runs.top({ day, dimension, key }, RUNS_SHOWN);
  const listed = shown.reduce((sum, run) => sum + run.cost, 0n);
  return {
    dimension,
    key: dimension === 'day' ? day : key,
    day,
    cost: total,
    median,
    ratio: Number((total * 100n) / median) / 100,
    trailingDays: trailing.length,
    runs: shown,
    otherCost: total - listed,
  };
}
