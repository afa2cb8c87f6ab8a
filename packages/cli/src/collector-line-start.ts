/*
 * Telling a collector's line (one whole OTLP/JSON export request, thousands of records) from an
 * event line by how it starts, for the scanner's line limits (read-events.ts).
 */

const COLLECTOR_LINE_STARTS = ['Logs', '_logs', 'Spans', '_spans', 'Metrics', '_metrics', 'Profiles', '_profiles'].map((signal) =>
  Buffer.from(`{"resource${signal}"`, 'latin1'),
);

/** Whether the line at `offset` starts as a collector's OTLP/JSON logs request does. */
export function isCollectorLineStart(head: Buffer, offset: number): boolean {
  // Checked on every line: the common case (`{"a`, `{"e`: an event's first key) is told by its third byte.
  if (head[offset + 2] !== 0x72) return false;
  return COLLECTOR_LINE_STARTS.some(
    (start) => head.length - offset >= start.length && head.compare(start, 0, start.length, offset, offset + start.length) === 0,
  );
}

/** Bytes a line's start is checked over: the longest collector start. */
const COLLECTOR_START_BYTES = Math.max(...COLLECTOR_LINE_STARTS.map((start) => start.length));

/**
 * The first bytes of a line that began in an earlier chunk: its first piece, or, when a read ended
 * within its first few bytes, those pieces and the current chunk's bytes from `start` joined (else
 * a collector line cut there would be told from its first few bytes alone and get the smaller limit).
 */
export function pendingHead(pending: readonly Buffer[], chunk: Buffer, start: number): Buffer {
  const first = pending[0] as Buffer;
  if (first.length >= COLLECTOR_START_BYTES) return first;
  return Buffer.concat([...pending, chunk.subarray(start, start + COLLECTOR_START_BYTES)]).subarray(0, COLLECTOR_START_BYTES);
}
