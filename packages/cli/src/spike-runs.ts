import type { PicoUsd } from '@costspan/core';
import { ExactColumn, Int32Column, PackedStrings } from './paged-columns.js';
import { compareKeys } from './report-group.js';

/** Runs (per day) itemised in all; later runs are in a spike's `otherCost`, so memory stays bounded. */
export const MAX_RUNS = 200_000;
const NO_NAME = -1;
const FIRST_SLOTS = 1024;

/** What {@link SpikeRuns} keeps per run-day: only what the tracked spike dimensions can list. */
export interface SpikeRunsOptions {
  /** The spike dimensions checked: a run's agent, user or models are kept only for those listed. */
  dimensions: readonly string[];
  /** Run-days itemised ({@link MAX_RUNS}; smaller in tests). */
  maxRuns?: number;
}

/** A spike's key on its day: whose runs {@link SpikeRuns.top} lists. */
export interface SpikeKeyDay {
  day: string;
  dimension: 'day' | 'agent' | 'user' | 'model';
  /** The agent, user or model (ignored for `day`). */
  key: string;
}

/** One run a spike lists. */
interface Listed {
  index: number;
  cost: PicoUsd;
  runId: string | undefined;
}

/**
 * Each run's cost on each UTC day, for the runs a spike lists, in columns of
 * typed arrays indexed by run-day: no object, string or Map entry per run on
 * the JS heap, where long-lived entries (some 100 bytes a run-day) survived
 * every scavenge, kept the young generation at its largest through a scan and
 * grew the old one. Run ids are packed bytes found through an
 * open-addressing table; days and names (agents, users, models) are numbers.
 * A run keeps the agent and user of its first call that day; its models are a
 * chain of entries, and then its cost is their sum (not kept twice). Only the
 * tracked dimensions' fields are kept: a report without `model` keeps no
 * entries at all.
 */
export class SpikeRuns {
  private count = 0;
  private readonly maxRuns: number;
  private readonly byAgent: boolean;
  private readonly byUser: boolean;
  private readonly byModel: boolean;
  private readonly ids = new PackedStrings();
  private readonly hashes = new Int32Column();
  private readonly day = new Int32Column();
  private slots = new Int32Array(FIRST_SLOTS);
  /** A run-day's whole cost, when there are no entries to sum. */
  private readonly cost = new ExactColumn();
  private readonly agent = new Int32Column();
  private readonly user = new Int32Column();
  private readonly head = new Int32Column();
  private entries = 0;
  private readonly entryCost = new ExactColumn();
  private readonly entryModel = new Int32Column();
  private readonly entryNext = new Int32Column();
  private readonly names = new Map<string, number>();
  private readonly days = new Map<string, number>();
  private lastRunId: string | undefined;
  private lastDay = '';
  private lastDayId = -1;
  private last = -1;
  /** Run-days by day (built when first listed): day `d`'s are `order[start[d]..start[d + 1])`. */
  private byDay: { count: number; start: Int32Array; order: Int32Array } | undefined;

  constructor(options: SpikeRunsOptions) {
    this.maxRuns = options.maxRuns ?? MAX_RUNS;
    this.byAgent = options.dimensions.includes('agent');
    this.byUser = options.dimensions.includes('user');
    this.byModel = options.dimensions.includes('model');
  }

  /** Adds one call of run `runId` on `day`: `pico`, a safe integer, or `exact` when too large for one. */
  add(
    day: string,
    runId: string,
    call: { agent: string | undefined; user: string | undefined; model: string },
    pico: number,
    exact: PicoUsd | undefined,
  ): void {
    let index = this.last;
    if (index < 0 || runId !== this.lastRunId || day !== this.lastDay) {
      index = this.find(day, runId, call);
      this.last = index;
      this.lastRunId = runId;
      this.lastDay = day;
      if (index < 0) return;
    }
    if (!this.byModel) {
      this.cost.add(index, pico, exact);
      return;
    }
    const model = this.name(call.model);
    let entry = this.head.get(index);
    while (entry >= 0 && this.entryModel.get(entry) !== model) entry = this.entryNext.get(entry);
    if (entry < 0) {
      entry = this.entries;
      this.entries += 1;
      this.entryModel.set(entry, model);
      this.entryNext.set(entry, this.head.get(index));
      this.head.set(index, entry);
    }
    this.entryCost.add(entry, pico, exact);
  }

  /** The run-day's index, made on first use; -1 past the cap. */
  private find(day: string, runId: string, call: { agent: string | undefined; user: string | undefined }): number {
    if (day !== this.lastDay || this.lastDayId < 0) {
      let id = this.days.get(day);
      if (id === undefined) {
        id = this.days.size;
        this.days.set(day, id);
      }
      this.lastDayId = id;
    }
    const dayId = this.lastDayId;
    const hashed = hashOf(runId, dayId);
    const mask = this.slots.length - 1;
    let slot = hashed & mask;
    for (;;) {
      const held = this.slots[slot] as number;
      if (held === 0) break;
      const known = held - 1;
      if (this.hashes.get(known) === hashed && this.day.get(known) === dayId && this.ids.equals(known, runId)) return known;
      slot = (slot + 1) & mask;
    }
    if (this.count >= this.maxRuns) return -1;
    const index = this.count;
    this.count += 1;
    this.ids.add(index, runId);
    this.hashes.set(index, hashed);
    this.day.set(index, dayId);
    if (this.byAgent) this.agent.set(index, call.agent === undefined ? NO_NAME : this.name(call.agent));
    if (this.byUser) this.user.set(index, call.user === undefined ? NO_NAME : this.name(call.user));
    if (this.byModel) this.head.set(index, -1);
    this.slots[slot] = index + 1;
    // At most half full: short probe sequences.
    if (this.count * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    return index;
  }

  private rehash(size: number): void {
    const slots = new Int32Array(size);
    const mask = size - 1;
    for (let index = 0; index < this.count; index += 1) {
      let slot = this.hashes.get(index) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = index + 1;
    }
    this.slots = slots;
  }

  private name(value: string): number {
    let id = this.names.get(value);
    if (id === undefined) {
      id = this.names.size;
      this.names.set(value, id);
    }
    return id;
  }

  /** Run-day `index`'s cost in all, or on calls to model `model`; undefined when it made none. */
  private costOf(index: number, model: number | undefined): PicoUsd | undefined {
    if (!this.byModel) return this.cost.value(index);
    let sum: PicoUsd | undefined;
    for (let entry = this.head.get(index); entry >= 0; entry = this.entryNext.get(entry)) {
      if (model !== undefined && this.entryModel.get(entry) !== model) continue;
      const cost = this.entryCost.value(entry);
      sum = sum === undefined ? cost : sum + cost;
      if (model !== undefined) break;
    }
    return sum;
  }

  private runsOf(day: string): Int32Array {
    const dayId = this.days.get(day);
    if (dayId === undefined) return new Int32Array(0);
    let byDay = this.byDay;
    if (byDay === undefined || byDay.count !== this.count) {
      // A counting sort of the run-days by day, once for every spike listed.
      const start = new Int32Array(this.days.size + 1);
      for (let index = 0; index < this.count; index += 1) (start[this.day.get(index) + 1] as number) += 1;
      for (let id = 0; id < this.days.size; id += 1) (start[id + 1] as number) += start[id] as number;
      const next = start.slice(0, this.days.size);
      const order = new Int32Array(this.count);
      for (let index = 0; index < this.count; index += 1) {
        const id = this.day.get(index);
        order[next[id] as number] = index;
        (next[id] as number) += 1;
      }
      byDay = { count: this.count, start, order };
      this.byDay = byDay;
    }
    return byDay.order.subarray(byDay.start[dayId], byDay.start[dayId + 1]);
  }

  /**
   * The `limit` most expensive runs of `day` for a spike's key, highest first (ties by run id):
   * all of a run's cost (`day`), the cost of runs whose agent or user is `key`, or a run's calls
   * to model `key`. Runs that cost nothing for the key are not listed.
   */
  top(of: SpikeKeyDay, limit: number): Array<{ runId: string; cost: PicoUsd }> {
    const { day, dimension, key } = of;
    const id = this.names.get(key);
    if (dimension !== 'day' && id === undefined) return [];
    const runs = this.runsOf(day);
    const listed: Listed[] = [];
    for (const index of runs) {
      let cost: PicoUsd | undefined;
      if (dimension === 'day') cost = this.costOf(index, undefined);
      else if (dimension === 'agent') cost = this.agent.get(index) === id ? this.costOf(index, undefined) : undefined;
      else if (dimension === 'user') cost = this.user.get(index) === id ? this.costOf(index, undefined) : undefined;
      else cost = this.costOf(index, id);
      if (cost === undefined || cost <= 0n) continue;
      // A bounded insertion: the list stays sorted, and a run id is read only to break a tie.
      const run: Listed = { index, cost, runId: undefined };
      let at = listed.length;
      while (at > 0 && this.before(run, listed[at - 1] as Listed)) at -= 1;
      if (at >= limit) continue;
      listed.splice(at, 0, run);
      if (listed.length > limit) listed.pop();
    }
    return listed.map((run) => ({ runId: this.runIdOf(run), cost: run.cost }));
  }

  /** Whether `left` is listed before `right`: dearer, or as dear with a lower run id. */
  private before(left: Listed, right: Listed): boolean {
    if (left.cost !== right.cost) return left.cost > right.cost;
    return compareKeys(this.runIdOf(left), this.runIdOf(right)) < 0;
  }

  private runIdOf(run: Listed): string {
    return (run.runId ??= this.ids.get(run.index));
  }
}

function hashOf(runId: string, dayId: number): number {
  let hash = Math.imul(dayId + 1, 0x9e3779b1);
  for (let at = 0; at < runId.length; at += 1) hash = Math.imul(hash ^ runId.charCodeAt(at), 0x01000193);
  hash ^= hash >>> 15;
  hash = Math.imul(hash, 0x85ebca6b);
  return (hash ^ (hash >>> 13)) | 0;
}
