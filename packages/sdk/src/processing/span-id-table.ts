/**
 * A hash table from span id to value: open addressing, linear probing, deletion by backward shift
 * (no tombstones), in two plain arrays that only grow.
 *
 * Why not a `Map` or an object: every span is added and deleted once, so the table churns at the
 * span rate. A long-lived `Map` under that churn keeps replacing its hash table, each obsolete
 * table pointing at its successor and keeping its old entries; once one of them has been promoted,
 * V8's young-generation collector keeps the whole chain alive, and with it every ended span since
 * the last full collection (about 0.6 MB copied per collection in the event-path benchmark). A
 * null-prototype object avoids that but internalizes each new span id as a key: about 0.6 µs a
 * span, against 0.1 µs here. These arrays are replaced only when the table grows.
 */
export class SpanIdTable<Value> {
  private keys: Array<string | undefined>;
  private values: Array<Value | undefined>;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 64) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.keys = new Array<string | undefined>(capacity).fill(undefined);
    this.values = new Array<Value | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
  }

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  get(id: string): Value | undefined {
    const keys = this.keys;
    for (let slot = hashOf(id) & this.mask; ; slot = (slot + 1) & this.mask) {
      const key = keys[slot];
      if (key === undefined) return undefined;
      if (key === id) return this.values[slot];
    }
  }

  /** Sets the value of `id`; returns the value it replaced. */
  set(id: string, value: Value): Value | undefined {
    // At most half full: probes stay short.
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    for (let slot = hashOf(id) & this.mask; ; slot = (slot + 1) & this.mask) {
      const key = keys[slot];
      if (key === undefined) {
        keys[slot] = id;
        this.values[slot] = value;
        this.count += 1;
        return undefined;
      }
      if (key === id) {
        const previous = this.values[slot];
        this.values[slot] = value;
        return previous;
      }
    }
  }

  /** Removes `id`; returns whether it was there. */
  delete(id: string): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let hole = hashOf(id) & mask;
    for (; ; hole = (hole + 1) & mask) {
      const key = keys[hole];
      if (key === undefined) return false;
      if (key === id) break;
    }
    // Backward shift: move up every later entry of the run whose home slot is not between the
    // hole and it, so that every remaining key stays reachable from its home without tombstones.
    for (let slot = (hole + 1) & mask; ; slot = (slot + 1) & mask) {
      const key = keys[slot];
      if (key === undefined) break;
      const home = hashOf(key) & mask;
      const between = hole <= slot ? home > hole && home <= slot : home > hole || home <= slot;
      if (between) continue;
      keys[hole] = key;
      this.values[hole] = this.values[slot];
      hole = slot;
    }
    keys[hole] = undefined;
    this.values[hole] = undefined;
    this.count -= 1;
    return true;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const capacity = oldKeys.length * 2;
    this.keys = new Array<string | undefined>(capacity).fill(undefined);
    this.values = new Array<Value | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
    this.count = 0;
    for (let slot = 0; slot < oldKeys.length; slot += 1) {
      const key = oldKeys[slot];
      if (key !== undefined) this.set(key, oldValues[slot] as Value);
    }
  }
}

/** FNV-1a over the id's UTF-16 units: every character counts, so sequential ids spread too. */
export function hashOf(id: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < id.length; index += 1) hash = Math.imul(hash ^ id.charCodeAt(index), 0x01000193);
  return hash >>> 0;
}
