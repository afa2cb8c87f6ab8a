import { CostspanError, formatUsd } from '@costspan/core';
import { notice } from '@costspan/sdk/internal';
import type { BudgetExceededError, BudgetLimitType, BudgetUnit } from './budget-exceeded-error.js';

/** Distinct causes one guard remembers; past this a cause counts as told (bounded memory). */
const MAX_CAUSES = 1000;
/** Longest model name quoted in a message. */
const MAX_NAME = 120;

/**
 * @internal Tells a person about things that are not errors of the call but make budget
 * numbers less than exact (an unpriced call, a refusal nobody catches): once per cause per
 * guard, to `onError` when the user gave one, otherwise to costspan's `notice` (handler,
 * else diag, else one stderr line, once per cause per process). Never one line per call.
 */
export class GuardNotices {
  private readonly told = new Set<string>();

  constructor(private readonly onError: ((error: unknown) => void) | undefined) {}

  /** Whether a user `onError` receives these (otherwise `notice` does). */
  get toOnError(): boolean {
    return this.onError !== undefined;
  }

  /**
   * Tells `message` once for `cause` through `notice`, only when the user gave no `onError`
   * (who passes one handles these themselves, e.g. refusals they catch).
   */
  noticeUnlessHandled(cause: string, message: string): void {
    if (this.onError !== undefined) return;
    if (this.told.has(cause) || this.told.size >= MAX_CAUSES) return;
    this.told.add(cause);
    notice(cause, message);
  }

  /**
   * Tells, once per cause, an error of `operation` that went to the default sink (diag), so a
   * failing store is not silent when no diag logger is installed. No-op when `onError` is given.
   */
  tellFailure(operation: GuardOperation, error: unknown): void {
    if (this.onError !== undefined) return;
    try {
      const cause = failureCause(operation, error);
      this.noticeUnlessHandled(cause, failureMessage(operation, error, cause));
    } catch {
      // Telling must never break recording.
    }
  }

  /** Tells, once per model, what a call that could not be priced was booked at. */
  tellUnpriced(booking: UnpricedBooking): void {
    this.tell(unpricedCause(booking.model), 'unknown_model', unpricedMessage(booking), 'spend.model', booking.model);
  }

  /** Tells `message` once for `cause`; never throws. */
  tell(cause: string, code: CostspanError['code'], message: string, field?: string, value?: unknown): void {
    if (this.told.has(cause) || this.told.size >= MAX_CAUSES) return;
    this.told.add(cause);
    try {
      if (this.onError === undefined) {
        notice(cause, message);
        return;
      }
      this.onError(new CostspanError({ code, message, ...(field === undefined ? {} : { field, value }) }));
    } catch {
      // An error sink that throws must not break recording.
    }
  }
}

/** @internal What an unpriced call was booked at, for {@link unpricedMessage}. */
export interface UnpricedBooking {
  model: string | undefined;
  pico: bigint;
  tokens: bigint;
  /** Whether it settled a reservation (whose estimate was then booked). */
  reserved: boolean;
}

/** @internal The notice cause of an unpriced call: one per model. */
export function unpricedCause(model: string | undefined): string {
  return model === undefined ? 'budget_unpriced' : `budget_unpriced:${shortName(model)}`;
}

/** @internal One line: what was booked for a call the SDK could not price, and what to do. */
export function unpricedMessage(booking: UnpricedBooking): string {
  const what =
    booking.model === undefined ? 'a call could not be priced' : `a call of model "${shortName(booking.model)}" could not be priced`;
  const why = '(unknown model, no price source, or a response without usage)';
  const fix = 'register a price for the model, pass the cost, or turn on usage reporting to book it exactly';
  if (booking.pico === 0n) {
    const source = booking.reserved ? 'its reservation had no estimate' : 'it settled no reservation';
    return (
      `budget: ${what} ${why} and ${source}, so it was booked at $0 and ${booking.tokens} tokens; ` +
      `pass estimatedUsd to step.reserve / guard.reserve so budgets count such calls, or ${fix}.`
    );
  }
  const as = booking.reserved ? 'its reservation estimate' : 'the cost it reported';
  return (
    `budget: ${what} ${why}; booked at ${as}, ${formatUsd(booking.pico)} and ${booking.tokens} tokens, ` +
    `so limits still hold. To count it exactly, ${fix}.`
  );
}

function shortName(name: string): string {
  return name.length > MAX_NAME ? `${name.slice(0, MAX_NAME)}…` : name;
}

/** @internal The notice cause of a refusal: one per limit and scope (never one per call). */
export function refusalCause(error: BudgetExceededError): string {
  return `budget_refused:${error.trippedBy ?? error.limitType}:${shortName(error.scope)}`;
}

/** @internal One line: which limit refused, and how to raise it or handle refusals. */
export function refusalMessage(error: BudgetExceededError): string {
  const limitType = error.trippedBy ?? error.limitType;
  const show = (amount: bigint): string => (error.unit === 'usd' ? formatUsd(amount) : `${amount} tokens`);
  const breaker = error.limitType === 'circuit_breaker' ? ' (its circuit breaker is open)' : '';
  return (
    `budget: the ${limitType} limit of ${show(error.limitExact)} for ${shortName(error.scope)} (${error.window}) refused a call${breaker}: ` +
    `spent and reserved ${show(error.currentExact)}, the call asked for ${show(error.attemptedExact)}. ` +
    `Raise ${optionPath(limitType, error.unit)} in the BudgetGuard limits, or catch BudgetExceededError ` +
    `(code budget_exceeded) around the call; pass onError to BudgetGuard to receive these notices instead.`
  );
}

/** Where a limit type is configured, e.g. `limits.user.daily.usd`. */
function optionPath(limitType: BudgetLimitType, unit: BudgetUnit): string {
  if (limitType === 'per_request') return `limits.perRequest.${unit}`;
  if (limitType === 'per_request_output') return 'limits.perRequest.outputTokens';
  if (limitType === 'session') return `limits.session.${unit}`;
  const at = limitType.lastIndexOf('_');
  if (at < 0) return `limits.global.${limitType}.${unit}`;
  const kind = limitType.slice(0, at) === 'user_model' ? 'userModel' : limitType.slice(0, at);
  return `limits.${kind}.${limitType.slice(at + 1)}.${unit}`;
}

/** @internal What a guard was doing when an error it cannot throw happened. */
export type GuardOperation = 'reserve' | 'settle' | 'record' | 'release' | 'flush' | 'shutdown' | 'alert';

/** Longest error text quoted in a notice. */
const MAX_REASON = 200;

/** What was lost when the store failed during an operation, and what limits do because of it. */
const STORE_FAILURE_EFFECT: Record<GuardOperation, string> = {
  reserve: 'failOpen admitted the call without a reservation, so limits are not enforced while the store fails',
  settle: "that call's spend was not booked, so limits may admit more than they should",
  record: "that call's spend was not booked, so limits may admit more than they should",
  release: 'a reservation was not given back, so its estimate stays counted until it expires (reservationTtlMs)',
  flush: 'work still pending may not be booked',
  shutdown: 'the store may not have closed cleanly',
  alert: 'the alert fired without its once-only claim, so it may fire more than once in its window',
};

/** @internal The notice cause of an error a guard could not throw: one per operation and kind. */
export function failureCause(operation: GuardOperation, error: unknown): string {
  if (CostspanError.isInstance(error) && error.code === 'budget_unavailable') return `budget_store_failed:${operation}`;
  if (CostspanError.isInstance(error) && error.code === 'shutdown') return `budget_${operation}_incomplete`;
  return `budget_error:${operation}`;
}

/** @internal One line: what failed, what it means for the budget numbers, and what to do. */
export function failureMessage(operation: GuardOperation, error: unknown, cause: string): string {
  const text = error instanceof Error ? error.message : String(error);
  const reason = text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text;
  const more = 'to BudgetGuard to receive every such error (each is also logged to OpenTelemetry diag).';
  if (cause.startsWith('budget_store_failed:')) {
    return (
      `budget: the budget store failed during ${operation} (${reason}): ${STORE_FAILURE_EFFECT[operation]}. ` +
      `Check that the store answers (for Redis: reachable and not out of memory); pass onError ${more}`
    );
  }
  if (operation === 'alert') return `budget: an onAlert handler failed (${reason}). Fix the handler; pass onError ${more}`;
  return `budget: ${operation} did not complete (${reason}). Pass onError ${more}`;
}

/** @internal The error `reserve` rejects with once the guard was shut down. */
export function reserveAfterShutdown(): CostspanError {
  return new CostspanError({
    code: 'shutdown',
    message:
      'BudgetGuard.reserve: this guard was shut down, so it refuses new reservations (its store may be closed and its counters gone). ' +
      'Call shutdown() only when the app stops making calls, or create a new BudgetGuard.',
  });
}
