import { randomUUID } from 'node:crypto';
import { CostspanError, invalidInput, picoToUsd, type PicoUsd } from '@costspan/core';
import {
  validatePrincipal,
  type BudgetGate,
  type BudgetReservation as BudgetGateReservation,
  type BudgetSpend,
  type Principal,
} from '@costspan/sdk';
import { BudgetExceededError, budgetUnavailable } from './budget-exceeded-error.js';
import type { BudgetAlert, BudgetGuardOptions, BudgetReservation, BudgetReserveInput, BudgetStatus } from './budget-guard-types.js';
import { applicableLimits, normalizeLimits, type ApplicableLimit, type NormalizedLimits } from './budget-limits.js';
import type { BudgetLimitCheck, BudgetStore, BudgetStoreCounter, BudgetStoreCrossing, BudgetStoreReserveRequest } from './budget-store.js';
import { CalendarWindow } from './calendar-window.js';
import { CircuitBreaker, type CircuitState } from './circuit-breaker.js';
import { cooldownOf, describeReservation, isPromiseLike, limitCheckOf, optionalId, positiveMs, toPico, toTokens } from './guard-input.js';
import { GuardNotices, refusalCause, refusalMessage, reserveAfterShutdown, type GuardOperation } from './guard-notices.js';
import { breakerRefusal, perRequestRefusal, statusesOf, storeRefusal, toAlert } from './guard-results.js';
import { InMemoryBudgetStore } from './in-memory-budget-store.js';
import { reportBudgetError } from './report-error.js';
import { flushWithin, shutdownWithin } from './guard-lifecycle.js';
import { atLeastEstimate, releaseOf, ReservationBook, type ReservationState } from './reservation-book.js';

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
  private readonly closeStore: boolean;
  private readonly flushTimeoutMs: number;
  private shutdownOnce: Promise<void> | undefined;
  private readonly calendar: CalendarWindow;
  private readonly clock: () => number;
  private readonly reservationTtlMs: number;
  private readonly sessionTtlMs: number;
  private readonly check: BudgetLimitCheck;
  private readonly breaker: CircuitBreaker | undefined;
  private readonly failOpen: boolean;
  private readonly onAlert: ((alert: BudgetAlert) => void) | undefined;
  private readonly onError: (error: unknown) => void;
  private readonly book = new ReservationBook();
  private readonly notices: GuardNotices;

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
    this.check = limitCheckOf(options.limitCheck);
    this.breaker = options.circuitBreaker === false ? undefined : new CircuitBreaker(cooldownOf(options.circuitBreaker?.cooldownMs));
    this.failOpen = options.failOpen ?? false;
    this.onAlert = options.onAlert;
    this.onError = options.onError ?? ((error: unknown) => reportBudgetError(error, 'budget'));
    this.notices = new GuardNotices(options.onError);
    this.closeStore = options.closeStore ?? options.store === undefined;
    this.flushTimeoutMs = positiveMs(options.flushTimeoutMs ?? 30_000, 'flushTimeoutMs');
    this.store = options.store ?? new InMemoryBudgetStore();
  }

  /**
   * Reserves the estimate against every limit that applies, atomically: all or
   * nothing. Resolve = make the call; then `settle` or `release` it. Without
   * `onError`, the first refusal of each limit and scope is also told once as a
   * costspan notice (stderr by default) naming the limit and how to raise it.
   *
   * @throws BudgetExceededError when a limit (or an open circuit breaker) refuses the call
   * @throws CostspanError `budget_unavailable` when the store cannot be reached and `failOpen` is false
   * @throws CostspanError `shutdown` after {@link BudgetGuard.shutdown} (whatever `failOpen` says)
   * @throws CostspanError `invalid_cost` / `invalid_tokens` / `invalid_argument` for bad input
   */
  async reserve(request: BudgetReserveInput): Promise<BudgetReservation> {
    try {
      return await this.reserveNow(request);
    } catch (error) {
      if (BudgetExceededError.isInstance(error)) this.notices.noticeUnlessHandled(refusalCause(error), refusalMessage(error));
      throw error;
    }
  }

  private async reserveNow(request: BudgetReserveInput): Promise<BudgetReservation> {
    // After shutdown an owned store is closed (an in-memory one emptied): reserving would start over.
    if (this.shutdownOnce !== undefined) throw reserveAfterShutdown();
    const input = typeof request === 'object' && request !== null ? request : ({} as BudgetReserveInput);
    const principal = validatePrincipal(input.principal);
    const rootRunId = optionalId(input.rootRunId, 'rootRunId');
    const pico = toPico(input.estimatedUsd, 'estimatedUsd');
    const tokens = toTokens(input.estimatedTokens, 'estimatedTokens');
    const tooLarge = perRequestRefusal(this.limits, pico, BigInt(tokens), principal);
    if (tooLarge !== undefined) throw tooLarge;
    const now = this.clock();
    const applicable = this.applicable(principal, rootRunId, now);
    const keys = applicable.map((limit) => limit.counter.key);
    const admitted = this.breaker?.admit(keys, now) ?? { probe: [] };
    if ('refuse' in admitted) throw breakerRefusal(admitted.refuse, pico, BigInt(tokens), principal);
    const id = randomUUID();
    const expiresAt = now + this.reservationTtlMs;
    let backed = true;
    try {
      if (applicable.length > 0) {
        const request = {
          id,
          counters: applicable.map((limit) => limit.counter),
          pico,
          tokens: BigInt(tokens),
          expiresAt,
          now,
          check: this.check,
        };
        backed = await this.reserveInStore(request, applicable, principal);
      }
    } finally {
      // Closed or tripped by now when the store answered; otherwise the next call may probe.
      if (admitted.probe.length > 0) this.breaker?.endProbe(admitted.probe);
    }
    const reservation: BudgetReservation = Object.freeze({
      id,
      estimatedPico: pico,
      estimatedUsd: picoToUsd(pico),
      estimatedTokens: tokens,
      expiresAt,
      backed,
    });
    this.book.add(reservation, {
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

  /** Reserves in the store; resolves whether the reservation is backed (false: admitted by failOpen). */
  private async reserveInStore(request: BudgetStoreReserveRequest, applicable: ApplicableLimit[], principal: Principal): Promise<boolean> {
    let refusal;
    try {
      refusal = await this.store.reserve(request);
    } catch (error) {
      const unavailable = CostspanError.isInstance(error) ? error : budgetUnavailable('reserve', error);
      if (!this.failOpen) throw unavailable;
      this.report(unavailable, 'reserve');
      return false;
    }
    if (refusal !== undefined) {
      const { error, trip } = storeRefusal(applicable, refusal, request.pico, request.tokens, principal);
      if (trip !== undefined) this.breaker?.trip(trip.key, trip.snapshot, request.now);
      throw error;
    }
    this.breaker?.close(request.counters.map((counter) => counter.key));
    return true;
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
    const state = this.book.stateOf(reservation);
    if (state === undefined) {
      throw invalidInput('invalid_argument', 'reservation', describeReservation(reservation), 'a reservation made by this guard');
    }
    if (state.done) {
      throw invalidInput('invalid_argument', 'reservation', describeReservation(reservation), 'a reservation not yet settled or released');
    }
    state.done = true;
    if (pico < state.pico || BigInt(tokens) < state.tokens) this.breaker?.halfOpen(state.keys);
    await this.track(this.commit(reservation, state, state.principal, state.rootRunId, pico, BigInt(tokens)), true, 'settle');
  }

  /**
   * Gives back a reservation whose call failed or was not made. Never throws or
   * rejects (errors go to `onError`); unknown or finished reservations are ignored.
   */
  // The SDK ignores the result (BudgetGate declares void); the promise never rejects, so that is safe.
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  release(reservation: BudgetGateReservation): Promise<void> {
    try {
      const state = this.book.stateOf(reservation);
      if (state === undefined || state.done) return Promise.resolve();
      state.done = true;
      if (!state.backed || state.keys.length === 0) return Promise.resolve();
      this.breaker?.halfOpen(state.keys);
      const work = this.store
        .commit({ release: { id: reservation.id, keys: state.keys, pico: state.pico, tokens: state.tokens }, now: this.clock() })
        .then(
          () => undefined,
          (error: unknown) => {
            throw CostspanError.isInstance(error) ? error : budgetUnavailable('release', error);
          },
        );
      return this.track(work, false, 'release');
    } catch (error) {
      this.report(CostspanError.isInstance(error) ? error : budgetUnavailable('release', error), 'release');
      return Promise.resolve();
    }
  }

  /**
   * SDK hook: books a call, settling `spend.reservation` when given (actual
   * replaces reserved), otherwise as a direct spend. A call the SDK could not
   * price (`spend.priced === false`: unknown model, no price source, no usage)
   * is booked at the larger of its reservation's estimate and what it reported,
   * in USD and tokens, and told once per model (to `onError`, else costspan's
   * notice on stderr). Never throws and
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
      const found = reservation === undefined ? undefined : this.book.stateOf(reservation);
      const state = found !== undefined && !found.done ? found : undefined;
      // An unpriced call's reported cost is a floor (often $0): book the larger of it and the estimate
      // the call was admitted with, per unit, so the calls that follow still meet the limit.
      const { pico: bookPico, tokens: bookTokens } =
        spend.priced === false ? atLeastEstimate(state, pico, BigInt(tokens)) : { pico, tokens: BigInt(tokens) };
      if (spend.priced === false)
        this.notices.tellUnpriced({ model: spend.model, pico: bookPico, tokens: bookTokens, reserved: state !== undefined });
      if (state !== undefined && reservation !== undefined) {
        state.done = true;
        void this.track(this.commit(reservation, state, principal, rootRunId, bookPico, bookTokens), false, 'record');
      } else {
        void this.track(this.commit(undefined, undefined, principal, rootRunId, bookPico, bookTokens), false, 'record');
      }
    } catch (error) {
      this.report(error, 'record');
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
    return { circuit: this.breaker?.state(keys, now) ?? 'CLOSED', limits: statusesOf(applicable, readings) };
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

  /**
   * Waits for background work started by `record` and `release` (and their
   * alerts), at most `flushTimeoutMs`; what did not finish by then is reported
   * to `onError`. Never rejects.
   */
  async flush(): Promise<void> {
    await flushWithin(this.book, this.flushTimeoutMs, 'flush', (error) => this.report(error, 'flush'));
  }

  /**
   * Flushes, then closes the store when the guard owns it (`closeStore`), within
   * `flushTimeoutMs` in all: a store whose work or close hangs or throws does not
   * hold it up (that is reported to `onError`). Idempotent: concurrent and later
   * calls share the first call's promise, so the store is closed once. Never rejects.
   */
  shutdown(): Promise<void> {
    this.shutdownOnce ??= shutdownWithin({
      book: this.book,
      store: this.closeStore ? this.store : undefined,
      timeoutMs: this.flushTimeoutMs,
      beforeClose: () => this.breaker?.reset(),
      report: (error) => this.report(error, 'shutdown'),
    });
    return this.shutdownOnce;
  }

  private applicable(principal: Principal, rootRunId: string | undefined, now: number): ApplicableLimit[] {
    return applicableLimits(this.limits, principal, rootRunId, now, this.calendar, {
      sessionMs: this.sessionTtlMs,
      minimumMs: this.reservationTtlMs + 60_000,
    });
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
    const release = releaseOf(reservation, state);
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
    if (this.onAlert === undefined) return;
    const alert = toAlert(applicable, crossing, principal);
    if (alert === undefined) return;
    try {
      const result: unknown = this.onAlert(alert);
      if (isPromiseLike(result)) result.then(undefined, (error: unknown) => this.report(error, 'alert'));
    } catch (error) {
      this.report(error, 'alert');
    }
  }

  private track(work: Promise<void>, rethrow: boolean, operation: GuardOperation): Promise<void> {
    return this.book.track(work, rethrow, (error) => this.report(error, operation));
  }

  /** To `onError` (default: diag, one line each); with no `onError`, also a notice once per cause. */
  private report(error: unknown, operation: GuardOperation): void {
    try {
      this.onError(error);
    } catch {
      // An error sink that throws must not break recording.
    }
    this.notices.tellFailure(operation, error);
  }
}
