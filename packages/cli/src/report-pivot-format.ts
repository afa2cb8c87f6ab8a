import { formatMoney } from './money-display.js';
import type { ReportPivot } from './report-pivot.js';
import type { ReportDimension, ReportRow } from './report.js';
import { displayText, renderTextTable, textWidth, truncateMiddle, type TextColumn } from './text-table.js';

/** Options of the pivot's text forms. */
export interface PivotTextOptions {
  width?: number;
  exact?: boolean;
}

const HEADER_WIDTH = 14;
const KEY_FLOOR = 24;

function cellText(row: ReportRow | undefined, options: PivotTextOptions): string {
  if (row === undefined) return '-';
  const incomplete = row.totals.unpricedCallCount > 0 || row.totals.usageMissingCallCount > 0;
  return `${formatMoney(row.cost, options)}${incomplete ? ' !' : ''}`;
}

function title(pivot: ReportPivot): string {
  return `Cost by ${pivot.rows} × ${pivot.columns}`;
}

function grid(pivot: ReportPivot): Map<string, Map<string, ReportRow>> {
  const byRow = new Map<string, Map<string, ReportRow>>();
  for (const cell of pivot.cells) {
    let row = byRow.get(cell.rowKey);
    if (row === undefined) {
      row = new Map();
      byRow.set(cell.rowKey, row);
    }
    row.set(cell.columnKey, cell.row);
  }
  return byRow;
}

const dimensionLabel = (dimension: ReportDimension): string => (dimension === 'day' ? 'day (UTC)' : dimension);

/**
 * The pivot as a text table of costs that fits `width`: a row per row key, a
 * `total` column, then the most expensive column keys that fit; the others
 * are summed in one `(N more)` column, so every row still adds up.
 */
export function formatPivotTable(pivot: ReportPivot, options: PivotTextOptions = {}): string[] {
  const width = options.width ?? 80;
  const cells = grid(pivot);
  const keyHeader = `${dimensionLabel(pivot.rows)} \\ ${dimensionLabel(pivot.columns)}`;
  const naturalKey = Math.min(Math.max(textWidth(keyHeader), ...pivot.rowKeys.map((key) => textWidth(displayText(key)))), 32);
  const build = (kept: number): { columns: TextColumn[]; rows: Array<{ key: string; cells: string[] }>; width: number } => {
    // Columns are sorted by cost (days by date): the cheapest, or the earliest days, are pooled.
    const days = pivot.columns === 'day';
    const keys = pivot.columnKeys;
    const shownKeys = days ? keys.slice(keys.length - kept) : keys.slice(0, kept);
    const pooledKeys = days ? keys.slice(0, keys.length - kept) : keys.slice(kept);
    const pooledHeader = pooledKeys.length > 0 ? [`(${pooledKeys.length} more)`] : [];
    const shownHeaders = shownKeys.map((key) => truncateMiddle(displayText(key), HEADER_WIDTH));
    const headers = ['total', ...(days ? [...pooledHeader, ...shownHeaders] : [...shownHeaders, ...pooledHeader])];
    const rows = pivot.rowKeys.map((rowKey, index) => {
      const row = cells.get(rowKey);
      const shown = shownKeys.map((key) => cellText(row?.get(key), options));
      const values: string[] = [];
      if (pooledKeys.length > 0) {
        let pooled = 0n;
        let any = false;
        for (const key of pooledKeys) {
          const cell = row?.get(key);
          if (cell !== undefined) {
            pooled += cell.cost;
            any = true;
          }
        }
        values.push(any ? formatMoney(pooled, options) : '-');
      }
      const total = cellText(pivot.rowTotals[index], options);
      return { key: rowKey, cells: days ? [total, ...values, ...shown] : [total, ...shown, ...values] };
    });
    const widths = headers.map((header, index) => Math.max(textWidth(header), ...rows.map((row) => textWidth(row.cells[index] ?? ''))));
    return {
      columns: headers.map((header) => ({ header, align: 'right', priority: Number.POSITIVE_INFINITY })),
      rows,
      width: Math.min(naturalKey, KEY_FLOOR) + 4 + widths.reduce((sum, columnWidth) => sum + columnWidth + 3, 0),
    };
  };
  let kept = pivot.columnKeys.length;
  let table = build(kept);
  while (kept > 0 && table.width > width) {
    kept -= 1;
    table = build(kept);
  }
  return [title(pivot), ...renderTextTable({ keyHeader, columns: table.columns, rows: table.rows, width })];
}

function markdownCell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

/** The pivot as a Markdown table: every row and column key, a `total` column first. */
export function formatPivotMarkdown(pivot: ReportPivot, options: PivotTextOptions = {}): string[] {
  const cells = grid(pivot);
  const lines = [`## ${title(pivot)}`, ''];
  lines.push(`| ${markdownCell(`${pivot.rows} \\ ${pivot.columns}`)} | total | ${pivot.columnKeys.map(markdownCell).join(' | ')} |`);
  lines.push(`|---|---:|${pivot.columnKeys.map(() => '---:').join('|')}|`);
  pivot.rowKeys.forEach((rowKey, index) => {
    const row = cells.get(rowKey);
    const values = [cellText(pivot.rowTotals[index], options), ...pivot.columnKeys.map((key) => cellText(row?.get(key), options))];
    lines.push(`| ${markdownCell(rowKey)} | ${values.map(markdownCell).join(' | ')} |`);
  });
  lines.push(`| total | | ${pivot.columnTotals.map((column) => markdownCell(cellText(column, options))).join(' | ')} |`);
  return lines;
}
