import { randomUUID } from 'node:crypto';
import { CostspanError, invalidInput, millisecondsOption, picoToUsd } from '@costspan/core';
import { type BudgetReservation as BudgetGateReservation, type Principal } from '@costspan/sdk';
import { validatePrincipal } from '@costspan/sdk/internal';
import { createDefaultPriceSource } from '@costspan/pricing';
import { budgetUnavailable, type BudgetExceededError, type BudgetRefusedCall } from './budget-exceeded-error.js';
import type { BudgetAlert, BudgetGuardOptions, BudgetPriceSource, BudgetReservation, BudgetReserveInput } from './budget-guard-types.js';
import { normalizeLimits, type NormalizedLimits, type ScopedEntry } from './budget-limits.js';
import { applicableLimits, callScopes, type ApplicableLimit, type LimitContext } from './applicable-limits.js';
import type {
  BudgetLimitCheck,
  BudgetStore,
  BudgetStoreCounter,
  BudgetStoreCrossing,
  BudgetStoreReading,
  BudgetStoreReserveRequest,
} from './budget-store.js';
import { callContextOf, estimateOf, type CallContext, type Estimate } from './guard-estimate.js';
import { historyKey, historySettings, type HistorySettings } from './history-estimate.js';
import { readOverrides } from './limit-overrides.js';
import { CalendarWindow } from './calendar-window.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { cooldownOf, isPromiseLike, limitCheckOf, optionalId, positiveMs } from './guard-input.js';
import { storeCall } from './guard-support.js';
import { GuardNotices, reserveAfterShutdown, type GuardOperation } from './guard-notices.js';
import { breakerRefusal, perRequestRefusal, storeRefusal, toAlert } from './guard-results.js';
import { InMemoryBudgetStore } from './in-memory-budget-store.js';
import { fullStore, type FullBudgetStore } from './store-features.js';
import { reportBudgetError } from './report-error.js';
import { releaseOf, ReservationBook, type ReservationState } from './reservation-book.js';

/** @internal What {@link BudgetGuardCore.prepare} resolves. */
export interface Prepared {
  principal: Principal;
  rootRunId: string | undefined;
  context: CallContext;
  call: BudgetRefusedCall;
  estimate: Estimate;
  now: number;
  applicable: ApplicableLimit[];
}

/**
 * @internal The machinery of {@link BudgetGuard}: its settings, reserving in the store, booking
 * (with history and once-only alerts) and limits with the store's overrides. The public
 * methods are in budget-guard.ts; this class exists so each file keeps to one job.
 */
export abstract class BudgetGuardCore {
  protected readonly limits: NormalizedLimits;
  protected readonly store: FullBudgetStore;
  /** The store as given, closed by shutdown when owned. */
  protected readonly givenStore: BudgetStore;
  protected readonly closeStore: boolean;
  protected readonly flushTimeoutMs: number;
  protected shutdownOnce: Promise<void> | undefined;
  protected readonly calendar: CalendarWindow;
  protected readonly clock: () => number;
  protected readonly reservationTtlMs: number;
  protected readonly sessionTtlMs: number;
  protected readonly limitCheck: BudgetLimitCheck;
  protected readonly breaker: CircuitBreaker | undefined;
  protected readonly failOpen: boolean;
  protected readonly onAlert: ((alert: BudgetAlert) => void) | undefined;
  protected readonly onRefusal: ((refusal: BudgetExceededError) => void) | undefined;
  protected priceSource: BudgetPriceSource | undefined;
  protected readonly history: HistorySettings | undefined;
  protected readonly limitOverrides: boolean;
  protected readonly onError: (error: unknown) => void;
  protected readonly book: ReservationBook = new ReservationBook();
  protected readonly notices: GuardNotices;

  /** @throws CostspanError `invalid_argument` (or `invalid_cost` / `invalid_tokens`) naming the bad option */
  constructor(options: BudgetGuardOptions) {
    if (typeof options !== 'object' || options === null) {
      throw invalidInput('invalid_argument', 'options', options, 'an object with limits');
    }
    this.limits = normalizeLimits(options.limits);
    this.calendar = new CalendarWindow(options.timeZone ?? 'UTC');
    this.clock = options.now ?? Date.now;
    // TTLs written to the store, never a timer's delay: they may exceed 2^31 − 1 ms.
    this.reservationTtlMs = positiveMs(options.reservationTtlMs ?? 300_000, 'reservationTtlMs');
    this.sessionTtlMs = positiveMs(options.sessionTtlMs ?? 86_400_000, 'sessionTtlMs');
    this.limitCheck = limitCheckOf(options.limitCheck);
    this.breaker = options.circuitBreaker === false ? undefined : new CircuitBreaker(cooldownOf(options.circuitBreaker?.cooldownMs));
    this.failOpen = options.failOpen ?? false;
    this.onAlert = options.onAlert;
    this.onRefusal = options.onRefusal;
    this.priceSource = options.priceSource;
    this.history = historySettings(options.history);
    this.limitOverrides = options.limitOverrides ?? true;
    this.onError = options.onError ?? ((error: unknown) => reportBudgetError(error, 'budget'));
    this.notices = new GuardNotices(options.onError);
    this.closeStore = options.closeStore ?? options.store === undefined;
    // A timer's delay (flush, shutdown): past 2^31 − 1 ms a timer would fire at once.
    this.flushTimeoutMs = millisecondsOption(options.flushTimeoutMs, 'flushTimeoutMs', { fallback: 30_000 });
    this.givenStore = options.store ?? new InMemoryBudgetStore();
    this.store = fullStore(this.givenStore);
  }

  protected async reserveNow(request: BudgetReserveInput): Promise<BudgetReservation> {
    // After shutdown an owned store is closed (an in-memory one emptied): reserving would start over.
    if (this.shutdownOnce !== undefined) throw reserveAfterShutdown();
    // One deadline for the call: the overrides read in prepare and the reservation share the store's timeout.
    const startedAt = Date.now();
    const { principal, rootRunId, context, call, estimate, now, applicable } = await this.prepare(request);
    const { pico, tokens } = estimate;
    const tooLarge = perRequestRefusal(this.limits, pico, tokens, principal, estimate.outputTokens, call);
    if (tooLarge !== undefined) throw tooLarge;
    const keys = applicable.map((limit) => limit.counter.key);
    const admitted = this.breaker?.admit(keys, now) ?? { probe: [] };
    if ('refuse' in admitted) throw breakerRefusal(admitted.refuse, pico, tokens, principal, call);
    const id = randomUUID();
    const expiresAt = now + this.reservationTtlMs;
    let backed = true;
    try {
      if (applicable.length > 0) {
        const counters = applicable.map((limit) => limit.counter);
        backed = await this.reserveInStore(
          { id, counters, pico, tokens, expiresAt, now, check: this.limitCheck, startedAt },
          applicable,
          principal,
          call,
        );
      }
    } finally {
      // Closed or tripped by now when the store answered; otherwise the next call may probe.
      if (admitted.probe.length > 0) this.breaker?.endProbe(admitted.probe);
    }
    const reservation: BudgetReservation = Object.freeze({
      id,
      estimatedPico: pico,
      estimatedUsd: picoToUsd(pico),
      estimatedTokens: Number(tokens),
      expiresAt,
      backed,
      estimateSource: estimate.source,
    });
    this.book.add(reservation, { principal, rootRunId, context, keys: backed ? keys : [], pico, tokens, backed, done: false });
    return reservation;
  }

  /** Validates a reserve or check input and reads what it needs: its estimate and limits (overrides included). */
  protected async prepare(request: BudgetReserveInput): Promise<Prepared> {
    // A request that is not an object would otherwise reserve nothing against the global limits only, silently.
    if (request !== undefined && (typeof request !== 'object' || request === null)) {
      throw invalidInput('invalid_argument', 'request', request, 'a reserve request object ({ principal, estimatedUsd, … })');
    }
    const input: BudgetReserveInput = request ?? {};
    const principal = validatePrincipal(input.principal);
    const rootRunId = optionalId(input.rootRunId, 'rootRunId');
    const context = callContextOf(input);
    const call: BudgetRefusedCall = {};
    if (context.runId !== undefined) call.runId = context.runId;
    if (rootRunId !== undefined) call.rootRunId = rootRunId;
    if (context.agent !== undefined) call.agentName = context.agent;
    if (context.step !== undefined) call.step = context.step;
    if (context.model !== undefined) call.model = context.model;
    const now = this.clock();
    const sources = { priceSource: () => (this.priceSource ??= createDefaultPriceSource()), history: this.history, store: this.store, now };
    const [estimate, applicable] = await Promise.all([
      estimateOf(input, context, sources),
      storeCall('reserve', () => this.applicableNow(principal, rootRunId, context, now)),
    ]);
    return { principal, rootRunId, context, call, estimate, now, applicable };
  }

  /** Reserves in the store; resolves whether the reservation is backed (false: admitted by failOpen). */
  protected async reserveInStore(
    request: BudgetStoreReserveRequest,
    applicable: ApplicableLimit[],
    principal: Principal,
    call: BudgetRefusedCall,
  ): Promise<boolean> {
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
      const { error, trip } = storeRefusal(applicable, refusal, request.pico, request.tokens, principal, call);
      if (trip !== undefined) this.breaker?.trip(trip.key, trip.snapshot, request.now);
      throw error;
    }
    this.breaker?.close(request.counters.map((counter) => counter.key));
    return true;
  }

  protected get ttl(): { sessionMs: number; minimumMs: number } {
    return { sessionMs: this.sessionTtlMs, minimumMs: this.reservationTtlMs + 60_000 };
  }

  /** The limits of a call now, with the overrides the store holds for its scopes (one round trip). */
  protected async applicableNow(
    principal: Principal,
    rootRunId: string | undefined,
    context: Pick<LimitContext, 'model' | 'agent'>,
    now: number,
  ): Promise<ApplicableLimit[]> {
    const overrides = await this.overridesOf(principal, context);
    return applicableLimits(this.limits, principal, rootRunId, now, this.calendar, this.ttl, { ...context, overrides });
  }

  /** The overrides of a call's scopes; with `failOpen`, a store that cannot tell gives none (reported). */
  protected async overridesOf(principal: Principal, context: Pick<LimitContext, 'model' | 'agent'>): Promise<Map<string, ScopedEntry[]>> {
    if (!this.limitOverrides) return new Map<string, ScopedEntry[]>();
    try {
      return await this.readOverridesNow(principal, context);
    } catch (error) {
      if (!this.failOpen) throw error;
      this.report(CostspanError.isInstance(error) ? error : budgetUnavailable('reserve', error), 'reserve');
      return new Map<string, ScopedEntry[]>();
    }
  }

  protected readOverridesNow(principal: Principal, context: Pick<LimitContext, 'model' | 'agent'>): Promise<Map<string, ScopedEntry[]>> {
    return readOverrides(this.store, callScopes(principal, context), (scope) =>
      this.notices.tell(
        `budget_bad_override:${scope}`,
        'invalid_argument',
        `budget: the limits stored for ${scope} are not valid; the defaults apply. Set them again with guard.setLimit.`,
      ),
    );
  }

  protected async readNow(
    principal: Principal,
    rootRunId: string | undefined,
    context: Pick<LimitContext, 'model' | 'agent'>,
    now: number,
  ): Promise<{ applicable: ApplicableLimit[]; readings: BudgetStoreReading[] }> {
    // One deadline for the call: the overrides read and the counters' read share the store's timeout.
    const startedAt = Date.now();
    const applicable = await storeCall('getBudget', () => this.applicableNow(principal, rootRunId, context, now));
    const readings = await storeCall('getBudget', () =>
      this.store.read(
        applicable.map((limit) => limit.counter.key),
        now,
        { startedAt },
      ),
    );
    return { applicable, readings };
  }

  /** Releases (when backed) and books in one store call, then fires alerts. */
  protected async commit(
    reservation: BudgetGateReservation | undefined,
    state: ReservationState | undefined,
    principal: Principal,
    rootRunId: string | undefined,
    context: CallContext,
    pico: bigint,
    tokens: bigint,
  ): Promise<void> {
    const now = this.clock();
    // One deadline for the call: the overrides read and the commit share the store's timeout.
    const startedAt = Date.now();
    const release = releaseOf(reservation, state);
    let applicable: ApplicableLimit[];
    try {
      applicable = await storeCall('settle', () => this.applicableNow(principal, rootRunId, context, now));
    } catch (error) {
      // The reservation counts as settled here: give it back anyway rather than hold it until it lapses
      // (the Redis stores retry a failed release once the store answers again).
      if (release !== undefined)
        void this.track(
          this.store.commit({ release, now }).then(() => undefined),
          false,
          'release',
        );
      throw error;
    }
    const counters: BudgetStoreCounter[] = applicable.map((limit) => limit.counter);
    if (release === undefined && counters.length === 0) return;
    let crossings: BudgetStoreCrossing[];
    try {
      crossings = await this.store.commit({
        ...(release === undefined ? {} : { release }),
        ...(counters.length === 0 ? {} : { spend: { counters, pico, tokens } }),
        now,
        startedAt,
      });
    } catch (error) {
      throw CostspanError.isInstance(error) ? error : budgetUnavailable('settle', error);
    }
    if (this.history !== undefined && context.agent !== undefined && pico + tokens > 0n) {
      const sample = { pico, tokens, at: now };
      // Best effort: the spend is booked; a lost sample only makes the next estimate less informed.
      // Within the call's deadline too: a store that hangs after booking must not hold the settle longer.
      await storeCall('settle', () =>
        this.store.addSample(historyKey(context.agent!, context.step), sample, this.history!.keep, { startedAt }),
      ).catch((error: unknown) => this.report(error, 'settle'));
    }
    for (const crossing of crossings) await this.alert(crossing, { applicable, principal, startedAt });
  }

  /**
   * Fires an alert once per window and threshold: the process that claims it in the store fires it.
   * The claim is bounded by the deadline of the settle that began at `startedAt`. A claim that fails
   * or times out fires the alert anyway (at least once): see the catch below.
   */
  protected async alert(
    crossing: BudgetStoreCrossing,
    { applicable, principal, startedAt }: { applicable: ApplicableLimit[]; principal: Principal; startedAt: number },
  ): Promise<void> {
    const alert = toAlert(applicable, crossing, principal);
    const counter = applicable[crossing.index]?.counter;
    if (alert === undefined || counter === undefined) return;
    const ttlMs = counter.rolling !== undefined ? counter.rolling.windowMs : counter.ttlMs;
    const claimKey = `alert:${counter.key}:${crossing.unit}:${alert.thresholdExact}`;
    let claimed = true;
    try {
      claimed = await storeCall('alert', () => this.store.claimOnce(claimKey, ttlMs, { startedAt }));
    } catch (error) {
      // Unconfirmed, so fired anyway: this booking is the one that crossed (the store saw it atomically),
      // and a claim that timed out may still be made once the store answers, when no process would
      // fire it. A duplicate (another claimer after a reset in this window) beats a lost alert.
      this.report(error, 'alert');
    }
    if (!claimed) return;
    if (this.onAlert === undefined) return;
    try {
      const result: unknown = this.onAlert(alert);
      if (isPromiseLike(result)) result.then(undefined, (error: unknown) => this.report(error, 'alert'));
    } catch (error) {
      this.report(error, 'alert');
    }
  }

  protected track(work: Promise<void>, rethrow: boolean, operation: GuardOperation): Promise<void> {
    return this.book.track(work, rethrow, (error) => this.report(error, operation));
  }

  /** To `onError` (default: diag, one line each); with no `onError`, also a notice once per cause. */
  protected report(error: unknown, operation: GuardOperation): void {
    try {
      this.onError(error);
    } catch {
      // An error sink that throws must not break recording.
    }
    this.notices.tellFailure(operation, error);
  }
}
