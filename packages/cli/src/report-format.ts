import type { Report } from './report.js';
import type { ReportFormat } from './report-options.js';
import { formatReportJson, reportToJson, type ReportContext, type ReportRowJson } from './report-json.js';
import { formatReportMarkdown, formatReportTable, type ReportTextOptions } from './report-table.js';

export { reportToJson } from './report-json.js';
export type { ReportContext, ReportJson, ReportPivotJson, ReportRowJson, ReportSpikeJson } from './report-json.js';
export { formatReportMarkdown, formatReportTable } from './report-table.js';
export type { ReportTextOptions } from './report-table.js';

export { REPORT_FORMATS, type ReportFormat } from './report-options.js';

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
  'latency_calls',
  'latency_p50_ms',
  'latency_p95_ms',
  'latency_total_ms',
  'spike_days',
];

const fieldValue = (row: ReportRowJson, field: keyof ReportRowJson): string | number | null => {
  const value = row[field];
  return Array.isArray(value) ? value.join(' ') : (value as string | number | null);
};

/**
 * The report as CSV: one `total` row, then one row per group as
 * `dimension,key,...`; with a pivot, one row per cell as `rows*columns`
 * (`user*model`), its row key in `key` and its column key in `pivot_column`.
 */
export function formatReportCsv(report: Report, context: ReportContext): string {
  const json = reportToJson(report, context);
  const lines = [['dimension', ...CSV_FIELDS, 'pivot_column'].join(',')];
  const line = (dimension: string, row: ReportRowJson, column: string | null = null): string =>
    [dimension, ...CSV_FIELDS.map((field) => fieldValue(row, field)), column].map(csvCell).join(',');
  lines.push(line('total', json.totals));
  for (const breakdown of report.breakdowns) {
    for (const row of json.breakdowns[breakdown.dimension] ?? []) lines.push(line(breakdown.dimension, row));
  }
  const pivot = json.pivot;
  if (pivot !== null) {
    for (const cell of pivot.cells) lines.push(line(`${pivot.rows}*${pivot.columns}`, { ...cell, key: cell.row }, cell.column));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Renders a report in `format`. JSON and CSV carry every amount exactly; the
 * table fits `options.width` columns and, like Markdown, rounds amounts for
 * reading unless `options.exact`.
 */
export function formatReport(report: Report, format: ReportFormat, context: ReportContext, options: ReportTextOptions = {}): string {
  switch (format) {
    case 'json':
      return formatReportJson(report, context);
    case 'csv':
      return formatReportCsv(report, context);
    case 'markdown':
      return formatReportMarkdown(report, context, options);
    case 'table':
      return formatReportTable(report, context, options);
  }
}
