import { picoToUsd, type PicoUsd } from '@costspan/core';
import type { CostEvent } from './cost-event.js';
import { addTotals, addWireCall, addWireCost, emptyTotals, totalCost, type CostTotals } from '../processing/cost-totals.js';
import type { CostEventListener } from '../export/event-exporter.js';
import { LatencyStats, type LatencySummary } from './latency-stats.js';

/**
 * Totals of one group in a {@link CostSummary}. USD amounts are exact decimals as numbers.
 * Latencies come from the token events' `latency_ms` (the call span's duration); attribution
 * groups (`byPrincipal`) have none.
 */
export interface CostGroupSummary extends LatencySummary {
  totalCostUsd: number;
  inputCostUsd: number;
  outputCostUsd: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/** What a {@link CostTracker} has seen, grouped every way users ask for. */
export interface CostSummary extends CostGroupSummary {
  /** Root runs seen (session events). */
  runs: number;
  /** Calls with usage that could not be priced (booked at 0). */
  unpricedCalls: number;
  /** Calls that ran but reported no usage, from session events; counted in `calls` too. */
  usageMissingCalls: number;
  /** Budget reservations refused, from session events. */
  budgetRefusals: number;
  avgCostPerCallUsd: number;
  avgInputTokensPerCall: number;
  avgOutputTokensPerCall: number;
  /** Output tokens / total tokens; low values flag verbose prompts. */
  tokenEfficiency: number;
  costPer1kOutputTokensUsd: number;
  byModel: Record<string, CostGroupSummary>;
  byProvider: Record<string, CostGroupSummary>;
  byAgent: Record<string, CostGroupSummary>;
  /** By scope path: run and step names from the root, e.g. `pipeline/retrieval`. */
  byScope: Record<string, CostGroupSummary>;
  /** By attribution target: `user:alice`, `team:search`, `org:acme`, `tag:env=prod`. */
  byPrincipal: Record<string, CostGroupSummary>;
}

/**
 * Keeps running cost totals in memory, for users who just want numbers.
 * Register it as a listener: it sees each event as it is emitted, so its
 * figures are current the moment a run returns.
 *
 * @example
 * ```ts
 * const tracker = new CostTracker();
 * const processor = new CostSpanProcessor({ listeners: [tracker] });
 * // ... run agents ...
 * console.log(tracker.summary().byAgent);
 * ```
 */
export class CostTracker implements CostEventListener {
  private readonly totals = emptyTotals();
  private readonly groups = {
    byModel: new Map<string, CostTotals>(),
    byProvider: new Map<string, CostTotals>(),
    byAgent: new Map<string, CostTotals>(),
    byScope: new Map<string, CostTotals>(),
    byPrincipal: new Map<string, CostTotals>(),
  };
  private readonly latency = new Map<string, LatencyStats>();
  private runs = 0;
  private budgetRefusals = 0;

  onEvent(event: CostEvent): void {
    if (event.event_type === 'llm.cost.token.recorded') {
      const payload = (event as CostEvent<'llm.cost.token.recorded'>).payload;
      const call = emptyTotals();
      addWireCall(call, payload.cost, payload.token_usage, payload.pricing_status !== 'unpriced');
      addTotals(this.totals, call);
      add(this.groups.byModel, payload.model.name, call);
      add(this.groups.byProvider, payload.model.system, call);
      if (payload.agent_name !== undefined) add(this.groups.byAgent, payload.agent_name, call);
      if (payload.scope !== undefined) add(this.groups.byScope, payload.scope, call);
      const latency = payload.latency_ms;
      if (typeof latency === 'number') {
        this.latencyOf('').add(latency);
        this.latencyOf(`model:${payload.model.name}`).add(latency);
        this.latencyOf(`provider:${payload.model.system}`).add(latency);
        if (payload.agent_name !== undefined) this.latencyOf(`agent:${payload.agent_name}`).add(latency);
        if (payload.scope !== undefined) this.latencyOf(`scope:${payload.scope}`).add(latency);
      }
    } else if (event.event_type === 'llm.cost.attributed') {
      const payload = (event as CostEvent<'llm.cost.attributed'>).payload;
      const share = emptyTotals();
      addWireCost(share, payload.cost);
      share.callCount = payload.source_event_ids?.length ?? 0;
      add(this.groups.byPrincipal, payload.attribution_target, share);
    } else if (event.event_type === 'llm.cost.session.recorded') {
      this.runs += 1;
      // Calls without usage have no token event: the session event is where they are counted.
      const payload = (event as CostEvent<'llm.cost.session.recorded'>).payload;
      const missing = payload.usage_missing_call_count ?? 0;
      this.totals.callCount += missing;
      this.totals.usageMissingCallCount += missing;
      this.budgetRefusals += payload.budget_refusals?.length ?? 0;
    }
  }

  /** Exact total cost so far, in pico-USD. */
  get totalCostPico(): PicoUsd {
    return totalCost(this.totals);
  }

  /** Total cost so far in USD (exact decimal as a number). */
  get totalCostUsd(): number {
    return picoToUsd(totalCost(this.totals));
  }

  /** Totals and every breakdown. */
  summary(): CostSummary {
    const totals = this.totals;
    const calls = totals.callCount;
    const overall = groupSummary(totals, this.latency.get(''));
    return {
      ...overall,
      runs: this.runs,
      unpricedCalls: totals.unpricedCallCount,
      usageMissingCalls: totals.usageMissingCallCount,
      budgetRefusals: this.budgetRefusals,
      avgCostPerCallUsd: calls === 0 ? 0 : picoToUsd(totalCost(totals) / BigInt(calls)),
      avgInputTokensPerCall: calls === 0 ? 0 : Math.round(totals.inputTokens / calls),
      avgOutputTokensPerCall: calls === 0 ? 0 : Math.round(totals.outputTokens / calls),
      tokenEfficiency: totals.totalTokens === 0 ? 0 : Math.round((totals.outputTokens / totals.totalTokens) * 1000) / 1000,
      costPer1kOutputTokensUsd: totals.outputTokens === 0 ? 0 : picoToUsd((totalCost(totals) * 1000n) / BigInt(totals.outputTokens)),
      byModel: summarize(this.groups.byModel, this.latency, 'model:'),
      byProvider: summarize(this.groups.byProvider, this.latency, 'provider:'),
      byAgent: summarize(this.groups.byAgent, this.latency, 'agent:'),
      byScope: summarize(this.groups.byScope, this.latency, 'scope:'),
      byPrincipal: summarize(this.groups.byPrincipal, this.latency, 'principal:'),
    };
  }

  private latencyOf(key: string): LatencyStats {
    let stats = this.latency.get(key);
    if (stats === undefined) {
      stats = new LatencyStats();
      this.latency.set(key, stats);
    }
    return stats;
  }

  /** Forgets everything. */
  reset(): void {
    Object.assign(this.totals, emptyTotals());
    for (const group of Object.values(this.groups)) group.clear();
    this.latency.clear();
    this.runs = 0;
    this.budgetRefusals = 0;
  }
}

function add(group: Map<string, CostTotals>, key: string, totals: CostTotals): void {
  let existing = group.get(key);
  if (existing === undefined) {
    existing = emptyTotals();
    group.set(key, existing);
  }
  addTotals(existing, totals);
}

const NO_LATENCY: LatencySummary = new LatencyStats().summary();

function groupSummary(totals: CostTotals, latency: LatencyStats | undefined): CostGroupSummary {
  return {
    ...(latency?.summary() ?? NO_LATENCY),
    totalCostUsd: picoToUsd(totalCost(totals)),
    inputCostUsd: picoToUsd(totals.input),
    outputCostUsd: picoToUsd(totals.output),
    calls: totals.callCount,
    inputTokens: totals.inputTokens,
    outputTokens: totals.outputTokens,
    totalTokens: totals.totalTokens,
  };
}

function summarize(group: Map<string, CostTotals>, latency: Map<string, LatencyStats>, prefix: string): Record<string, CostGroupSummary> {
  const entries = [...group.entries()].sort((left, right) => {
    const difference = totalCost(right[1]) - totalCost(left[1]);
    return difference > 0n ? 1 : difference < 0n ? -1 : left[0].localeCompare(right[0]);
  });
  // A null-prototype object: keys such as `__proto__` from user data stay plain keys.
  const result = Object.create(null) as Record<string, CostGroupSummary>;
  for (const [key, totals] of entries) result[key] = groupSummary(totals, latency.get(`${prefix}${key}`));
  return result;
}
