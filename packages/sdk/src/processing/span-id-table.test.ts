import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashOf, SpanIdTable } from './span-id-table.js';

type Operation = { kind: 'set'; id: string; value: number } | { kind: 'delete'; id: string } | { kind: 'get'; id: string };

/** Ids from a small pool, so that sets, deletes and gets keep meeting the same keys and probe runs collide. */
function operations(pool: readonly string[]): fc.Arbitrary<Operation[]> {
  const id = fc.constantFrom(...pool);
  return fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant('set' as const), id, value: fc.integer() }),
      fc.record({ kind: fc.constant('delete' as const), id }),
      fc.record({ kind: fc.constant('get' as const), id }),
    ),
    { maxLength: 400 },
  );
}

function checkAgainstMap(pool: readonly string[]): void {
  fc.assert(
    fc.property(operations(pool), (steps) => {
      const table = new SpanIdTable<number>(16);
      const reference = new Map<string, number>();
      for (const step of steps) {
        if (step.kind === 'set') {
          expect(table.set(step.id, step.value)).toBe(reference.get(step.id));
          reference.set(step.id, step.value);
        } else if (step.kind === 'delete') {
          expect(table.delete(step.id)).toBe(reference.delete(step.id));
        } else {
          expect(table.get(step.id)).toBe(reference.get(step.id));
        }
        expect(table.size).toBe(reference.size);
      }
      for (const id of pool) expect(table.get(id)).toBe(reference.get(id));
    }),
    { numRuns: 300 },
  );
}

describe('SpanIdTable', () => {
  it('behaves as a Map over random span ids', () => {
    const pool = Array.from({ length: 40 }, (_, index) => (index * 2654435761).toString(16).padStart(16, '0').slice(-16));
    checkAgainstMap(pool);
  });

  it('behaves as a Map over sequential ids (a custom id generator), which share all but their last characters', () => {
    const pool = Array.from({ length: 40 }, (_, index) => index.toString(16).padStart(16, '0'));
    checkAgainstMap(pool);
  });

  it('keeps every entry through growth and deletes in any order', () => {
    const table = new SpanIdTable<number>();
    const ids = Array.from({ length: 5000 }, (_, index) => `${index.toString(16).padStart(8, '0')}a1b2c3d4`);
    ids.forEach((id, index) => table.set(id, index));
    expect(table.size).toBe(5000);
    // Delete every other one, then check the rest are all still found.
    ids.forEach((id, index) => {
      if (index % 2 === 0) expect(table.delete(id)).toBe(true);
    });
    expect(table.size).toBe(2500);
    ids.forEach((id, index) => expect(table.get(id)).toBe(index % 2 === 0 ? undefined : index));
    expect(table.delete(ids[0]!)).toBe(false);
  });

  it('keeps a probe run that wraps past the end of the table reachable when an entry before it is deleted', () => {
    // In a 16-slot table: x and y fill slots 14 and 15, z (home 0) sits at 0, w (home 15) wraps to 1.
    const homes = [14, 15, 0, 15];
    const found: string[] = [];
    for (let index = 0; found.length < homes.length; index += 1) {
      const id = index.toString(16).padStart(16, '0');
      if ((hashOf(id) & 15) === homes[found.length]) found.push(id);
    }
    const [x, y, z, w] = found as [string, string, string, string];
    const table = new SpanIdTable<string>(16);
    for (const id of found) table.set(id, id);
    expect(table.delete(x)).toBe(true);
    expect([table.get(y), table.get(z), table.get(w)]).toEqual([y, z, w]);
    expect(table.delete(y)).toBe(true);
    expect([table.get(z), table.get(w)]).toEqual([z, w]);
  });
});
