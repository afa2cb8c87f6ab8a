import type { PicoUsd } from '@costspan/core';

/** Runs (per day) itemised in all; later runs are in a spike's `otherCost`, so memory stays bounded. */
export const MAX_RUNS = 200_000;
const NO_NAME = -1;

/** An exact sum in a typed array: the safe-integer part there, the rest (rare) in a bigint beside it. */
class ExactSums {
  small = new Float64Array(1024);
  readonly big = new Map<number, bigint>();

  grow(size: number): void {
    if (size <= this.small.length) return;
    const small = new Float64Array(Math.max(size, this.small.length * 2));
    small.set(this.small);
    this.small = small;
  }

  add(index: number, pico: number, exact: PicoUsd | undefined): void {
    if (exact === undefined) {
      const next = (this.small[index] as number) + pico;
      if (Number.isSafeInteger(next)) {
        this.small[index] = next;
        return;
      }
      exact = BigInt(pico);
    }
    this.big.set(index, (this.big.get(index) ?? 0n) + BigInt(this.small[index] as number) + exact);
    this.small[index] = 0;
  }

  value(index: number): PicoUsd {
    return BigInt(this.small[index] as number) + (this.big.get(index) ?? 0n);
  }
}

/**
 * Each run's cost on each UTC day, for the runs a spike lists, in about 60
 * bytes a run-day plus 16 a model it used: typed arrays indexed by run-day,
 * names (agents, users, models) as numbers, a run's models as a chain of
 * entries. A run keeps the agent and user of its first call that day.
 */
export class SpikeRuns {
  private readonly byDay = new Map<string, Map<string, number>>();
  private count = 0;
  private readonly cost = new ExactSums();
  private agent = new Int32Array(1024);
  private user = new Int32Array(1024);
  private head = new Int32Array(1024);
  private entries = 0;
  private readonly entryCost = new ExactSums();
  private entryModel = new Int32Array(1024);
  private entryNext = new Int32Array(1024);
  private readonly names = new Map<string, number>();
  private lastRunId: string | undefined;
  private lastDay = '';
  private last = -1;

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
    this.cost.add(index, pico, exact);
    const model = this.name(call.model);
    let entry = this.head[index] as number;
    while (entry >= 0 && this.entryModel[entry] !== model) entry = this.entryNext[entry] as number;
    if (entry < 0) {
      entry = this.newEntry(model, this.head[index] as number);
      this.head[index] = entry;
    }
    this.entryCost.add(entry, pico, exact);
  }

  /** The run-day's index, made on first use; -1 past {@link MAX_RUNS}. */
  private find(day: string, runId: string, call: { agent: string | undefined; user: string | undefined }): number {
    let runs = this.byDay.get(day);
    if (runs === undefined) {
      runs = new Map();
      this.byDay.set(day, runs);
    }
    const known = runs.get(runId);
    if (known !== undefined) return known;
    if (this.count >= MAX_RUNS) return -1;
    const index = this.count;
    this.count += 1;
    if (index >= this.agent.length) {
      const size = this.agent.length * 2;
      this.agent = grown(this.agent, size);
      this.user = grown(this.user, size);
      this.head = grown(this.head, size);
    }
    this.cost.grow(index + 1);
    this.agent[index] = call.agent === undefined ? NO_NAME : this.name(call.agent);
    this.user[index] = call.user === undefined ? NO_NAME : this.name(call.user);
    this.head[index] = -1;
    runs.set(runId, index);
    return index;
  }

  private newEntry(model: number, next: number): number {
    const entry = this.entries;
    this.entries += 1;
    if (entry >= this.entryModel.length) {
      const size = this.entryModel.length * 2;
      this.entryModel = grown(this.entryModel, size);
      this.entryNext = grown(this.entryNext, size);
    }
    this.entryCost.grow(entry + 1);
    this.entryModel[entry] = model;
    this.entryNext[entry] = next;
    return entry;
  }

  private name(value: string): number {
    let id = this.names.get(value);
    if (id === undefined) {
      id = this.names.size;
      this.names.set(value, id);
    }
    return id;
  }

  /**
   * The runs of `day` with their cost for a spike's key: all of a run's cost (`day`), the
   * cost of runs whose agent or user is `key`, or a run's calls to model `key`.
   */
  costs(day: string, dimension: 'day' | 'agent' | 'user' | 'model', key: string): Array<{ runId: string; cost: PicoUsd }> {
    const runs: Array<{ runId: string; cost: PicoUsd }> = [];
    const id = this.names.get(key);
    for (const [runId, index] of this.byDay.get(day) ?? []) {
      let cost: PicoUsd | undefined;
      if (dimension === 'day') cost = this.cost.value(index);
      else if (dimension === 'agent') cost = id !== undefined && this.agent[index] === id ? this.cost.value(index) : undefined;
      else if (dimension === 'user') cost = id !== undefined && this.user[index] === id ? this.cost.value(index) : undefined;
      else {
        let entry = id === undefined ? -1 : (this.head[index] as number);
        while (entry >= 0 && this.entryModel[entry] !== id) entry = this.entryNext[entry] as number;
        cost = entry < 0 ? undefined : this.entryCost.value(entry);
      }
      if (cost !== undefined && cost > 0n) runs.push({ runId, cost });
    }
    return runs;
  }
}

function grown(array: Int32Array<ArrayBuffer>, size: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(size);
  next.set(array);
  return next;
}
