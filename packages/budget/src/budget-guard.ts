import { CostspanError, invalidInput, picoToUsd, type PicoUsd } from '@costspan/core';
import { type BudgetGate, type BudgetReservation as BudgetGateReservation, type BudgetSpend, type Principal } from '@costspan/sdk';
import { validatePrincipal } from '@costspan/sdk/internal';
import { BudgetExceededError, budgetUnavailable } from './budget-exceeded-error.js';
import type {
  BudgetCheckResult,
  BudgetGuardOptions,
  BudgetLimitStatus,
  BudgetReservation,
  BudgetReserveInput,
  BudgetStatus,
} from './budget-guard-types.js';
import { type BudgetWindowLimits } from './budget-limits.js';
import { applicableLimits } from './applicable-limits.js';
import { overrideJson, parseOverride, targetScope, type BudgetLimitOverride, type BudgetLimitTarget } from './limit-overrides.js';
import { type CircuitState } from './circuit-breaker.js';
import { describeReservation, optionalId, toPico, toTokens } from './guard-input.js';
import { callbackSafely, storeCall, targetPrincipal } from './guard-support.js';
import { refusalCause, refusalMessage } from './guard-notices.js';
import { breakerRefusal, perRequestRefusal, refusalOfReadings, statusesOf, storeRefusal } from './guard-results.js';
import { flushWithin, shutdownWithin } from './guard-lifecycle.js';
import { BudgetGuardCore } from './guard-core.js';
import { atLeastEstimate } from './reservation-book.js';

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
export class BudgetGuard extends BudgetGuardCore implements BudgetGate {
  /** @throws CostspanError `invalid_argument` (or `invalid_cost` / `invalid_tokens`) naming the bad option */
  constructor(options: BudgetGuardOptions) {
    super(options);
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
      if (BudgetExceededError.isInstance(error)) {
        this.notices.noticeUnlessHandled(refusalCause(error), refusalMessage(error));
        if (this.onRefusal !== undefined) callbackSafely(this.onRefusal, error, (failure) => this.report(failure, 'alert'));
      }
      throw error;
    }
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
    await this.track(
      this.commit(reservation, state, state.principal, state.rootRunId, state.context, pico, BigInt(tokens)),
      true,
      'settle',
    );
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
      const context = state?.context ?? { model: spend.model, agent: spend.agentName, step: undefined, runId: spend.runId };
      if (state !== undefined) state.done = true;
      void this.track(
        this.commit(state === undefined ? undefined : reservation, state, principal, rootRunId, context, bookPico, bookTokens),
        false,
        'record',
      );
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
  async getBudget(
    principal: Principal = {},
    options: { rootRunId?: string; model?: string; agentName?: string } = {},
  ): Promise<BudgetStatus> {
    const checked = validatePrincipal(principal);
    const rootRunId = optionalId(options.rootRunId, 'rootRunId');
    const now = this.clock();
    const { applicable, readings } = await this.readNow(
      checked,
      rootRunId,
      { model: optionalId(options.model, 'model'), agent: optionalId(options.agentName, 'agentName') },
      now,
    );
    const keys = applicable.map((limit) => limit.counter.key);
    return { circuit: this.breaker?.state(keys, now) ?? 'CLOSED', limits: statusesOf(applicable, readings) };
  }

  /**
   * Would `reserve(input)` be admitted now? Answers without reserving (SynapseKit
   * `check_before`, trails `check_budget`): `allowed`, or the refusal it would meet,
   * with what remains of every limit. Refusals here are not told or passed to `onRefusal`.
   *
   * @throws CostspanError `budget_unavailable` when the store cannot be reached; bad input as `reserve`
   */
  async check(principal: Principal, input: Omit<BudgetReserveInput, 'principal'> = {}): Promise<BudgetCheckResult> {
    // One deadline for the call: the overrides read in prepare and the counters' read share the store's timeout.
    const startedAt = Date.now();
    const { principal: checked, call, estimate, now, applicable } = await this.prepare({ ...input, principal });
    const readings = await storeCall('check', () =>
      this.store.read(
        applicable.map((limit) => limit.counter.key),
        now,
        { startedAt },
      ),
    );
    const limits = statusesOf(applicable, readings);
    const keys = applicable.map((limit) => limit.counter.key);
    const breaker = this.breaker?.admit(keys, Number.NEGATIVE_INFINITY);
    let refusal = perRequestRefusal(this.limits, estimate.pico, estimate.tokens, checked, estimate.outputTokens, call);
    if (refusal === undefined && breaker !== undefined && 'refuse' in breaker && this.breaker?.state(keys, now) === 'OPEN') {
      refusal = breakerRefusal(breaker.refuse, estimate.pico, estimate.tokens, checked, call);
    }
    const found =
      refusal === undefined ? refusalOfReadings(applicable, readings, estimate.pico, estimate.tokens, this.limitCheck) : undefined;
    if (found !== undefined)
      refusal = storeRefusal(applicable, found, estimate.pico, estimate.tokens, checked, call).error as BudgetExceededError;
    return {
      allowed: refusal === undefined,
      refusal,
      estimatedUsd: picoToUsd(estimate.pico),
      estimatedPico: estimate.pico,
      estimatedTokens: Number(estimate.tokens),
      estimateSource: estimate.source,
      limits,
    };
  }

  /**
   * Spent and reserved in `window` for `target` (`{}`: global), e.g. SynapseKit's
   * `daily_spend`: `guard.spend({}, 'daily')`. One entry per unit of that window's
   * limit (a window without a limit keeps no counter: give it an entry without
   * amounts, `daily: {}`, to track spend only).
   *
   * @throws CostspanError `invalid_argument` when no such limit is configured or set for the target
   */
  async spend(target: BudgetLimitTarget | Record<string, never>, window: keyof BudgetWindowLimits): Promise<BudgetLimitStatus[]> {
    const { principal, context, scope } = targetPrincipal(target);
    const { applicable, readings } = await this.readNow(principal, undefined, context, this.clock());
    const statuses = statusesOf(applicable, readings).filter((status) => status.scope === scope && windowOf(status.limitType) === window);
    if (statuses.length === 0) {
      throw invalidInput(
        'invalid_argument',
        'window',
        window,
        `a window with a limit for ${scope} (configure limits.<scope>.${window}, or setLimit)`,
      );
    }
    return statuses;
  }

  /**
   * For tests and admin tools: `reset()` deletes every counter, override, alert
   * claim and sample in the store; `reset(target)` deletes that target's counters
   * of the current windows (spent and reserved back to zero).
   */
  async reset(target?: BudgetLimitTarget | Record<string, never>): Promise<void> {
    if (target === undefined) {
      await storeCall('reset', () => this.store.reset());
    } else {
      const { principal, context, scope } = targetPrincipal(target);
      // One deadline for the call: the overrides read and the deletion share the store's timeout.
      const startedAt = Date.now();
      const applicable = await storeCall('reset', () => this.applicableNow(principal, undefined, context, this.clock()));
      await storeCall('reset', () =>
        this.store.reset(
          applicable.filter((limit) => limit.scope === scope).map((limit) => limit.counter.key),
          { startedAt },
        ),
      );
    }
    this.breaker?.reset();
  }

  /**
   * Sets (replaces) the limits of one user, team, org, tag, model, agent or user
   * per model at run time (trails `set_budget`), kept in the store: every process
   * sharing it applies them from its next reserve. The windows given replace the
   * configured default's windows of the same name for that target; others stay.
   *
   * @example guard.setLimit({ userId: 'alice' }, { daily: { usd: 5, tokens: 1_000_000 } })
   * @throws CostspanError `invalid_argument` / `invalid_cost` / `invalid_tokens` naming the bad field
   */
  async setLimit(target: BudgetLimitTarget, limits: BudgetWindowLimits): Promise<void> {
    const scope = targetScope(target);
    const json = overrideJson(scope.target, scope.kind, limits);
    await storeCall('setLimit', () => this.store.setLimit(scope.scope, json));
    this.breaker?.reset();
  }

  /** Removes a target's limits set by {@link BudgetGuard.setLimit}; resolves whether there were any. */
  async removeLimit(target: BudgetLimitTarget): Promise<boolean> {
    const scope = targetScope(target);
    const removed = await storeCall('removeLimit', () => this.store.removeLimit(scope.scope));
    this.breaker?.reset();
    return removed;
  }

  /** Every limit set by {@link BudgetGuard.setLimit} (in any process sharing the store), sorted by scope. */
  async listLimits(): Promise<BudgetLimitOverride[]> {
    const stored = await storeCall('listLimits', () => this.store.listLimits());
    const overrides: BudgetLimitOverride[] = [];
    for (const { scope, limits } of stored) {
      const parsed = parseOverride(limits);
      if (parsed !== undefined) overrides.push({ scope, target: parsed.target, limits: parsed.limits });
    }
    return overrides;
  }

  /** Circuit-breaker state for a principal (and session): the worst among its limits. */
  circuitState(principal: Principal = {}, options: { rootRunId?: string } = {}): CircuitState {
    if (this.breaker === undefined) return 'CLOSED';
    const now = this.clock();
    // Synchronous: the defaults' counters (a breaker trips on a counter whatever set its limit).
    const context = {};
    const rootRunId = optionalId(options.rootRunId, 'rootRunId');
    const keys = applicableLimits(this.limits, validatePrincipal(principal), rootRunId, now, this.calendar, this.ttl, context).map(
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
      store: this.closeStore ? this.givenStore : undefined,
      timeoutMs: this.flushTimeoutMs,
      beforeClose: () => this.breaker?.reset(),
      report: (error) => this.report(error, 'shutdown'),
    });
    return this.shutdownOnce;
  }
}

/** The window name of a limit type: `user_daily` → `daily`. */
function windowOf(limitType: string): string {
  return limitType.slice(limitType.lastIndexOf('_') + 1);
}
