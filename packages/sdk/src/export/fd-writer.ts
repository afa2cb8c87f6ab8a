import { writeSync } from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));
const NEWLINE = Buffer.from('\n');

/**
 * A synchronous write that gave up: the descriptor's error (`cause`, whose `message` and errno
 * `code` it keeps), and how many of the caller's lines went out whole before it. The line the
 * write tore, if any, is not among them: its reader cannot use it.
 */
export class LineWriteError extends Error {
  /** Lines at the front of the data given that were written whole (their newline included). */
  readonly linesWritten: number;
  /** The errno code of the write that failed (`EAGAIN`, `ENOSPC`, `EPIPE`), when it had one. */
  readonly code: string | undefined;

  constructor(cause: unknown, linesWritten: number) {
    const error = cause instanceof Error ? cause : new Error(String(cause));
    super(error.message, { cause: error });
    this.name = 'LineWriteError';
    this.linesWritten = linesWritten;
    this.code = (error as NodeJS.ErrnoException).code;
  }
}

/** Lines a failed write got out whole: {@link LineWriteError.linesWritten}, else 0 (nothing known). */
export function linesWrittenBy(error: unknown): number {
  return error instanceof LineWriteError ? error.linesWritten : 0;
}

/** Newlines in `bytes` before `end`: the whole lines of a prefix. Failure paths only (it scans). */
export function countLines(bytes: Buffer, end: number = bytes.length): number {
  let lines = 0;
  for (let at = bytes.indexOf(0x0a); at >= 0 && at < end; at = bytes.indexOf(0x0a, at + 1)) lines += 1;
  return lines;
}

/**
 * Writes whole lines to a descriptor synchronously. A non-blocking pipe or FIFO that is full
 * answers EAGAIN: wait briefly and retry, up to `timeoutMillis`, then throw a
 * {@link LineWriteError} saying how many lines went out whole (the caller counts those as
 * exported, the rest as failed). A regular file takes the whole chunk in one write.
 *
 * It remembers what its failed writes left behind, for the next ones. A write that gives up
 * part-way (a full pipe past the timeout, ENOSPC) leaves its target inside a line: the next write
 * starts with a newline, so the torn line stays alone instead of swallowing the next batch's first
 * event. A write that timed out on a full pipe marks the target stalled: later writes make one
 * attempt and do not wait again until one completes, so a reader that stopped reading costs the
 * host one timeout, not one per batch (the queue drains in one go, blocking the event loop).
 */
export class FdLineWriter {
  private midLine = false;
  private stalled = false;
  private readonly timeoutMillis: number;

  constructor(timeoutMillis: number) {
    this.timeoutMillis = timeoutMillis;
  }

  /**
   * Writes `text` (whole lines, each ending in a newline) to `fd`, whole, or throws a
   * {@link LineWriteError} counting the lines of `text` written whole.
   */
  writeLines(fd: number, text: string): void {
    if (this.midLine || this.stalled) {
      this.writeBytes(fd, Buffer.from(text, 'utf8'));
      return;
    }
    let written = 0;
    try {
      written = writeSync(fd, text);
    } catch (error) {
      // Nothing went out: the target is as it was, no line of `text` reached it.
      if (!isWouldBlock(error)) throw new LineWriteError(error, 0);
    }
    if (written >= Buffer.byteLength(text)) return;
    this.writeFrom(fd, Buffer.from(text, 'utf8'), written);
  }

  /** {@link FdLineWriter.writeLines} for bytes already encoded. */
  writeBytes(fd: number, bytes: Buffer): void {
    this.writeFrom(fd, this.midLine ? Buffer.concat([NEWLINE, bytes]) : bytes, 0);
  }

  /**
   * True when a failed write left the target inside a line; the caller then ends that line itself
   * (a stream write through the descriptor's stream), and this writer counts it as ended.
   */
  takeMidLine(): boolean {
    const midLine = this.midLine;
    this.midLine = false;
    return midLine;
  }

  private writeFrom(fd: number, bytes: Buffer, start: number): void {
    // Only writeBytes calls this inside a line, having put the newline that ends it first: not a line of the caller's.
    const leadingNewline = this.midLine;
    const length = bytes.length;
    const deadline = Date.now() + (this.stalled ? 0 : this.timeoutMillis);
    let offset = start;
    try {
      while (offset < length) {
        try {
          offset += writeSync(fd, bytes, offset, length - offset);
        } catch (error) {
          if (!isWouldBlock(error)) throw error;
          if (Date.now() >= deadline) {
            this.stalled = true;
            throw error;
          }
          // A short sleep, not a spin: the reader needs the CPU to empty the pipe.
          Atomics.wait(pause, 0, 0, 2);
        }
      }
      this.stalled = false;
    } catch (error) {
      // Counted on failure only, so a write that completes scans nothing.
      throw new LineWriteError(error, Math.max(0, countLines(bytes, offset) - (leadingNewline ? 1 : 0)));
    } finally {
      // Nothing written leaves the target as it was; otherwise it is inside a line unless a newline ended the write.
      if (offset > 0) this.midLine = bytes[offset - 1] !== 0x0a;
    }
  }
}

/** Writes `text` to `fd` synchronously and whole, as a fresh {@link FdLineWriter} does. */
export function writeLinesSync(fd: number, text: string, timeoutMillis: number): void {
  new FdLineWriter(timeoutMillis).writeLines(fd, text);
}

function isWouldBlock(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}
