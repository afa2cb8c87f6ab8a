import { CostspanError } from '@costspan/core';
import { budgetUnavailable } from './budget-exceeded-error.js';
import type { BudgetStore } from './budget-store.js';
import type { ReservationBook } from './reservation-book.js';

// Bounded flush and shutdown of a BudgetGuard: a hung or throwing store never holds up or
// crashes the host's exit; what did not finish is reported, not thrown.

/** @internal Waits for the book's work at most `timeoutMs`; reports what is left. Never rejects. */
export async function flushWithin(
  book: ReservationBook,
  timeoutMs: number,
  operation: string,
  report: (error: unknown) => void,
): Promise<boolean> {
  const finished = await settlesWithin(() => book.flush(), timeoutMs);
  if (!finished) {
    report(
      new CostspanError({
        code: 'shutdown',
        message:
          `BudgetGuard.${operation}: ${book.pendingCount} store operation(s) did not finish within ${timeoutMs} ms; ` +
          'their spend may not be booked. Check that the budget store answers.',
      }),
    );
  }
  return finished;
}

/** @internal What {@link shutdownWithin} shuts down. */
export interface ShutdownPlan {
  book: ReservationBook;
  /** The store to close, when the guard owns it. */
  store: BudgetStore | undefined;
  /** Bound of flush and close together (ms). */
  timeoutMs: number;
  /** Runs after the flush, before the close. */
  beforeClose: () => void;
  report: (error: unknown) => void;
}

/** @internal Flush, then close the store, within `timeoutMs` in all. Never rejects. */
export async function shutdownWithin(plan: ShutdownPlan): Promise<void> {
  const deadline = Date.now() + plan.timeoutMs;
  await flushWithin(plan.book, plan.timeoutMs, 'shutdown', plan.report);
  try {
    plan.beforeClose();
  } catch (error) {
    plan.report(error);
  }
  const store = plan.store;
  if (store === undefined) return;
  const closing = Promise.resolve().then(() => store.close());
  closing.catch((error: unknown) => plan.report(budgetUnavailable('shutdown (store close)', error)));
  if (!(await settlesWithin(() => closing, Math.max(1, deadline - Date.now())))) {
    plan.report(
      new CostspanError({ code: 'shutdown', message: `BudgetGuard.shutdown: the store did not close within ${plan.timeoutMs} ms` }),
    );
  }
}

/**
 * @internal Resolves true when `work` settles (fulfilled or rejected: the caller reports
 * failures) within `timeoutMs`, false when the time ran out first. Never rejects, and
 * leaves no timer behind.
 */
export async function settlesWithin(work: () => Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  let started: Promise<true>;
  try {
    // A store method that throws synchronously counts as settled.
    started = work().then(
      () => true as const,
      () => true as const,
    );
  } catch {
    started = Promise.resolve(true as const);
  }
  try {
    return await Promise.race([started, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
