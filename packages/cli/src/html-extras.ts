import type { PicoUsd } from '@costspan/core';
import { totalCost, type CostEvent } from '@costspan/sdk';
import { emptyTotals, parseEventTimestamp } from '@costspan/sdk/internal';
import { addWireCall, wireToPico } from './event-money.js';
import type { EventHandler } from './read-events.js';
import { RunTreeBuilder, type RunTree } from './run-tree.js';

/** A root run's inclusive cost, from its session event. */
export interface RunCost {
  runId: string;
  agent: string;
  cost: PicoUsd;
  calls: number;
  timestamp: string;
}

/** What the HTML page shows beyond the report: cost per day and model, the most expensive runs. */
export interface HtmlExtras {
  /** Days in order, and each model's exact cost per day. */
  days: string[];
  /** Model -> cost per day (aligned with `days`), most expensive models first. */
  dayModels: Array<{ model: string; costs: PicoUsd[] }>;
  /** The most expensive root runs, highest first. */
  topRuns: RunCost[];
  /** Their rebuilt trees, by run id (filled by {@link HtmlExtrasCollector.buildTrees}). */
  trees: Map<string, RunTree>;
}

/** Options of {@link HtmlExtrasCollector}. */
export interface HtmlExtrasCollectorOptions {
  sinceMs?: number;
  untilMs?: number;
  /** Root runs kept. Default 10. */
  topRuns?: number;
  /** Distinct models per day kept before the rest are pooled as `(other)`. Default 1000. */
  maxModels?: number;
}

const OTHER = '(other)';

/**
 * Collects, in the report's own pass and in bounded memory, what the HTML page needs that the
 * report does not keep: each model's cost per day (for the stacked chart) and the most expensive
 * root runs (a top-N of their session events). {@link buildTrees} then rebuilds those runs' trees
 * in one more pass over the inputs, with {@link RunTreeBuilder}.
 */
export class HtmlExtrasCollector {
  private readonly dayModels = new Map<string, Map<string, PicoUsd>>();
  private readonly models = new Map<string, PicoUsd>();
  private readonly top: Array<RunCost & { event: CostEvent }> = [];
  private readonly options: HtmlExtrasCollectorOptions;
  private readonly limit: number;
  private readonly maxModels: number;

  constructor(options: HtmlExtrasCollectorOptions = {}) {
    this.options = options;
    this.limit = options.topRuns ?? 10;
    this.maxModels = options.maxModels ?? 1000;
  }

  /** Adds one validated event. */
  add(event: CostEvent): void {
    const { sinceMs, untilMs } = this.options;
    if (sinceMs !== undefined || untilMs !== undefined) {
      const time = parseEventTimestamp(event.timestamp);
      if ((sinceMs !== undefined && time < sinceMs) || (untilMs !== undefined && time >= untilMs)) return;
    }
    if (event.event_type === 'llm.cost.token.recorded') this.addToken(event as CostEvent<'llm.cost.token.recorded'>);
    else if (event.event_type === 'llm.cost.session.recorded') this.addSession(event as CostEvent<'llm.cost.session.recorded'>);
  }

  private addToken(event: CostEvent<'llm.cost.token.recorded'>): void {
    const payload = event.payload;
    const currency = payload.cost.currency;
    if (currency !== undefined && currency.toUpperCase() !== 'USD') return;
    const call = emptyTotals();
    addWireCall(call, payload.cost, payload.token_usage, true);
    const cost = totalCost(call);
    let model = payload.model.name;
    if (!this.models.has(model) && this.models.size >= this.maxModels) model = OTHER;
    this.models.set(model, (this.models.get(model) ?? 0n) + cost);
    const day = event.timestamp.slice(0, 10);
    let perModel = this.dayModels.get(day);
    if (perModel === undefined) {
      perModel = new Map();
      this.dayModels.set(day, perModel);
    }
    perModel.set(model, (perModel.get(model) ?? 0n) + cost);
  }

  private addSession(event: CostEvent<'llm.cost.session.recorded'>): void {
    const payload = event.payload;
    const currency = payload.total_cost.currency;
    if (currency !== undefined && currency.toUpperCase() !== 'USD') return;
    const cost =
      wireToPico(payload.total_cost.input_cost_usd) +
      wireToPico(payload.total_cost.output_cost_usd) +
      wireToPico(payload.total_cost.reasoning_cost_usd) -
      wireToPico(payload.total_cost.cached_discount_usd);
    const last = this.top[this.top.length - 1];
    if (this.top.length >= this.limit && last !== undefined && cost <= last.cost) return;
    const entry = {
      runId: payload.agent_run_id,
      agent: payload.agent_name ?? '(unnamed)',
      cost,
      calls: payload.call_count,
      timestamp: event.timestamp,
      event,
    };
    // A run's session event is written once; a replayed copy is not a second run.
    const existing = this.top.findIndex((item) => item.runId === entry.runId);
    if (existing !== -1) return;
    let index = this.top.findIndex((item) => item.cost < cost);
    if (index === -1) index = this.top.length;
    this.top.splice(index, 0, entry);
    if (this.top.length > this.limit) this.top.pop();
  }

  /**
   * Rebuilds the trees of the top runs in one pass over `scan` (a function that streams the
   * same inputs again). Their traces are known from the session events already read.
   */
  async buildTrees(scan: (handler: EventHandler) => Promise<void>): Promise<Map<string, RunTree>> {
    const builders = this.top.map((entry) => {
      const builder = new RunTreeBuilder(entry.runId);
      builder.locate(entry.event);
      return builder;
    });
    const trees = new Map<string, RunTree>();
    if (builders.length === 0) return trees;
    await scan((event) => {
      for (const builder of builders) builder.add(event);
    });
    for (const builder of builders) trees.set(builder.runId, builder.build());
    return trees;
  }

  /** What was collected; `trees` is empty until {@link buildTrees} fills it. */
  result(trees: Map<string, RunTree> = new Map()): HtmlExtras {
    const days = [...this.dayModels.keys()].sort();
    const models = [...this.models].sort((left, right) =>
      left[1] === right[1] ? (left[0] < right[0] ? -1 : 1) : left[1] > right[1] ? -1 : 1,
    );
    return {
      days,
      dayModels: models.map(([model]) => ({ model, costs: days.map((day) => this.dayModels.get(day)?.get(model) ?? 0n) })),
      topRuns: this.top.map(({ runId, agent, cost, calls, timestamp }) => ({ runId, agent, cost, calls, timestamp })),
      trees,
    };
  }
}
