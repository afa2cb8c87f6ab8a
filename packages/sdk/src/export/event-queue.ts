import { serializeEvent } from '../events/cost-event.js';
import type { CostEvent } from '../events/cost-event.js';
import type { EncodedLineExporter, EventExporter } from './event-exporter.js';
import type { QueuedEvent } from './event-pipeline-support.js';

/**
 * A batch taken from an {@link EventQueue}: `count` events, as the queued entries or, from an
 * {@link EncodedLineQueue}, as the UTF-8 bytes of their lines (each ending in a newline).
 */
export interface EventBatch {
  readonly count: number;
  readonly events?: QueuedEvent[];
  readonly encoded?: Buffer[];
}

/** The FIFO between the processor and the exporters of an `EventPipeline`. */
export interface EventQueue {
  /** Events waiting. */
  readonly length: number;
  push(event: QueuedEvent): void;
  /** Takes up to `count` events from the front. */
  take(count: number): EventBatch;
}

/** Entries as they came: lines and event objects, for exporters that take objects (and mixed pipelines). */
export class ArrayEventQueue implements EventQueue {
  private entries: QueuedEvent[] = [];
  /** Index of the first waiting entry: batches leave from the front without copying the rest. */
  private head = 0;

  get length(): number {
    return this.entries.length - this.head;
  }

  push(event: QueuedEvent): void {
    this.entries.push(event);
  }

  take(count: number): EventBatch {
    const end = Math.min(this.head + count, this.entries.length);
    const events = this.entries.slice(this.head, end);
    this.head = end;
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head >= 65_536 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return { count: events.length, events };
  }
}

const CHUNK_BYTES = 1 << 20;

/**
 * Lines encoded to UTF-8 as they arrive, into 1 MiB chunks outside the JavaScript heap. The
 * queue of a pipeline whose exporters all write bytes (JSONL): a line is garbage as soon as it is
 * copied, so thousands of queued lines never survive a young-generation collection to be copied
 * and promoted, which is where a string queue spends most of its time.
 */
export class EncodedLineQueue implements EventQueue {
  private readonly chunks: Buffer[] = [];
  /** Lines in each chunk (whole lines only: a line never spans two chunks). */
  private readonly chunkLines: number[] = [];
  /** End offset, in its chunk, of each line not yet taken, oldest first, from `firstEnd` on. */
  private ends: number[] = [];
  private firstEnd = 0;
  /** Lines already taken from the first chunk, and the offset of its first byte not taken. */
  private takenLines = 0;
  private takenBytes = 0;
  private tailOffset = 0;
  private waiting = 0;

  get length(): number {
    return this.waiting;
  }

  push(event: QueuedEvent): void {
    const line = typeof event === 'string' ? event : serializeEvent(event);
    // At most 3 bytes per UTF-16 unit, plus the newline.
    const room = line.length * 3 + 1;
    let tail = this.chunks[this.chunks.length - 1];
    if (tail === undefined || this.tailOffset + room > tail.length) {
      tail = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, room));
      this.chunks.push(tail);
      this.chunkLines.push(0);
      this.tailOffset = 0;
    }
    const written = tail.write(line, this.tailOffset, 'utf8');
    tail[this.tailOffset + written] = 0x0a;
    this.tailOffset += written + 1;
    this.ends.push(this.tailOffset);
    this.chunkLines[this.chunkLines.length - 1] = (this.chunkLines[this.chunkLines.length - 1] as number) + 1;
    this.waiting += 1;
  }

  take(count: number): EventBatch {
    const encoded: Buffer[] = [];
    let taken = 0;
    while (taken < count && this.waiting > 0) {
      const chunk = this.chunks[0] as Buffer;
      const inChunk = (this.chunkLines[0] as number) - this.takenLines;
      const lines = Math.min(inChunk, count - taken);
      const end = this.ends[this.firstEnd + lines - 1] as number;
      encoded.push(chunk.subarray(this.takenBytes, end));
      this.firstEnd += lines;
      taken += lines;
      this.waiting -= lines;
      if (lines === inChunk && this.chunks.length > 1) {
        this.chunks.shift();
        this.chunkLines.shift();
        this.takenLines = 0;
        this.takenBytes = 0;
      } else if (this.waiting === 0) {
        // Empty: the tail chunk keeps filling from where it stands.
        this.chunks.length = 0;
        this.chunkLines.length = 0;
        this.takenLines = 0;
        this.takenBytes = 0;
        this.tailOffset = 0;
      } else {
        this.takenLines += lines;
        this.takenBytes = end;
      }
    }
    if (this.firstEnd === this.ends.length) {
      this.ends = [];
      this.firstEnd = 0;
    } else if (this.firstEnd >= 65_536 && this.firstEnd * 2 >= this.ends.length) {
      this.ends = this.ends.slice(this.firstEnd);
      this.firstEnd = 0;
    }
    return { count: taken, encoded };
  }
}

/** Whether the pipeline can hand `exporter` encoded lines. */
export function isEncodedLineExporter(exporter: EventExporter): exporter is EncodedLineExporter {
  const candidate = exporter as Partial<EncodedLineExporter>;
  return typeof candidate.exportEncoded === 'function' && typeof candidate.exportEncodedSync === 'function';
}

/** Whether a batch for delivery is encoded lines (a taken batch is never empty). */
export function isEncodedBatch(events: readonly CostEvent[] | readonly Buffer[]): events is readonly Buffer[] {
  return events.length > 0 && Buffer.isBuffer(events[0]);
}
