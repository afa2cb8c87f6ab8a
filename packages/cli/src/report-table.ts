import { costOf } from './report-group.js';
import { formatCompact, formatDuration, formatInteger, formatMoney, plural } from './money-display.js';
import type { Report, ReportBreakdown, ReportDimension, ReportRow } from './report.js';
import { rowsOf, type ReportContext } from './report-json.js';
import { formatPivotMarkdown, formatPivotTable } from './report-pivot-format.js';
import { warningMarkdownLines, warningTableLines } from './report-warnings.js';
import { renderTextTable, wrapText, type TextCell, type TextColumn } from './text-table.js';
import { SPIKE_FACTOR, SPIKE_WINDOW_DAYS, type Spike } from './spikes.js';

/** Options of the text formats (table and Markdown). */
export interface ReportTextOptions {
  /** Terminal columns the table format fits in. Default 80. */
  width?: number;
  /** Every digit of every amount (`--exact`), as JSON and CSV carry them. Default: rounded for reading. */
  exact?: boolean;
}

/** Titles of the dimensions in headings and table headers. */
export const DIMENSION_TITLE: Record<ReportDimension, string> = {
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

/** Marks a cost that spiked (see the Spikes section). */
export const SPIKE_MARK = '▲';

function percent(value: number | null): string {
  return value === null ? '-' : `${(value * 100).toFixed(1)}%`;
}

function perThousand(row: ReportRow, options: ReportTextOptions): string {
  // A rate from calls counted at $0 would read as "free": show none.
  if (row.cost === 0n && row.totals.unpricedCallCount > 0) return '-';
  return row.costPer1kOutput === null ? '-' : formatMoney(row.costPer1kOutput, options);
}

/** The cost cell: a row with unpriced or usage-less calls is marked, never a plain $0.00; a spike is marked ▲. */
export function costCell(row: ReportRow, options: ReportTextOptions): string {
  const marks: string[] = [];
  if (row.totals.unpricedCallCount > 0) marks.push(`${formatInteger(row.totals.unpricedCallCount)} unpriced`);
  if (row.totals.usageMissingCallCount > 0) marks.push(`${formatInteger(row.totals.usageMissingCallCount)} no usage`);
  const spike = row.spikeDays.length > 0 ? ` ${SPIKE_MARK}` : '';
  return `${formatMoney(row.cost, options)}${spike}${marks.length === 0 ? '' : ` ! ${marks.join(', ')}`}`;
}

const COLUMNS: TextColumn[] = [
  { header: 'cost', align: 'right', priority: Number.POSITIVE_INFINITY },
  { header: 'share', align: 'right', priority: 60 },
  { header: 'calls', align: 'right', priority: 85 },
  { header: 'runs', align: 'right', priority: 30 },
  { header: 'input tok', compactHeader: 'in tok', align: 'right', priority: 38 },
  { header: 'output tok', compactHeader: 'out tok', align: 'right', priority: 45 },
  { header: 'out/total', compactHeader: 'out%', align: 'right', priority: 10 },
  { header: '$/1k out', align: 'right', priority: 20 },
  { header: 'p50', align: 'right', priority: 50 },
  { header: 'p95', align: 'right', priority: 80 },
  { header: 'time', align: 'right', priority: 35 },
];

const counted = (value: number): TextCell => ({ full: formatInteger(value), compact: formatCompact(value) });

function cells(row: ReportRow, dimension: ReportDimension | undefined, options: ReportTextOptions): TextCell[] {
  const latency = row.latency;
  return [
    costCell(row, options),
    percent(row.share),
    counted(row.totals.callCount),
    dimension === 'model' || dimension === 'provider' || dimension === 'scope' ? '-' : counted(row.runs),
    counted(row.totals.inputTokens),
    counted(row.totals.outputTokens),
    percent(row.tokenEfficiency),
    perThousand(row, options),
    latency === null ? '-' : formatDuration(latency.p50Ms),
    latency === null ? '-' : formatDuration(latency.p95Ms),
    latency === null ? '-' : formatDuration(latency.totalMs),
  ];
}

/** Breakdowns the text formats leave out: those where no event had the dimension (only `(none)`). */
/** True when no event has the dimension (with --top 0, every row is pooled in `rest`: not empty). */
function isEmpty(breakdown: ReportBreakdown): boolean {
  return (
    breakdown.rest === undefined && (breakdown.rows.length === 0 || (breakdown.rows.length === 1 && breakdown.rows[0]?.key === '(none)'))
  );
}

function summaryLines(report: Report, context: ReportContext, options: ReportTextOptions): string[] {
  const money = (amount: bigint): string => formatMoney(amount, options);
  const totals = report.totals;
  const lines: string[] = [];
  const period =
    report.firstTimestamp === undefined
      ? 'no events'
      : `${report.firstTimestamp.slice(0, 19)}Z .. ${(report.lastTimestamp ?? '').slice(0, 19)}Z`;
  lines.push(
    `costspan report: ${context.inputs.join(', ')} (${period}${context.since !== undefined ? `, since ${context.since}` : ''}${context.until !== undefined ? `, until ${context.until}` : ''})`,
  );
  const parts = [`input ${money(totals.totals.input)}`, `output ${money(totals.totals.output)}`];
  if (totals.totals.reasoning !== 0n) parts.push(`reasoning ${money(totals.totals.reasoning)}`);
  if (totals.totals.cachedDiscount !== 0n) parts.push(`cache discount -${money(totals.totals.cachedDiscount)}`);
  lines.push(`Total cost: ${money(costOf(totals.totals))} (${parts.join(', ')})`);
  const incomplete: string[] = [];
  if (totals.totals.unpricedCallCount > 0) incomplete.push(`${formatInteger(totals.totals.unpricedCallCount)} unpriced (counted at $0)`);
  if (totals.totals.usageMissingCallCount > 0) incomplete.push(`${formatInteger(totals.totals.usageMissingCallCount)} without usage`);
  if (totals.budgetRefusals > 0) incomplete.push(`${formatInteger(totals.budgetRefusals)} refused by a budget`);
  lines.push(
    `Calls: ${plural(totals.totals.callCount, 'call')} in ${plural(totals.runs, 'run')}${incomplete.length > 0 ? `; ${incomplete.join('; ')}` : ''}`,
  );
  lines.push(
    `Tokens: ${formatInteger(totals.totals.inputTokens)} in, ${formatInteger(totals.totals.outputTokens)} out, ${formatInteger(totals.totals.totalTokens)} total; output share ${percent(totals.tokenEfficiency)}; ${perThousand(totals, options)} per 1k output tokens`,
  );
  const latency = totals.latency;
  if (latency !== null) {
    const known =
      latency.calls === totals.totals.callCount
        ? ''
        : ` (${formatInteger(latency.calls)} of ${plural(totals.totals.callCount, 'call')} with a latency)`;
    lines.push(
      `Latency: p50 ${formatDuration(latency.p50Ms)}, p95 ${formatDuration(latency.p95Ms)}, ${formatDuration(latency.totalMs)} in calls${known}`,
    );
  }
  const month = report.monthToDate;
  if (month !== undefined) {
    lines.push(
      `Month to date: ${month.month}: ${money(month.cost)} as of ${month.asOf.slice(0, 16)}Z (${month.daysElapsed} of ${month.daysInMonth} days)${month.projected === null ? '' : `; projected ${money(month.projected)} for the month`}`,
    );
  }
  return lines;
}

const SPIKES_SHOWN = 10;

/** One line per spike: the key, its day, cost against its median, and the runs that made it. */
export function spikeLines(spikes: readonly Spike[], options: ReportTextOptions, maxItems: number = SPIKES_SHOWN): string[] {
  const lines = spikes.slice(0, maxItems).map((spike) => {
    const runs = spike.runs.slice(0, 3).map((run) => `${run.runId} ${formatMoney(run.cost, options)}`);
    const rest = spike.cost - spike.runs.slice(0, 3).reduce((sum, run) => sum + run.cost, 0n);
    if (rest > 0n) runs.push(`others ${formatMoney(rest, options)}`);
    const what = spike.dimension === 'day' ? 'all calls' : `${spike.dimension} ${spike.key}`;
    return `${SPIKE_MARK} ${spike.day} ${what}: ${formatMoney(spike.cost, options)}, ${spike.ratio}× the median ${formatMoney(spike.median, options)}; runs: ${runs.join(', ')}`;
  });
  if (spikes.length > maxItems) lines.push(`and ${plural(spikes.length - maxItems, 'more spike')} (--format json lists them all)`);
  return lines;
}

function spikeHeading(report: Report): string[] {
  const lines: string[] = [];
  if (report.spikes.length > 0)
    lines.push(
      `${plural(report.spikes.length, 'spike')} (a day costing over ${SPIKE_FACTOR}× the median of the ${SPIKE_WINDOW_DAYS} days before):`,
    );
  if (report.spikesUnchecked.length > 0)
    lines.push(`Spikes not checked for ${report.spikesUnchecked.join(', ')}: too many key-days to track in bounded memory.`);
  return lines;
}

/** The report as text tables that fit `width` terminal columns. */
export function formatReportTable(report: Report, context: ReportContext, options: ReportTextOptions = {}): string {
  const width = options.width ?? 80;
  const wrap = (line: string): string[] => wrapText(line, width, '  ');
  const out = summaryLines(report, context, options).flatMap(wrap);
  const warnings = warningTableLines(report.warnings, width);
  if (warnings.length > 0) out.push('', ...warnings);
  const empty: string[] = [];
  for (const breakdown of report.breakdowns) {
    if (isEmpty(breakdown)) {
      empty.push(breakdown.dimension);
      continue;
    }
    const rows = rowsOf(breakdown).map(({ row }) => ({ key: row.key, cells: cells(row, breakdown.dimension, options) }));
    out.push('', ...renderTextTable({ keyHeader: DIMENSION_TITLE[breakdown.dimension], columns: COLUMNS, rows, width }));
  }
  if (report.pivot !== undefined) out.push('', ...formatPivotTable(report.pivot, { ...options, width }));
  if (empty.length > 0) out.push('', ...wrap(`Not shown: ${empty.join(', ')} (no event has ${empty.length === 1 ? 'it' : 'them'}).`));
  const spikes = [...spikeHeading(report), ...spikeLines(report.spikes, options)];
  if (spikes.length > 0) out.push('', ...spikes.flatMap(wrap));
  return `${out.join('\n')}\n`;
}

function markdownCell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

/** The report as GitHub-flavoured Markdown (for PR comments and wikis): every column, amounts rounded unless `exact`. */
export function formatReportMarkdown(report: Report, context: ReportContext, options: ReportTextOptions = {}): string {
  const out = [
    '# Cost report',
    '',
    ...summaryLines(report, context, options)
      .slice(1)
      .map((line) => `- ${markdownCell(line)}`),
  ];
  out.push(...warningMarkdownLines(report.warnings));
  const empty: string[] = [];
  for (const breakdown of report.breakdowns) {
    if (isEmpty(breakdown)) {
      empty.push(breakdown.dimension);
      continue;
    }
    out.push('', `## By ${DIMENSION_TITLE[breakdown.dimension].toLowerCase()}`, '');
    out.push(`| ${DIMENSION_TITLE[breakdown.dimension]} | ${COLUMNS.map((column) => column.header).join(' | ')} |`);
    out.push(`|---|${COLUMNS.map(() => '---:').join('|')}|`);
    for (const { row } of rowsOf(breakdown)) {
      const texts = cells(row, breakdown.dimension, options).map((cell) => (typeof cell === 'string' ? cell : cell.full));
      out.push(`| ${markdownCell(row.key)} | ${texts.map(markdownCell).join(' | ')} |`);
    }
  }
  if (report.pivot !== undefined) out.push('', ...formatPivotMarkdown(report.pivot, options));
  if (empty.length > 0) out.push('', `Not shown: ${empty.join(', ')} (no event has ${empty.length === 1 ? 'it' : 'them'}).`);
  const spikes = [...spikeHeading(report), ...spikeLines(report.spikes, options).map((line) => `- ${markdownCell(line)}`)];
  if (spikes.length > 0) out.push('', ...spikes);
  return `${out.join('\n')}\n`;
}
