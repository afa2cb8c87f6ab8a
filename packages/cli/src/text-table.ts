import { displayText, textWidth, truncateMiddle } from './display-text.js';

/** A cell: one text, or a full text and a compact one used when the table does not fit. */
export type TextCell = string | { full: string; compact: string };

/** A column of a {@link renderTextTable} table after the first (key) column. */
export interface TextColumn {
  header: string;
  /** Header when the table is compacted. Default `header`. */
  compactHeader?: string;
  align: 'left' | 'right';
  /**
   * How long the column stays when the table is too wide: lowest goes first;
   * `Infinity` is never dropped. Columns of priority below 40 go before long
   * keys are cut to 32 characters, below 70 before 20, below 90 before 12.
   */
  priority: number;
}

/** Options of {@link renderTextTable}. */
export interface TextTableOptions {
  /** Header of the first column (left-aligned keys, cut in the middle when the table is too wide). */
  keyHeader: string;
  columns: readonly TextColumn[];
  /** Each row: its key, then one cell per column. */
  rows: ReadonlyArray<{ key: string; cells: readonly TextCell[] }>;
  /** Terminal columns the table must fit in. */
  width: number;
  /** Keys are not cut below this many columns while any column can still be dropped. Default 4. */
  minKeyWidth?: number;
}

export { displayText, textWidth, truncateMiddle } from './display-text.js';

/**
 * Wraps `text` at spaces into lines of at most `width` columns; continuation
 * lines start with `indent`. A word longer than a line is cut in the middle.
 * Control characters (a newline in a tag value) are shown as escapes.
 */
export function wrapText(text: string, width: number, indent = '  '): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of displayText(text).split(' ')) {
    const prefix = lines.length === 0 ? '' : indent;
    const candidate = line === '' ? `${prefix}${word}` : `${line} ${word}`;
    if (textWidth(candidate) <= width) {
      line = candidate;
      continue;
    }
    if (line !== '' && line !== prefix) lines.push(line);
    const fresh = `${lines.length === 0 ? '' : indent}${word}`;
    line =
      textWidth(fresh) <= width
        ? fresh
        : `${lines.length === 0 ? '' : indent}${truncateMiddle(word, width - (lines.length === 0 ? 0 : textWidth(indent)))}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

const cellText = (cell: TextCell | undefined, compact: boolean): string =>
  displayText(cell === undefined ? '' : typeof cell === 'string' ? cell : compact ? cell.compact : cell.full);

const pad = (text: string, width: number, align: 'left' | 'right'): string => {
  const fill = ' '.repeat(Math.max(0, width - textWidth(text)));
  return align === 'left' ? `${text}${fill}` : `${fill}${text}`;
};

// Phases of fitting: each lets keys be cut to `keyFloor` and columns below `dropBelow` be dropped.
const PHASES = [
  { keyFloor: Number.POSITIVE_INFINITY, dropBelow: 0 },
  { keyFloor: 32, dropBelow: 40 },
  { keyFloor: 20, dropBelow: 70 },
  { keyFloor: 12, dropBelow: 90 },
  { keyFloor: 4, dropBelow: Number.POSITIVE_INFINITY },
] as const;

/**
 * A bordered table (`│ key │ a │ b │`) that fits in `width` columns: when too
 * wide, cells switch to their compact form, then columns are dropped by
 * priority while long keys are cut in the middle, in the phases described on
 * {@link TextColumn.priority}. Control characters in keys and cells are shown as
 * escapes. Returns the lines, without newlines.
 */
export function renderTextTable(options: TextTableOptions): string[] {
  const { columns } = options;
  const rows = options.rows.map((row) => ({ key: displayText(row.key), cells: row.cells }));
  const naturalKey = Math.max(textWidth(options.keyHeader), ...rows.map((row) => textWidth(row.key)));
  // A column with no text in any row says nothing: left out.
  const shown = new Set(columns.map((_, index) => index).filter((index) => rows.some((row) => cellText(row.cells[index], false) !== '')));
  const minKeyWidth = options.minKeyWidth ?? 4;
  const widthOf = (index: number, compact: boolean): number => {
    const column = columns[index] as TextColumn;
    const header = compact ? (column.compactHeader ?? column.header) : column.header;
    return Math.max(textWidth(header), ...rows.map((row) => textWidth(cellText(row.cells[index], compact))));
  };
  const othersWidth = (compact: boolean): number => [...shown].reduce((sum, index) => sum + widthOf(index, compact) + 3, 0);
  const fits = (compact: boolean, keyFloor: number): boolean => Math.min(naturalKey, keyFloor) + 4 + othersWidth(compact) <= options.width;
  let compact = false;
  let done = fits(false, naturalKey);
  for (const [position, phase] of PHASES.entries()) {
    if (done) break;
    compact = true;
    const last = position === PHASES.length - 1;
    const keyFloor = last ? phase.keyFloor : Math.max(phase.keyFloor, minKeyWidth);
    if (fits(true, keyFloor)) break;
    const droppable = [...shown]
      .filter(
        (index) => (columns[index] as TextColumn).priority < (last ? phase.dropBelow : minKeyWidth > phase.keyFloor ? 90 : phase.dropBelow),
      )
      .sort((left, right) => (columns[left] as TextColumn).priority - (columns[right] as TextColumn).priority || right - left);
    for (const index of droppable) {
      shown.delete(index);
      if (fits(true, keyFloor)) {
        done = true;
        break;
      }
    }
  }
  const visible = [...shown].sort((left, right) => left - right);
  const widths = visible.map((index) => widthOf(index, compact));
  const keyWidth = Math.max(1, Math.min(naturalKey, options.width - 4 - widths.reduce((sum, width) => sum + width + 3, 0)));
  const allWidths = [keyWidth, ...widths];
  const border = (left: string, middle: string, right: string): string =>
    `${left}${allWidths.map((width) => '─'.repeat(width + 2)).join(middle)}${right}`;
  const line = (key: string, cells: string[]): string =>
    `│ ${[pad(truncateMiddle(key, keyWidth), keyWidth, 'left'), ...cells.map((cell, position) => pad(cell, widths[position] as number, (columns[visible[position] as number] as TextColumn).align))].join(' │ ')} │`;
  const header = visible.map((index) => {
    const column = columns[index] as TextColumn;
    return compact ? (column.compactHeader ?? column.header) : column.header;
  });
  return [
    border('┌', '┬', '┐'),
    line(options.keyHeader, header),
    ...rows.map((row) =>
      line(
        row.key,
        visible.map((index) => cellText(row.cells[index], compact)),
      ),
    ),
    border('└', '┴', '┘'),
  ];
}
