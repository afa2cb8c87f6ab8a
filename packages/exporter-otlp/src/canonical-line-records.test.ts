import type { HrTime } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { serializeEvent, type CostEvent } from '@costspan/sdk';
import { CostEventProtobufEncoder, costEventSerializer } from './cost-event-protobuf.js';
import { tokenEvent } from './__fixtures__/events.js';
import { randomEvent } from './__fixtures__/random-events.js';
import { decodeRequest, logsOf } from './__fixtures__/otlp-decode.js';

// Whole milliseconds: the reference reads its observed time from Date.now().
const OBSERVED: HrTime = [1_772_634_731, 42_000_000];

/** The events' lines as the pipeline queues them: UTF-8, each ending in a newline, cut into chunks at line ends. */
function chunksOf(events: readonly CostEvent[], cuts: readonly number[]): Buffer[] {
  const lines = events.flatMap((event) => {
    // What the pipeline can hold: events serializeEvent takes (it refuses NaN, for one).
    try {
      return [Buffer.from(`${serializeEvent(event)}\n`)];
    } catch {
      return [];
    }
  });
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of [...new Set(cuts.map((at) => at % (lines.length + 1)))].sort((a, b) => a - b)) {
    if (cut > from) chunks.push(Buffer.concat(lines.slice(from, cut)));
    from = Math.max(from, cut);
  }
  if (from < lines.length) chunks.push(Buffer.concat(lines.slice(from)));
  return chunks;
}

/** The reference: the request costspan's serializer makes of the parsed lines (the path that parses every line). */
function reference(chunks: readonly Buffer[], resource: Resource): Buffer {
  const events = chunks.flatMap((chunk) =>
    chunk
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as CostEvent),
  );
  return atObserved(() => Buffer.from(costEventSerializer(new CostEventProtobufEncoder(resource)).serializeRequest(events) as Uint8Array));
}

function fromLines(chunks: readonly Buffer[], resource: Resource): Buffer {
  return atObserved(() => Buffer.from(new CostEventProtobufEncoder(resource).encodeLines(chunks, OBSERVED)));
}

/** Runs `work` with the clock at OBSERVED: the serializer reads it for observed times and unreadable timestamps. */
function atObserved<T>(work: () => T): T {
  vi.useFakeTimers({ now: OBSERVED[0] * 1000 + OBSERVED[1] / 1e6, toFake: ['Date'] });
  try {
    return work();
  } finally {
    vi.useRealTimers();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('the OTLP request written from the lines’ bytes', () => {
  it('equals the request of the parsed events over randomized events (escapes, index keys and __proto__ parsed instead) and chunkings', () => {
    fc.assert(
      fc.property(fc.array(randomEvent, { minLength: 1, maxLength: 8 }), fc.array(fc.nat({ max: 9 }), { maxLength: 3 }), (events, cuts) => {
        const resource = resourceFromAttributes({ 'service.name': 'lines' });
        const chunks = chunksOf(events, cuts);
        expect(fromLines(chunks, resource).equals(reference(chunks, resource))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('writes the processor’s lines without parsing one, the same bytes as parsing them', () => {
    const resource = resourceFromAttributes({ 'service.name': 'checkout' });
    const chunks = chunksOf(
      Array.from({ length: 50 }, (_, index) => tokenEvent(index)),
      [17, 30],
    );
    const expected = reference(chunks, resource);
    const parse = vi.spyOn(JSON, 'parse');
    const bytes = fromLines(chunks, resource);
    expect(parse).not.toHaveBeenCalled();
    expect(bytes.equals(expected)).toBe(true);
    const records = logsOf(decodeRequest('logs', bytes));
    expect(records).toHaveLength(50);
  });

  it('parses only the lines outside the subset, and sends events the encoder does not take through OpenTelemetry in the same request', () => {
    const resource = resourceFromAttributes({ 'service.name': 'mixed' });
    const escaped = { ...tokenEvent(1), source: 'quote "app"@1.0.0' } as CostEvent;
    const indexKey = { ...tokenEvent(2), tags: { '7': 'seven', env: 'prod' } } as CostEvent;
    const odd = { ...tokenEvent(3), timestamp: 'yesterday' } as CostEvent;
    const chunks = chunksOf([tokenEvent(0), escaped, indexKey, odd, tokenEvent(4)], [2]);
    const expected = reference(chunks, resource);
    const parse = vi.spyOn(JSON, 'parse');
    expect(fromLines(chunks, resource).equals(expected)).toBe(true);
    expect(parse).toHaveBeenCalledTimes(3);
    expect(logsOf(decodeRequest('logs', expected))).toHaveLength(5);
  });
});
