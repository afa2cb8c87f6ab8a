import { formatPico } from '@costspan/core';
import type { ScanStats, SkipReason } from './read-events.js';
import type { ReportPivot } from './report-pivot.js';
import type { Report, ReportBreakdown, ReportDimension, ReportRow } from './report.js';
import { warningLines, type ReportWarnings } from './report-warnings.js';

// `costspan report --format json`: every amount an exact decimal string.

/** What the report covered, printed beside the figures. */
export interface ReportContext {
  inputs: readonly string[];
  since?: string;
  until?: string;
  scan?: ScanStats;
}

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
  /** Calls whose event carried `latency_ms`. */
  latency_calls: number;
  /** Median and 95th percentile call latency in ms; `null` when no call had a latency. */
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  /** Sum of the calls' latencies in ms (exact to the microsecond); `null` when no call had a latency. */
  latency_total_ms: number | null;
  /** Days (UTC) on which this row's key cost more than 3× its trailing 7-day median; see {@link ReportJson.spikes}. */
  spike_days: string[];
  /** True on the row that sums the rows cut by `--top`. */
  rest?: true;
}

/**
 * {@link ReportWarnings} as JSON: the `warnings` object of `costspan report --format json`, also
 * carried by the what-if report and `costspan run` so every reader of the same inputs sees one shape.
 */
export interface ReportWarningsJson {
  unpriced_calls: number;
  unpriced_models: Array<{ model: string; calls: number }>;
  usage_missing_calls: number;
  /** Calls the runs' session events count that have no token event in the input (their cost is missing). */
  calls_without_token_event: number;
  /** Token events whose `total_cost_usd` differs from the sum of their parts (the report sums the parts). */
  total_mismatch_events: number;
  budget_refusals: number;
  /** Inputs whose gzip stream ends early (`-` for standard input): the events after the cut are missing. */
  truncated_inputs: string[];
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
  warnings: ReportWarningsJson;
  skipped: { total: number; by_reason: Record<SkipReason, number> } | null;
  /** Days on which a day, agent, model or user cost more than 3× its trailing 7-day median, by day. */
  spikes: ReportSpikeJson[];
  /** Dimensions with too many key-days to check for spikes in bounded memory. */
  spikes_unchecked: string[];
  /** The two `--group-by` dimensions crossed; `null` unless exactly two were given. */
  pivot: ReportPivotJson | null;
}

/** A spike: the key's cost that day against the median of its trailing 7 days, and the runs behind it. */
export interface ReportSpikeJson {
  dimension: string;
  key: string;
  day: string;
  cost_usd: string;
  median_usd: string;
  ratio: number;
  trailing_days: number;
  runs: Array<{ run_id: string; cost_usd: string }>;
  /** The day's cost not in `runs`. */
  other_runs_cost_usd: string;
}

/** A pivot: `cells` are rows with the pair of keys; totals are the two dimensions' breakdowns. */
export interface ReportPivotJson {
  rows: ReportDimension;
  columns: ReportDimension;
  row_keys: string[];
  column_keys: string[];
  row_totals: ReportRowJson[];
  column_totals: ReportRowJson[];
  cells: Array<ReportRowJson & { row: string; column: string }>;
}

/** One report row as JSON; `rest` marks the row that pools the rows cut by `--top`. */
export function rowJson(row: ReportRow, rest = false): ReportRowJson {
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
    latency_calls: row.latency?.calls ?? 0,
    latency_p50_ms: row.latency?.p50Ms ?? null,
    latency_p95_ms: row.latency?.p95Ms ?? null,
    latency_total_ms: row.latency?.totalMs ?? null,
    spike_days: [...row.spikeDays],
  };
  if (rest) json.rest = true;
  return json;
}

/** A breakdown's rows in display order, the pooled `--top` row included (first for days, last otherwise). */
export function rowsOf(breakdown: ReportBreakdown): Array<{ row: ReportRow; rest: boolean }> {
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
    warnings: warningsToJson(report.warnings),
    skipped: context.scan === undefined ? null : { total: context.scan.skipped, by_reason: { ...context.scan.skippedByReason } },
    spikes: report.spikes.map((spike) => ({
      dimension: spike.dimension,
      key: spike.key,
      day: spike.day,
      cost_usd: formatPico(spike.cost),
      median_usd: formatPico(spike.median),
      ratio: spike.ratio,
      trailing_days: spike.trailingDays,
      runs: spike.runs.map((run) => ({ run_id: run.runId, cost_usd: formatPico(run.cost) })),
      other_runs_cost_usd: formatPico(spike.otherCost),
    })),
    spikes_unchecked: [...report.spikesUnchecked],
    pivot: report.pivot === undefined ? null : pivotJson(report.pivot),
  };
}

/** The `warnings` object of the JSON formats; `messages` are the lines the table prints, every item listed. */
export function warningsToJson(warnings: ReportWarnings): ReportWarningsJson {
  return {
    unpriced_calls: warnings.unpricedCalls,
    unpriced_models: warnings.unpricedModels.map((entry) => ({ ...entry })),
    usage_missing_calls: warnings.usageMissingCalls,
    calls_without_token_event: warnings.callsWithoutTokenEvent,
    total_mismatch_events: warnings.totalMismatchEvents,
    budget_refusals: warnings.budgetRefusals,
    truncated_inputs: [...warnings.truncatedInputs],
    budget_refusals_by_limit: warnings.refusalsByLimit.map((group) => ({
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
    messages: warningLines(warnings, { maxItems: Number.POSITIVE_INFINITY }),
  };
}

/** `costspan report --format json`: the report as indented JSON, with a newline. */
export function formatReportJson(report: Report, context: ReportContext): string {
  return `${JSON.stringify(reportToJson(report, context), null, 2)}\n`;
}

function pivotJson(pivot: ReportPivot): ReportPivotJson {
  const pooled = (key: string): boolean => /^\(\d+ more\)$/.test(key);
  return {
    rows: pivot.rows,
    columns: pivot.columns,
    row_keys: [...pivot.rowKeys],
    column_keys: [...pivot.columnKeys],
    row_totals: pivot.rowTotals.map((row) => rowJson(row, pooled(row.key))),
    column_totals: pivot.columnTotals.map((row) => rowJson(row, pooled(row.key))),
    cells: pivot.cells.map((cell) => ({ ...rowJson(cell.row), row: cell.rowKey, column: cell.columnKey })),
  };
}
