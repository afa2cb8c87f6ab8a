import { stat } from 'node:fs/promises';
import type { CostEvent } from '@costspan/sdk';
import type { UnreadField } from './canonical-keys.js';
import { CanonicalLineReader } from './canonical-line.js';
import { CliError } from './cli-error.js';
import { isCollectorLineStart, pendingHead } from './collector-line-start.js';
import { EventIdSet } from './event-id-set.js';
import { emptyRecord, recordFromEvent, type EventRecord } from './event-record.js';
import { countBytes, decompressed, fileChunks } from './input-streams.js';
import { emptyScanStats, type LineLocation, type ScanStats, type SkipReason } from './scan-stats.js';
import type * as SlowLine from './slow-line.js';

// Lines the fast path does not take are validated by the SDK, loaded on the first such line:
// a report over canonical lines never loads it (its import costs ~0.4 s and ~28 MB).
type SlowPath = typeof SlowLine;

export { describeDuplicates, describeSkipped } from './scan-summary.js';
export { emptyScanStats, SKIP_REASON_TEXT } from './scan-stats.js';
export type { LineLocation, ScanStats, SkippedLine, SkipReason } from './scan-stats.js';

/** Receives progress in bytes; see `progress.ts`. */
export interface ProgressSink {
  start(totalBytes: number): void;
  update(bytesRead: number): void;
  stop(): void;
}

/** Options of {@link EventScanner}. */
export interface EventScannerOptions {
  /** Longest line accepted, in bytes; longer lines are skipped without being buffered. Default 1 MiB. */
  maxLineBytes?: number;
  /**
   * Longest OpenTelemetry Collector line (one whole export request, starting `{"resourceLogs"`)
   * accepted, in bytes; never less than `maxLineBytes`. Default 64 MiB: a collector batches
   * thousands of records into one line.
   */
  maxCollectorLineBytes?: number;
  /** Stream read for the input `-`. Default `process.stdin`. */
  stdin?: NodeJS.ReadableStream;
  /** Told of bytes read, when inputs have a known size. */
  progress?: ProgressSink;
  /** Skipped lines kept as examples. Default 5. */
  maxExamples?: number;
  /**
   * Hand on each `event_id` once, across every input and scan, counting the rest in
   * {@link ScanStats.duplicates}. Default true; `verify` turns it off to see replays.
   */
  deduplicate?: boolean;
}

/** Called for each valid event. `raw` is the line as read. */
export type EventHandler = (event: CostEvent, location: LineLocation) => void;

/** Called for each valid event as a flat record (reused: read it during the call, never keep it). */
export type RecordHandler = (record: EventRecord) => void;

/** What one scan hands its events to. */
interface Sink {
  onEvent: EventHandler;
  /** With it, canonical lines are read by the fast path straight into a record. */
  onRecord: RecordHandler | undefined;
  /** Record fields the fast path may leave undefined. */
  unread: readonly UnreadField[];
}

const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
const DEFAULT_MAX_COLLECTOR_LINE_BYTES = 64 * 1024 * 1024;
// Logs, and the other signals a shared file exporter writes (read, then ignored).
const NEWLINE = 0x0a;

/**
 * Checks that every input exists and can be read, before anything is printed.
 *
 * @throws CliError `input_not_found` (exit 2) naming the first missing file
 */
export async function checkInputs(inputs: readonly string[]): Promise<void> {
  for (const input of inputs) {
    if (input === '-') continue;
    try {
      const info = await stat(input);
      if (info.isDirectory()) throw new CliError({ code: 'input_not_found', message: `${input} is a directory, not an event file` });
    } catch (error) {
      if (CliError.isInstance(error)) throw error;
      throw new CliError({
        code: 'input_not_found',
        message: `cannot read ${input}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
        cause: error,
      });
    }
  }
}

/**
 * Reads cost events from JSONL files, OpenTelemetry Collector `file` exporter
 * output (OTLP/JSON, one request a line; see `otlp-records.ts`) and standard
 * input, mixed freely and told apart by content: bytes are split into lines as
 * they stream by (never a whole file in memory), gzip is detected by its magic
 * bytes, whatever the file is called, each `event_id` is handed on once (about 20 bytes
 * of memory an event; duplicates are counted), and every bad line
 * (malformed JSON, unknown event type, invalid fields, an unterminated last
 * line, a line over `maxLineBytes`) is skipped and counted
 * in {@link EventScanner.stats}. A gzip input cut short is read up to the cut and listed in
 * {@link ScanStats.truncatedInputs}. An over-long line is discarded as it streams,
 * so a 10 GB line costs no more memory than a short one.
 *
 * @example
 * ```ts
 * const scanner = new EventScanner();
 * await scanner.scan(['events.jsonl.gz', '-'], (event) => console.log(event.event_type));
 * console.error(scanner.stats.skipped, 'lines skipped');
 * ```
 */
export class EventScanner {
  /** Counters across every scan made by this scanner. */
  readonly stats: ScanStats = emptyScanStats();
  private readonly maxLineBytes: number;
  private readonly maxCollectorLineBytes: number;
  private readonly maxExamples: number;
  private readonly options: EventScannerOptions;
  private readonly seen: EventIdSet | undefined;
  private reader: { unread: readonly UnreadField[]; reader: CanonicalLineReader } | undefined;
  private slow: SlowPath | undefined;

  constructor(options: EventScannerOptions = {}) {
    this.options = options;
    this.maxLineBytes = options.maxLineBytes !== undefined && options.maxLineBytes > 0 ? options.maxLineBytes : DEFAULT_MAX_LINE_BYTES;
    this.maxExamples = options.maxExamples ?? 5;
    this.maxCollectorLineBytes = Math.max(this.maxLineBytes, options.maxCollectorLineBytes ?? DEFAULT_MAX_COLLECTOR_LINE_BYTES);
    this.seen = options.deduplicate === false ? undefined : new EventIdSet();
  }

  /**
   * Streams every input in order, calling `onEvent` for each valid event.
   *
   * @throws CliError `input_not_found` (exit 2) or `input_error` when an input cannot be read or
   * decompressed (corrupt gzip; a gzip stream that merely ends early is read up to the cut)
   */
  async scan(inputs: readonly string[], onEvent: EventHandler): Promise<void> {
    await this.scanAll(inputs, { onEvent, onRecord: undefined, unread: [] });
  }

  /**
   * {@link EventScanner.scan} for readers that need only a report's fields: each valid
   * event is handed on as a flat {@link EventRecord}. Canonical lines (what the SDK
   * writes) are read straight into it without building the event (`canonical-line.ts`);
   * every other line is parsed and validated as by `scan`, with the same counts and skips.
   * Fields in `options.unread` may be left unread (undefined; tag keys `[(none)]`): less work a line.
   *
   * @throws CliError as {@link EventScanner.scan}
   */
  async scanRecords(inputs: readonly string[], onRecord: RecordHandler, options: { unread?: readonly UnreadField[] } = {}): Promise<void> {
    const record = emptyRecord();
    const unread = options.unread ?? [];
    await this.scanAll(inputs, { onEvent: (event) => onRecord(recordFromEvent(event, record)), onRecord, unread });
  }

  private async scanAll(inputs: readonly string[], sink: Sink): Promise<void> {
    await checkInputs(inputs);
    const progress = this.options.progress;
    let totalBytes = 0;
    const sizes: number[] = [];
    for (const input of inputs) {
      const size = input === '-' ? 0 : (await stat(input)).size;
      sizes.push(size);
      totalBytes += size;
    }
    progress?.start(totalBytes);
    const startBytes = this.stats.bytes;
    try {
      for (const [index, input] of inputs.entries()) {
        const onBytes = progress === undefined ? undefined : () => progress.update(this.stats.bytes - startBytes);
        await this.scanOne(input, sink, onBytes, sizes[index] as number);
      }
    } finally {
      progress?.stop();
    }
  }

  private async slowPath(): Promise<SlowPath> {
    return (this.slow ??= await import('./slow-line.js'));
  }

  /** A canonical line read by the fast path and handed on; false when it must take the slow path. */
  private fastLine(bytes: Buffer, start: number, end: number, onRecord: RecordHandler, unread: readonly UnreadField[]): boolean {
    // One reader (its caches) for every scan asking for the same fields.
    if (this.reader === undefined || this.reader.unread !== unread)
      this.reader = { unread, reader: new CanonicalLineReader(emptyRecord(), unread) };
    const reader = this.reader.reader;
    if (!reader.read(bytes, start, end)) return false;
    const stats = this.stats;
    stats.lines += 1;
    if (this.seen !== undefined && !this.seen.addAt(bytes, reader.idOffset)) {
      stats.duplicates += 1;
      return true;
    }
    stats.events += 1;
    onRecord(reader.record);
    return true;
  }

  private async scanOne(input: string, sink: Sink, onBytes: (() => void) | undefined, size: number): Promise<void> {
    const stats = this.stats;
    const raw: AsyncIterable<Buffer> = input === '-' ? ((this.options.stdin ?? process.stdin) as AsyncIterable<Buffer>) : fileChunks(input);
    const counted = countBytes(raw, (count) => {
      stats.bytes += count;
      onBytes?.();
    });
    const cut = { short: false };
    const chunks = decompressed(counted, input === '-' ? 'standard input' : input, { onTruncated: () => (cut.short = true) });
    const onRecord = sink.onRecord;

    const maxLineBytes = this.maxLineBytes;
    const maxCollectorLineBytes = this.maxCollectorLineBytes;
    // A collector line holds a whole batch of records: it gets the larger limit, told by how it starts.
    const limitOf = (head: Buffer | undefined, offset: number): number =>
      head !== undefined && isCollectorLineStart(head, offset) ? maxCollectorLineBytes : maxLineBytes;
    let limit = maxLineBytes;
    let lineNumber = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let discarding = false;
    let first = true;
    // A file's size, to reserve room for its event ids once its first chunk is read.
    let reserveFor = input === '-' || this.seen === undefined ? 0 : size;
    try {
      for await (const chunk of chunks) {
        let start = 0;
        if (first && chunk.length > 0) {
          first = false;
          if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
        }
        for (;;) {
          const newline = chunk.indexOf(NEWLINE, start);
          if (newline === -1) {
            const rest = chunk.length - start;
            if (!discarding && rest > 0) {
              limit = pendingBytes === 0 ? limitOf(chunk, start) : limitOf(pendingHead(pending, chunk, start), 0);
              if (pendingBytes + rest > limit) {
                discarding = true;
                pending = [];
                pendingBytes = 0;
              } else {
                // A copy: the chunk's buffer is reused for the next read.
                pending.push(Buffer.from(chunk.subarray(start)));
                pendingBytes += rest;
              }
            }
            break;
          }
          lineNumber += 1;
          if (!discarding) limit = pendingBytes === 0 ? limitOf(chunk, start) : limitOf(pendingHead(pending, chunk, start), 0);
          if (discarding) {
            discarding = false;
            stats.lines += 1;
            this.skip('oversized', input, lineNumber, `longer than ${limit} bytes`);
          } else if (newline - start + pendingBytes > limit) {
            stats.lines += 1;
            this.skip('oversized', input, lineNumber, `longer than ${limit} bytes`);
            pending = [];
            pendingBytes = 0;
          } else if (pendingBytes === 0) {
            if (onRecord === undefined || !this.fastLine(chunk, start, newline, onRecord, sink.unread)) {
              const slow = this.slow ?? (await this.slowPath());
              this.line(slow, chunk.toString('utf8', start, newline), { file: input, line: lineNumber }, sink.onEvent);
            }
          } else {
            // A line across chunks, with its newline (which ends the fast path's scans).
            pending.push(chunk.subarray(start, newline + 1));
            const bytes = Buffer.concat(pending);
            pending = [];
            pendingBytes = 0;
            const end = bytes.length - 1;
            if (onRecord === undefined || !this.fastLine(bytes, 0, end, onRecord, sink.unread)) {
              const slow = this.slow ?? (await this.slowPath());
              this.line(slow, bytes.toString('utf8', 0, end), { file: input, line: lineNumber }, sink.onEvent);
            }
          }
          start = newline + 1;
        }
        if (reserveFor > 0 && lineNumber > 0) {
          // The first chunk tells the average line: room for the file's ids up front (see EventIdSet.reserve).
          this.seen?.reserve(Math.min(Math.ceil((reserveFor / chunk.length) * lineNumber * 1.02), Math.ceil(reserveFor / 100)));
          reserveFor = 0;
        }
      }
    } catch (error) {
      if (CliError.isInstance(error)) throw error;
      throw new CliError({
        code: 'input_error',
        message: `cannot read ${input === '-' ? 'standard input' : input}: ${(error as Error).message}`,
        cause: error,
      });
    }
    if (cut.short && !stats.truncatedInputs.includes(input)) stats.truncatedInputs.push(input);
    if (discarding || pendingBytes > 0) {
      lineNumber += 1;
      const text = discarding ? '' : Buffer.concat(pending).toString('utf8');
      if (discarding || text.trim() !== '') {
        stats.lines += 1;
        if (discarding) this.skip('oversized', input, lineNumber, `longer than ${limit} bytes`);
        // The SDK writes each line whole with its newline: a line without one is a torn write.
        else if (cut.short) this.skip('unterminated', input, lineNumber, 'cut off where the gzip stream ends early');
        else this.skip('unterminated', input, lineNumber, 'no newline at end of file (an interrupted write?)');
      }
    }
  }

  private line(slow: SlowPath, rawText: string, location: LineLocation, onEvent: EventHandler): void {
    const text = rawText.endsWith('\r') ? rawText.slice(0, -1) : rawText;
    if (text.length === 0 || text.trim().length === 0) return;
    this.stats.lines += 1;
    const { file, line: lineNumber } = location;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.skip('malformed', file, lineNumber, (error as Error).message);
      return;
    }
    if (slow.isOtlpLogsRequest(value)) {
      this.otlpLine(slow, value, location, onEvent);
      return;
    }
    if (slow.isOtherOtlpRequest(value)) {
      this.stats.otherTelemetryLines += 1;
      return;
    }
    // Keys such as `__proto__`, `constructor` or `prototype` (tag keys the SDK writes) are read like
    // any other: JSON.parse makes them own data properties, and everything downstream reads them
    // as own properties or keys of Maps, never assigns them onto plain objects.
    const type = (value as { event_type?: unknown } | null)?.event_type;
    if (typeof value === 'object' && value !== null && !(slow.COST_EVENT_TYPES as readonly unknown[]).includes(type)) {
      this.skip('unknown_event_type', file, lineNumber, `event_type ${JSON.stringify(type) ?? 'missing'}`);
      return;
    }
    let event: CostEvent;
    try {
      event = slow.validateCostEvent(value);
    } catch (error) {
      this.skip('invalid_event', file, lineNumber, (error as Error).message);
      return;
    }
    this.accept(event, location, onEvent);
  }

  /** One collector line: every cost-event log record in it, validated like a JSONL line; other records are counted. */
  private otlpLine(slow: SlowPath, request: Record<string, unknown>, location: LineLocation, onEvent: EventHandler): void {
    const contents = slow.otlpLineContents(request);
    this.stats.otherLogRecords += contents.foreign;
    for (const [index, value] of contents.events.entries()) {
      this.stats.otlpRecords += 1;
      let event: CostEvent;
      try {
        event = slow.validateCostEvent(value);
      } catch (error) {
        this.skip('invalid_event', location.file, location.line, `log record ${index + 1}: ${(error as Error).message}`);
        continue;
      }
      this.accept(event, location, onEvent);
    }
  }

  private accept(event: CostEvent, location: LineLocation, onEvent: EventHandler): void {
    if (this.seen !== undefined && !this.seen.add(event.event_id)) {
      this.stats.duplicates += 1;
      return;
    }
    this.stats.events += 1;
    onEvent(event, location);
  }

  private skip(reason: SkipReason, file: string, line: number, detail: string): void {
    this.stats.skipped += 1;
    this.stats.skippedByReason[reason] += 1;
    if (this.stats.examples.length < this.maxExamples) this.stats.examples.push({ file, line, reason, detail });
  }
}
