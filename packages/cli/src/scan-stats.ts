// The counters of a scan (read-events.ts), and what their skip reasons are called.

/** Why a line was skipped. */
export type SkipReason = 'malformed' | 'oversized' | 'unterminated' | 'unknown_event_type' | 'invalid_event';

/** Human wording of each {@link SkipReason}, for summaries. */
export const SKIP_REASON_TEXT: Readonly<Record<SkipReason, string>> = {
  malformed: 'malformed JSON',
  oversized: 'line too long',
  unterminated: 'unterminated last line',
  unknown_event_type: 'unknown event type',
  invalid_event: 'invalid event',
};

/** Where a line came from. */
export interface LineLocation {
  /** File path, or `-` for standard input. */
  file: string;
  /** 1-based line number within the file. */
  line: number;
}

/** One skipped line, kept as an example for the summary. */
export interface SkippedLine extends LineLocation {
  reason: SkipReason;
  detail: string;
}

/** Counters of one scan. Nothing is skipped silently. */
export interface ScanStats {
  /** Bytes read from the inputs (compressed bytes for gzip). */
  bytes: number;
  /** Non-blank lines seen. */
  lines: number;
  /** Valid events handed on (duplicates excluded). */
  events: number;
  /** Cost events read from OpenTelemetry Collector (OTLP/JSON) lines, duplicates included. */
  otlpRecords: number;
  /** Log records in collector lines that are not cost events (other logs of the same collector), ignored. */
  otherLogRecords: number;
  /** Collector lines of traces, metrics or profiles (a file exporter shared by several pipelines), ignored. */
  otherTelemetryLines: number;
  /** Valid events dropped because their `event_id` was seen before (OTLP delivers at least once). */
  duplicates: number;
  /** Lines skipped, in total and by reason. */
  skipped: number;
  skippedByReason: Record<SkipReason, number>;
  /** The first few skipped lines, for messages. */
  examples: SkippedLine[];
  /**
   * Inputs whose gzip stream ends early (a writer killed mid-write), as given (`-` for standard
   * input), each once: the lines before the cut are read, a line the cut fell in is skipped (`unterminated`).
   */
  truncatedInputs: string[];
}

/** Fresh, zero {@link ScanStats}. */
export function emptyScanStats(): ScanStats {
  return {
    bytes: 0,
    lines: 0,
    events: 0,
    otlpRecords: 0,
    otherLogRecords: 0,
    otherTelemetryLines: 0,
    duplicates: 0,
    skipped: 0,
    skippedByReason: { malformed: 0, oversized: 0, unterminated: 0, unknown_event_type: 0, invalid_event: 0 },
    examples: [],
    truncatedInputs: [],
  };
}
