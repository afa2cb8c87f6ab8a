import { displayText } from './display-text.js';
import { SKIP_REASON_TEXT, type ScanStats, type SkipReason } from './scan-stats.js';

// What a scan tells a person at its end (stderr lines).

/**
 * One line for standard error summarising skipped lines, or `undefined` when none were.
 * E.g. `skipped 3 of 1003 lines: 1 malformed JSON, 2 unknown event type (first: a.jsonl:7 ...)`.
 */
export function describeSkipped(stats: ScanStats): string | undefined {
  if (stats.skipped === 0) return undefined;
  const parts = (Object.keys(stats.skippedByReason) as SkipReason[])
    .filter((reason) => stats.skippedByReason[reason] > 0)
    .map((reason) => `${stats.skippedByReason[reason]} ${SKIP_REASON_TEXT[reason]}`);
  const lines = [`skipped ${stats.skipped} of ${stats.lines} lines: ${parts.join(', ')}`];
  for (const example of stats.examples) {
    // The detail quotes the damaged line: its control characters (an escape sequence) are shown, not sent to the terminal.
    lines.push(
      `  ${displayText(example.file)}:${example.line}: ${SKIP_REASON_TEXT[example.reason]}: ${truncate(displayText(example.detail), 160)}`,
    );
  }
  return lines.join('\n');
}

/**
 * One line for standard error about events read twice, or `undefined` when none were.
 * Not a problem: a collector retrying a batch delivers its records again.
 */
export function describeDuplicates(stats: ScanStats): string | undefined {
  if (stats.duplicates === 0) return undefined;
  const plural = stats.duplicates === 1 ? 'event was' : 'events were';
  return `${stats.duplicates} duplicate ${plural} counted once (same event_id, e.g. a collector's retried batch)`;
}

function truncate(text: string, length: number): string {
  const characters = [...text];
  return characters.length > length ? `${characters.slice(0, length - 3).join('')}...` : text;
}
