import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { formatPico, formatUsd } from '@costspan/core';
import { CliError } from './cli-error.js';
import { formatMoney } from './money-display.js';
import type { HtmlExtras } from './html-extras.js';
import {
  breakdownSection,
  efficiencySection,
  escapeHtml,
  rowsOf,
  spikesSection,
  topRunsSection,
  topWithOther,
  unpricedBanner,
  whatIfSection,
} from './html-sections.js';
import type { Report, ReportRow } from './report.js';
import type { ReportContext } from './report-format.js';
import { hasWarnings, warningLines } from './report-warnings.js';
import type { WhatIfReport } from './what-if-report.js';

let chartBundle: string | undefined;

/**
 * Chart.js's UMD bundle, read from `node_modules` so the page needs no network
 * (the package's `exports` map hides `dist/`, so the path is taken from its entry point).
 */
export function chartJsBundle(): string {
  if (chartBundle === undefined) {
    try {
      const entry = createRequire(import.meta.url).resolve('chart.js');
      chartBundle = readFileSync(join(dirname(entry), 'chart.umd.min.js'), 'utf8');
    } catch (error) {
      throw new CliError({ code: 'output_error', message: `cannot load chart.js for --html: ${(error as Error).message}`, cause: error });
    }
  }
  return chartBundle;
}

/** JSON safe inside a `<script>` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function series(rows: ReadonlyArray<Pick<ReportRow, 'key' | 'cost'>>): { labels: string[]; values: number[]; exact: string[] } {
  return {
    labels: rows.map((row) => row.key),
    // Chart.js plots numbers; the exact amounts are shown in tooltips and tables.
    values: rows.map((row) => Number(row.cost) / 1e12),
    exact: rows.map((row) => formatUsd(row.cost)),
  };
}

/** Models stacked per day: the top few, the rest in one "other" series, so the legend stays readable. */
function stackedDays(
  extras: HtmlExtras | undefined,
  dayRows: readonly ReportRow[],
): { labels: string[]; sets: Array<{ label: string; values: number[]; exact: string[] }> } {
  if (extras === undefined || extras.days.length === 0) {
    const days = series(dayRows);
    return { labels: days.labels, sets: [{ label: 'all models', values: days.values, exact: days.exact }] };
  }
  const shown = extras.dayModels.slice(0, STACKED_MODELS);
  const rest = extras.dayModels.slice(STACKED_MODELS);
  const sets = shown.map((entry) => ({ label: entry.model, costs: entry.costs }));
  if (rest.length > 0)
    sets.push({
      label: `other (${rest.length})`,
      costs: extras.days.map((_, index) => rest.reduce((sum, entry) => sum + (entry.costs[index] ?? 0n), 0n)),
    });
  return {
    labels: extras.days,
    sets: sets.map((set) => ({
      label: set.label,
      values: set.costs.map((cost) => Number(cost) / 1e12),
      exact: set.costs.map((cost) => formatUsd(cost)),
    })),
  };
}

const STACKED_MODELS = 8;

/** What the page shows beyond the report itself; see {@link renderHtmlReport}. */
export interface HtmlReportOptions {
  /** Cost per day and model, and the most expensive runs with their trees ({@link HtmlExtrasCollector}). */
  extras?: HtmlExtras;
  /** A what-if (`--reprice`) section. */
  whatIf?: WhatIfReport;
  /** Rows per user, team, org and tag table before the rest are pooled as "other". Default 10. */
  top?: number;
}

/**
 * One self-contained HTML page: who spent what (user, team, org and tag tables, top N and
 * "other"), cost per day stacked by model, by model and by agent, cache savings and reasoning
 * share, the most expensive runs with their trees, spikes, and a what-if section when given.
 * Calls that could not be priced are named in a banner, never shown as a plain $0.00.
 * Chart.js is inlined: the page makes no network request, so it can be mailed or attached to a
 * ticket, and it prints (print styles keep sections whole). The report should include the
 * `day`, `model`, `agent`, `user`, `team`, `org` and `tag` breakdowns; sections without rows are left out.
 */
export function renderHtmlReport(report: Report, context: ReportContext, options: HtmlReportOptions = {}): string {
  const top = options.top ?? 10;
  const month = report.monthToDate;
  const totals = report.totals;
  const grand = totals.cost;
  const summary = [
    ['Total cost', formatMoney(totals.cost), 'total'],
    ['Calls', integer.format(totals.totals.callCount), 'calls'],
    ['Runs', integer.format(totals.runs), 'runs'],
    ...(totals.totals.unpricedCallCount > 0
      ? [['Unpriced calls (at $0)', integer.format(totals.totals.unpricedCallCount), 'unpriced']]
      : []),
    ...(totals.totals.usageMissingCallCount > 0
      ? [['Calls without usage', integer.format(totals.totals.usageMissingCallCount), 'usage-missing']]
      : []),
    ...(totals.budgetRefusals > 0 ? [['Budget refusals', integer.format(totals.budgetRefusals), 'refusals']] : []),
    ['Tokens in / out', `${integer.format(totals.totals.inputTokens)} / ${integer.format(totals.totals.outputTokens)}`, 'tokens'],
    ['Output share of tokens', totals.tokenEfficiency === null ? '-' : `${(totals.tokenEfficiency * 100).toFixed(1)}%`, 'output-share'],
    ['Cost per 1k output tokens', totals.costPer1kOutput === null ? '-' : formatMoney(totals.costPer1kOutput), 'per-1k'],
    ...(month === undefined
      ? []
      : [
          [`Month to date (${month.month})`, formatMoney(month.cost), 'month'],
          ['Projected for the month', month.projected === null ? '-' : formatMoney(month.projected), 'projected'],
        ]),
  ];
  const data = {
    days: stackedDays(options.extras, rowsOf(report, 'day')),
    models: series(rowsOf(report, 'model')),
    agents: series(topWithOther(rowsOf(report, 'agent'), 15, grand)),
  };
  const warnings = hasWarnings(report.warnings)
    ? `<div class="warnings" role="alert" id="warnings">${warningLines(report.warnings, { maxItems: 20 })
        .map((line) => `<p><b>Warning:</b> ${escapeHtml(line)}</p>`)
        .join('')}</div>`
    : '';
  const sections = [
    breakdownSection('user', 'By user', topWithOther(rowsOf(report, 'user'), top, grand)),
    breakdownSection('team', 'By team', topWithOther(rowsOf(report, 'team'), top, grand)),
    breakdownSection('org', 'By org', topWithOther(rowsOf(report, 'org'), top, grand)),
    breakdownSection('tag', 'By tag', topWithOther(rowsOf(report, 'tag'), top, grand)),
    breakdownSection('model', 'By model', topWithOther(rowsOf(report, 'model'), top, grand)),
    breakdownSection('agent', 'By agent', topWithOther(rowsOf(report, 'agent'), top, grand)),
    breakdownSection('day', 'By day (UTC)', topWithOther(rowsOf(report, 'day'), Number.MAX_SAFE_INTEGER, grand)),
  ];
  const bundle = chartJsBundle().replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>costspan report</title>
<style>${STYLE}</style>
</head>
<body>
<h1>costspan report</h1>
<p>${escapeHtml(context.inputs.join(', '))}: ${escapeHtml(report.firstTimestamp ?? 'no events')} .. ${escapeHtml(report.lastTimestamp ?? '')}</p>
${unpricedBanner(report)}
${warnings}
<section id="section-summary"><div class="summary">${summary.map(([label, value, id]) => `<div id="summary-${id as string}"${id === 'total' ? ` data-cost-usd="${formatPico(totals.cost)}" title="${formatUsd(totals.cost)}"` : ''}>${escapeHtml(label as string)}<b>${escapeHtml(value as string)}</b></div>`).join('')}</div></section>
${efficiencySection(report)}
<section id="section-charts" class="charts">
<div class="chart wide"><canvas id="chart-days" aria-label="Cost per day by model"></canvas></div>
<div class="chart"><canvas id="chart-models" aria-label="Cost by model"></canvas></div>
<div class="chart"><canvas id="chart-agents" aria-label="Cost by agent"></canvas></div>
</section>
${whatIfSection(options.whatIf)}
${spikesSection(report)}
<div class="tables">${sections.join('\n')}</div>
${topRunsSection(options.extras)}
<script>${bundle}</script>
<script>${script(scriptJson(data))}</script>
</body>
</html>
`;
}

const integer = new Intl.NumberFormat('en-US');

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2433; }
h1 { font-size: 20px; }
h2 { font-size: 16px; margin: 20px 0 6px; }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 8px; margin-bottom: 16px; }
.summary div { background: #f3f5f9; border-radius: 6px; padding: 8px 12px; }
.summary b { display: block; font-size: 18px; }
.summary small { display: block; color: #5a6478; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 16px; }
.chart { position: relative; height: 300px; }
.chart.wide { grid-column: 1 / -1; }
.tables { display: flex; flex-wrap: wrap; gap: 0 24px; }
table { border-collapse: collapse; margin: 8px 16px 0 0; display: inline-table; vertical-align: top; }
caption { text-align: left; font-weight: 600; }
td, th { padding: 2px 8px; border-bottom: 1px solid #e1e4ea; }
th { text-align: left; }
.n { text-align: right; font-variant-numeric: tabular-nums; }
.warnings, .banner { background: #fff4e5; border: 1px solid #f0a030; border-radius: 6px; padding: 4px 12px; margin-bottom: 16px; }
.warnings p { margin: 6px 0; }
.mark { color: #a35200; font-weight: 600; }
.spike { color: #b3261e; font-weight: 600; }
details.run { margin: 6px 0; }
details.run summary { cursor: pointer; }
table.tree tr.run td:first-child { font-weight: 600; }
@page { margin: 12mm; }
@media print {
  body { margin: 0; font-size: 11px; }
  .charts { grid-template-columns: 1fr 1fr; }
  .chart { height: 220px; break-inside: avoid; }
  section, table, details { break-inside: avoid; }
  .warnings, .banner, .summary div { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  details.run summary { list-style: none; }
}
`;

/** The page's chart code; `data` is JSON made safe for a script element. */
function script(data: string): string {
  return `
(function () {
  var data = ${data};
  var palette = ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477', '#66aa00', '#b82e2e', '#316395'];
  var usd = function (value) { return '$' + Number(value).toLocaleString('en-US', { maximumFractionDigits: 6 }); };
  var money = { beginAtZero: true, ticks: { callback: usd }, title: { display: true, text: 'USD' } };
  function exactTooltip(sets) {
    return { callbacks: { label: function (item) { var set = sets[item.datasetIndex]; return (sets.length > 1 ? set.label + ': ' : '') + set.exact[item.dataIndex]; } } };
  }
  function chart(id, type, title, labels, sets, stacked) {
    var single = sets.length === 1;
    return new Chart(document.getElementById(id), {
      type: type,
      data: { labels: labels, datasets: sets.map(function (set, index) {
        return { label: set.label, data: set.values, backgroundColor: single && type !== 'line' ? palette : palette[index % palette.length], borderColor: palette[index % palette.length], stack: stacked ? 'cost' : undefined };
      }) },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        scales: type === 'doughnut' ? {} : { x: { stacked: stacked }, y: Object.assign({ stacked: stacked }, money) },
        plugins: { title: { display: true, text: title }, legend: { display: type === 'doughnut' || !single }, tooltip: exactTooltip(sets) } }
    });
  }
  window.costspanCharts = [
    chart('chart-days', 'bar', 'Cost per day (UTC), by model', data.days.labels, data.days.sets, true),
    chart('chart-models', 'doughnut', 'Cost by model', data.models.labels, [{ label: 'Cost (USD)', values: data.models.values, exact: data.models.exact }], false),
    chart('chart-agents', 'bar', 'Cost by agent', data.agents.labels, [{ label: 'Cost (USD)', values: data.agents.values, exact: data.agents.exact }], false)
  ];
  // Printing changes the page width: redraw the charts to fit it.
  window.addEventListener('beforeprint', function () { window.costspanCharts.forEach(function (item) { item.resize(); }); });
})();
`;
}
