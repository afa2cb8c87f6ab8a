import type { BudgetLimitType, BudgetUnit } from './budget-exceeded-error.js';

/**
 * State of a budget's circuit breaker. `CLOSED`: calls go to the store.
 * `OPEN`: a hard limit was found used up (spent + reserved ≥ limit) less than
 * `cooldownMs` ago, so calls against it are refused at once (`circuit_breaker`)
 * without asking the store. `HALF_OPEN`: the cooldown has passed (or this
 * process gave budget back); the next reserve asks the store again, closing the
 * breaker when it succeeds and opening it again when the limit is still used up.
 */
export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** @internal What the breaker remembers of the refusal that opened it. */
export interface TripSnapshot {
  limitType: Exclude<BudgetLimitType, 'per_request' | 'circuit_breaker'>;
  unit: BudgetUnit;
  limit: bigint;
  current: bigint;
  scope: string;
  window: string;
}

interface Entry {
  openedAt: number;
  snapshot: TripSnapshot;
}

const MAX_ENTRIES = 10_000;

/**
 * @internal One breaker per counter key (limit, scope and window): a user's
 * exhausted daily budget blocks that user only, and a new window starts closed.
 */
export class CircuitBreaker {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly cooldownMs: number) {}

  /** The open breaker among `keys` that must refuse the call, if any. */
  blocking(keys: readonly string[], now: number): TripSnapshot | undefined {
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry !== undefined && now - entry.openedAt < this.cooldownMs) return entry.snapshot;
    }
    return undefined;
  }

  trip(key: string, snapshot: TripSnapshot, now: number): void {
    this.entries.delete(key);
    this.entries.set(key, { openedAt: now, snapshot });
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
