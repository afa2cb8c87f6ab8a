import { formatPico } from '@costspan/core';
import { addTotals, totalCost, type CostTotals } from '@costspan/sdk';
import { emptyTotals } from '@costspan/sdk/internal';
import { formatCompact, formatDuration, formatInteger, formatMoney, plural } from './money-display.js';
import { warningsToJson, type ReportWarningsJson } from './report-json.js';
import { warningTableLines } from './report-warnings.js';
import { callWindowMs, countErrors, type RunTree, type RunTreeNode } from './run-tree.js';
import { renderTextTable, wrapText, type TextCell, type TextColumn } from './text-table.js';

/** Options of {@link formatRunTreeText}. */
export interface RunTreeTextOptions {
  /** Terminal columns the output fits in. Default 80. */
  width?: number;
  /** Every digit of every amount (`--exact`). Default: rounded for reading. */
  exact?: boolean;
}

/**
 * A node's own work: for a step, the calls made directly in it; for a run,
 * the calls of its steps, not of its nested runs (the SDK's `llm.cost.own.*`).
 */
export function ownTotals(node: RunTreeNode): CostTotals {
  if (node.kind === 'step') return node.own;
  const own = emptyTotals();
  const visit = (current: RunTreeNode): void => {
    addTotals(own, current.own);
    for (const child of current.children) if (child.kind === 'step') visit(child);
  };
  visit(node);
  return own;
}

function nestedRuns(node: RunTreeNode): number {
  return node.children.reduce((count, child) => count + (child.kind === 'run' ? 1 + nestedRuns(child) : nestedRuns(child)), 0);
}

function duration(node: RunTreeNode): string {
  if (node.durationMs !== undefined) return formatDuration(node.durationMs);
  const window = callWindowMs(node);
  // Events carry end times only: the spread of call ends is a lower bound.
  return window === undefined || window <= 0 ? '' : `≥${formatDuration(window)}`;
}

function label(node: RunTreeNode): string {
  const spans = node.kind === 'step' && node.spans > 1 ? ` ×${node.spans}` : '';
  return node.kind === 'run' ? `${node.name} [run ${node.runId ?? '?'}]` : `${node.name}${spans}`;
}

const COLUMNS: TextColumn[] = [
  { header: 'own', align: 'right', priority: Number.POSITIVE_INFINITY },
  { header: 'inclusive', compactHeader: 'incl', align: 'right', priority: Number.POSITIVE_INFINITY },
  { header: 'calls', align: 'right', priority: 85 },
  { header: 'tokens in/out', compactHeader: 'tok in/out', align: 'right', priority: 38 },
  { header: 'models', align: 'left', priority: 30 },
  { header: 'duration', compactHeader: 'time', align: 'right', priority: 60 },
  { header: 'errors', align: 'left', priority: 75 },
];

/** The run tree as an indented table that fits `width`: own and inclusive cost, calls, tokens, models, duration, errors. */
export function formatRunTreeText(tree: RunTree, options: RunTreeTextOptions = {}): string {
  const width = options.width ?? 80;
  const money = (amount: bigint): string => formatMoney(amount, options);
  const root = tree.root;
  const lines: string[] = [];
  lines.push(`run ${tree.runId}: ${root.name}${tree.ancestors.length > 0 ? ` (inside ${tree.ancestors.join('/')})` : ''}`);
  const inclusive = totalCost(root.inclusive);
  const own = totalCost(ownTotals(root));
  const nested = nestedRuns(root);
  const split = nested === 0 ? `own ${money(own)}` : `own ${money(own)}, ${money(inclusive - own)} in ${plural(nested, 'nested run')}`;
  lines.push(
    `cost ${money(inclusive)} inclusive (${split}); ${plural(root.inclusive.callCount, 'call')}; ${formatInteger(root.inclusive.inputTokens)} in / ${formatInteger(root.inclusive.outputTokens)} out tokens${root.durationMs === undefined ? '' : `; ${formatDuration(root.durationMs)}`}`,
  );
  if (tree.traceIds.length > 0) lines.push(`${tree.traceIds.length === 1 ? 'trace' : 'traces'} ${tree.traceIds.join(', ')}`);
  const rows: Array<{ key: string; cells: TextCell[] }> = [];
  const visit = (node: RunTreeNode, prefix: string, childPrefix: string): void => {
    const errors = node.errors;
    const nodeOwn = ownTotals(node);
    const tokens = (format: (value: number) => string): string =>
      `${format(node.inclusive.inputTokens)}/${format(node.inclusive.outputTokens)}`;
    rows.push({
      key: `${prefix}${label(node)}`,
      cells: [
        // `!`: calls counted at $0 (unpriced), explained below the table; never a plain $0.00.
        nodeOwn.callCount === 0 ? '' : `${money(totalCost(nodeOwn))}${node.own.unpricedCallCount > 0 ? ' !' : ''}`,
        money(totalCost(node.inclusive)),
        formatInteger(node.inclusive.callCount),
        { full: tokens(formatInteger), compact: tokens(formatCompact) },
        node.models.join(', '),
        duration(node),
        errors > 0 ? `${errors} failed` : '',
      ],
    });
    node.children.forEach((child, index) => {
      const last = index === node.children.length - 1;
      visit(child, `${childPrefix}${last ? '└─ ' : '├─ '}`, `${childPrefix}${last ? '   ' : '│  '}`);
    });
  };
  visit(root, '', '');
  const wrap = (line: string): string[] => wrapText(line, width, '  ');
  const out = lines.flatMap(wrap);
  out.push(...renderTextTable({ keyHeader: 'run / step', columns: COLUMNS, rows, width, minKeyWidth: 28 }));
  if (tree.attributions.length > 0) {
    out.push(
      ...wrap(
        `for whom: ${tree.attributions.map((item) => `${item.target} ${money(item.cost)}${item.late ? ' (part late)' : ''}`).join(', ')}`,
      ),
    );
  }
  const errors = countErrors(root);
  if (errors > 0) out.push(`${plural(errors, 'call')} failed`);
  for (const warning of tree.warnings) out.push(...wrap(`warning: ${warning}`));
  // In the report's words (one owner); its unpriced-calls line is what the `!` in the table marks.
  out.push(...warningTableLines(tree.inputWarnings, width));
  return `${out.join('\n')}\n`;
}

/** A run tree node as JSON; money as exact decimal strings. */
export interface RunTreeNodeJson {
  kind: 'run' | 'step';
  name: string;
  run_id?: string;
  /** A step's direct calls; a run's own work (its steps, not its nested runs), as the SDK's `llm.cost.own.*`. */
  own_cost_usd: string;
  inclusive_cost_usd: string;
  calls: number;
  inclusive_calls: number;
  unpriced_calls: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  spans: number;
  models: string[];
  duration_ms: number | null;
  first_call_at: string | null;
  last_call_at: string | null;
  errors: number;
  children: RunTreeNodeJson[];
}

function nodeJson(node: RunTreeNode): RunTreeNodeJson {
  return {
    kind: node.kind,
    name: node.name,
    ...(node.runId === undefined ? {} : { run_id: node.runId }),
    own_cost_usd: formatPico(totalCost(ownTotals(node))),
    inclusive_cost_usd: formatPico(totalCost(node.inclusive)),
    calls: ownTotals(node).callCount,
    inclusive_calls: node.inclusive.callCount,
    unpriced_calls: node.inclusive.unpricedCallCount,
    input_tokens: node.inclusive.inputTokens,
    output_tokens: node.inclusive.outputTokens,
    total_tokens: node.inclusive.totalTokens,
    spans: node.spans,
    models: node.models,
    duration_ms: node.durationMs ?? null,
    first_call_at: node.firstCallAt ?? null,
    last_call_at: node.lastCallAt ?? null,
    errors: node.errors,
    children: node.children.map(nodeJson),
  };
}

/** `costspan run --format json`: the run's tree, who it was attributed to, and what leaves it incomplete. */
export function runTreeToJson(tree: RunTree): {
  run_id: string;
  ancestors: string[];
  trace_ids: string[];
  tree: RunTreeNodeJson;
  attributions: Array<{ target: string; cost_usd: string; late: boolean }>;
  /**
   * The report's `warnings` object over the run's subtree; `messages` also carries the rebuild's own
   * problems ({@link RunTree.warnings}, e.g. token events that do not add up to the session event).
   */
  warnings: ReportWarningsJson;
} {
  const warnings = warningsToJson(tree.inputWarnings);
  return {
    run_id: tree.runId,
    ancestors: tree.ancestors,
    trace_ids: tree.traceIds,
    tree: nodeJson(tree.root),
    attributions: tree.attributions.map((item) => ({ target: item.target, cost_usd: formatPico(item.cost), late: item.late })),
    warnings: { ...warnings, messages: [...warnings.messages, ...tree.warnings] },
  };
}
