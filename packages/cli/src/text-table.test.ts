import { describe, expect, it } from 'vitest';
import { renderTextTable, textWidth, truncateMiddle, wrapText, type TextColumn } from './text-table.js';

const columns: TextColumn[] = [
  { header: 'cost', align: 'right', priority: Number.POSITIVE_INFINITY },
  { header: 'least', align: 'right', priority: 10 },
  { header: 'tokens', compactHeader: 'tok', align: 'right', priority: 50 },
  { header: 'most', align: 'right', priority: 80 },
];
const rows = [
  {
    key: 'support-agent/researcher/search/very-long-step-name',
    cells: ['$0.01125', 'xxxxxxxxxx', { full: '1,234,567', compact: '1.2M' }, 'yyyyyy'],
  },
  { key: 'short', cells: ['$1.00', 'x', { full: '12', compact: '12' }, 'y'] },
];

describe('renderTextTable', () => {
  it('fits as it is when it can', () => {
    const lines = renderTextTable({ keyHeader: 'Key', columns, rows, width: 200 });
    expect(lines[1]).toMatch(/│ Key +│ +cost │ +least │ +tokens │ +most │/);
    expect(lines[2]).toContain('support-agent/researcher/search/very-long-step-name');
    expect(lines[2]).toContain('1,234,567');
  });

  it('compacts, then drops the lowest priority first, then cuts keys in the middle; every line fits', () => {
    for (const width of [80, 60, 50, 40, 30]) {
      const lines = renderTextTable({ keyHeader: 'Key', columns, rows, width });
      for (const line of lines) expect(textWidth(line)).toBeLessThanOrEqual(width);
    }
    const at60 = renderTextTable({ keyHeader: 'Key', columns, rows, width: 60 });
    expect(at60[1]).not.toContain('least');
    expect(at60[1]).toContain('tok');
    expect(at60[2]).toContain('1.2M');
    const at40 = renderTextTable({ keyHeader: 'Key', columns, rows, width: 40 });
    expect(at40[1]).toContain('most');
    expect(at40[2]).toMatch(/│ support-…ep-name │/);
  });

  it('leaves out a column with no text in any row', () => {
    const lines = renderTextTable({ keyHeader: 'Key', columns, rows: [{ key: 'a', cells: ['$1.00', '', '', 'z'] }], width: 80 });
    expect(lines[1]).not.toContain('least');
    expect(lines[1]).toContain('most');
  });
});

describe('text helpers', () => {
  it('truncateMiddle keeps both ends', () => {
    expect(truncateMiddle('claude-sonnet-4-20250514', 12)).toBe('claude…50514');
    expect(textWidth(truncateMiddle('claude-sonnet-4-20250514', 12))).toBe(12);
    expect(truncateMiddle('short', 12)).toBe('short');
  });

  it('wrapText wraps at spaces with an indent and cuts words longer than a line', () => {
    const lines = wrapText('one two three four five six seven eight', 15);
    expect(lines).toEqual(['one two three', '  four five six', '  seven eight']);
    const long = wrapText(`path ${'x'.repeat(40)}`, 20);
    for (const line of long) expect(textWidth(line)).toBeLessThanOrEqual(20);
  });
});
