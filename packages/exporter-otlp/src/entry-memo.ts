import type { ProtobufWriter } from './protobuf-writer.js';
import { CLOSE_OBJECT, COMMA } from './json-line-scan.js';

/*
 * The encodings of object entries seen last, for canonical-line-records.ts: within an agent run the
 * lines repeat most of their entries byte for byte (the envelope's actor, org, team, source; the
 * payload's model, pricing tier, token usage), and writing one from its bytes again was most of
 * what a line cost. An entry's encoding (a KeyValue: its key, its value converted, with its length
 * and the tag of the field it goes in, a record attribute's at the top level, a map entry's below)
 * is a function of its `"key":value` text and of whether it is top-level alone, so when the text at
 * a key equals the one remembered there its encoding is copied instead: exact, whatever the line
 * around it. The text is compared in full, so a slot shared by two keys (or a key at two depths)
 * only costs a miss; nothing a slot holds can go stale.
 */

/**
 * Sets of two slots (two keys whose bytes pick the same set both stay), for top-level entries
 * (2^6), then for nested ones (2^7): a top-level slot never holds a nested entry, so one found
 * there is an attribute.
 */
const TOP_LEVEL_BITS = 6;
const NESTED_BITS = 7;
const TOP_LEVEL_SETS = 1 << TOP_LEVEL_BITS;
const SETS = TOP_LEVEL_SETS + (1 << NESTED_BITS);
/**
 * After the two slots of each set, one slot a set for a run: entries found one after the other in
 * a line (a payload's agent, run and cost; its model, pricing status and tier), remembered from the
 * first one's set as one text and one encoding, so the next line finds them with one comparison
 * and one copy instead of one each.
 */
const RUNS = 2 * SETS;
const SLOTS = RUNS + SETS;
/** Longest text remembered (a pricing tier is about 230 bytes); a longer one is written each time. */
const SOURCE_CAPACITY = 384;
/** An entry's encoding is longer than its text by its tags and lengths (a number can take 9 bytes for 1). */
const ENCODED_CAPACITY = 4 * SOURCE_CAPACITY;
/** Up to this many bytes are compared here: a call into the runtime costs more. */
const BY_HAND = 128;
/** After this many misses in a row a slot is refilled only once in every 8 misses (see remember). */
const MISS_STREAK = 8;

const EMPTY = Buffer.alloc(0);
const sources = Buffer.alloc(SLOTS * SOURCE_CAPACITY);
const sourceView = new DataView(sources.buffer, sources.byteOffset, sources.length);
/** Length of each slot's text; 0 for a slot that remembers nothing. */
const sourceLengths = new Int32Array(SLOTS);
/**
 * Each slot's encoding, a view of its own length (`TypedArray#set` of a whole array makes no view,
 * as copying a range would), over the slot's store, which is kept and grown: a typed array of
 * more than 64 bytes made per fill is memory outside the heap, slow to get.
 */
const encodings: Uint8Array[] = new Array<Uint8Array>(SLOTS).fill(EMPTY);
const encodingStores: Buffer[] = new Array<Buffer>(SLOTS).fill(EMPTY);
/** Misses in a row of the slot a miss would refill (see remember). */
const misses = new Int32Array(SLOTS);
/** The slot of each set last found or filled: a miss refills the other one. */
const recent = new Uint8Array(SETS);
/** Whether each set was found at its last lookup (see probed.steady). */
const foundLast = new Uint8Array(SETS);
/** The record in which each slot was last found (see pin). */
const pinnedIn = new Int32Array(SLOTS);
let record = 0;
/** A view of the chunk of lines being read, for comparing four bytes at a time; made once a chunk. */
let viewed: Buffer = EMPTY;
let lineView: DataView = new DataView(EMPTY.buffer, EMPTY.byteOffset, 0);

/** A DataView of the chunk `line` (the one made last, when it is the same chunk). */
export function viewOf(line: Buffer): DataView {
  if (line !== viewed) {
    viewed = line;
    lineView = new DataView(line.buffer, line.byteOffset, line.length);
  }
  return lineView;
}

/**
 * The slot of the entry (or run) last looked up by {@link probe}, its set (see rememberRun), and
 * whether its set was found at its lookup before too: only such steady entries make runs, or an
 * entry that changes now and then (a latency) would have its run made again each time.
 */
export const probed = { slot: 0, set: 0, steady: false };

/** Starts a record: what {@link pin} held for the one before is released. */
export function nextRecord(): void {
  record = (record + 1) | 0;
}

/**
 * Keeps `slot` from being refilled until {@link nextRecord}: a top-level entry found at the first
 * pass is copied at the second, and an entry written in between must not take its slot.
 */
export function pin(slot: number): void {
  pinnedIn[slot] = record;
}

/**
 * Looks up the entry whose key's opening quote is at `at`, `depth` objects deep: the offset just
 * past its value when its text is the one remembered at its slot and a comma or a closing brace
 * follows (so a number is not a prefix of a longer one), else -1; leaves the slot in
 * {@link probed}. The slot comes from the 12 bytes after the quote, the key or its start (and
 * then the start of its value), read four at a time: scanning for the key's end first cost as much
 * as comparing the entry.
 */
export function probe(line: Buffer, at: number, depth: number): number {
  viewOf(line);
  const length = line.length;
  let hash = (depth + 1) * 0x2f0b3;
  if (at + 13 <= length) {
    const view = lineView;
    hash = Math.imul(hash ^ view.getInt32(at + 1), 0x9e3779b1);
    hash = Math.imul(hash ^ view.getInt32(at + 5), 0x85ebca77);
    hash = Math.imul(hash ^ view.getInt32(at + 9), 0xc2b2ae3d);
  }
  const set = depth === 0 ? hash >>> (32 - TOP_LEVEL_BITS) : TOP_LEVEL_SETS + (hash >>> (32 - NESTED_BITS));
  probed.set = set;
  probed.steady = foundLast[set] === 1;
  foundLast[set] = 1;
  if (foundAt(line, at, RUNS + set)) {
    probed.slot = RUNS + set;
    return at + (sourceLengths[RUNS + set] as number);
  }
  const first = 2 * set;
  if (foundAt(line, at, first)) return hitAt(first, at);
  if (foundAt(line, at, first + 1)) return hitAt(first + 1, at);
  foundLast[set] = 0;
  const slot = first + 1 - (recent[set] as number);
  misses[slot] = (misses[slot] as number) + 1;
  probed.slot = slot;
  return -1;
}

/** Whether the text of `slot` is at `at`, a comma or a closing brace after it (so a number is not a prefix of a longer one). */
function foundAt(line: Buffer, at: number, slot: number): boolean {
  const size = sourceLengths[slot] as number;
  if (size === 0 || at + size >= line.length) return false;
  const next = line[at + size];
  return (next === COMMA || next === CLOSE_OBJECT) && sameText(line, at, slot, size);
}

function hitAt(slot: number, at: number): number {
  misses[slot] = 0;
  recent[slot >>> 1] = slot & 1;
  probed.slot = slot;
  return at + (sourceLengths[slot] as number);
}

/**
 * Whether `line[at, at + size)` is the text of `slot`: eight bytes a step through DataViews (three
 * times as fast as a loop over bytes), a long one in the runtime (its call costs about as much as
 * comparing a hundred bytes here).
 */
// eslint-disable-next-line @typescript-eslint/max-params -- called per entry on the hot path; an options object would be made per entry
function sameText(line: Buffer, at: number, slot: number, size: number): boolean {
  const base = slot * SOURCE_CAPACITY;
  if (size > BY_HAND) return sources.compare(line, at, at + size, base, base + size) === 0;
  const view = lineView;
  let index = 0;
  for (; index + 8 <= size; index += 8)
    if (
      view.getInt32(at + index) !== sourceView.getInt32(base + index) ||
      view.getInt32(at + index + 4) !== sourceView.getInt32(base + index + 4)
    )
      return false;
  for (; index < size; index += 1) if (line[at + index] !== sources[base + index]) return false;
  return true;
}

/** Writes the encoding remembered at `slot`, its tag included: what {@link probe} found. */
export function writeRemembered(writer: ProtobufWriter, slot: number): void {
  const encoding = encodings[slot] as Uint8Array;
  writer.ensure(encoding.length);
  writer.buffer.set(encoding, writer.pos);
  writer.pos += encoding.length;
}

/**
 * Remembers at `slot` the entry whose text is `line[from, to)` and whose encoding was just written,
 * from `encodedFrom` (its tag: the top-level slots hold attributes, the others entries of a map) to
 * the writer's position. Not in a slot pinned for this record; and a slot that keeps missing (an
 * id, a latency) is refilled only now and then, which saves the copies and keeps one value to hit
 * when two alternate.
 */
// eslint-disable-next-line @typescript-eslint/max-params -- called per entry on the hot path; an options object would be made per entry
export function remember(slot: number, line: Buffer, from: number, to: number, writer: ProtobufWriter, encodedFrom: number): void {
  const streak = misses[slot] as number;
  if (streak > MISS_STREAK && (streak & 7) !== 0) return;
  fill(slot, line, from, to, writer, encodedFrom);
  recent[slot >>> 1] = slot & 1;
}

/**
 * Remembers as the run of `set` (the set of its first entry, as {@link probed} gave it) the
 * entries `line[from, to)` found one after the other, their encodings just copied from
 * `encodedFrom` to the writer's position.
 */
// eslint-disable-next-line @typescript-eslint/max-params -- called per run on the hot path; an options object would be made per run
export function rememberRun(set: number, line: Buffer, from: number, to: number, writer: ProtobufWriter, encodedFrom: number): void {
  fill(RUNS + set, line, from, to, writer, encodedFrom);
}

// eslint-disable-next-line @typescript-eslint/max-params -- called per entry on the hot path; an options object would be made per entry
function fill(slot: number, line: Buffer, from: number, to: number, writer: ProtobufWriter, encodedFrom: number): void {
  if (pinnedIn[slot] === record) return;
  const size = to - from;
  const encodedSize = writer.pos - encodedFrom;
  if (size > SOURCE_CAPACITY || encodedSize > ENCODED_CAPACITY) return;
  const base = slot * SOURCE_CAPACITY;
  // Short ones by hand: `copy` of a range makes a view of it first.
  if (size > 64) line.copy(sources, base, from, to);
  else for (let index = 0; index < size; index += 1) sources[base + index] = line[from + index] as number;
  // A copy: the writer's buffer is the request's, handed on once the batch is written.
  let store = encodingStores[slot] as Buffer;
  if (store.length < encodedSize) {
    store = Buffer.allocUnsafe(Math.max(64, 2 * encodedSize));
    encodingStores[slot] = store;
  }
  const buffer = writer.buffer;
  if (encodedSize > 64) buffer.copy(store, 0, encodedFrom, writer.pos);
  else for (let index = 0; index < encodedSize; index += 1) store[index] = buffer[encodedFrom + index] as number;
  encodings[slot] = store.subarray(0, encodedSize);
  sourceLengths[slot] = size;
}

/** Lets go of the chunk of lines last read (an event queue's, not to be held after its batch is written). */
export function releaseLines(): void {
  viewed = EMPTY;
  lineView = new DataView(EMPTY.buffer, EMPTY.byteOffset, 0);
}
