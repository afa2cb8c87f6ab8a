import { formatUsd, type PicoUsd } from '@costspan/core';
import { addTotals, totalCost, type BudgetRefusalWire, type CostEvent, type CostTotals } from '@costspan/sdk';
import { emptyTotals, parseEventTimestamp } from '@costspan/sdk/internal';
import { CliError } from './cli-error.js';
import { addWireCall } from './event-money.js';
import { emptyRecord, recordFromEvent } from './event-record.js';
import { WarningCollector, type ReportWarnings } from './report-warnings.js';

/** One run or step of a rebuilt run tree. */
export interface RunTreeNode {
  kind: 'run' | 'step';
  /** Run or step name (a step's name is the last segment of its `scope`). */
  name: string;
  /** Runs only: `agent_run_id`; `undefined` for a run known only by name (its events are missing). */
  runId: string | undefined;
  /** Calls made directly in this node (steps with the same name under the same parent are merged). */
  own: CostTotals;
  /** Own plus every descendant, exact. */
  inclusive: CostTotals;
  /** Distinct spans merged into this node (a step named `call` run five times counts 5). */
  spans: number;
  /** Models called directly, sorted. */
  models: string[];
  /** Earliest and latest end time of the calls made directly here (ISO 8601 with microseconds). */
  firstCallAt: string | undefined;
  lastCallAt: string | undefined;
  /** Root runs: wall time from the session event. Others: unknown (events carry end times only). */
  durationMs: number | undefined;
  /** Calls whose event marks an error (`payload.status = "error"` or a `payload.error`). */
  errors: number;
  children: RunTreeNode[];
}

/** The answer of `costspan run`. */
export interface RunTree {
  runId: string;
  /** The run's subtree. */
  root: RunTreeNode;
  /** Names of the runs and steps above the run, root first (empty for a root run). */
  ancestors: string[];
  traceIds: string[];
  /** Who the run's cost was attributed to (root runs): target, exact cost, and whether any of it came late. */
  attributions: Array<{ target: string; cost: PicoUsd; late: boolean }>;
  /** Problems seen while rebuilding, e.g. token events that do not add up to the session total. */
  warnings: string[];
  /**
   * What makes the run's figures incomplete, as `costspan report` counts it, over the run's subtree:
   * inputs cut short, unpriced calls, token events whose total differs from their parts, and its
   * session event's calls without usage and budget refusals.
   */
  inputWarnings: ReportWarnings;
}

class MutableNode {
  readonly own: CostTotals = emptyTotals();
  readonly steps = new Map<string, MutableNode>();
  readonly runs: MutableNode[] = [];
  readonly spanIds = new Set<string>();
  readonly models = new Set<string>();
  first: string | undefined;
  last: string | undefined;
  durationMs: number | undefined;
  errors = 0;
  /** Calls recorded unpriced, by model: the report's unpriced-model warning, for this node only. */
  readonly unpricedModels = new Map<string, number>();
  /** Token events whose `total_cost_usd` differs from the sum of their parts. */
  totalMismatches = 0;
  /** Position of the first call in the input: children are listed in the order work was recorded. */
  firstSequence = Number.POSITIVE_INFINITY;
  /** The root run's session event: cost, every call, and the calls that reported no usage (no token event). */
  session:
    | {
        cost: PicoUsd;
        calls: number;
        usageMissing: number;
        unpricedModels: readonly string[] | undefined;
        budgetRefusals: readonly BudgetRefusalWire[] | undefined;
      }
    | undefined;
  attached = false;
  /** Id of the enclosing run, when the events name it (SDK events carry `parent_run_id`). */
  parentRunId: string | undefined;

  constructor(
    readonly kind: 'run' | 'step',
    readonly name: string,
    readonly runId: string | undefined,
    readonly path: readonly string[],
    readonly traceId: string | undefined,
  ) {}

  step(name: string): MutableNode {
    let node = this.steps.get(name);
    if (node === undefined) {
      node = new MutableNode('step', name, undefined, [...this.path, name], this.traceId);
      this.steps.set(name, node);
    }
    return node;
  }
}

const MAX_SPAN_IDS = 100_000;

/**
 * Rebuilds one agent run's tree from cost events, in two streaming passes:
 * {@link RunTreeBuilder.locate} finds the traces the run belongs to;
 * {@link RunTreeBuilder.add} then places every token event of those traces by
 * its `scope` (run and step names from the root), `agent_name` and
 * `agent_run_id`. Nested runs are attached to the deepest enclosing run of the
 * same trace whose path is a prefix of theirs. Memory is bounded by the size of
 * the run's traces, not of the file.
 *
 * Limitation: token events name their own run, not its parent run, so when
 * sibling runs share a name, runs nested in them are attached to the first.
 *
 * @example
 * ```ts
 * const builder = new RunTreeBuilder('01JRUN...');
 * await scanner.scan(files, (event) => builder.locate(event));
 * await scanner.scan(files, (event) => builder.add(event));
 * const tree = builder.build();
 * ```
 */
export class RunTreeBuilder {
  readonly runId: string;
  private readonly traces = new Set<string>();
  private matched = false;
  private readonly runs = new Map<string, MutableNode>();
  private readonly attributions = new Map<string, { totals: CostTotals; late: boolean }>();
  private sequence = 0;
  private readonly truncatedInputs: string[] = [];
  /** Reused to read a token event as the report does (`totalMismatch`): one rule for both commands. */
  private readonly scratch = emptyRecord();

  constructor(runId: string) {
    this.runId = runId;
  }

  /** True once pass 1 has seen an event of the run. */
  get found(): boolean {
    return this.matched;
  }

  /** Pass 1: notes the traces of events that carry the run's id. */
  locate(event: CostEvent): void {
    if (event.payload.agent_run_id !== this.runId) return;
    this.matched = true;
    if (event.trace_id !== undefined && this.traces.size < 10_000) this.traces.add(event.trace_id);
  }

  /** An input cut short (`ScanStats.truncatedInputs`): warned about in {@link RunTree.inputWarnings}. */
  addTruncatedInput(input: string): void {
    if (!this.truncatedInputs.includes(input)) this.truncatedInputs.push(input);
  }

  /** Pass 2: adds an event if it belongs to one of the run's traces (or, without trace ids, to the run). */
  add(event: CostEvent): void {
    const related =
      event.trace_id !== undefined && this.traces.size > 0 ? this.traces.has(event.trace_id) : event.payload.agent_run_id === this.runId;
    if (!related) return;
    switch (event.event_type) {
      case 'llm.cost.token.recorded':
        this.addToken(event as CostEvent<'llm.cost.token.recorded'>);
        break;
      case 'llm.cost.session.recorded':
        this.addSession(event as CostEvent<'llm.cost.session.recorded'>);
        break;
      case 'llm.cost.attributed':
        this.addAttributed(event as CostEvent<'llm.cost.attributed'>);
        break;
    }
  }

  private run(runId: string, name: string, path: readonly string[], traceId: string | undefined): MutableNode {
    let run = this.runs.get(runId);
    if (run === undefined) {
      run = new MutableNode('run', name, runId, path, traceId);
      this.runs.set(runId, run);
    }
    return run;
  }

  private addToken(event: CostEvent<'llm.cost.token.recorded'>): void {
    const payload = event.payload;
    const segments = (
      typeof payload.scope === 'string' && payload.scope !== '' ? payload.scope : (payload.agent_name ?? '(unnamed run)')
    ).split('/');
    const agentName = typeof payload.agent_name === 'string' ? payload.agent_name : (segments[0] as string);
    const runIndex = segments.lastIndexOf(agentName);
    const runPath = runIndex < 0 ? [agentName] : segments.slice(0, runIndex + 1);
    const stepNames = runIndex < 0 ? segments : segments.slice(runIndex + 1);
    const runId = payload.agent_run_id ?? `(no run id: ${agentName})`;
    let node = this.run(runId, agentName, runPath, event.trace_id);
    if (typeof payload.parent_run_id === 'string') node.parentRunId = payload.parent_run_id;
    for (const name of stepNames) node = node.step(name);
    addWireCall(node.own, payload.cost, payload.token_usage, payload.pricing_status !== 'unpriced');
    const spanId = payload.span_id ?? event.span_id;
    if (spanId !== undefined && node.spanIds.size < MAX_SPAN_IDS) node.spanIds.add(spanId);
    node.models.add(payload.model.name);
    if (payload.pricing_status === 'unpriced')
      node.unpricedModels.set(payload.model.name, (node.unpricedModels.get(payload.model.name) ?? 0) + 1);
    if (recordFromEvent(event, this.scratch).totalMismatch) node.totalMismatches += 1;
    if (node.firstSequence === Number.POSITIVE_INFINITY) node.firstSequence = this.sequence++;
    if (node.first === undefined || event.timestamp < node.first) node.first = event.timestamp;
    if (node.last === undefined || event.timestamp > node.last) node.last = event.timestamp;
    if (payload.status === 'error' || (payload.error !== undefined && payload.error !== null && payload.error !== false)) node.errors += 1;
  }

  private addSession(event: CostEvent<'llm.cost.session.recorded'>): void {
    const payload = event.payload;
    const name = payload.agent_name ?? payload.agent_run_id;
    const run = this.run(payload.agent_run_id, name, [name], event.trace_id);
    if (typeof payload.session_duration_ms === 'number') run.durationMs = payload.session_duration_ms;
    const totals = emptyTotals();
    addWireCall(totals, payload.total_cost, payload.total_token_usage, true);
    run.session = {
      cost: totalCost(totals),
      calls: payload.call_count,
      usageMissing: payload.usage_missing_call_count ?? 0,
      unpricedModels: payload.unpriced_models,
      budgetRefusals: payload.budget_refusals,
    };
  }

  private addAttributed(event: CostEvent<'llm.cost.attributed'>): void {
    const payload = event.payload;
    if (payload.agent_run_id !== this.runId) return;
    let attribution = this.attributions.get(payload.attribution_target);
    if (attribution === undefined) {
      attribution = { totals: emptyTotals(), late: false };
      this.attributions.set(payload.attribution_target, attribution);
    }
    addWireCall(attribution.totals, payload.cost, undefined, true);
    if (payload.late === true) attribution.late = true;
  }

  /**
   * The run's tree.
   *
   * @throws CliError `run_not_found` (exit 1) when no event carries the run id
   */
  build(): RunTree {
    const target = this.runs.get(this.runId);
    if (!this.matched || target === undefined) {
      throw new CliError({
        code: 'run_not_found',
        message: `run ${JSON.stringify(this.runId)} not found: no llm.cost.* event has payload.agent_run_id = ${JSON.stringify(this.runId)}`,
      });
    }
    this.link();
    const warnings: string[] = [];
    const collector = new WarningCollector();
    for (const input of this.truncatedInputs) collector.addTruncatedInput(input);
    const root = freeze(target, collector);
    const ancestors = target.path.slice(0, -1);
    const session = target.session;
    const calls = (count: number): string => `${count} call${count === 1 ? '' : 's'}`;
    // Calls without usage have no token event: counted in the session's call_count, never in the tree.
    // Session events are written for root runs only: a nested run's calls without usage are in its root's.
    const usageMissing = session?.usageMissing ?? 0;
    if (session !== undefined) collector.addRun(usageMissing, session.unpricedModels, session.budgetRefusals);
    if (
      session !== undefined &&
      (session.cost !== totalCost(root.inclusive) || session.calls - usageMissing !== root.inclusive.callCount)
    ) {
      warnings.push(
        `the session event says ${calls(session.calls - usageMissing)}${usageMissing > 0 ? ' with usage' : ''} costing ${formatUsd(session.cost)}, but the token events found add up to ${calls(root.inclusive.callCount)} costing ${formatUsd(totalCost(root.inclusive))}: events are missing or were filtered out`,
      );
    }
    const attributions = [...this.attributions]
      .map(([target, attribution]) => ({ target, cost: totalCost(attribution.totals), late: attribution.late }))
      .sort((left, right) => (left.cost === right.cost ? (left.target < right.target ? -1 : 1) : left.cost > right.cost ? -1 : 1));
    // No session calls given to the collector: the check above compares them with the tree, in its
    // words, so `callsWithoutTokenEvent` stays 0 rather than warning twice.
    const inputWarnings = collector.result(0);
    return { runId: this.runId, root, ancestors, traceIds: [...this.traces].sort(), attributions, warnings, inputWarnings };
  }

  /** Attaches each nested run under the deepest enclosing run of its trace. */
  private link(): void {
    // A parent named by id but with no call of its own: a node for it, just above its child.
    for (const run of [...this.runs.values()]) {
      const parentId = run.parentRunId;
      if (parentId === undefined || this.runs.has(parentId) || run.path.length <= 1) continue;
      const path = run.path.slice(0, -1);
      this.runs.set(parentId, new MutableNode('run', path[path.length - 1] as string, parentId, path, run.traceId));
    }
    const runs = [...this.runs.values()];
    // Runs known only by name (no event of their own): placeholders at the top.
    for (const run of runs) {
      if (run.path.length <= 1) continue;
      const top = run.path[0] as string;
      if (!runs.some((other) => other.traceId === run.traceId && other.path.length === 1 && other.path[0] === top)) {
        const placeholder = new MutableNode('run', top, undefined, [top], run.traceId);
        this.runs.set(`(unknown:${run.traceId ?? ''}:${top})`, placeholder);
        runs.push(placeholder);
      }
    }
    for (const run of runs) {
      if (run.path.length <= 1 || run.attached) continue;
      // The parent's id when the events give it; else the deepest run whose scope path encloses this one.
      let parent: MutableNode | undefined = run.parentRunId === undefined ? undefined : this.runs.get(run.parentRunId);
      if (parent !== undefined && !run.path.slice(0, parent.path.length).every((segment, index) => parent?.path[index] === segment))
        parent = undefined;
      for (const other of parent === undefined ? runs : []) {
        if (other === run || other.traceId !== run.traceId || other.path.length >= run.path.length) continue;
        if (!other.path.every((segment, index) => run.path[index] === segment)) continue;
        if (parent === undefined || other.path.length > parent.path.length) parent = other;
      }
      if (parent === undefined) continue;
      let node = parent;
      for (const name of run.path.slice(parent.path.length, -1)) node = node.step(name);
      node.runs.push(run);
      run.attached = true;
    }
  }
}

/** Freezes the subtree of `node`, telling `collector` what its calls leave incomplete (this subtree only). */
function freeze(node: MutableNode, collector: WarningCollector): RunTreeNode {
  for (const [model, count] of node.unpricedModels) for (let call = 0; call < count; call += 1) collector.addCall(false, model);
  for (let event = 0; event < node.totalMismatches; event += 1) collector.addTotalMismatch();
  // In the order the work was recorded (first call first); nodes without calls last.
  const ordered = [...node.steps.values(), ...node.runs].sort((left, right) => firstSequence(left) - firstSequence(right) || 0);
  const children = ordered.map((child) => freeze(child, collector));
  const inclusive = emptyTotals();
  addTotals(inclusive, node.own);
  for (const child of children) addTotals(inclusive, child.inclusive);
  return {
    kind: node.kind,
    name: node.name,
    runId: node.runId,
    own: node.own,
    inclusive,
    spans: node.spanIds.size,
    models: [...node.models].sort(),
    firstCallAt: node.first,
    lastCallAt: node.last,
    durationMs: node.durationMs,
    errors: node.errors,
    children,
  };
}

function firstSequence(node: MutableNode): number {
  let first = node.firstSequence;
  for (const child of [...node.steps.values(), ...node.runs]) first = Math.min(first, firstSequence(child));
  return first === Number.POSITIVE_INFINITY ? Number.MAX_SAFE_INTEGER : first;
}

/** Sum of `errors` over a tree. */
export function countErrors(node: RunTreeNode): number {
  return node.children.reduce((sum, child) => sum + countErrors(child), node.errors);
}

/** Milliseconds between the first and last call ends of a node and its descendants, or `undefined`. */
export function callWindowMs(node: RunTreeNode): number | undefined {
  let first: string | undefined;
  let last: string | undefined;
  const visit = (current: RunTreeNode): void => {
    if (current.firstCallAt !== undefined && (first === undefined || current.firstCallAt < first)) first = current.firstCallAt;
    if (current.lastCallAt !== undefined && (last === undefined || current.lastCallAt > last)) last = current.lastCallAt;
    current.children.forEach(visit);
  };
  visit(node);
  return first === undefined || last === undefined ? undefined : parseEventTimestamp(last) - parseEventTimestamp(first);
}
