import type {
  BudgetStore,
  BudgetStoreLimit,
  BudgetStoreSample,
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
  /** A sliding window's buckets (start ms → spent), when the counter is one. */
  rolling?: { windowMs: number; bucketMs: number; buckets: Map<number, { pico: bigint; tokens: bigint }> };
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
  private readonly overrides = new Map<string, string>();
  private readonly claims = new Map<string, number>();
  private readonly samples = new Map<string, BudgetStoreSample[]>();
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

  /** Sets (replaces) the override of `scope`. */
  setLimit(scope: string, limits: string): Promise<void> {
    return settleNow(() => {
      this.overrides.set(scope, limits);
    });
  }

  /** Removes the override of `scope`. */
  removeLimit(scope: string): Promise<boolean> {
    return settleNow(() => this.overrides.delete(scope));
  }

  /** The overrides of `scopes`, in order. */
  getLimits(scopes: readonly string[]): Promise<(string | undefined)[]> {
    return settleNow(() => scopes.map((scope) => this.overrides.get(scope)));
  }

  /** Every override, sorted by scope. */
  listLimits(): Promise<BudgetStoreLimit[]> {
    return settleNow(() =>
      [...this.overrides].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([scope, limits]) => ({ scope, limits })),
    );
  }

  /** Deletes `keys`' counters, or everything. */
  reset(keys?: readonly string[]): Promise<void> {
    return settleNow(() => {
      if (keys !== undefined) {
        for (const key of keys) this.counters.delete(key);
        return;
      }
      this.counters.clear();
      this.overrides.clear();
      this.claims.clear();
      this.samples.clear();
    });
  }

  /** True for the first claim of `key` until it expires. */
  claimOnce(key: string, ttlMs: number): Promise<boolean> {
    return settleNow(() => {
      const now = Date.now();
      const until = this.claims.get(key);
      if (until !== undefined && until > now) return false;
      if (this.claims.size >= MAX_CLAIMS) {
        for (const [old, expiry] of this.claims) if (expiry <= now) this.claims.delete(old);
        // Bounded memory: past the bound, the oldest claims go (their alerts could fire once more).
        for (const old of this.claims.keys()) {
          if (this.claims.size < MAX_CLAIMS) break;
          this.claims.delete(old);
        }
      }
      this.claims.set(key, ttlMs > 0 ? now + ttlMs : Infinity);
      return true;
    });
  }

  /** Appends a sample, keeping the newest `keep`. */
  addSample(key: string, sample: BudgetStoreSample, keep: number): Promise<void> {
    return settleNow(() => {
      const list = this.samples.get(key) ?? [];
      list.unshift(sample);
      if (list.length > keep) list.length = keep;
      // Most recently written last, so the least recently written history goes first past the bound.
      this.samples.delete(key);
      this.samples.set(key, list);
      if (this.samples.size > MAX_HISTORIES) this.samples.delete(this.samples.keys().next().value!);
    });
  }

  /** The samples of `key`, newest first. */
  readSamples(key: string): Promise<BudgetStoreSample[]> {
    return settleNow(() => [...(this.samples.get(key) ?? [])]);
  }

  /** Drops every counter, override, claim and sample. */
  close(): Promise<void> {
    return this.reset();
  }

  private reserveNow(request: BudgetStoreReserveRequest): BudgetStoreRefusal | undefined {
    this.maybeSweep(request.now);
    const counters = request.counters.map((spec) => this.counter(spec, request.now));
    for (const [index, spec] of request.counters.entries()) {
      const counter = counters[index]!;
      const usd = refuses(counter.spentPico + counter.reservedPico, request.pico, spec.limitPico, request.check);
      if (usd) {
        const { spentPico: spent, reservedPico: reserved } = counter;
        return { index, unit: 'usd', current: spent + reserved, spent, reserved };
      }
      const tokens = refuses(counter.spentTokens + counter.reservedTokens, request.tokens, spec.limitTokens, request.check);
      if (tokens) {
        const { spentTokens: spent, reservedTokens: reserved } = counter;
        return { index, unit: 'tokens', current: spent + reserved, spent, reserved };
      }
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
        const counter = this.counter(spec, request.now);
        const beforePico = counter.spentPico;
        const beforeTokens = counter.spentTokens;
        counter.spentPico += pico;
        counter.spentTokens += tokens;
        if (counter.rolling !== undefined) addToBucket(counter.rolling, request.now, pico, tokens);
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
    if (counter.rolling !== undefined) slide(counter, now);
    return counter;
  }

  private counter(spec: BudgetStoreCounter, now: number): Counter {
    let counter = this.existing(spec.key, now);
    if (counter === undefined) {
      counter = { spentPico: 0n, spentTokens: 0n, reservedPico: 0n, reservedTokens: 0n, reservations: new Map(), expiresAt: Infinity };
      this.counters.set(spec.key, counter);
    }
    if (spec.rolling !== undefined && counter.rolling === undefined) counter.rolling = { ...spec.rolling, buckets: new Map() };
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

const MAX_CLAIMS = 100_000;
const MAX_HISTORIES = 10_000;

/** Drops a sliding window's buckets that left it, and sums the rest as spent. */
function slide(counter: Counter, now: number): void {
  const rolling = counter.rolling!;
  let pico = 0n;
  let tokens = 0n;
  for (const [start, bucket] of rolling.buckets) {
    if (start + rolling.bucketMs + rolling.windowMs <= now) {
      rolling.buckets.delete(start);
      continue;
    }
    pico += bucket.pico;
    tokens += bucket.tokens;
  }
  counter.spentPico = pico;
  counter.spentTokens = tokens;
}

function addToBucket(rolling: NonNullable<Counter['rolling']>, now: number, pico: bigint, tokens: bigint): void {
  const start = Math.floor(now / rolling.bucketMs) * rolling.bucketMs;
  const bucket = rolling.buckets.get(start) ?? { pico: 0n, tokens: 0n };
  bucket.pico += pico;
  bucket.tokens += tokens;
  rolling.buckets.set(start, bucket);
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
