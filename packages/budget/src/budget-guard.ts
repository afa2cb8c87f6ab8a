import { randomUUID } from 'node:crypto';
import { CostspanError, invalidInput, picoToUsd, usdToPico, type PicoUsd } from '@costspan/core';
import { BudgetExceededError, budgetUnavailable, type BudgetLimitType, type BudgetUnit } from './budget-exceeded-error.js';
import {
  applicableLimits,
  normalizeLimits,
  toDisplay,
  type ApplicableLimit,
  type BudgetLimits,
  type NormalizedLimits,
} from './budget-limits.js';
import type { BudgetLimitCheck, BudgetStore, BudgetStoreCounter, BudgetStoreCrossing } from './budget-store.js';
import { CalendarWindow } from './calendar-window.js';
import { CircuitBreaker, type CircuitState } from './circuit-breaker.js';
import { validateName, validatePrincipal, type BudgetGate, type BudgetReservation as BudgetGateReservation, type BudgetSpend, type Principal } from '@costspan/sdk';
import { InMemoryBudgetStore } from './in-memory-budget-store.js';
import { reportBudgetError } from './report-error.js';

/** Options of {@link BudgetGuard}. */
export interface BudgetGuardOptions {
  /** The limits to enforce (all optional). */
  limits: BudgetLimits;
  /**
   * Where counters live. Default: a new {@link InMemoryBudgetStore} (one
   * process). Use {@link RedisBudgetStore} to share budgets across workers.
   * A store you pass is not closed by {@link BudgetGuard.shutdown}.
   */
  store?: BudgetStore;
  /** IANA time zone whose midnight and 1st of the month reset daily and monthly limits. Default `UTC`. */
  timeZone?: string;
  /** Clock (epoch ms). Default `Date.now`; inject one in tests. */
  now?: () => number;
  /** How long an unsettled reservation holds budget (ms). Default 300 000 (5 min). */
  reservationTtlMs?: number;
  /** How long a session counter lives after its last write (ms). Default 86 400 000 (24 h). */
  sessionTtlMs?: number;
  /**
   * How a reservation is checked against a limit. Both refuse every call once
   * spent + reserved reaches the limit (also calls without an estimate).
   * - `projected` (default): also refuses a call whose estimate does not fit in
   *   what is left, so the limit is never passed while actual ≤ estimate.
   * - `exhausted`: admits a call as long as something is left, like the classic
   *   `check_before(spent >= limit)`; the last admitted call may pass the limit by
   *   its own cost.
   */
  limitCheck?: BudgetLimitCheck;
  /**
   * Circuit breaker: once a hard limit is found used up, calls against that limit
   * (that scope and window only) are refused locally for `cooldownMs` (default
   * 60 000), then the store is asked again (HALF_OPEN). Giving budget back in this
   * process half-opens it at once. `false` disables it.
   */
  circuitBreaker?: { cooldownMs?: number } | false;
  /**
   * What to do when the store cannot be reached in time. `false` (default):
   * `reserve` rejects with a `CostspanError` of code `budget_unavailable`.
   * `true`: the call is allowed (the reservation is not backed by the store) and
   * the error goes to `onError`.
   */
  failOpen?: boolean;
  /** Called once each time spending crosses an alert threshold in a window. May throw: errors go to `onError`. */
  onAlert?: (alert: BudgetAlert) => void;
  /** Receives errors that cannot be thrown (record, release, alerts, fail-open). Default: OpenTelemetry `diag`. */
  onError?: (error: unknown) => void;
}

/** What the caller estimates a call will cost; any superset of the SDK's reserve request. */
export interface BudgetReserveInput {
  /** Who the call is for. Default `{}` (global and session limits only). */
  principal?: Principal;
  /** Estimated cost: USD as a number or decimal string, or exact pico-USD as a `bigint` (what the SDK passes). Default 0. */
  estimatedUsd?: number | string | PicoUsd;
  /** Estimated total tokens (non-negative integer). Default 0. */
  estimatedTokens?: number;
  /** Session (root run) id: the key of `session` limits. */
  rootRunId?: string;
  /** Id of the calling run (informational). */
  runId?: string;
  /** Name of the calling agent (informational). */
  agentName?: string;
}

/** A granted reservation: pass it to `settle` after the call or to `release` when it was not made. */
export interface BudgetReservation extends BudgetGateReservation {
  /** Unique id. */
  readonly id: string;
  /** Reserved pico-USD. */
  readonly estimatedPico: PicoUsd;
  /** Reserved USD (display). */
  readonly estimatedUsd: number;
  /** Reserved tokens. */
  readonly estimatedTokens: number;
  /** When it lapses by itself (epoch ms). */
  readonly expiresAt: number;
  /** `false` when admitted by `failOpen` while the store was unreachable. */
  readonly backed: boolean;
}

/** An alert threshold was crossed (fired once per crossing per window). */
export interface BudgetAlert {
  /** The limit entry whose threshold was crossed, e.g. `user_daily`. */
  limitType: Exclude<BudgetLimitType, 'per_request' | 'circuit_breaker'>;
  /** Whose budget: `global`, `user:alice`, `session:<id>`, … */
  scope: string;
  /** The window, e.g. `2026-03-04`. */
  window: string;
  /** `usd` or `tokens`. */
  unit: BudgetUnit;
  /** The threshold (USD or tokens). */
  threshold: number;
  /** The threshold, exact (pico-USD or tokens). */
  thresholdExact: bigint;
  /** The configured fraction, when the threshold was given as one. */
  fraction: number | undefined;
  /** Spent in the window after the call that crossed it. */
  spent: number;
  /** Spent, exact. */
  spentExact: bigint;
  /** The hard limit of the entry, when it has one. */
  limit: number | undefined;
  /** The hard limit, exact. */
  limitExact: bigint | undefined;
  /** Principal of the call that crossed it. */
  principal: Principal;
}

/** One limit's state, as returned by {@link BudgetGuard.getBudget}. */
export interface BudgetLimitStatus {
  /** E.g. `user_daily`, `daily`, `session`. */
  limitType: Exclude<BudgetLimitType, 'per_request' | 'circuit_breaker'>;
  /** Whose budget: `global`, `user:alice`, … */
  scope: string;
  /** The current window: `2026-03-04`, `2026-03`, `total`, `session`. */
  window: string;
  /** `usd` or `tokens`. */
  unit: BudgetUnit;
  /** The hard limit (USD or tokens); `undefined` for an alert-only entry. */
  limit: number | undefined;
  /** Spent in the window. */
  spent: number;
  /** Held by live reservations. */
  reserved: number;
  /** `limit − spent − reserved`, never negative; `undefined` without a hard limit. */
  remaining: number | undefined;
  /** The same amounts, exact (pico-USD or tokens). */
  exact: { limit: bigint | undefined; spent: bigint; reserved: bigint; remaining: bigint | undefined };
}

/** What {@link BudgetGuard.getBudget} returns. */
export interface BudgetStatus {
  /** The worst circuit-breaker state among the principal's limits. */
  circuit: CircuitState;
  /** One entry per limit and unit that applies to the principal. */
  limits: BudgetLimitStatus[];
}

interface ReservationState {
  principal: Principal;
  rootRunId: string | undefined;
  keys: string[];
  pico: bigint;
  tokens: bigint;
  backed: boolean;
  done: boolean;
}

/**
 * Stops an agent before the call that would overspend. Reserve an estimate
 * before each model call, settle the actual cost after it (or release the
 * reservation if the call was not made): limits per request, per session, per
 * user / team / org / tag and global, per day, month or in total, in USD and/or
 * tokens, enforced atomically by the store, with a circuit breaker and
 * once-per-crossing alerts. Implements the SDK's `BudgetGate`: pass it as
 * `agentRun(name, { principal, budget: guard }, fn)`.
 *
 * @example
 * ```ts
 * const guard = new BudgetGuard({
 *   limits: { perRequest: { usd: 0.5 }, user: { daily: { usd: 5, alertAt: [{ fraction: 0.8 }] } } },
 *   timeZone: 'Europe/Berlin',
 *   onAlert: (alert) => console.warn(`${alert.scope} passed ${alert.threshold} USD`),
 * });
 * const reservation = await guard.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.02 });
 * try {
 *   const answer = await callModel();
 *   await guard.settle(reservation, answer.costUsd, answer.totalTokens);
 * } catch (error) {
 *   await guard.release(reservation);
 *   throw error;
 * }
 * ```
 */
export class BudgetGuard implements BudgetGate {
  private readonly limits: NormalizedLimits;
  private readonly store: BudgetStore;
  private readonly ownsStore: boolean;
  private readonly calendar: CalendarWindow;
  private readonly clock: () => number;
  private readonly reservationTtlMs: number;
  private readonly sessionTtlMs: number;
  private readonly check: BudgetLimitCheck;
  private readonly breaker: CircuitBreaker | undefined;
  private readonly failOpen: boolean;
  private readonly onAlert: ((alert: BudgetAlert) => void) | undefined;
  private readonly onError: (error: unknown) => void;
  private readonly reservations = new WeakMap<object, ReservationState>();
  private readonly pending = new Set<Promise<void>>();

  /** @throws CostspanError `invalid_argument` (or `invalid_cost` / `invalid_tokens`) naming the bad option */
  constructor(options: BudgetGuardOptions) {
    if (typeof options !== 'object' || options === null) {
      throw invalidInput('invalid_argument', 'options', options, 'an object with limits');
    }
    this.limits = normalizeLimits(options.limits);
    this.calendar = new CalendarWindow(options.timeZone ?? 'UTC');
    this.clock = options.now ?? Date.now;
    this.reservationTtlMs = positiveMs(options.reservationTtlMs ?? 300_000, 'reservationTtlMs');
    this.sessionTtlMs = positiveMs(options.sessionTtlMs ?? 86_400_000, 'sessionTtlMs');
    const check = options.limitCheck ?? 'projected';
    if (check !== 'projected' && check !== 'exhausted') {
      throw invalidInput('invalid_argument', 'limitCheck', check, '"projected" or "exhausted"');
    }
    this.check = check;
    if (options.circuitBreaker === false) this.breaker = undefined;
    else {
      const cooldown = options.circuitBreaker?.cooldownMs ?? 60_000;
      if (typeof cooldown !== 'number' || !Number.isFinite(cooldown) || cooldown < 0) {
        throw invalidInput('invalid_argument', 'circuitBreaker.cooldownMs', cooldown, 'a non-negative number of milliseconds');
      }
      this.breaker = new CircuitBreaker(cooldown);
    }
    this.failOpen = options.failOpen ?? false;
    this.onAlert = options.onAlert;
    this.onError = options.onError ?? ((error: unknown) => reportBudgetError(error, 'budget'));
    this.ownsStore = options.store === undefined;
    this.store = options.store ?? new InMemoryBudgetStore();
  }

  /**
   * Reserves the estimate against every limit that applies, atomically: all or
   * nothing. Resolve = make the call; then `settle` or `release` it.
   *
   * @throws BudgetExceededError when a limit (or an open circuit breaker) refuses the call
   * @throws CostspanError `budget_unavailable` when the store cannot be reached and `failOpen` is false
   * @throws CostspanError `invalid_cost` / `invalid_tokens` / `invalid_argument` for bad input
   */
  async reserve(request: BudgetReserveInput): Promise<BudgetReservation> {
    const input = typeof request === 'object' && request !== null ? request : ({} as BudgetReserveInput);
    const principal = validatePrincipal(input.principal);
    const rootRunId = optionalId(input.rootRunId, 'rootRunId');
    const pico = toPico(input.estimatedUsd, 'estimatedUsd');
    const tokens = toTokens(input.estimatedTokens, 'estimatedTokens');
    const { perRequestPico, perRequestTokens } = this.limits;
    if (perRequestPico !== undefined && pico > perRequestPico) {
      throw exceeded('per_request', 'usd', perRequestPico, 0n, pico, principal, 'request', 'request');
    }
    if (perRequestTokens !== undefined && BigInt(tokens) > perRequestTokens) {
      throw exceeded('per_request', 'tokens', perRequestTokens, 0n, BigInt(tokens), principal, 'request', 'request');
    }
    const now = this.clock();
    const applicable = this.applicable(principal, rootRunId, now);
    const keys = applicable.map((limit) => limit.counter.key);
    const tripped = this.breaker?.blocking(keys, now);
    if (tripped !== undefined) {
      const attempted = tripped.unit === 'usd' ? pico : BigInt(tokens);
      throw new BudgetExceededError({ ...tripped, limitType: 'circuit_breaker', trippedBy: tripped.limitType, attempted, principal });
    }
    const id = randomUUID();
    const expiresAt = now + this.reservationTtlMs;
    let backed = true;
    if (applicable.length > 0) {
      let refusal;
      try {
        refusal = await this.store.reserve({
          id,
          counters: applicable.map((limit) => limit.counter),
          pico,
          tokens: BigInt(tokens),
          expiresAt,
          now,
          check: this.check,
        });
      } catch (error) {
        const unavailable = CostspanError.isInstance(error) ? error : budgetUnavailable('reserve', error);
        if (!this.failOpen) throw unavailable;
        this.report(unavailable);
        backed = false;
      }
      if (refusal !== undefined) {
        const limit = applicable[refusal.index];
        if (limit === undefined) throw budgetUnavailable('reserve', new Error(`store refused unknown counter ${refusal.index}`));
        const limitAmount = (refusal.unit === 'usd' ? limit.amount.limitPico : limit.amount.limitTokens) ?? 0n;
        // Only a used-up limit trips the breaker: an estimate too large for what is left must not
        // block the smaller calls that still fit.
        if (refusal.current >= limitAmount) {
          this.breaker?.trip(
            limit.counter.key,
            {
              limitType: limit.limitType,
              unit: refusal.unit,
              limit: limitAmount,
              current: refusal.current,
              scope: limit.scope,
              window: limit.window,
            },
            now,
          );
        }
        const attempted = refusal.unit === 'usd' ? pico : BigInt(tokens);
        throw exceeded(limit.limitType, refusal.unit, limitAmount, refusal.current, attempted, principal, limit.scope, limit.window);
      }
      if (backed) this.breaker?.close(keys);
    }
    const reservation: BudgetReservation = Object.freeze({
      id,
      estimatedPico: pico,
      estimatedUsd: picoToUsd(pico),
      estimatedTokens: tokens,
      expiresAt,
      backed,
    });
    this.reservations.set(reservation, {
      principal,
      rootRunId,
      keys: backed ? keys : [],
      pico,
      tokens: BigInt(tokens),
      backed,
      done: false,
    });
    return reservation;
  }

  /**
   * Books the actual cost of a reserved call and gives the reservation back
   * (actual replaces reserved). The spend counts in the window current at
   * settlement; a lapsed reservation is still booked.
   *
   * @param actualUsd - USD as a number or decimal string, or exact pico-USD as a `bigint`
   * @param actualTokens - total tokens of the call (default 0)
   * @throws CostspanError `invalid_argument` for a reservation unknown to this guard or already settled/released
   * @throws CostspanError `budget_unavailable` when the store cannot be reached
   */
  async settle(reservation: BudgetGateReservation, actualUsd: number | string | PicoUsd, actualTokens = 0): Promise<void> {
    const pico = toPico(actualUsd, 'actualUsd');
    const tokens = toTokens(actualTokens, 'actualTokens');
    const state = this.stateOf(reservation);
    if (state === undefined) {
      throw invalidInput('invalid_argument', 'reservation', describeReservation(reservation), 'a reservation made by this guard');
    }
    if (state.done) {
      throw invalidInput('invalid_argument', 'reservation', describeReservation(reservation), 'a reservation not yet settled or released');
    }
    state.done = true;
    if (pico < state.pico || BigInt(tokens) < state.tokens) this.breaker?.halfOpen(state.keys);
    await this.track(this.commit(reservation, state, state.principal, state.rootRunId, pico, BigInt(tokens)), true);
  }

  /**
   * Gives back a reservation whose call failed or was not made. Never throws or
   * rejects (errors go to `onError`); unknown or finished reservations are ignored.
   */
  // The SDK ignores the result (BudgetGate declares void); the promise never rejects, so that is safe.
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  release(reservation: BudgetGateReservation): Promise<void> {
    try {
      const state = this.stateOf(reservation);
      if (state === undefined || state.done) return Promise.resolve();
      state.done = true;
      if (!state.backed || state.keys.length === 0) return Promise.resolve();
      this.breaker?.halfOpen(state.keys);
      const work = this.store
        .commit({ release: { id: reservation.id, keys: state.keys, pico: state.pico, tokens: state.tokens }, now: this.clock() })
        .then(() => undefined);
      return this.track(work, false);
    } catch (error) {
      this.report(error);
      return Promise.resolve();
    }
  }

  /**
   * SDK hook: books a priced call, settling `spend.reservation` when given
   * (actual replaces reserved), otherwise as a direct spend. Never throws and
   * never waits: store work runs in the background (see {@link BudgetGuard.flush}),
   * failures go to `onError`.
   */
  record(spend: BudgetSpend): void {
    try {
      if (typeof spend !== 'object' || spend === null) {
        throw invalidInput('invalid_argument', 'spend', spend, 'a BudgetSpend object');
      }
      const pico = toPico(spend.usd, 'spend.usd');
      const tokens = toTokens(spend.tokens, 'spend.tokens');
      const principal = validatePrincipal(spend.principal, 'spend.principal');
      const rootRunId = optionalId(spend.rootRunId, 'spend.rootRunId');
      const reservation = spend.reservation;
      const state = reservation === undefined ? undefined : this.stateOf(reservation);
      if (reservation !== undefined && state !== undefined && !state.done) {
        state.done = true;
        void this.track(this.commit(reservation, state, principal, rootRunId, pico, BigInt(tokens)), false);
      } else {
        void this.track(this.commit(undefined, undefined, principal, rootRunId, pico, BigInt(tokens)), false);
      }
    } catch (error) {
      this.report(error);
    }
  }

  /**
   * Spent, reserved and remaining amounts of every limit that applies to
   * `principal` (and to the session `options.rootRunId`), in the current windows.
   *
   * @throws CostspanError `budget_unavailable` when the store cannot be reached
   */
  async getBudget(principal: Principal = {}, options: { rootRunId?: string } = {}): Promise<BudgetStatus> {
    const checked = validatePrincipal(principal);
    const rootRunId = optionalId(options.rootRunId, 'rootRunId');
    const now = this.clock();
    const applicable = this.applicable(checked, rootRunId, now);
    const keys = applicable.map((limit) => limit.counter.key);
    let readings;
    try {
      readings = await this.store.read(keys, now);
    } catch (error) {
      throw CostspanError.isInstance(error) ? error : budgetUnavailable('getBudget', error);
    }
    const limits: BudgetLimitStatus[] = [];
    for (const [index, limit] of applicable.entries()) {
      const reading = readings[index];
      if (reading === undefined) continue;
      const { amount } = limit;
      if (amount.limitPico !== undefined || amount.alertsPico.length > 0) {
        limits.push(status(limit, 'usd', amount.limitPico, reading.spentPico, reading.reservedPico));
      }
      if (amount.limitTokens !== undefined || amount.alertsTokens.length > 0) {
        limits.push(status(limit, 'tokens', amount.limitTokens, reading.spentTokens, reading.reservedTokens));
      }
    }
    return { circuit: this.breaker?.state(keys, now) ?? 'CLOSED', limits };
  }

  /** Circuit-breaker state for a principal (and session): the worst among its limits. */
  circuitState(principal: Principal = {}, options: { rootRunId?: string } = {}): CircuitState {
    if (this.breaker === undefined) return 'CLOSED';
    const now = this.clock();
    const keys = this.applicable(validatePrincipal(principal), optionalId(options.rootRunId, 'rootRunId'), now).map(
      (limit) => limit.counter.key,
    );
    return this.breaker.state(keys, now);
  }

  /** Waits for background work started by `record` and `release` (and their alerts). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Flushes, then closes the store when the guard created it. Idempotent. */
  async shutdown(): Promise<void> {
    await this.flush();
    this.breaker?.reset();
    if (this.ownsStore) await this.store.close();
  }

  private applicable(principal: Principal, rootRunId: string | undefined, now: number): ApplicableLimit[] {
    return applicableLimits(this.limits, principal, rootRunId, now, this.calendar, {
      sessionMs: this.sessionTtlMs,
      minimumMs: this.reservationTtlMs + 60_000,
    });
  }

  private stateOf(reservation: BudgetGateReservation): ReservationState | undefined {
    return typeof reservation === 'object' && reservation !== null ? this.reservations.get(reservation) : undefined;
  }

  /** Releases (when backed) and books in one store call, then fires alerts. */
  private async commit(
    reservation: BudgetGateReservation | undefined,
    state: ReservationState | undefined,
    principal: Principal,
    rootRunId: string | undefined,
    pico: bigint,
    tokens: bigint,
  ): Promise<void> {
    const now = this.clock();
    const applicable = this.applicable(principal, rootRunId, now);
    const counters: BudgetStoreCounter[] = applicable.map((limit) => limit.counter);
    const release =
      reservation !== undefined && state !== undefined && state.backed && state.keys.length > 0
        ? { id: reservation.id, keys: state.keys, pico: state.pico, tokens: state.tokens }
        : undefined;
    if (release === undefined && counters.length === 0) return;
    let crossings: BudgetStoreCrossing[];
    try {
      crossings = await this.store.commit({
        ...(release === undefined ? {} : { release }),
        ...(counters.length === 0 ? {} : { spend: { counters, pico, tokens } }),
        now,
      });
    } catch (error) {
      throw CostspanError.isInstance(error) ? error : budgetUnavailable('settle', error);
    }
    for (const crossing of crossings) this.alert(applicable, crossing, principal);
  }

  private alert(applicable: ApplicableLimit[], crossing: BudgetStoreCrossing, principal: Principal): void {
    const limit = applicable[crossing.index];
    if (limit === undefined || this.onAlert === undefined) return;
    const usd = crossing.unit === 'usd';
    const threshold = (usd ? limit.amount.alertsPico : limit.amount.alertsTokens)[crossing.threshold];
    if (threshold === undefined) return;
    const hard = usd ? limit.amount.limitPico : limit.amount.limitTokens;
    const alert: BudgetAlert = {
      limitType: limit.limitType,
      scope: limit.scope,
      window: limit.window,
      unit: crossing.unit,
      threshold: toDisplay(crossing.unit, threshold),
      thresholdExact: threshold,
      fraction: (usd ? limit.amount.fractionsPico : limit.amount.fractionsTokens)[crossing.threshold],
      spent: toDisplay(crossing.unit, crossing.spent),
      spentExact: crossing.spent,
      limit: hard === undefined ? undefined : toDisplay(crossing.unit, hard),
      limitExact: hard,
      principal,
    };
    try {
      const result: unknown = this.onAlert(alert);
      if (isPromiseLike(result)) result.then(undefined, (error: unknown) => this.report(error));
    } catch (error) {
      this.report(error);
    }
  }

  /** Keeps `work` for `flush`; when not rethrown, its failure goes to `onError`. */
  private track(work: Promise<void>, rethrow: boolean): Promise<void> {
    const tracked = work.then(undefined, (error: unknown) => {
      if (rethrow) throw error;
      this.report(error);
    });
    const settledMarker = tracked.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settledMarker);
    void settledMarker.then(() => this.pending.delete(settledMarker));
    return tracked;
  }

  private report(error: unknown): void {
    try {
      this.onError(error);
    } catch {
      // An error sink that throws must not break recording.
    }
  }
}

function status(limit: ApplicableLimit, unit: BudgetUnit, hard: bigint | undefined, spent: bigint, reserved: bigint): BudgetLimitStatus {
  const used = spent + reserved;
  const remaining = hard === undefined ? undefined : hard > used ? hard - used : 0n;
  return {
    limitType: limit.limitType,
    scope: limit.scope,
    window: limit.window,
    unit,
    limit: hard === undefined ? undefined : toDisplay(unit, hard),
    spent: toDisplay(unit, spent),
    reserved: toDisplay(unit, reserved),
    remaining: remaining === undefined ? undefined : toDisplay(unit, remaining),
    exact: { limit: hard, spent, reserved, remaining },
  };
}

function exceeded(
  limitType: BudgetLimitType,
  unit: BudgetUnit,
  limit: bigint,
  current: bigint,
  attempted: bigint,
  principal: Principal,
  scope: string,
  window: string,
): BudgetExceededError {
  return new BudgetExceededError({ limitType, unit, limit, current, attempted, principal, scope, window });
}

function toPico(value: number | string | bigint | undefined, field: string): bigint {
  if (value === undefined) return 0n;
  if (typeof value === 'bigint') {
    if (value < 0n) throw invalidInput('invalid_cost', field, value, 'a non-negative amount of pico-USD');
    return value;
  }
  return usdToPico(value, field);
}

function toTokens(value: number | undefined, field: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidInput('invalid_tokens', field, value, 'a non-negative integer number of tokens');
  }
  return value;
}

function positiveMs(value: number, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidInput('invalid_argument', field, value, 'a positive number of milliseconds');
  }
  return value;
}

function optionalId(value: unknown, field: string): string | undefined {
  return value === undefined ? undefined : validateName(value, field);
}

function describeReservation(reservation: unknown): unknown {
  return typeof reservation === 'object' && reservation !== null && 'id' in reservation ? { id: reservation.id } : reservation;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
