import { formatPico, type PicoUsd } from '@costspan/core';
import { displayText, textWidth, truncateMiddle } from './display-text.js';
import { formatMoney } from './money-display.js';
import type { ReportFormat } from './report-format.js';
import { warningsToJson, type ReportWarningsJson } from './report-json.js';
import { warningMarkdownLines, warningTableLines, WarningCollector, type ReportWarnings } from './report-warnings.js';
import type { WhatIfReport, WhatIfRow } from './what-if-report.js';

/** One row of a what-if report in JSON: amounts as exact decimal strings. */
export interface WhatIfRowJson {
  key: string;
  target: string | null;
  calls: number;
  repriced_calls: number;
  not_repriced_calls: number;
  actual_unpriced_calls: number;
  actual_usd: string;
  what_if_usd: string;
  saving_usd: string;
  /** Saving / actual, to 4 decimals (truncated toward zero); null when the actual cost is 0. */
  saving_share: number | null;
}

/** A what-if report in JSON (`costspan report --reprice ... --format json`). */
export interface WhatIfJson {
  inputs: string[];
  what_if: { reprice: Array<{ from: string; to: string }>; price_date: string | null; price_files: string[] };
  totals: WhatIfRowJson;
  breakdowns: Record<string, WhatIfRowJson[]>;
  not_repriced: Array<{
    model: string;
    target: string;
    code: string;
    reason: string;
    calls: number;
    actual_usd: string;
    event_ids: string[];
  }>;
  /** What makes the inputs' figures incomplete (damaged inputs, unpriced calls, ...): the report's `warnings` object. */
  warnings: ReportWarningsJson;
}

/** Saving / actual, to 4 decimals (truncated toward zero); null when nothing was spent. */
export function savingShare(row: Pick<WhatIfRow, 'actual' | 'saving'>): number | null {
  if (row.actual === 0n) return null;
  return Number((row.saving * 10_000n) / row.actual) / 10_000;
}

function rowJson(row: WhatIfRow): WhatIfRowJson {
  return {
    key: row.key,
    target: row.target ?? null,
    calls: row.calls,
    repriced_calls: row.repricedCalls,
    not_repriced_calls: row.notRepricedCalls,
    actual_unpriced_calls: row.actualUnpricedCalls,
    actual_usd: formatPico(row.actual),
    what_if_usd: formatPico(row.whatIf),
    saving_usd: formatPico(row.saving),
    saving_share: savingShare(row),
  };
}

/** No warnings: what a what-if report carries when the caller has none to give. */
function noWarnings(): ReportWarnings {
  return new WarningCollector().result(0);
}

/**
 * The JSON form of a what-if report, exact to the pico-dollar; `warnings` are the report's over the
 * same inputs (default: none).
 */
export function whatIfToJson(report: WhatIfReport, inputs: readonly string[], warnings: ReportWarnings = noWarnings()): WhatIfJson {
  const breakdowns: Record<string, WhatIfRowJson[]> = {};
  for (const breakdown of report.breakdowns) breakdowns[breakdown.dimension] = breakdown.rows.map(rowJson);
  return {
    inputs: [...inputs],
    what_if: {
      reprice: report.mappings.map((mapping) => ({ from: mapping.from, to: mapping.to })),
      price_date: report.priceDate ?? null,
      price_files: [...report.priceFiles],
    },
    totals: rowJson(report.totals),
    breakdowns,
    not_repriced: report.notRepriced.map((entry) => ({
      model: entry.model,
      target: entry.target,
      code: entry.code,
      reason: entry.reason,
      calls: entry.calls,
      actual_usd: formatPico(entry.actual),
      event_ids: [...entry.eventIds],
    })),
    warnings: warningsToJson(warnings),
  };
}

/** What was asked, in words: `gpt-4o as gpt-4o-mini; prices of 2026-01-01; prices from p.json`. */
export function describeWhatIf(report: WhatIfReport): string {
  const parts = report.mappings.map((mapping) => `${mapping.from} as ${mapping.to}`);
  if (report.priceDate !== undefined) parts.push(`prices of ${report.priceDate}`);
  if (report.priceFiles.length > 0) parts.push(`prices from ${report.priceFiles.join(', ')}`);
  return parts.join('; ');
}

/** Options of the text and markdown forms. */
export interface WhatIfTextOptions {
  /** Every digit (`--exact`); default: amounts rounded for reading, as the report prints them. */
  exact?: boolean;
  /**
   * The report's warnings over the same inputs (an input cut short, damaged totals, unpriced calls, ...),
   * printed as the report prints them. Default: none.
   */
  warnings?: ReportWarnings;
}

type Money = (amount: PicoUsd) => string;

function moneyOf(options: WhatIfTextOptions): Money {
  return (amount) => formatMoney(amount, options);
}

function percent(share: number | null): string {
  return share === null ? '-' : `${(share * 100).toFixed(1)}%`;
}

function label(row: WhatIfRow): string {
  return row.target === undefined ? row.key : `${row.key} -> ${row.target}`;
}

/** `text` padded with spaces to `width` terminal columns. */
function padEnd(text: string, width: number): string {
  return `${text}${' '.repeat(Math.max(0, width - textWidth(text)))}`;
}

/** Rows with calls recorded unpriced end in ` !`: their $0 actual is not a real $0. */
function markedLabel(row: WhatIfRow, width: number): string {
  return row.actualUnpricedCalls === 0 ? fit(label(row), width) : `${fit(label(row), width - 2)} !`;
}

/** Middle-truncates `text` to `width` terminal columns, control characters shown as escapes. */
function fit(text: string, width: number): string {
  return truncateMiddle(displayText(text), width);
}

const integer = new Intl.NumberFormat('en-US');

/** Words of `text` in lines of at most `width` characters, each after `indent` (a longer word stays whole). */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

function notRepricedLines(report: WhatIfReport, usd: Money): string[] {
  return report.notRepriced.flatMap((entry) =>
    wrap(
      `${entry.model} -> ${entry.target}: ${integer.format(entry.calls)} call${entry.calls === 1 ? ' kept at its' : 's kept at their'} recorded ${usd(entry.actual)} (${entry.code}: ${entry.reason})`,
      80,
      '  ',
    ),
  );
}

/** Plain-text tables, 80 columns wide. */
export function formatWhatIfText(report: WhatIfReport, inputs: readonly string[], options: WhatIfTextOptions = {}): string {
  const usd = moneyOf(options);
  const totals = report.totals;
  const lines = [
    `costspan report --reprice: ${inputs.join(', ')}`,
    `What if: ${describeWhatIf(report)}`,
    `Actual:  ${usd(totals.actual)}  What-if: ${usd(totals.whatIf)}  Saving: ${usd(totals.saving)} (${percent(savingShare(totals))})`,
    `Calls:   ${integer.format(totals.calls)}; ${integer.format(totals.repricedCalls)} re-priced, ${integer.format(totals.notRepricedCalls)} could not be`,
    // The actual side is the report's figures: what makes those incomplete makes these so too.
    ...warningTableLines(options.warnings ?? noWarnings(), 80),
  ];
  if (totals.actualUnpricedCalls > 0) {
    lines.push(
      `WARNING: ${integer.format(totals.actualUnpricedCalls)} call${totals.actualUnpricedCalls === 1 ? ' was' : 's were'} recorded unpriced (actual counted at $0):`,
      `  the saving on ${totals.actualUnpricedCalls === 1 ? 'it' : 'them'} is not known (rows marked !).`,
    );
  }
  if (report.notRepriced.length > 0) {
    lines.push('NOT RE-PRICED (what-if = recorded cost):', ...notRepricedLines(report, usd));
  }
  for (const breakdown of report.breakdowns) {
    if (breakdown.rows.length === 0 || (breakdown.rows.length === 1 && breakdown.rows[0]?.key === '(none)')) continue;
    lines.push(
      '',
      `${breakdown.dimension.padEnd(30)} ${'actual'.padStart(11)} ${'what-if'.padStart(11)} ${'saving'.padStart(11)} ${'%'.padStart(6)} ${'calls'.padStart(6)}`,
    );
    for (const row of breakdown.rows) {
      lines.push(
        `${padEnd(markedLabel(row, 30), 30)} ${fit(usd(row.actual), 11).padStart(11)} ${fit(usd(row.whatIf), 11).padStart(11)} ${fit(usd(row.saving), 11).padStart(11)} ${percent(savingShare(row)).padStart(6)} ${fit(integer.format(row.calls), 6).padStart(6)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

/** GitHub-flavoured Markdown. */
export function formatWhatIfMarkdown(report: WhatIfReport, options: WhatIfTextOptions = {}): string {
  const usd = moneyOf(options);
  const totals = report.totals;
  const lines = [
    `### What if: ${markdownCell(describeWhatIf(report))}`,
    '',
    `Actual **${usd(totals.actual)}**, what-if **${usd(totals.whatIf)}**, saving **${usd(totals.saving)}** (${percent(savingShare(totals))}); ${totals.calls} calls, ${totals.repricedCalls} re-priced, ${totals.notRepricedCalls} could not be.`,
    ...warningMarkdownLines(options.warnings ?? noWarnings()),
  ];
  if (report.notRepriced.length > 0)
    lines.push(
      '',
      '> **Not re-priced** (what-if = recorded cost):',
      ...report.notRepriced.map(
        (entry) =>
          `> ${markdownCell(entry.model)} -> ${markdownCell(entry.target)}: ${entry.calls} calls kept at their recorded ${usd(entry.actual)} (${entry.code}: ${markdownCell(entry.reason)})`,
      ),
    );
  for (const breakdown of report.breakdowns) {
    if (breakdown.rows.length === 0) continue;
    lines.push('', `| ${breakdown.dimension} | actual | what-if | saving | % | calls |`, '|---|---:|---:|---:|---:|---:|');
    for (const row of breakdown.rows) {
      lines.push(
        `| ${markdownCell(label(row))} | ${usd(row.actual)} | ${usd(row.whatIf)} | ${usd(row.saving)} | ${percent(savingShare(row))} | ${row.calls} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function csvCell(value: string | number): string {
  let text = String(value);
  // A leading = + - @ would be a formula in a spreadsheet: quote-prefixed, unless the text is an
  // amount (a negative saving, `-0.000075`), which must stay a number.
  if (typeof value === 'string' && /^[=+\-@]/.test(text) && !/^-\d+(\.\d+)?$/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * CSV: one row per breakdown row (`dimension` = `total` first), then one `not_repriced` row per
 * group of calls that could not be re-priced. Amounts are exact decimal strings.
 */
export function formatWhatIfCsv(report: WhatIfReport): string {
  const header = [
    'dimension',
    'key',
    'target',
    'calls',
    'repriced_calls',
    'not_repriced_calls',
    'actual_unpriced_calls',
    'actual_usd',
    'what_if_usd',
    'saving_usd',
    'saving_share',
    'note',
  ];
  const lines = [header.join(',')];
  const push = (dimension: string, row: WhatIfRow): void => {
    const share = savingShare(row);
    lines.push(
      [
        dimension,
        row.key,
        row.target ?? '',
        row.calls,
        row.repricedCalls,
        row.notRepricedCalls,
        row.actualUnpricedCalls,
        formatPico(row.actual),
        formatPico(row.whatIf),
        formatPico(row.saving),
        share === null ? '' : share,
        '',
      ]
        .map(csvCell)
        .join(','),
    );
  };
  push('total', report.totals);
  for (const breakdown of report.breakdowns) for (const row of breakdown.rows) push(breakdown.dimension, row);
  for (const entry of report.notRepriced) {
    const actual = formatPico(entry.actual);
    lines.push(
      ['not_repriced', entry.model, entry.target, entry.calls, 0, entry.calls, 0, actual, actual, '0', '', `${entry.code}: ${entry.reason}`]
        .map(csvCell)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A what-if report in one of `costspan report`'s formats (`table` is the plain-text form). CSV carries
 * no warnings: the caller writes `options.warnings` to standard error (`writeWarningsToStderr`).
 */
export function formatWhatIf(
  report: WhatIfReport,
  format: ReportFormat,
  inputs: readonly string[],
  options: WhatIfTextOptions = {},
): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(whatIfToJson(report, inputs, options.warnings), null, 2)}\n`;
    case 'csv':
      return formatWhatIfCsv(report);
    case 'markdown':
      return formatWhatIfMarkdown(report, options);
    default:
      return formatWhatIfText(report, inputs, options);
  }
}
