import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { formatUsd } from '@costspan/core';
import { CliError } from './cli-error.js';
import type { Report, ReportDimension, ReportRow } from './report.js';
import type { ReportContext } from './report-format.js';
import { hasWarnings, warningLines } from './report-warnings.js';

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

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** JSON safe inside a `<script>` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function rowsOf(report: Report, dimension: ReportDimension): ReportRow[] {
  return report.breakdowns.find((breakdown) => breakdown.dimension === dimension)?.rows ?? [];
}

function series(rows: readonly ReportRow[]): { labels: string[]; values: number[]; exact: string[] } {
  return {
    labels: rows.map((row) => row.key),
    // Chart.js plots numbers; the exact amounts are shown in tooltips and tables.
    values: rows.map((row) => Number(row.cost) / 1e12),
    exact: rows.map((row) => formatUsd(row.cost)),
  };
}

/** A cost cell; rows with unpriced or usage-less calls are marked, never a plain $0.00. */
function costCell(row: ReportRow): string {
  const marks: string[] = [];
  if (row.totals.unpricedCallCount > 0) marks.push(`${row.totals.unpricedCallCount} unpriced`);
  if (row.totals.usageMissingCallCount > 0) marks.push(`${row.totals.usageMissingCallCount} no usage`);
  const mark =
    marks.length === 0
      ? ''
      : ` <span class="mark" title="not in the total: see the warning above">&#9888; ${escapeHtml(marks.join(', '))}</span>`;
  return `<td class="n">${escapeHtml(formatUsd(row.cost))}${mark}</td>`;
}

function table(title: string, rows: readonly ReportRow[]): string {
  const body = rows
    .map(
      (row) =>
        `<tr${row.totals.unpricedCallCount > 0 || row.totals.usageMissingCallCount > 0 ? ' class="incomplete"' : ''}><td>${escapeHtml(row.key)}</td>${costCell(row)}<td class="n">${(row.share * 100).toFixed(1)}%</td><td class="n">${row.totals.callCount}</td><td class="n">${row.totals.outputTokens}</td></tr>`,
    )
    .join('');
  return `<table><caption>${escapeHtml(title)}</caption><thead><tr><th>${escapeHtml(title.replace(/^By /, ''))}</th><th>Cost</th><th>Share</th><th>Calls</th><th>Output tokens</th></tr></thead><tbody>${body}</tbody></table>`;
}

/**
 * One self-contained HTML page with the report's charts (cost per day, by
 * model, by agent) and tables. Chart.js is inlined: the page makes no network
 * request, so it can be mailed or attached to a ticket. The report should
 * include the `day`, `model` and `agent` breakdowns.
 */
export function renderHtmlReport(report: Report, context: ReportContext): string {
  const days = series(rowsOf(report, 'day'));
  const models = series(rowsOf(report, 'model'));
  const agents = series(rowsOf(report, 'agent'));
  const month = report.monthToDate;
  const totals = report.totals;
  const summary = [
    ['Total cost', formatUsd(totals.cost)],
    ['Calls', String(totals.totals.callCount)],
    ['Runs', String(totals.runs)],
    ...(totals.totals.unpricedCallCount > 0 ? [['Unpriced calls (at $0)', String(totals.totals.unpricedCallCount)]] : []),
    ...(totals.totals.usageMissingCallCount > 0 ? [['Calls without usage', String(totals.totals.usageMissingCallCount)]] : []),
    ...(totals.budgetRefusals > 0 ? [['Budget refusals', String(totals.budgetRefusals)]] : []),
    ['Output share of tokens', totals.tokenEfficiency === null ? '-' : `${(totals.tokenEfficiency * 100).toFixed(1)}%`],
    ['Cost per 1k output tokens', totals.costPer1kOutput === null ? '-' : formatUsd(totals.costPer1kOutput)],
    ...(month === undefined
      ? []
      : [
          [`Month to date (${month.month})`, formatUsd(month.cost)],
          ['Projected for the month', month.projected === null ? '-' : formatUsd(month.projected)],
        ]),
  ];
  const data = { days, models, agents };
  const warnings = hasWarnings(report.warnings)
    ? `<div class="warnings" role="alert" id="warnings">${warningLines(report.warnings, { maxItems: 20 })
        .map((line) => `<p><b>Warning:</b> ${escapeHtml(line)}</p>`)
        .join('')}</div>`
    : '';
  const bundle = chartJsBundle().replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>costspan report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2433; }
h1 { font-size: 20px; }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 8px; margin-bottom: 16px; }
.summary div { background: #f3f5f9; border-radius: 6px; padding: 8px 12px; }
.summary b { display: block; font-size: 18px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 16px; }
.chart { position: relative; height: 300px; }
table { border-collapse: collapse; margin: 16px 16px 0 0; display: inline-table; vertical-align: top; }
caption { text-align: left; font-weight: 600; }
td, th { padding: 2px 8px; border-bottom: 1px solid #e1e4ea; }
.n { text-align: right; font-variant-numeric: tabular-nums; }
.warnings { background: #fff4e5; border: 1px solid #f0a030; border-radius: 6px; padding: 4px 12px; margin-bottom: 16px; }
.warnings p { margin: 6px 0; }
.mark { color: #a35200; font-weight: 600; }
</style>
</head>
<body>
<h1>costspan report</h1>
<p>${escapeHtml(context.inputs.join(', '))}: ${escapeHtml(report.firstTimestamp ?? 'no events')} .. ${escapeHtml(report.lastTimestamp ?? '')}</p>
${warnings}
<div class="summary">${summary.map(([label, value]) => `<div>${escapeHtml(label as string)}<b>${escapeHtml(value as string)}</b></div>`).join('')}</div>
<div class="charts">
<div class="chart"><canvas id="chart-days" aria-label="Cost per day"></canvas></div>
<div class="chart"><canvas id="chart-models" aria-label="Cost by model"></canvas></div>
<div class="chart"><canvas id="chart-agents" aria-label="Cost by agent"></canvas></div>
</div>
${table('By day (UTC)', rowsOf(report, 'day'))}
${table('By model', rowsOf(report, 'model'))}
${table('By agent', rowsOf(report, 'agent'))}
<script>${bundle}</script>
<script>
(function () {
  var data = ${scriptJson(data)};
  var palette = ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477', '#66aa00', '#b82e2e', '#316395'];
  function tooltip(set) {
    return { callbacks: { label: function (item) { return set.exact[item.dataIndex]; } } };
  }
  function make(id, type, title, set) {
    return new Chart(document.getElementById(id), {
      type: type,
      data: { labels: set.labels, datasets: [{ label: 'Cost (USD)', data: set.values, backgroundColor: type === 'line' ? '#3366cc33' : palette, borderColor: '#3366cc', fill: type === 'line' }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false, scales: type === 'doughnut' ? {} : { y: { beginAtZero: true } }, plugins: { title: { display: true, text: title }, legend: { display: type === 'doughnut' }, tooltip: tooltip(set) } }
    });
  }
  window.costspanCharts = [
    make('chart-days', data.days.labels.length > 1 ? 'line' : 'bar', 'Cost per day (UTC)', data.days),
    make('chart-models', 'doughnut', 'Cost by model', data.models),
    make('chart-agents', 'bar', 'Cost by agent', data.agents)
  ];
})();
</script>
</body>
</html>
`;
}
