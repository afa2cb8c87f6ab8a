import type { BudgetCounterLimitType, BudgetUnit } from './budget-exceeded-error.js';

/**
 * State of a budget's circuit breaker. `CLOSED`: calls go to the store.
 * `OPEN`: a hard limit was found used up (spent + reserved ≥ limit) less than
 * `cooldownMs` ago, so calls against it are refused at once (`circuit_breaker`)
 * without asking the store. `HALF_OPEN`: the cooldown has passed (or this
 * process gave budget back); the next reserve asks the store again, closing the
 * breaker when it succeeds and opening it again when the limit is still used up.
 * Exactly one call is that trial (the probe): concurrent calls are refused as if
 * the breaker were open until it ends.
 */
export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** @internal What the breaker remembers of the refusal that opened it. */
export interface TripSnapshot {
  limitType: BudgetCounterLimitType;
  unit: BudgetUnit;
  limit: bigint;
  current: bigint;
  scope: string;
  window: string;
}

interface Entry {
  openedAt: number;
  snapshot: TripSnapshot;
  /** A half-open trial call is out: until it ends, the others are refused as if open. */
  probing: boolean;
}

const MAX_ENTRIES = 10_000;

/**
 * @internal One breaker per counter key (limit, scope and window): a user's
 * exhausted daily budget blocks that user only, and a new window starts closed.
 */
export class CircuitBreaker {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly cooldownMs: number) {}

  /**
   * The breaker among `keys` that must refuse the call, if any: an open one, or a half-open
   * one whose probe is out. Otherwise the call may go to the store; when some of `keys` are
   * half-open it is their probe: it must end with {@link CircuitBreaker.close},
   * {@link CircuitBreaker.trip} or {@link CircuitBreaker.endProbe} of the returned `probe` keys.
   */
  admit(keys: readonly string[], now: number): { refuse: TripSnapshot } | { probe: string[] } {
    const probe: string[] = [];
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry === undefined) continue;
      if (now - entry.openedAt < this.cooldownMs || entry.probing) return { refuse: entry.snapshot };
      probe.push(key);
    }
    for (const key of probe) this.entries.get(key)!.probing = true;
    return { probe };
  }

  /** A probe ended without closing or tripping (the store failed, or refused a too-large estimate): the next call probes. */
  endProbe(keys: readonly string[]): void {
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry !== undefined) entry.probing = false;
    }
  }

  trip(key: string, snapshot: TripSnapshot, now: number): void {
    this.entries.delete(key);
    this.entries.set(key, { openedAt: now, snapshot, probing: false });
    if (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  /** Budget was given back locally: let the next reserve ask the store again. */
  halfOpen(keys: readonly string[]): void {
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry !== undefined) entry.openedAt = -Infinity;
    }
  }

  close(keys: readonly string[]): void {
    for (const key of keys) this.entries.delete(key);
  }

  state(keys: readonly string[], now: number): CircuitState {
    let state: CircuitState = 'CLOSED';
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry === undefined) continue;
      if (now - entry.openedAt < this.cooldownMs) return 'OPEN';
      state = 'HALF_OPEN';
    }
    return state;
  }

  reset(): void {
    this.entries.clear();
  }
}
