import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Principal } from '../budget-gate.js';
import type { PricedCall } from './call-pricing.js';
import type { BudgetRefusalWire } from '../events/cost-event.js';
import type { PrincipalFragments } from '../events/cost-event-writer.js';
import { emptyTotals, type CostTotals } from './cost-totals.js';
import { stepStates } from '../tracing/span-state.js';
import { SpanIdTable } from './span-id-table.js';

/** A budget refusal read from a step span, kept on its root run for the session event. */
export type BudgetRefusal = BudgetRefusalWire;

/** Root runs only: what the session event reports beyond the totals. */
export interface RootRecord {
  /** Cost of the tree per attribution target. */
  attribution: Map<string, { totals: CostTotals; eventIds: string[] }>;
  models: Set<string>;
  unpricedModels: Set<string>;
  budgetRefusals: BudgetRefusal[];
  /** Tokens booked anywhere in the tree: every token sum of the tree is at most this. */
  tokenTally: number;
}

/** Calls of another instrumentation's span, held by the costspan step above it. */
export interface DeferredCalls {
  span: ReadableSpan;
  node: SpanNode;
  calls: PricedCall[];
}

/** One tracked span: a run, a step, or another instrumentation's span below a run. */
export class SpanNode {
  readonly inclusive: CostTotals = emptyTotals();
  /** Runs only: cost of the run's own work, nested runs excluded. */
  readonly runOwn: CostTotals | undefined;
  /** Root runs only. */
  readonly rootRecord: RootRecord | undefined;
  readonly run: SpanNode;
  readonly root: SpanNode;
  openChildren = 0;
  ended = false;
  /** Runs only: attribution targets of `principal`, computed on the run's first call. */
  targets: string[] | undefined;
  /** costspan steps only: calls of other instrumentation's spans below, held until the step ends. */
  deferred: DeferredCalls[] | undefined;
  /** Its place in the tree's oldest-first order (`SpanTree`'s). */
  orderIndex = -1;
  /** On a run: its principal's envelope fragments, escaped once (the writer's). */
  principalFragments: PrincipalFragments | undefined;
  /** On a run: the start of its calls' token-event payloads (`{"agent_name":…,"agent_run_id":…,`), written once. */
  tokenPayloadHead: string | undefined;
  /**
   * The session id (`session.id`) of the nearest run that has one: set on a run by the processor,
   * inherited by every span below it and by nested runs, as the principal is. Every event of the
   * tree carries it as `session_id`.
   */
  sessionId: string | undefined;

  constructor(
    readonly spanId: string,
    readonly parent: SpanNode | undefined,
    readonly isRun: boolean,
    readonly name: string,
    readonly runId: string,
    readonly scope: string,
    readonly principal: Principal,
    /** The span: runs find their budget through it, steps their recorded calls. */
    readonly span: object,
  ) {
    this.run = isRun || parent === undefined ? this : parent.run;
    this.root = parent === undefined ? this : parent.root;
    this.runOwn = isRun ? emptyTotals() : undefined;
    this.sessionId = parent?.sessionId;
    if (this.root === this) {
      this.rootRecord = { attribution: new Map(), models: new Set(), unpricedModels: new Set(), budgetRefusals: [], tokenTally: 0 };
    }
  }
}

/**
 * The spans being tracked, bounded by `maxOpenSpans`. A node stays while it is open or has
 * open descendants. Past the cap a leaked leaf is forgotten: an open span with no open
 * children, spans of other instrumentation before runs, oldest first. An ancestor of an
 * open span is never forgotten, so a long run with leaked children keeps its roll-up and
 * its session event; forgetting a leaf also releases the ended chain above it.
 */
export class SpanTree {
  /** By span id (see `SpanIdTable` for why not a `Map`). */
  private readonly nodes = new SpanIdTable<SpanNode>();
  /**
   * The tracked nodes oldest first, a hole where one left: eviction scans from the front, as a
   * `Map` iterates (the id table keeps none). Holes at the
   * front are skipped for good; the array is rebuilt when holes outnumber nodes.
   */
  private order: Array<SpanNode | undefined> = [];
  private head = 0;
  private count = 0;
  private evictedCount = 0;

  constructor(
    private readonly maxOpenSpans: number,
    private readonly onEvict: (node: SpanNode, evictedSoFar: number) => void,
  ) {}

  /** Spans tracked now. */
  get size(): number {
    return this.count;
  }

  /** Spans forgotten because the cap was reached. */
  get evicted(): number {
    return this.evictedCount;
  }

  get(spanId: string): SpanNode | undefined {
    return this.nodes.get(spanId);
  }

  add(node: SpanNode): void {
    if (node.parent !== undefined) node.parent.openChildren += 1;
    const previous = this.nodes.set(node.spanId, node);
    if (previous === undefined) this.count += 1;
    else this.order[previous.orderIndex] = undefined;
    node.orderIndex = this.order.length;
    this.order.push(node);
    if (this.count > this.maxOpenSpans) this.evictLeakedLeaf(node);
  }

  /** Forgets `node` and every ended ancestor left without open children. */
  release(node: SpanNode): void {
    let current: SpanNode | undefined = node;
    while (current !== undefined && current.ended && current.openChildren === 0) {
      current = this.remove(current);
    }
  }

  private remove(node: SpanNode): SpanNode | undefined {
    const tracked = this.nodes.get(node.spanId);
    if (tracked === undefined) return undefined;
    this.nodes.delete(node.spanId);
    this.count -= 1;
    this.order[tracked.orderIndex] = undefined;
    if (this.count === 0) {
      this.order = [];
      this.head = 0;
    } else if (this.order.length - this.head > 2 * this.count + 1024) {
      this.compact();
    }
    const parent = node.parent;
    if (parent !== undefined) parent.openChildren -= 1;
    return parent;
  }

  private compact(): void {
    const kept: SpanNode[] = [];
    for (let index = this.head; index < this.order.length; index += 1) {
      const node = this.order[index];
      if (node === undefined) continue;
      node.orderIndex = kept.length;
      kept.push(node);
    }
    this.order = kept;
    this.head = 0;
  }

  private evictLeakedLeaf(newest: SpanNode): void {
    // Oldest first; the span just started is the last resort only (it would be a leaf too).
    while (this.head < this.order.length && this.order[this.head] === undefined) this.head += 1;
    let fallback: SpanNode | undefined;
    let victim: SpanNode | undefined;
    for (let index = this.head; index < this.order.length; index += 1) {
      const node = this.order[index];
      if (node === undefined || node.openChildren !== 0 || node === newest) continue;
      if (!node.isRun) {
        victim = node;
        break;
      }
      fallback ??= node;
    }
    victim ??= fallback ?? newest;
    const parent = this.remove(victim);
    this.evictedCount += 1;
    this.onEvict(victim, this.evictedCount);
    if (parent !== undefined) this.release(parent);
  }
}

/** The costspan step that is open above `node` within its run, if any. */
export function openStepAbove(node: SpanNode): SpanNode | undefined {
  for (let ancestor = node.parent; ancestor !== undefined && !ancestor.isRun; ancestor = ancestor.parent) {
    if (!ancestor.ended && stepStates.has(ancestor.span)) return ancestor;
  }
  return undefined;
}

/**
 * The own totals a call of `node` counts in: its run's while that run is open; once it has ended
 * (a late call), the nearest open run's above it, which also takes the call into its inclusive
 * total, so that `llm.cost.own.*` summed over run spans still equals the tree's total. Undefined
 * when the whole tree has ended.
 */
export function openRunOwn(node: SpanNode): CostTotals | undefined {
  for (let run: SpanNode | undefined = node.run; run !== undefined; run = run.parent?.run) {
    if (!run.ended) return run.runOwn;
  }
  return undefined;
}
