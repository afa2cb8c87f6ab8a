import Table from 'cli-table3';
import { formatUsd } from '@costspan/core';
import { totalCost } from '@costspan/sdk';
import type { Report, ReportDimension, ReportRow } from './report.js';
import { reportToJson, rowsOf, type ReportContext, type ReportRowJson } from './report-json.js';
import { hasWarnings, warningLines } from './report-warnings.js';

export { reportToJson } from './report-json.js';
export type { ReportContext, ReportJson, ReportPivotJson, ReportRowJson, ReportSpikeJson } from './report-json.js';

/** Output formats of `costspan report`. */
export type ReportFormat = 'table' | 'json' | 'csv' | 'markdown';

/** Every {@link ReportFormat}. */
export const REPORT_FORMATS: readonly ReportFormat[] = ['table', 'json', 'csv', 'markdown'];

const DIMENSION_TITLE: Record<ReportDimension, string> = {
  model: 'Model',
  provider: 'Provider',
  agent: 'Agent',
  scope: 'Scope',
  user: 'User',
  team: 'Team',
  org: 'Org',
  tag: 'Tag',
  day: 'Day (UTC)',
  run: 'Run',
  source: 'Source',
};

const integer = new Intl.NumberFormat('en-US');

function percent(value: number | null): string {
  return value === null ? '-' : `${(value * 100).toFixed(1)}%`;
}

function perThousand(row: ReportRow): string {
  // A rate from calls counted at $0 would read as "free": show none.
  if (row.cost === 0n && row.totals.unpricedCallCount > 0) return '-';
  return row.costPer1kOutput === null ? '-' : formatUsd(row.costPer1kOutput);
}

const COLUMNS = ['cost', 'share', 'calls', 'runs', 'input tok', 'output tok', 'out/total', '$/1k out'];

/** The cost cell: a row with unpriced or usage-less calls is marked, never a plain $0.00. */
function costCell(row: ReportRow): string {
  const marks: string[] = [];
  if (row.totals.unpricedCallCount > 0) marks.push(`${integer.format(row.totals.unpricedCallCount)} unpriced`);
  if (row.totals.usageMissingCallCount > 0) marks.push(`${integer.format(row.totals.usageMissingCallCount)} no usage`);
  return marks.length === 0 ? formatUsd(row.cost) : `${formatUsd(row.cost)} ! ${marks.join(', ')}`;
}

function cells(row: ReportRow, dimension?: ReportDimension): string[] {
  return [
    costCell(row),
    percent(row.share),
    integer.format(row.totals.callCount),
    dimension === 'model' || dimension === 'provider' || dimension === 'scope' ? '-' : integer.format(row.runs),
    integer.format(row.totals.inputTokens),
    integer.format(row.totals.outputTokens),
    percent(row.tokenEfficiency),
    perThousand(row),
  ];
}

function summaryLines(report: Report, context: ReportContext): string[] {
  const totals = report.totals;
  const lines: string[] = [];
  const period =
    report.firstTimestamp === undefined
      ? 'no events'
      : `${report.firstTimestamp.slice(0, 19)}Z .. ${(report.lastTimestamp ?? '').slice(0, 19)}Z`;
  lines.push(
    `costspan report: ${context.inputs.join(', ')} (${period}${context.since !== undefined ? `, since ${context.since}` : ''}${context.until !== undefined ? `, until ${context.until}` : ''})`,
  );
  const parts = [`input ${formatUsd(totals.totals.input)}`, `output ${formatUsd(totals.totals.output)}`];
  if (totals.totals.reasoning !== 0n) parts.push(`reasoning ${formatUsd(totals.totals.reasoning)}`);
  if (totals.totals.cachedDiscount !== 0n) parts.push(`cache discount -${formatUsd(totals.totals.cachedDiscount)}`);
  lines.push(`Total cost:   ${formatUsd(totalCost(totals.totals))}  (${parts.join(', ')})`);
  const incomplete: string[] = [];
  if (totals.totals.unpricedCallCount > 0) incomplete.push(`${integer.format(totals.totals.unpricedCallCount)} unpriced (counted at $0)`);
  if (totals.totals.usageMissingCallCount > 0) incomplete.push(`${integer.format(totals.totals.usageMissingCallCount)} without usage`);
  if (totals.budgetRefusals > 0) incomplete.push(`${integer.format(totals.budgetRefusals)} refused by a budget`);
  lines.push(
    `Calls:        ${integer.format(totals.totals.callCount)} in ${integer.format(totals.runs)} runs${incomplete.length > 0 ? `; ${incomplete.join('; ')}` : ''}`,
  );
  lines.push(
    `Tokens:       ${integer.format(totals.totals.inputTokens)} in, ${integer.format(totals.totals.outputTokens)} out, ${integer.format(totals.totals.totalTokens)} total; output share ${percent(totals.tokenEfficiency)}; ${perThousand(totals)} per 1k output tokens`,
  );
  const month = report.monthToDate;
  if (month !== undefined) {
    lines.push(
      `Month to date: ${month.month}: ${formatUsd(month.cost)} as of ${month.asOf.slice(0, 16)}Z (${month.daysElapsed} of ${month.daysInMonth} days)${month.projected === null ? '' : `; projected ${formatUsd(month.projected)} for the month`}`,
    );
  }
  return lines;
}

/** The warning block of the table format: empty when the totals are complete. */
function warningBlock(report: Report): string[] {
  if (!hasWarnings(report.warnings)) return [];
  return ['', ...warningLines(report.warnings).map((line) => `WARNING: ${line}`)];
}

/** The report as text tables (cli-table3). */
export function formatReportTable(report: Report, context: ReportContext): string {
  const out = [...summaryLines(report, context), ...warningBlock(report)];
  for (const breakdown of report.breakdowns) {
    const table = new Table({
      head: [DIMENSION_TITLE[breakdown.dimension], ...COLUMNS],
      colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
      style: { head: [], border: [], compact: true },
      chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
      wordWrap: false,
    });
    for (const { row } of rowsOf(breakdown)) table.push([truncate(row.key, 60), ...cells(row, breakdown.dimension)]);
    if (breakdown.rows.length === 0) table.push(['(no calls)', '', '', '', '', '', '', '', '']);
    out.push('', table.toString());
  }
  return `${out.join('\n')}\n`;
}

function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  // Leading = + - @ would be formulas in spreadsheets: quote-prefix them.
  const safe = /^[=+\-@\t\r]/.test(text) && typeof value === 'string' ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const CSV_FIELDS: Array<keyof ReportRowJson> = [
  'key',
  'cost_usd',
  'share',
  'calls',
  'runs',
  'unpriced_calls',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'cached_tokens',
  'reasoning_tokens',
  'token_efficiency',
  'cost_per_1k_output_tokens_usd',
  'input_cost_usd',
  'output_cost_usd',
  'reasoning_cost_usd',
  'cached_discount_usd',
  // Added after the first release's columns, so existing column positions stay.
  'usage_missing_calls',
  'budget_refusals',
];

/** The report as CSV: one `total` row, then one row per group as `dimension,key,...`. */
export function formatReportCsv(report: Report, context: ReportContext): string {
  const json = reportToJson(report, context);
  const lines = [['dimension', ...CSV_FIELDS].join(',')];
  const line = (dimension: string, row: ReportRowJson): string =>
    [dimension, ...CSV_FIELDS.map((field) => row[field] as string | number | null)].map(csvCell).join(',');
  lines.push(line('total', json.totals));
  for (const breakdown of report.breakdowns) {
    for (const row of json.breakdowns[breakdown.dimension] ?? []) lines.push(line(breakdown.dimension, row));
  }
  return `${lines.join('\n')}\n`;
}

function markdownCell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

/** The report as GitHub-flavoured Markdown (for PR comments and wikis). */
export function formatReportMarkdown(report: Report, context: ReportContext): string {
  const out = [
    '# Cost report',
    '',
    ...summaryLines(report, context)
      .slice(1)
      .map((line) => `- ${markdownCell(line)}`),
  ];
  if (hasWarnings(report.warnings))
    out.push(...warningLines(report.warnings).flatMap((line) => ['', `> **Warning:** ${markdownCell(line)}`]));
  for (const breakdown of report.breakdowns) {
    out.push('', `## By ${DIMENSION_TITLE[breakdown.dimension].toLowerCase()}`, '');
    out.push(`| ${DIMENSION_TITLE[breakdown.dimension]} | ${COLUMNS.join(' | ')} |`);
    out.push(`|---|${COLUMNS.map(() => '---:').join('|')}|`);
    for (const { row } of rowsOf(breakdown))
      out.push(`| ${markdownCell(row.key)} | ${cells(row, breakdown.dimension).map(markdownCell).join(' | ')} |`);
  }
  return `${out.join('\n')}\n`;
}

/** Renders a report in `format`. */
export function formatReport(report: Report, format: ReportFormat, context: ReportContext): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(reportToJson(report, context), null, 2)}\n`;
    case 'csv':
      return formatReportCsv(report, context);
    case 'markdown':
      return formatReportMarkdown(report, context);
    case 'table':
      return formatReportTable(report, context);
  }
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
