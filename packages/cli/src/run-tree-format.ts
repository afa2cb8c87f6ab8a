import Table from 'cli-table3';
import { formatPico, formatUsd } from '@costspan/core';
import { totalCost } from '@costspan/sdk';
import { callWindowMs, countErrors, type RunTree, type RunTreeNode } from './run-tree.js';

const integer = new Intl.NumberFormat('en-US');

function duration(node: RunTreeNode): string {
  if (node.durationMs !== undefined) return formatMs(node.durationMs);
  const window = callWindowMs(node);
  // Events carry end times only: the spread of call ends is a lower bound.
  return window === undefined || window <= 0 ? '' : `≥${formatMs(window)}`;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
}

function label(node: RunTreeNode): string {
  const spans = node.kind === 'step' && node.spans > 1 ? ` ×${node.spans}` : '';
  return node.kind === 'run' ? `${node.name} [run ${node.runId ?? '?'}]` : `${node.name}${spans}`;
}

/** The run tree as an indented table: own and inclusive cost, calls, tokens, models, duration, errors. */
export function formatRunTreeText(tree: RunTree): string {
  const root = tree.root;
  const lines: string[] = [];
  lines.push(`run ${tree.runId}: ${root.name}${tree.ancestors.length > 0 ? ` (inside ${tree.ancestors.join('/')})` : ''}`);
  lines.push(
    `cost ${formatUsd(totalCost(root.inclusive))} inclusive (own ${formatUsd(totalCost(root.own))}); ${integer.format(root.inclusive.callCount)} calls; ${integer.format(root.inclusive.inputTokens)} in / ${integer.format(root.inclusive.outputTokens)} out tokens${root.durationMs === undefined ? '' : `; ${formatMs(root.durationMs)}`}`,
  );
  if (tree.traceIds.length > 0) lines.push(`trace ${tree.traceIds.join(', ')}`);
  const table = new Table({
    head: ['run / step', 'own', 'inclusive', 'calls', 'tokens in/out', 'models', 'duration', 'errors'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'left', 'right', 'right'],
    style: { head: [], border: [], compact: true },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    wordWrap: false,
  });
  const visit = (node: RunTreeNode, prefix: string, childPrefix: string): void => {
    const errors = node.errors;
    table.push([
      `${prefix}${label(node)}`,
      node.own.callCount === 0 ? '' : formatUsd(totalCost(node.own)),
      formatUsd(totalCost(node.inclusive)),
      integer.format(node.inclusive.callCount),
      `${integer.format(node.inclusive.inputTokens)}/${integer.format(node.inclusive.outputTokens)}`,
      node.models.join(', '),
      duration(node),
      [errors > 0 ? `${errors} failed` : '', node.own.unpricedCallCount > 0 ? `${node.own.unpricedCallCount} unpriced` : '']
        .filter((part) => part !== '')
        .join(', '),
    ]);
    node.children.forEach((child, index) => {
      const last = index === node.children.length - 1;
      visit(child, `${childPrefix}${last ? '└─ ' : '├─ '}`, `${childPrefix}${last ? '   ' : '│  '}`);
    });
  };
  visit(root, '', '');
  lines.push(table.toString());
  if (tree.attributions.length > 0) {
    lines.push(
      `for whom: ${tree.attributions.map((item) => `${item.target} ${formatUsd(item.cost)}${item.late ? ' (part late)' : ''}`).join(', ')}`,
    );
  }
  const errors = countErrors(root);
  if (errors > 0) lines.push(`${errors} calls failed`);
  for (const warning of tree.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}

/** A run tree node as JSON; money as exact decimal strings. */
export interface RunTreeNodeJson {
  kind: 'run' | 'step';
  name: string;
  run_id?: string;
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
    own_cost_usd: formatPico(totalCost(node.own)),
    inclusive_cost_usd: formatPico(totalCost(node.inclusive)),
    calls: node.own.callCount,
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

/** `costspan run --format json`. */
export function runTreeToJson(tree: RunTree): {
  run_id: string;
  ancestors: string[];
  trace_ids: string[];
  tree: RunTreeNodeJson;
  attributions: Array<{ target: string; cost_usd: string; late: boolean }>;
  warnings: string[];
} {
  return {
    run_id: tree.runId,
    ancestors: tree.ancestors,
    trace_ids: tree.traceIds,
    tree: nodeJson(tree.root),
    attributions: tree.attributions.map((item) => ({ target: item.target, cost_usd: formatPico(item.cost), late: item.late })),
    warnings: tree.warnings,
  };
}
