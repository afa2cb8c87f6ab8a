import Table from 'cli-table3';
import { formatPico, formatUsd } from '@costspan/core';
import { totalCost } from '@costspan/sdk';
import type { Report, ReportBreakdown, ReportDimension, ReportRow } from './report.js';
import type { ScanStats, SkipReason } from './read-events.js';
import { hasWarnings, warningLines } from './report-warnings.js';

/** Output formats of `costspan report`. */
export type ReportFormat = 'table' | 'json' | 'csv' | 'markdown';

/** Every {@link ReportFormat}. */
export const REPORT_FORMATS: readonly ReportFormat[] = ['table', 'json', 'csv', 'markdown'];

/** What the report covered, printed beside the figures. */
export interface ReportContext {
  inputs: readonly string[];
  since?: string;
  until?: string;
  scan?: ScanStats;
}

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

/** A report row as JSON: money as exact decimal strings (never rounded floats), counts as numbers. */
export interface ReportRowJson {
  key: string;
  cost_usd: string;
  input_cost_usd: string;
  output_cost_usd: string;
  reasoning_cost_usd: string;
  cached_discount_usd: string;
  share: number;
  calls: number;
  unpriced_calls: number;
  /** Calls that ran but reported no usage (counted in `calls`, without tokens or cost). */
  usage_missing_calls: number;
  /** Steps refused by a budget in the row's runs. */
  budget_refusals: number;
  runs: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  token_efficiency: number | null;
  cost_per_1k_output_tokens_usd: string | null;
  /** True on the row that sums the rows cut by `--top`. */
  rest?: true;
}

/** `costspan report --format json`. */
export interface ReportJson {
  inputs: string[];
  period: { first: string | null; last: string | null; since: string | null; until: string | null };
  totals: ReportRowJson;
  month_to_date: {
    month: string;
    as_of: string;
    cost_usd: string;
    days_elapsed: number;
    days_in_month: number;
    projected_usd: string | null;
  } | null;
  breakdowns: Partial<Record<ReportDimension, ReportRowJson[]>>;
  events: { token: number; session: number; attributed: number; outside_period: number; non_usd: number };
  /** What makes the totals incomplete; zeros and empty lists when nothing does. */
  warnings: {
    unpriced_calls: number;
    unpriced_models: Array<{ model: string; calls: number }>;
    usage_missing_calls: number;
    budget_refusals: number;
    budget_refusals_by_limit: Array<{
      limit_type: string;
      scope: string;
      window: string;
      unit: string;
      limit: number;
      count: number;
      example: { agent_run_id: string; step: string; current: number; attempted: number };
    }>;
    /** The warnings as a person reads them (the lines the table format prints). */
    messages: string[];
  };
  skipped: { total: number; by_reason: Record<SkipReason, number> } | null;
}

function rowJson(row: ReportRow, rest = false): ReportRowJson {
  const totals = row.totals;
  const json: ReportRowJson = {
    key: row.key,
    cost_usd: formatPico(row.cost),
    input_cost_usd: formatPico(totals.input),
    output_cost_usd: formatPico(totals.output),
    reasoning_cost_usd: formatPico(totals.reasoning),
    cached_discount_usd: formatPico(totals.cachedDiscount),
    share: row.share,
    calls: totals.callCount,
    unpriced_calls: totals.unpricedCallCount,
    usage_missing_calls: totals.usageMissingCallCount,
    budget_refusals: row.budgetRefusals,
    runs: row.runs,
    input_tokens: totals.inputTokens,
    output_tokens: totals.outputTokens,
    total_tokens: totals.totalTokens,
    cached_tokens: totals.cacheReadTokens,
    reasoning_tokens: totals.reasoningTokens,
    token_efficiency: row.tokenEfficiency,
    cost_per_1k_output_tokens_usd: row.costPer1kOutput === null ? null : formatPico(row.costPer1kOutput),
  };
  if (rest) json.rest = true;
  return json;
}

function rowsOf(breakdown: ReportBreakdown): Array<{ row: ReportRow; rest: boolean }> {
  const rows = breakdown.rows.map((row) => ({ row, rest: false }));
  if (breakdown.rest !== undefined) {
    if (breakdown.dimension === 'day') rows.unshift({ row: breakdown.rest.row, rest: true });
    else rows.push({ row: breakdown.rest.row, rest: true });
  }
  return rows;
}

/** The report as a JSON-ready object. */
export function reportToJson(report: Report, context: ReportContext): ReportJson {
  const breakdowns: Partial<Record<ReportDimension, ReportRowJson[]>> = {};
  for (const breakdown of report.breakdowns) breakdowns[breakdown.dimension] = rowsOf(breakdown).map(({ row, rest }) => rowJson(row, rest));
  const month = report.monthToDate;
  return {
    inputs: [...context.inputs],
    period: {
      first: report.firstTimestamp ?? null,
      last: report.lastTimestamp ?? null,
      since: context.since ?? null,
      until: context.until ?? null,
    },
    totals: rowJson(report.totals),
    month_to_date:
      month === undefined
        ? null
        : {
            month: month.month,
            as_of: month.asOf,
            cost_usd: formatPico(month.cost),
            days_elapsed: month.daysElapsed,
            days_in_month: month.daysInMonth,
            projected_usd: month.projected === null ? null : formatPico(month.projected),
          },
    breakdowns,
    events: {
      token: report.eventCounts.token,
      session: report.eventCounts.session,
      attributed: report.eventCounts.attributed,
      outside_period: report.eventCounts.outsidePeriod,
      non_usd: report.eventCounts.nonUsd,
    },
    warnings: {
      unpriced_calls: report.warnings.unpricedCalls,
      unpriced_models: report.warnings.unpricedModels.map((entry) => ({ ...entry })),
      usage_missing_calls: report.warnings.usageMissingCalls,
      budget_refusals: report.warnings.budgetRefusals,
      budget_refusals_by_limit: report.warnings.refusalsByLimit.map((group) => ({
        limit_type: group.limitType,
        scope: group.scope,
        window: group.window,
        unit: group.unit,
        limit: group.limit,
        count: group.count,
        example: {
          agent_run_id: group.example.agentRunId,
          step: group.example.step,
          current: group.example.current,
          attempted: group.example.attempted,
        },
      })),
      messages: warningLines(report.warnings, { maxItems: Number.POSITIVE_INFINITY }),
    },
    skipped: context.scan === undefined ? null : { total: context.scan.skipped, by_reason: { ...context.scan.skippedByReason } },
  };
}

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
