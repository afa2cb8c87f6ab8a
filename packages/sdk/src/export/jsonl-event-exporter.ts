import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { CostspanError, millisecondsOption } from '@costspan/core';
import { serializeEvent, type CostEvent } from '../events/cost-event.js';
import { ACCEPTS_LINES, type EncodedLineExporter, type EventExportResult } from './event-exporter.js';
import { FdLineWriter, countLines, linesWrittenBy, writeLinesSync } from './fd-writer.js';
import { notice } from '../notice.js';
import { markTold } from '../report-error.js';
import { OnceFuture } from './settle.js';

/** Options of {@link JsonlEventExporter}: give `path` or `stream`, not both. */
export interface JsonlEventExporterOptions {
  /**
   * File to append to, created with mode 0600 when missing. Default: the
   * `COSTSPAN_EVENTS_FILE` environment variable; when neither it nor `stream`
   * is set, events go to standard output. Opened without blocking: a FIFO with
   * no reader fails to open (told once, events counted as failed) instead of
   * hanging the constructor; character devices (`/dev/null`, `/dev/stdout`) work.
   */
  path?: string;
  /** Stream to write to instead of a file (e.g. `process.stdout`). Its `'error'` events are handled. */
  stream?: Writable;
  /**
   * When false, a `path` whose last component is a symbolic link is refused (opened with
   * `O_NOFOLLOW`; told once, events counted as failed). Default true: a symlink is followed and
   * its target appended to, as `>>` in a shell does.
   */
  followSymlinks?: boolean;
  /**
   * Create the file's missing parent folders (`mkdir -p`). Default false: a missing folder is
   * usually a typo or the wrong working directory, so it is told (once, naming the path) rather
   * than silently created somewhere unexpected.
   */
  createDirectory?: boolean;
  /**
   * Longest a synchronous write waits for a full pipe or FIFO to take data (the reader is slow)
   * before the batch counts as failed, and longest `forceFlush()` and `shutdown()` wait for a
   * stream's writes in flight (each write's result still arrives when the stream reports it). Default 2000 ms;
   * 0 (do not wait) to 2147483647, else the constructor throws a `CostspanError` naming it.
   */
  blockedWriteTimeoutMillis?: number;
}

const logger = diag.createComponentLogger({ namespace: '@costspan/sdk/jsonl' });
const CHUNK_CHARACTERS = 1 << 20;

/**
 * Writes cost events as JSON Lines: one canonical JSON event per line. Every
 * write to the file carries whole lines only (a batch of them, up to ~1 MiB), and
 * the file is opened for appending, so a crash (even `kill -9`) leaves at most an
 * unterminated last line, never a torn one in the middle, and processes appending
 * to one file never interleave inside a line. A file that ends mid-line when opened
 * (a crash before) gets a newline first, so the first new event stays readable.
 *
 * Stats stay honest: a batch counts as exported only once its bytes are written (for a
 * stream: once `write`'s callback reports it). A synchronous write that gives up part-way (a
 * full pipe past `blockedWriteTimeoutMillis`, ENOSPC, EPIPE) reports the lines it wrote whole
 * (`exportedCount`): they count as exported, the torn line and the rest as failed. A stream's
 * write callback cannot say how much of a failed write went out, so there the batch fails whole.
 * A stream that errors (EPIPE when the reader of `node app.js | head -1` exits) is written no
 * more; its events count as failed.
 *
 * @example
 * ```ts
 * const processor = new CostSpanProcessor({
 *   exporters: [new JsonlEventExporter({ path: 'events.jsonl' })],
 * });
 * ```
 */
export class JsonlEventExporter implements EncodedLineExporter {
  private fd: number | undefined;
  private readonly stream: Writable | undefined;
  private readonly openError: Error | undefined;
  private readonly blockedWriteTimeoutMillis: number;
  private stopped = false;
  private streamError: Error | undefined;
  private watching = false;
  private writesInFlight = 0;
  private flushWaiters: (() => void)[] = [];
  private readonly shutdownOnce = new OnceFuture(() => this.close());
  /** Synchronous writes; it remembers a target left inside a line, or stalled on a full pipe. */
  private readonly writer: FdLineWriter;
  /** Where events go, for messages: the path or `stream`. */
  readonly target: string;

  constructor(options: JsonlEventExporterOptions = {}) {
    if (options.path !== undefined && options.stream !== undefined) {
      throw new CostspanError({
        code: 'invalid_argument',
        field: 'path',
        value: options.path,
        message: 'JsonlEventExporter takes path or stream, not both',
      });
    }
    this.blockedWriteTimeoutMillis = millisecondsOption(options.blockedWriteTimeoutMillis, 'blockedWriteTimeoutMillis', {
      fallback: 2000,
      min: 0,
    });
    this.writer = new FdLineWriter(this.blockedWriteTimeoutMillis);
    const path = options.path ?? (options.stream === undefined ? process.env.COSTSPAN_EVENTS_FILE : undefined);
    if (path !== undefined && path !== '') {
      if (typeof path !== 'string') {
        throw new CostspanError({
          code: 'invalid_argument',
          field: 'path',
          value: path,
          message: `path must be a string; got ${typeof path}`,
        });
      }
      this.target = path;
      try {
        this.fd = openForAppend(path, options.followSymlinks ?? true, options.createDirectory ?? false, this.blockedWriteTimeoutMillis);
      } catch (error) {
        // The host app keeps running; every export then fails and is counted by the pipeline, told once here.
        const message = openFailureMessage(path, error as NodeJS.ErrnoException);
        this.openError = markTold(new Error(message, { cause: error }));
        logger.error(message);
        notice(`jsonl_open_failed:${path}`, message);
      }
    } else {
      this.stream = options.stream ?? process.stdout;
      this.target = 'stream';
    }
  }

  export(events: readonly CostEvent[], resultCallback: (result: ExportResult) => void): void {
    const stream = this.stream;
    if (stream === undefined || this.stopped || this.streamError !== undefined) {
      resultCallback(this.exportSync(events));
      return;
    }
    this.writeToStream(stream, joinLines(events), resultCallback);
  }

  /**
   * Writes lines the pipeline already encoded (whole lines, each ending in a newline). What
   * `export` does, minus the encoding. Internal: called by costspan's `EventPipeline`.
   *
   * @internal
   */
  exportEncoded(encoded: readonly Buffer[], _count: number, resultCallback: (result: ExportResult) => void): void {
    const stream = this.stream;
    if (stream === undefined || this.stopped || this.streamError !== undefined) {
      resultCallback(this.exportEncodedSync(encoded));
      return;
    }
    this.writeToStream(stream, encoded.length === 1 ? (encoded[0] as Buffer) : Buffer.concat(encoded), resultCallback);
  }

  /**
   * The synchronous form of {@link JsonlEventExporter.exportEncoded}, for the exit path.
   *
   * @internal
   */
  exportEncodedSync(encoded: readonly Buffer[]): EventExportResult {
    if (this.stopped) return { code: ExportResultCode.FAILED, error: new Error('JsonlEventExporter is shut down') };
    const stream = this.stream;
    if (stream !== undefined) return this.streamExportSync(stream, encoded.length === 1 ? (encoded[0] as Buffer) : Buffer.concat(encoded));
    const fd = this.fd;
    if (fd === undefined) return { code: ExportResultCode.FAILED, error: this.openError ?? new Error('no file') };
    let part = 0;
    try {
      // Each part holds whole lines: a crash can leave at most an unterminated last line.
      for (; part < encoded.length; part += 1) this.writer.writeBytes(fd, encoded[part] as Buffer);
      return { code: ExportResultCode.SUCCESS };
    } catch (error) {
      // The parts before the failed one went out whole; their lines are counted only now, on failure.
      let written = linesWrittenBy(error);
      for (let done = 0; done < part; done += 1) written += countLines(encoded[done] as Buffer);
      return partialFailure(error, written);
    }
  }

  private writeToStream(stream: Writable, lines: string | Buffer, resultCallback: (result: ExportResult) => void): void {
    this.watchStream(stream);
    // A synchronous write through the stream's descriptor that stopped inside a line: end that line first.
    const data = this.writer.takeMidLine()
      ? Buffer.concat([Buffer.from('\n'), typeof lines === 'string' ? Buffer.from(lines) : lines])
      : lines;
    this.writesInFlight += 1;
    const written = (error?: Error | null): void => {
      this.writesInFlight -= 1;
      if (this.writesInFlight === 0) {
        for (const wake of this.flushWaiters.splice(0)) wake();
        if (this.stopped) this.unwatchStream();
      }
      // A failed stream write cannot say how much of it went out: the batch fails whole.
      const failure = error ?? this.streamError;
      resultCallback(failure == null ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: failure });
    };
    try {
      // One write per batch, counted when its callback says the bytes left the stream.
      stream.write(data, written);
    } catch (error) {
      written(error as Error);
    }
  }

  exportSync(events: readonly CostEvent[]): EventExportResult {
    if (this.stopped) return { code: ExportResultCode.FAILED, error: new Error('JsonlEventExporter is shut down') };
    if (this.stream !== undefined) return this.streamExportSync(this.stream, joinLines(events));
    if (this.fd === undefined) return { code: ExportResultCode.FAILED, error: this.openError ?? new Error('no file') };
    // Lines of the chunks written whole, for a failure in a later chunk.
    let written = 0;
    try {
      // Whole lines only in each write, up to ~1 MiB per write: a crash can leave at most an
      // unterminated last line, exactly as with one write per line, at a fraction of the syscalls.
      let chunk: string[] = [];
      let characters = 0;
      for (const event of events) {
        const line = lineOf(event);
        chunk.push(line);
        characters += line.length + 1;
        if (characters >= CHUNK_CHARACTERS) {
          chunk.push('');
          this.writer.writeLines(this.fd, chunk.join('\n'));
          written += chunk.length - 1;
          chunk = [];
          characters = 0;
        }
      }
      if (chunk.length > 0) {
        chunk.push('');
        this.writer.writeLines(this.fd, chunk.join('\n'));
      }
      return { code: ExportResultCode.SUCCESS };
    } catch (error) {
      return partialFailure(error, written + linesWrittenBy(error));
    }
  }

  flushSync(): boolean {
    if (this.stream === undefined) return true;
    // Nothing buffered inside the stream: every chunk handed to it has been written out.
    return this.streamError === undefined && this.stream.writableLength === 0;
  }

  /** Waits for the stream's writes in flight, at most `blockedWriteTimeoutMillis` (a stream nobody reads never answers). */
  async forceFlush(): Promise<void> {
    if (this.writesInFlight === 0) return;
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.flushWaiters = this.flushWaiters.filter((waiter) => waiter !== wake);
        resolve();
      }, this.blockedWriteTimeoutMillis);
      this.flushWaiters.push(wake);
    });
  }

  /** Flushes and closes the file. Idempotent: concurrent calls share one shutdown. */
  shutdown(): Promise<void> {
    return this.shutdownOnce.call();
  }

  private async close(): Promise<void> {
    await this.forceFlush();
    this.stopped = true;
    // Writes still in flight (the flush gave up waiting) keep the listener until they end: their EPIPE must not crash the host.
    if (this.writesInFlight === 0) this.unwatchStream();
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      closeSync(fd);
    }
  }

  /**
   * At exit, or after the stream died: write synchronously through the stream's file descriptor
   * (process.stdout is fd 1) when nothing is buffered in the stream, so lines cannot interleave
   * with a half-written chunk; otherwise the batch cannot be written and counts as failed.
   */
  /** Why a synchronous write to `stream` would be lost or torn; undefined when it can go ahead. */
  private streamRefusal(stream: Writable): ExportResult | undefined {
    if (this.streamError !== undefined) return { code: ExportResultCode.FAILED, error: this.streamError };
    if (stream.destroyed || stream.writableEnded) return { code: ExportResultCode.FAILED, error: new Error('the stream is closed') };
    if (stream.writableLength > 0) {
      return {
        code: ExportResultCode.FAILED,
        error: new Error(`the stream still holds ${stream.writableLength} unwritten bytes, which a synchronous write would tear`),
      };
    }
    return undefined;
  }

  private streamExportSync(stream: Writable, data: string | Buffer): EventExportResult {
    const refusal = this.streamRefusal(stream);
    if (refusal !== undefined) return refusal;
    const fd = streamFd(stream);
    try {
      if (fd !== undefined) {
        if (typeof data === 'string') this.writer.writeLines(fd, data);
        else this.writer.writeBytes(fd, data);
        return { code: ExportResultCode.SUCCESS };
      }
      // No descriptor: the write counts only if the stream took it at once (nothing left buffered).
      this.watchStream(stream);
      stream.write(data);
      if (stream.writableLength === 0 && this.streamError === undefined) return { code: ExportResultCode.SUCCESS };
      return {
        code: ExportResultCode.FAILED,
        error: new Error('the stream has no file descriptor and could not take the events synchronously'),
      };
    } catch (error) {
      // Through the descriptor, the writer knows the lines it got out whole; a stream's throw tells nothing.
      return partialFailure(error, linesWrittenBy(error));
    }
  }

  private watchStream(stream: Writable): void {
    if (this.watching) return;
    this.watching = true;
    // Without a listener, an EPIPE on a closed pipe is an "Unhandled 'error' event" that kills the host.
    stream.on('error', this.onStreamError);
  }

  private unwatchStream(): void {
    if (this.stream !== undefined && this.watching) this.stream.off('error', this.onStreamError);
    this.watching = false;
  }

  private readonly onStreamError = (error: Error): void => {
    this.streamError ??= error;
  };
}

// It writes the processor's lines as they are (on the prototype: no per-instance field to declare).
Object.defineProperty(JsonlEventExporter.prototype, ACCEPTS_LINES, { value: true });

/** A queued event's line: the processor hands this exporter lines already written (see ACCEPTS_LINES). */
function lineOf(event: CostEvent | string): string {
  return typeof event === 'string' ? event : serializeEvent(event);
}

/** A FAILED result for a write that got `exportedCount` lines out whole before `error`. */
function partialFailure(error: unknown, exportedCount: number): EventExportResult {
  return { code: ExportResultCode.FAILED, error: error as Error, exportedCount };
}

function joinLines(events: readonly CostEvent[]): string {
  // One join: a flat string, not a tree of pieces the write would have to flatten.
  const lines = events.map(lineOf);
  lines.push('');
  return lines.join('\n');
}

function streamFd(stream: Writable): number | undefined {
  const fd = (stream as { fd?: unknown }).fd;
  return typeof fd === 'number' && Number.isSafeInteger(fd) && fd >= 0 ? fd : undefined;
}

function openForAppend(path: string, followSymlinks: boolean, createDirectory: boolean, timeoutMillis: number): number {
  if (createDirectory) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // O_NONBLOCK: opening a FIFO with no reader fails at once (ENXIO) instead of blocking forever.
  const flags =
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | (followSymlinks ? 0 : constants.O_NOFOLLOW);
  const fd = openSync(path, flags, 0o600);
  try {
    const stat = fstatSync(fd);
    if (stat.isFile() && stat.size > 0 && !endsWithNewline(path, stat.size)) writeLinesSync(fd, '\n', timeoutMillis);
  } catch {
    // Unreadable (a write-only file): append as before; a torn last line then stays glued.
  }
  return fd;
}

function endsWithNewline(path: string, size: number): boolean {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

function openFailureMessage(path: string, error: NodeJS.ErrnoException): string {
  const code = error.code ?? 'error';
  const reasons: Record<string, string> = {
    ENOENT: `the folder ${dirname(path)} does not exist: create it (or pass createDirectory: true), or set COSTSPAN_EVENTS_FILE to a writable path`,
    EACCES: `permission denied: make it writable, or set COSTSPAN_EVENTS_FILE to a writable path`,
    EPERM: `permission denied: make it writable, or set COSTSPAN_EVENTS_FILE to a writable path`,
    ENXIO: `it is a FIFO with no reader: start the reader first, or write to a regular file`,
    ELOOP: `it is a symbolic link and followSymlinks is false: point the path at the file itself`,
    EISDIR: `it is a folder: give a file path inside it`,
  };
  const reason = reasons[code] ?? `${error.message}: check the path, or set COSTSPAN_EVENTS_FILE to a writable path`;
  return `cannot write cost events to ${path} (${code}): ${reason}. Until then every cost event is counted as failed in processor.stats().`;
}
