import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArrayEventQueue, EncodedLineQueue } from './event-queue.js';

type Operation = { push: string } | { take: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ push: fc.string({ unit: 'grapheme', maxLength: 40 }) }),
  // Lines of ~300 KB now and then: the 1 MiB chunks fill and roll over mid-sequence.
  fc.record({ push: fc.constantFrom('x'.repeat(300_000), 'é'.repeat(200_000), '{"a":"😀"}') }),
  fc.record({ take: fc.integer({ min: 1, max: 8 }) }),
);

describe('EncodedLineQueue', () => {
  it('hands out exactly the lines an entry queue would, in order, as UTF-8 with a newline each', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const encoded = new EncodedLineQueue();
        const entries = new ArrayEventQueue();
        const taken: Buffer[] = [];
        const expected: string[] = [];
        for (const step of operations) {
          if ('push' in step) {
            encoded.push(step.push);
            entries.push(step.push);
          } else {
            const batch = encoded.take(step.take);
            const reference = entries.take(step.take);
            expect(batch.count).toBe(reference.count);
            taken.push(...(batch.encoded ?? []));
            expected.push(...(reference.events as string[]));
          }
          expect(encoded.length).toBe(entries.length);
        }
        const rest = encoded.take(Number.POSITIVE_INFINITY);
        taken.push(...(rest.encoded ?? []));
        expected.push(...(entries.take(Number.POSITIVE_INFINITY).events as string[]));
        expect(encoded.length).toBe(0);
        expect(Buffer.concat(taken).toString('utf8')).toBe(expected.map((line) => `${line}\n`).join(''));
      }),
      { numRuns: 150 },
    );
  });

  it('never rewrites bytes it handed out: later lines go after them or into a new chunk', () => {
    const queue = new EncodedLineQueue();
    queue.push('first');
    const handedOut = queue.take(1).encoded ?? [];
    queue.push('second');
    queue.push('third');
    expect(Buffer.concat(handedOut).toString()).toBe('first\n');
    expect(Buffer.concat(queue.take(5).encoded ?? []).toString()).toBe('second\nthird\n');
  });

  it('serializes event objects pushed beside lines', () => {
    const queue = new EncodedLineQueue();
    queue.push({ event_id: 'a', event_type: 'llm.cost.token.recorded' } as never);
    expect(Buffer.concat(queue.take(1).encoded ?? []).toString()).toBe('{"event_id":"a","event_type":"llm.cost.token.recorded"}\n');
  });
});
