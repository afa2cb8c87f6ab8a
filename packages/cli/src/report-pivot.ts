import type { PicoUsd } from '@costspan/core';
import { emptyGroup, mergeGroup, OTHER, sortRows, toRow, compareKeys, type Group } from './report-group.js';
import type { ReportDimension, ReportRow } from './report.js';

/** One cell of a pivot: the calls that have both keys. */
export interface ReportPivotCell {
  rowKey: string;
  columnKey: string;
  row: ReportRow;
}

/**
 * Two dimensions crossed (`--group-by user,model`): a row per key of `rows`,
 * a column per key of `columns`, a cell per pair that has calls. Row and
 * column totals are the two dimensions' own breakdown rows, so a tag column
 * does not count an event with two tags twice in a row's total.
 */
export interface ReportPivot {
  rows: ReportDimension;
  columns: ReportDimension;
  /** Row keys, highest cost first (days by date); a pooled `(N more)` key last when `top` cut some. */
  rowKeys: string[];
  columnKeys: string[];
  /** Totals per row key and per column key, in the order of `rowKeys` and `columnKeys`. */
  rowTotals: ReportRow[];
  columnTotals: ReportRow[];
  /** Non-empty cells, in row then column order. */
  cells: ReportPivotCell[];
}

/** Distinct (row, column) pairs kept; the rest are pooled in the `(other)` row and column. */
const MAX_CELLS = 100_000;

/** Accumulates the cells of a {@link ReportPivot} in memory bounded by {@link MAX_CELLS}. */
export class PivotAccumulator {
  private readonly cells = new Map<string, Map<string, Group>>();
  private size = 0;

  constructor(
    readonly rows: ReportDimension,
    readonly columns: ReportDimension,
  ) {}

  /** The cells an event with these keys counts in (one per pair: tags make several). */
  groups(rowKeys: readonly string[], columnKeys: readonly string[]): Group[] {
    const groups: Group[] = [];
    for (const rowKey of rowKeys) for (const columnKey of columnKeys) groups.push(this.cell(rowKey, columnKey));
    return groups;
  }

  private cell(rowKey: string, columnKey: string): Group {
    let row = this.cells.get(rowKey);
    let group = row?.get(columnKey);
    if (group !== undefined) return group;
    if (this.size >= MAX_CELLS) {
      rowKey = OTHER;
      columnKey = OTHER;
      row = this.cells.get(rowKey);
      group = row?.get(columnKey);
      if (group !== undefined) return group;
    }
    if (row === undefined) {
      row = new Map();
      this.cells.set(rowKey, row);
    }
    group = emptyGroup();
    row.set(columnKey, group);
    this.size += 1;
    return group;
  }

  /**
   * The pivot; `rowGroups` and `columnGroups` are the two dimensions' breakdown
   * groups (the totals). `top` keeps that many keys per axis and pools the rest.
   */
  result(rowGroups: Map<string, Group>, columnGroups: Map<string, Group>, grand: PicoUsd, top: number | undefined): ReportPivot {
    const rowAxis = axis(this.rows, rowGroups, grand, top);
    const columnAxis = axis(this.columns, columnGroups, grand, top);
    const pooled = new Map<string, Map<string, Group>>();
    for (const [rowKey, row] of this.cells) {
      const shownRow = rowAxis.keyOf(rowKey);
      for (const [columnKey, group] of row) {
        const shownColumn = columnAxis.keyOf(columnKey);
        let target = pooled.get(shownRow);
        if (target === undefined) {
          target = new Map();
          pooled.set(shownRow, target);
        }
        let cell = target.get(shownColumn);
        if (cell === undefined) {
          cell = emptyGroup();
          target.set(shownColumn, cell);
        }
        mergeGroup(cell, group);
      }
    }
    const cells: ReportPivotCell[] = [];
    for (const rowKey of rowAxis.keys) {
      for (const columnKey of columnAxis.keys) {
        const group = pooled.get(rowKey)?.get(columnKey);
        if (group !== undefined) cells.push({ rowKey, columnKey, row: toRow(`${rowKey} × ${columnKey}`, group, grand) });
      }
    }
    return {
      rows: this.rows,
      columns: this.columns,
      rowKeys: rowAxis.keys,
      columnKeys: columnAxis.keys,
      rowTotals: rowAxis.totals,
      columnTotals: columnAxis.totals,
      cells,
    };
  }
}

interface Axis {
  keys: string[];
  totals: ReportRow[];
  /** The key an original key is shown under (itself, or the pooled key). */
  keyOf: (key: string) => string;
}

function axis(dimension: ReportDimension, groups: Map<string, Group>, grand: PicoUsd, top: number | undefined): Axis {
  const rows = [...groups].map(([key, group]) => toRow(key, group, grand));
  if (dimension === 'day') rows.sort((left, right) => compareKeys(left.key, right.key));
  else sortRows(rows);
  if (top === undefined || top < 0 || rows.length <= top) {
    return { keys: rows.map((row) => row.key), totals: rows, keyOf: (key) => key };
  }
  // Days keep the latest; other dimensions the most expensive.
  const kept = dimension === 'day' ? rows.slice(rows.length - top) : rows.slice(0, top);
  const cut = dimension === 'day' ? rows.slice(0, rows.length - top) : rows.slice(top);
  const pooledKey = `(${cut.length} more)`;
  const pooledGroup = emptyGroup();
  for (const row of cut) mergeGroup(pooledGroup, groups.get(row.key) as Group);
  const keptKeys = new Set(kept.map((row) => row.key));
  const pooledRow = toRow(pooledKey, pooledGroup, grand);
  return {
    // Pooled days are the earliest: first, as in the day breakdown.
    keys: dimension === 'day' ? [pooledKey, ...kept.map((row) => row.key)] : [...kept.map((row) => row.key), pooledKey],
    totals: dimension === 'day' ? [pooledRow, ...kept] : [...kept, pooledRow],
    keyOf: (key) => (keptKeys.has(key) ? key : pooledKey),
  };
}
