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
  if (limitType === 'session') return `limits.session.${unit}`;
  const [kind, window] = limitType.includes('_') ? limitType.split('_') : ['global', limitType];
  return `limits.${kind}.${window}.${unit}`;
}
