import { describe, expect, it } from 'vitest';
import { charWidth, displayText, textWidth, truncateMiddle } from './display-text.js';
import { renderTextTable, wrapText, type TextColumn } from './text-table.js';

const columns: TextColumn[] = [
  { header: 'cost', align: 'right', priority: Number.POSITIVE_INFINITY },
  { header: 'calls', align: 'right', priority: 50 },
];

describe('display text', () => {
  it('counts CJK and emoji as two columns, combining marks as none, the table glyphs as one', () => {
    expect(textWidth('田中')).toBe(4);
    expect(textWidth('ünï→😀')).toBe(6);
    expect(textWidth('e\u0301')).toBe(1);
    for (const glyph of ['│', '…', '×', '▲', '≥', '─']) expect(charWidth(glyph)).toBe(1);
  });

  it('cuts wide texts in the middle to at most the width, never splitting a character', () => {
    const cut = truncateMiddle('研究エージェント/検索/とても長いステップ名', 12);
    expect(textWidth(cut)).toBeLessThanOrEqual(12);
    expect(cut).toMatch(/^研究エ…/);
    expect(truncateMiddle('😀😀😀😀😀😀', 5)).toBe('😀…😀');
    expect(truncateMiddle('claude-sonnet-4-20250514', 12)).toBe('claude…50514');
  });

  it('shows control characters as escapes: a newline or an escape sequence in a name stays on its line', () => {
    expect(displayText('v\nnew\tx\r')).toBe('v\\nnew\\tx\\r');
    expect(displayText('b\u001b[31mRED\u202e')).toBe('b\\u001b[31mRED\\u202e');
    expect(displayText('plain ü 田')).toBe('plain ü 田');
  });

  it('a table of unicode, emoji and multi-line keys fits its width, one line per row', () => {
    const rows = [
      { key: 'ünï→😀==HYPERLINK("x")', cells: ['$0.01355 ! 1 unpriced', '6'] },
      { key: `${'k'.repeat(200)}=v\nnew`, cells: ['$0.01355', '6'] },
      { key: 'b|o\u001b[31mRED\u001b[0m', cells: ['$0.00564', '3'] },
      { key: '田中太郎/検索エージェント', cells: ['$1.00', '1'] },
    ];
    for (const width of [80, 50, 30]) {
      const lines = renderTextTable({ keyHeader: 'Tag', columns, rows, width });
      expect(lines).toHaveLength(rows.length + 3);
      for (const line of lines) {
        expect(textWidth(line)).toBeLessThanOrEqual(width);
        expect([...line].some((character) => (character.codePointAt(0) as number) < 0x20)).toBe(false);
      }
      // Every row ends at the same column as the border.
      for (const line of lines) expect(textWidth(line)).toBe(textWidth(lines[0] as string));
    }
    const wrapped = wrapText('for whom: tag:k=v\nnew $0.01, user:b\u001b[31m $0.02', 80);
    expect(wrapped).toEqual(['for whom: tag:k=v\\nnew $0.01, user:b\\u001b[31m $0.02']);
  });
});
