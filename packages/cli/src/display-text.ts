// Terminal display of texts that come from events (model, agent, user and tag names): their
// width in terminal columns, and control characters made visible so a name cannot break a
// line or send escape sequences to the terminal.

/** C0 and C1 controls, DEL, and the bidirectional overrides and isolates (which reorder a line). */
function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}
const ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
// Combining marks, format characters (zero-width joiner, variation selectors, ...): no column.
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
// Emoji shown as emoji by default: two columns, as East Asian wide characters.
const EMOJI = /^\p{Emoji_Presentation}$/u;
// East Asian Wide and Fullwidth blocks (Unicode's EastAsianWidth W and F), as [first, last].
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1b000, 0x1b2ff],
  [0x20000, 0x3fffd],
];

/** `text` with control characters written as escapes (`\n`, `\t`, `\u001b`): one line, no terminal sequences. */
export function displayText(text: string): string {
  let clean = true;
  for (let index = 0; index < text.length; index += 1) if (isControl(text.charCodeAt(index))) clean = false;
  if (clean) return text;
  let out = '';
  for (const character of text) {
    const code = character.codePointAt(0) as number;
    out += isControl(code) ? (ESCAPES[character] ?? `\\u${code.toString(16).padStart(4, '0')}`) : character;
  }
  return out;
}

/** Terminal columns of one code point: 0 for combining and format characters, 2 for wide ones, else 1. */
export function charWidth(character: string): number {
  const code = character.codePointAt(0) as number;
  if (code < 0x300) return 1;
  if (ZERO_WIDTH.test(character)) return 0;
  if (EMOJI.test(character)) return 2;
  return WIDE.some(([first, last]) => code >= first && code <= last) ? 2 : 1;
}

/** Display width of a text in terminal columns (box drawing, `…`, `×`, `▲` and `≥` are narrow; CJK and emoji wide). */
export function textWidth(text: string): number {
  let width = 0;
  for (const character of text) width += charWidth(character);
  return width;
}

/** The longest start of `characters` that fits in `width` columns. */
function headOf(characters: readonly string[], width: number): string[] {
  const head: string[] = [];
  let used = 0;
  for (const character of characters) {
    const next = used + charWidth(character);
    if (next > width) break;
    head.push(character);
    used = next;
  }
  return head;
}

/** `text` cut to `width` columns in the middle: `support-agent/re…/search`. */
export function truncateMiddle(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  const characters = [...text];
  if (width <= 1) return headOf(characters, width).join('');
  const head = headOf(characters, Math.ceil((width - 1) / 2));
  const tail = headOf([...characters].reverse(), width - 1 - textWidth(head.join(''))).reverse();
  return `${head.join('')}…${tail.join('')}`;
}
