/**
 * One counter a store keeps: spent and reserved amounts of one limit in one
 * window (e.g. `user_daily:alice:2026-03-04`), with its hard limits and alert
 * thresholds. Money is exact pico-USD.
 */
export interface BudgetStoreCounter {
  /** Counter key, unique per limit, scope and window. */
  key: string;
  /** Hard USD limit in pico-USD; `undefined` for none. */
  limitPico?: bigint;
  /** Hard token limit; `undefined` for none. */
  limitTokens?: bigint;
  /** How long the counter lives after its last write (ms); `0` keeps it forever. */
  ttlMs: number;
  /** USD alert thresholds (pico-USD), reported when spending crosses them. */
  alertsPico?: readonly bigint[];
  /** Token alert thresholds, reported when spending crosses them. */
  alertsTokens?: readonly bigint[];
  /**
   * A sliding window (e.g. the last 60 minutes) instead of a calendar one: spent
   * counts only bookings of the last `windowMs`, kept in buckets of `bucketMs`
   * (a booking leaves the window at the end of its bucket's `windowMs`, so the
   * window slides in `bucketMs` steps). The key stays the same over time.
   * Reservations are counted as for any counter, until settled or lapsed.
   */
  rolling?: { windowMs: number; bucketMs: number };
}

/** How a store decides whether a reservation fits under a limit. */
export type BudgetLimitCheck = 'projected' | 'exhausted';

/** An atomic check-and-reserve across every counter of a call. */
export interface BudgetStoreReserveRequest {
  /** Reservation id, unique. */
  id: string;
  /** Every counter the call counts against. */
  counters: readonly BudgetStoreCounter[];
  /** Estimated pico-USD reserved on each counter. */
  pico: bigint;
  /** Estimated tokens reserved on each counter. */
  tokens: bigint;
  /** When the reservation lapses by itself (epoch ms). */
  expiresAt: number;
  /** Current time (epoch ms), from the guard's clock. */
  now: number;
  /**
   * `projected`: refuse when spent + reserved + estimate exceeds a limit, or
   * nothing is left. `exhausted`: refuse only when nothing is left.
   */
  check: BudgetLimitCheck;
  /**
   * When the guard's call began its first store operation (epoch ms by `Date.now()`, not the
   * guard's clock): before reserving, a call may have read its limit overrides and history. A
   * store that bounds each operation by a timeout counts it from here, so the whole call fails
   * (and `failOpen` admits it) within one timeout, not one per round trip. Absent: from now.
   */
  startedAt?: number;
}

/** Why a store refused a reservation: the first counter that did not fit. */
export interface BudgetStoreRefusal {
  /** Index in `counters` of the refusing counter. */
  index: number;
  /** `usd` (amounts in pico-USD) or `tokens`. */
  unit: 'usd' | 'tokens';
  /** Spent plus reserved on that counter. */
  current: bigint;
  /** Of `current`, what was spent (stores that cannot tell leave it out). */
  spent?: bigint;
  /** Of `current`, what live reservations hold. */
  reserved?: bigint;
}

/** A reservation to give back. */
export interface BudgetStoreRelease {
  /** Reservation id. */
  id: string;
  /** Keys of the counters it was reserved on. */
  keys: readonly string[];
  /** Pico-USD reserved on each. */
  pico: bigint;
  /** Tokens reserved on each. */
  tokens: bigint;
}

/** Releases a reservation and/or books a spend, atomically. */
export interface BudgetStoreCommitRequest {
  /** The reservation to give back (no-op when it has lapsed or was given back). */
  release?: BudgetStoreRelease;
  /** The spend to book. */
  spend?: {
    /** Counters to add the spend to. */
    counters: readonly BudgetStoreCounter[];
    /** Pico-USD spent. */
    pico: bigint;
    /** Tokens spent. */
    tokens: bigint;
  };
  /** Current time (epoch ms). */
  now: number;
  /**
   * When the guard's call began its first store operation (epoch ms by `Date.now()`): a settle
   * reads its limit overrides first. As {@link BudgetStoreReserveRequest.startedAt}: a store that
   * bounds each operation by a timeout counts it from here. A store that gives up on a commit
   * must still give its `release` back later (a settled reservation is no longer the guard's to
   * release). Absent: from now.
   */
  startedAt?: number;
}

/** Options of a store operation that is one round trip of a guard call ({@link BudgetStore.read}, `claimOnce`, `addSample`). */
export interface BudgetStoreCallOptions {
  /**
   * When the guard's call began its first store operation (epoch ms by `Date.now()`): as
   * {@link BudgetStoreReserveRequest.startedAt}, a store that bounds each operation by a timeout
   * counts it from here (a settle's history sample and alert claims follow its commit). A store
   * may ignore it. Absent: from now.
   */
  startedAt?: number;
}

/** Options of {@link BudgetStore.read}. */
export type BudgetStoreReadOptions = BudgetStoreCallOptions;

/** An alert threshold crossed by a spend (spent before < threshold ≤ spent after). */
export interface BudgetStoreCrossing {
  /** Index in `spend.counters`. */
  index: number;
  /** `usd` or `tokens`. */
  unit: 'usd' | 'tokens';
  /** Index in `alertsPico` / `alertsTokens`. */
  threshold: number;
  /** Spent after the booking. */
  spent: bigint;
}

/** Current amounts of one counter. */
export interface BudgetStoreReading {
  /** Pico-USD spent. */
  spentPico: bigint;
  /** Tokens spent. */
  spentTokens: bigint;
  /** Pico-USD held by live reservations. */
  reservedPico: bigint;
  /** Tokens held by live reservations. */
  reservedTokens: bigint;
}

/** A limit override kept in the store, as {@link BudgetStore.listLimits} returns it. */
export interface BudgetStoreLimit {
  /** Whose limit: `user:alice`, `team:search`, `model:gpt-4o`, `agent:triage`, `user:alice|model:gpt-4o`, … */
  scope: string;
  /** The limits, as the JSON text the guard stored (the store never parses it). */
  limits: string;
}

/** One cost sample of an agent step, for estimates from history. */
export interface BudgetStoreSample {
  /** Pico-USD the step's call cost. */
  pico: bigint;
  /** Tokens it used. */
  tokens: bigint;
  /** When it was booked (epoch ms, guard's clock). */
  at: number;
}

/**
 * Where a {@link BudgetGuard} keeps its counters. The methods marked optional
 * came later (limit overrides, reset, alert claims, history): a store without
 * them still works, without those features (alerts then fire once per process).
 * Every method is atomic over all the counters it is given, and lapses reservations whose `expiresAt` has
 * passed before it reads a counter. Implemented by {@link InMemoryBudgetStore}
 * and {@link RedisBudgetStore}; implement it for another database.
 */
export interface BudgetStore {
  /** Reserves on every counter, or on none: resolves the refusal when one does not fit. */
  reserve(request: BudgetStoreReserveRequest): Promise<BudgetStoreRefusal | undefined>;
  /** Releases and/or books; resolves the alert thresholds the spend crossed. */
  commit(request: BudgetStoreCommitRequest): Promise<BudgetStoreCrossing[]>;
  /** Reads counters (missing ones read as zero). */
  read(keys: readonly string[], now: number, options?: BudgetStoreReadOptions): Promise<BudgetStoreReading[]>;
  /**
   * Sets (replaces) the limit override of `scope`, read by every process that
   * shares the store from its next operation on (never cached by the guard).
   */
  setLimit?(scope: string, limits: string): Promise<void>;
  /** Removes the override of `scope`; resolves whether there was one. */
  removeLimit?(scope: string): Promise<boolean>;
  /** The overrides of `scopes`, in order (`undefined` where none): one round trip. */
  getLimits?(scopes: readonly string[]): Promise<(string | undefined)[]>;
  /** Every override in the store, sorted by scope. */
  listLimits?(): Promise<BudgetStoreLimit[]>;
  /**
   * Deletes counters with their reservations (`keys`), or, without `keys`, every
   * counter, override, alert claim and sample the store holds (under its prefix).
   * `options.startedAt`: as in {@link BudgetStore.read} (the guard's `reset(target)` reads the
   * target's overrides first); a store that bounds each operation by a timeout bounds all of a
   * reset's round trips by one.
   */
  reset?(keys?: readonly string[], options?: BudgetStoreCallOptions): Promise<void>;
  /**
   * Claims `key` once: resolves true for the first caller, false for every later
   * one until the claim expires after `ttlMs` (`0`: never). Atomic across every
   * process of the store (Redis: `SET key 1 NX PX ttl`): alerts fire once.
   */
  claimOnce?(key: string, ttlMs: number, options?: BudgetStoreCallOptions): Promise<boolean>;
  /** Appends a sample to the bounded history `key`, keeping the newest `keep`. */
  addSample?(key: string, sample: BudgetStoreSample, keep: number, options?: BudgetStoreCallOptions): Promise<void>;
  /** The samples of `key`, newest first. */
  readSamples?(key: string): Promise<BudgetStoreSample[]>;
  /** Frees resources the store owns (connections). Idempotent. */
  close(): Promise<void>;
}
