import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { terminalWidth } from './terminal-width.js';

describe('terminalWidth', () => {
  it("is the terminal's columns on a TTY, else COLUMNS, else 80; never under 20", () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 132 });
    expect(terminalWidth(tty, { COLUMNS: '100' })).toBe(132);
    expect(terminalWidth(new PassThrough(), { COLUMNS: '100' })).toBe(100);
    expect(terminalWidth(new PassThrough(), {})).toBe(80);
    expect(terminalWidth(new PassThrough(), { COLUMNS: 'wide' })).toBe(80);
    expect(terminalWidth(new PassThrough(), { COLUMNS: '5' })).toBe(20);
  });
});
