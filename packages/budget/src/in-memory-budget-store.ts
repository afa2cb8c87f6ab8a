import type {
  BudgetStore,
  BudgetStoreCommitRequest,
  BudgetStoreCounter,
  BudgetStoreCrossing,
  BudgetStoreReading,
  BudgetStoreRefusal,
  BudgetStoreReserveRequest,
} from './budget-store.js';

interface Held {
  pico: bigint;
  tokens: bigint;
  expiresAt: number;
}

interface Counter {
  spentPico: bigint;
  spentTokens: bigint;
  reservedPico: bigint;
  reservedTokens: bigint;
  reservations: Map<string, Held>;
  /** Epoch ms after which the counter is dropped; Infinity keeps it. */
  expiresAt: number;
}

const SWEEP_EVERY = 1024;

/**
 * The default {@link BudgetStore}: counters in this process's memory. Exact
 * (bigint pico-USD) and atomic, since each operation runs to completion without
 * yielding. Counters of past windows are dropped after their TTL. Use
 * {@link RedisBudgetStore} when several processes share a budget.
 */
export class InMemoryBudgetStore implements BudgetStore {
  private readonly counters = new Map<string, Counter>();
  private operations = 0;

  // Each operation does all its work synchronously, when called: that is what makes it atomic
  // (and what lets BudgetGuard.record book at once). The promise only carries the result.

  /** Reserves on every counter or none. */
  reserve(request: BudgetStoreReserveRequest): Promise<BudgetStoreRefusal | undefined> {
    return settleNow(() => this.reserveNow(request));
  }

  /** Releases and/or books a spend. */
  commit(request: BudgetStoreCommitRequest): Promise<BudgetStoreCrossing[]> {
    return settleNow(() => this.commitNow(request));
  }

  /** Reads counters; missing ones read as zero. */
  read(keys: readonly string[], now: number): Promise<BudgetStoreReading[]> {
    return settleNow(() => this.readNow(keys, now));
  }

  /** Drops every counter. */
  close(): Promise<void> {
    this.counters.clear();
    return Promise.resolve();
  }

  private reserveNow(request: BudgetStoreReserveRequest): BudgetStoreRefusal | undefined {
    this.maybeSweep(request.now);
    const counters = request.counters.map((spec) => this.counter(spec.key, request.now));
    for (const [index, spec] of request.counters.entries()) {
      const counter = counters[index]!;
      const usd = refuses(counter.spentPico + counter.reservedPico, request.pico, spec.limitPico, request.check);
      if (usd) return { index, unit: 'usd', current: counter.spentPico + counter.reservedPico };
      const tokens = refuses(counter.spentTokens + counter.reservedTokens, request.tokens, spec.limitTokens, request.check);
      if (tokens) return { index, unit: 'tokens', current: counter.spentTokens + counter.reservedTokens };
    }
    for (const [index, spec] of request.counters.entries()) {
      const counter = counters[index]!;
      if (counter.reservations.has(request.id)) continue;
      counter.reservedPico += request.pico;
      counter.reservedTokens += request.tokens;
      counter.reservations.set(request.id, { pico: request.pico, tokens: request.tokens, expiresAt: request.expiresAt });
      this.touch(counter, spec, request.now, request.expiresAt);
    }
    return undefined;
  }

  private commitNow(request: BudgetStoreCommitRequest): BudgetStoreCrossing[] {
    this.maybeSweep(request.now);
    if (request.release !== undefined) {
      for (const key of request.release.keys) {
        const counter = this.existing(key, request.now);
        const held = counter?.reservations.get(request.release.id);
        if (counter === undefined || held === undefined) continue;
        counter.reservations.delete(request.release.id);
        counter.reservedPico = clamp(counter.reservedPico - held.pico);
        counter.reservedTokens = clamp(counter.reservedTokens - held.tokens);
      }
    }
    const crossings: BudgetStoreCrossing[] = [];
    if (request.spend !== undefined) {
      const { pico, tokens } = request.spend;
      for (const [index, spec] of request.spend.counters.entries()) {
        const counter = this.counter(spec.key, request.now);
        const beforePico = counter.spentPico;
        const beforeTokens = counter.spentTokens;
        counter.spentPico += pico;
        counter.spentTokens += tokens;
        this.touch(counter, spec, request.now, request.now);
        crossed(crossings, index, 'usd', spec.alertsPico, beforePico, counter.spentPico);
        crossed(crossings, index, 'tokens', spec.alertsTokens, beforeTokens, counter.spentTokens);
      }
    }
    return crossings;
  }

  private readNow(keys: readonly string[], now: number): BudgetStoreReading[] {
    return keys.map((key) => {
      const counter = this.existing(key, now);
      return {
        spentPico: counter?.spentPico ?? 0n,
        spentTokens: counter?.spentTokens ?? 0n,
        reservedPico: counter?.reservedPico ?? 0n,
        reservedTokens: counter?.reservedTokens ?? 0n,
      };
    });
  }

  private existing(key: string, now: number): Counter | undefined {
    const counter = this.counters.get(key);
    if (counter === undefined) return undefined;
    if (counter.expiresAt <= now) {
      this.counters.delete(key);
      return undefined;
    }
    lapse(counter, now);
    return counter;
  }

  private counter(key: string, now: number): Counter {
    let counter = this.existing(key, now);
    if (counter === undefined) {
      counter = { spentPico: 0n, spentTokens: 0n, reservedPico: 0n, reservedTokens: 0n, reservations: new Map(), expiresAt: Infinity };
      this.counters.set(key, counter);
    }
    return counter;
  }

  private touch(counter: Counter, spec: BudgetStoreCounter, now: number, holdUntil: number): void {
    if (spec.ttlMs > 0) counter.expiresAt = Math.max(now + spec.ttlMs, holdUntil);
  }

  private maybeSweep(now: number): void {
    this.operations += 1;
    if (this.operations % SWEEP_EVERY !== 0) return;
    for (const [key, counter] of this.counters) if (counter.expiresAt <= now) this.counters.delete(key);
  }
}

function settleNow<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** Lapses the reservations whose TTL has passed. */
function lapse(counter: Counter, now: number): void {
  for (const [id, held] of counter.reservations) {
    if (held.expiresAt > now) continue;
    counter.reservations.delete(id);
    counter.reservedPico = clamp(counter.reservedPico - held.pico);
    counter.reservedTokens = clamp(counter.reservedTokens - held.tokens);
  }
}

function clamp(value: bigint): bigint {
  return value < 0n ? 0n : value;
}

/**
 * The admission rule shared by every store: nothing left refuses everything
 * (also calls without an estimate); `projected` also refuses an estimate that
 * does not fit in what is left.
 */
export function refuses(committed: bigint, estimate: bigint, limit: bigint | undefined, check: 'projected' | 'exhausted'): boolean {
  if (limit === undefined) return false;
  if (committed >= limit) return true;
  return check === 'projected' && committed + estimate > limit;
}

function crossed(
  into: BudgetStoreCrossing[],
  index: number,
  unit: 'usd' | 'tokens',
  thresholds: readonly bigint[] | undefined,
  before: bigint,
  after: bigint,
): void {
  if (thresholds === undefined) return;
  for (const [threshold, value] of thresholds.entries()) {
    if (before < value && after >= value) into.push({ index, unit, threshold, spent: after });
  }
}
