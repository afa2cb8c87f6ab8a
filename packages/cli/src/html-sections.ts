import { formatPico, formatUsd, type PicoUsd } from '@costspan/core';
import { addTotals, totalCost, type CostTotals } from '@costspan/sdk';
import { emptyTotals } from '@costspan/sdk/internal';
import type { HtmlExtras } from './html-extras.js';
import { formatMoney } from './money-display.js';
import type { Report, ReportDimension, ReportRow } from './report.js';
import type { RunTreeNode } from './run-tree.js';
import { describeWhatIf, savingShare } from './what-if-format.js';
import type { WhatIfReport, WhatIfRow } from './what-if-report.js';

// The HTML page's sections, each a <section id="section-...">; html-report.ts assembles them.

const integer = new Intl.NumberFormat('en-US');

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** A table row as the page shows it: a report row, or the pooled "other" row. */
interface RowView {
  key: string;
  cost: PicoUsd;
  share: number;
  totals: CostTotals;
  spikeDays: readonly string[];
}

function viewOf(row: ReportRow): RowView {
  return { key: row.key, cost: row.cost, share: row.share, totals: row.totals, spikeDays: row.spikeDays };
}

/** The report's rows of `dimension` (empty when the report lacks it). */
export function rowsOf(report: Report, dimension: ReportDimension): ReportRow[] {
  return report.breakdowns.find((breakdown) => breakdown.dimension === dimension)?.rows ?? [];
}

/** The first `top` rows, and the rest pooled in one `other (N)` row. */
export function topWithOther(rows: readonly ReportRow[], top: number, grand: PicoUsd): RowView[] {
  const views = rows.map(viewOf);
  if (views.length <= top) return views;
  const kept = views.slice(0, top);
  const totals = emptyTotals();
  for (const row of views.slice(top)) addTotals(totals, row.totals);
  const cost = totalCost(totals);
  kept.push({
    key: `other (${views.length - top})`,
    cost,
    share: grand === 0n ? 0 : Number((cost * 1_000_000n) / grand) / 1_000_000,
    totals,
    spikeDays: [],
  });
  return kept;
}

function costCell(row: RowView): string {
  const marks: string[] = [];
  if (row.totals.unpricedCallCount > 0) marks.push(`${integer.format(row.totals.unpricedCallCount)} unpriced`);
  if (row.totals.usageMissingCallCount > 0) marks.push(`${integer.format(row.totals.usageMissingCallCount)} no usage`);
  const mark =
    marks.length === 0
      ? ''
      : ` <span class="mark" title="not in the total: see the warning above">&#9888; ${escapeHtml(marks.join(', '))}</span>`;
  const spike =
    row.spikeDays.length === 0
      ? ''
      : ` <span class="spike" title="cost more than 3x its trailing 7-day median">&#9650; spike ${escapeHtml(row.spikeDays.join(', '))}</span>`;
  return `<td class="n" data-cost-usd="${formatPico(row.cost)}" title="${formatUsd(row.cost)}">${escapeHtml(formatMoney(row.cost))}${mark}${spike}</td>`;
}

/** One breakdown as a table in its own section. */
export function breakdownSection(id: string, title: string, rows: readonly RowView[]): string {
  if (rows.length === 0) return '';
  const body = rows
    .map((row) => {
      const incomplete = row.totals.unpricedCallCount > 0 || row.totals.usageMissingCallCount > 0;
      return `<tr${incomplete ? ' class="incomplete"' : ''}><td>${escapeHtml(row.key)}</td>${costCell(row)}<td class="n">${(row.share * 100).toFixed(1)}%</td><td class="n">${integer.format(row.totals.callCount)}</td><td class="n">${integer.format(row.totals.inputTokens)}</td><td class="n">${integer.format(row.totals.outputTokens)}</td></tr>`;
    })
    .join('');
  return `<section id="section-${id}" class="breakdown"><h2>${escapeHtml(title)}</h2><table><thead><tr><th>${escapeHtml(id)}</th><th>Cost</th><th>Share</th><th>Calls</th><th>Input tokens</th><th>Output tokens</th></tr></thead><tbody>${body}</tbody></table></section>`;
}

/** A banner naming the models whose calls could not be priced. */
export function unpricedBanner(report: Report): string {
  const warnings = report.warnings;
  if (warnings.unpricedCalls === 0 && warnings.unpricedModels.length === 0) return '';
  const models = warnings.unpricedModels
    .slice(0, 20)
    .map(
      (entry) =>
        `<li><code>${escapeHtml(entry.model)}</code>${entry.calls === 0 ? '' : `: ${integer.format(entry.calls)} call${entry.calls === 1 ? '' : 's'}`}</li>`,
    )
    .join('');
  const more = warnings.unpricedModels.length > 20 ? `<li>and ${warnings.unpricedModels.length - 20} more models</li>` : '';
  // Only session events named the models (their token events are elsewhere): no "0 calls".
  const heading =
    warnings.unpricedCalls === 0
      ? 'Runs here had calls that could not be priced'
      : `${integer.format(warnings.unpricedCalls)} call${warnings.unpricedCalls === 1 ? '' : 's'} could not be priced`;
  const text =
    warnings.unpricedCalls === 0
      ? 'Their token events are not in this input (another file, or outside --since/--until).'
      : 'They are counted at $0, so every total on this page is low.';
  return `<section id="section-unpriced" class="banner" role="alert"><h2>&#9888; ${heading}</h2><p>${text} Give these models a price (<code>customPrices</code>) or check their names:</p><ul>${models}${more}</ul></section>`;
}

/** Cache savings and reasoning share, from the report's totals. */
export function efficiencySection(report: Report): string {
  const totals = report.totals.totals;
  const cost = report.totals.cost;
  const beforeCache = cost + totals.cachedDiscount;
  const cacheShare = beforeCache === 0n ? 0 : Number((totals.cachedDiscount * 10_000n) / beforeCache) / 100;
  const readShare = totals.inputTokens === 0 ? 0 : (totals.cacheReadTokens / totals.inputTokens) * 100;
  const reasoningShare = totals.outputTokens === 0 ? 0 : (totals.reasoningTokens / totals.outputTokens) * 100;
  const reasoningCostShare = cost === 0n ? 0 : Number((totals.reasoning * 10_000n) / cost) / 100;
  const cards = [
    ['Cache savings', formatMoney(totals.cachedDiscount), `${cacheShare.toFixed(1)}% of the cost before cache discounts`, 'cache-savings'],
    [
      'Cache-read tokens',
      integer.format(totals.cacheReadTokens),
      `${readShare.toFixed(1)}% of input tokens; ${integer.format(totals.cacheWriteTokens)} written`,
      'cache-read',
    ],
    ['Reasoning tokens', integer.format(totals.reasoningTokens), `${reasoningShare.toFixed(1)}% of output tokens`, 'reasoning-tokens'],
    [
      'Reasoning cost',
      formatMoney(totals.reasoning),
      `${reasoningCostShare.toFixed(1)}% of the cost (models with their own reasoning rate)`,
      'reasoning-cost',
    ],
  ];
  return `<section id="section-efficiency"><h2>Cache and reasoning</h2><div class="summary">${cards
    .map(
      ([label, value, note, id]) =>
        `<div id="${id}">${escapeHtml(label as string)}<b>${escapeHtml(value as string)}</b><small>${escapeHtml(note as string)}</small></div>`,
    )
    .join('')}</div></section>`;
}

const MAX_TREE_NODES = 60;

function treeRows(node: RunTreeNode, depth: number, out: string[]): void {
  if (out.length >= MAX_TREE_NODES) return;
  const name = node.kind === 'run' ? `${node.name} [run ${node.runId ?? '?'}]` : `${node.name}${node.spans > 1 ? ` ×${node.spans}` : ''}`;
  const own = node.own.callCount === 0 ? '' : formatMoney(totalCost(node.own));
  out.push(
    `<tr class="${node.kind}"><td style="padding-left:${8 + depth * 16}px">${escapeHtml(name)}</td><td class="n">${escapeHtml(own)}</td><td class="n">${escapeHtml(formatMoney(totalCost(node.inclusive)))}</td><td class="n">${integer.format(node.inclusive.callCount)}</td><td>${escapeHtml(node.models.join(', '))}</td></tr>`,
  );
  for (const child of node.children) treeRows(child, depth + 1, out);
}

/** The most expensive root runs, each with its tree. */
export function topRunsSection(extras: HtmlExtras | undefined): string {
  if (extras === undefined) return '';
  if (extras.topRuns.length === 0)
    return '<section id="section-top-runs"><h2>Most expensive runs</h2><p>No run was recorded (no session events).</p></section>';
  const runs = extras.topRuns
    .map((run, index) => {
      const tree = extras.trees.get(run.runId);
      const rows: string[] = [];
      if (tree !== undefined) treeRows(tree.root, 0, rows);
      const table =
        rows.length === 0
          ? ''
          : `<table class="tree"><thead><tr><th>run / step</th><th>Own</th><th>Inclusive</th><th>Calls</th><th>Models</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
      return `<details open class="run"><summary><b>${index + 1}. ${escapeHtml(run.agent)}</b> <code>${escapeHtml(run.runId)}</code> <span data-cost-usd="${formatPico(run.cost)}">${escapeHtml(formatMoney(run.cost))}</span>, ${integer.format(run.calls)} call${run.calls === 1 ? '' : 's'}, ${escapeHtml(run.timestamp.slice(0, 19))}Z</summary>${table}</details>`;
    })
    .join('');
  return `<section id="section-top-runs"><h2>The ${extras.topRuns.length} most expensive runs</h2>${runs}</section>`;
}

/** Days on which a day, agent, model or user cost far above its trailing norm. */
export function spikesSection(report: Report): string {
  const spikes = report.spikes;
  if (spikes.length === 0) return '';
  const rows = spikes
    .slice(0, 50)
    .map(
      (spike) =>
        `<tr><td>${escapeHtml(spike.day)}</td><td>${escapeHtml(spike.dimension)}</td><td>${escapeHtml(spike.key)}</td><td class="n">${escapeHtml(formatMoney(spike.cost))}</td><td class="n">${escapeHtml(formatMoney(spike.median))}</td><td class="n">${spike.ratio}×</td><td>${escapeHtml(
          spike.runs
            .slice(0, 3)
            .map((run) => `${run.runId} ${formatMoney(run.cost)}`)
            .join(', '),
        )}</td></tr>`,
    )
    .join('');
  return `<section id="section-spikes"><h2>&#9650; Spikes (more than 3× the trailing 7-day median)</h2><table><thead><tr><th>Day</th><th>By</th><th>Key</th><th>Cost</th><th>Median</th><th>Ratio</th><th>Runs</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

function whatIfRow(row: WhatIfRow): string {
  const share = savingShare(row);
  const label = row.target === undefined ? row.key : `${row.key} → ${row.target}`;
  const saving = row.saving < 0n ? `-${formatMoney(-row.saving)}` : formatMoney(row.saving);
  return `<tr><td>${escapeHtml(label)}</td><td class="n" data-cost-usd="${formatPico(row.actual)}">${escapeHtml(formatMoney(row.actual))}</td><td class="n" data-what-if-usd="${formatPico(row.whatIf)}">${escapeHtml(formatMoney(row.whatIf))}</td><td class="n">${escapeHtml(saving)}</td><td class="n">${share === null ? '-' : `${(share * 100).toFixed(1)}%`}</td><td class="n">${integer.format(row.calls)}</td></tr>`;
}

/** Actual against what-if cost (`--reprice`), by model, agent and principal. */
export function whatIfSection(report: WhatIfReport | undefined): string {
  if (report === undefined) return '';
  const head = '<thead><tr><th></th><th>Actual</th><th>What-if</th><th>Saving</th><th>%</th><th>Calls</th></tr></thead>';
  const tables = report.breakdowns
    .filter((breakdown) => breakdown.rows.length > 0 && !(breakdown.rows.length === 1 && breakdown.rows[0]?.key === '(none)'))
    .map(
      (breakdown) =>
        `<table><caption>By ${escapeHtml(breakdown.dimension)}</caption>${head}<tbody>${breakdown.rows.slice(0, 10).map(whatIfRow).join('')}</tbody></table>`,
    )
    .join('');
  const failed =
    report.notRepriced.length === 0
      ? ''
      : `<div class="banner"><p><b>Not re-priced</b> (their what-if is their recorded cost):</p><ul>${report.notRepriced
          .slice(0, 20)
          .map(
            (entry) =>
              `<li><code>${escapeHtml(entry.model)}</code> → <code>${escapeHtml(entry.target)}</code>: ${integer.format(entry.calls)} calls (${escapeHtml(entry.code)}: ${escapeHtml(entry.reason)})</li>`,
          )
          .join('')}</ul></div>`;
  return `<section id="section-what-if"><h2>What if: ${escapeHtml(describeWhatIf(report))}</h2><table class="what-if-total">${head}<tbody>${whatIfRow(report.totals)}</tbody></table>${failed}${tables}</section>`;
}
