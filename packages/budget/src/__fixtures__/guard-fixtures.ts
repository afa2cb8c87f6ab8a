import { afterEach, beforeEach } from 'vitest';
import { usdToPico } from '@costspan/core';
import { setNoticeHandler, type BudgetSpend, type CostspanNotice } from '@costspan/sdk';
import { resetNotices } from '@costspan/sdk/internal';
import { BudgetExceededError } from '../budget-exceeded-error.js';
import { BudgetGuard } from '../budget-guard.js';
import type { BudgetAlert, BudgetGuardOptions } from '../budget-guard-types.js';
import type { BudgetStore } from '../budget-store.js';
import { InMemoryBudgetStore } from '../in-memory-budget-store.js';

// What the guard's tests share: a guard on a clock the test moves, catching a refusal, collecting
// notices, and a store with only the methods a first-interface store has.

/** 2026-03-04T12:00:00Z, where the guard tests' clocks start. */
export const T0: number = Date.UTC(2026, 2, 4, 12, 0, 0);

/** A guard of {@link clockedGuard} with what it collected and its clock's controls. */
export interface ClockedGuard {
  guard: BudgetGuard;
  /** What reached `onError`. */
  errors: unknown[];
  /** What reached `onAlert`. */
  alerts: BudgetAlert[];
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
  /** Sets the clock to `ms` (epoch). */
  setNow(ms: number): void;
}

/** A BudgetGuard whose clock starts at {@link T0} and moves only when the test says, errors and alerts collected. */
export function clockedGuard(options: Partial<BudgetGuardOptions> & Pick<BudgetGuardOptions, 'limits'>): ClockedGuard {
  let now = T0;
  const errors: unknown[] = [];
  const alerts: BudgetAlert[] = [];
  const guard = new BudgetGuard({
    now: () => now,
    onError: (error) => errors.push(error),
    onAlert: (alert) => alerts.push(alert),
    ...options,
  });
  return {
    guard,
    errors,
    alerts,
    advance: (ms) => {
      now += ms;
    },
    setNow: (ms) => {
      now = ms;
    },
  };
}

/** A spend the SDK books directly (no reservation), at {@link T0}. */
export function directSpend(usd: number, principal: { userId?: string } = {}, tokens = 0): BudgetSpend {
  return { principal, runId: 'run', rootRunId: 'root', agentName: 'agent', usd: usdToPico(usd), tokens, timestamp: T0 };
}

/** The BudgetExceededError `promise` rejects with; fails the test if it resolves or rejects with anything else. */
export async function refusal(promise: Promise<unknown>): Promise<BudgetExceededError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!BudgetExceededError.isInstance(error)) throw new Error(`expected a BudgetExceededError, got ${String(error)}`);
  return error;
}

/**
 * The notices told in each test of the calling file (call it at the top of the file): the
 * once-per-cause memory is reset and the handler set before each test, and cleared after.
 */
export function captureNotices(): CostspanNotice[] {
  const notices: CostspanNotice[] = [];
  beforeEach(() => {
    notices.length = 0;
    resetNotices();
    setNoticeHandler((notice) => notices.push(notice));
  });
  afterEach(() => {
    setNoticeHandler(undefined);
    resetNotices();
  });
  return notices;
}

/** A real in-memory store behind only reserve, commit, read and close, with `overrides` in their place. */
export function minimalStore(overrides: Partial<BudgetStore> = {}): BudgetStore {
  const memory = new InMemoryBudgetStore();
  return {
    reserve: (request) => memory.reserve(request),
    commit: (request) => memory.commit(request),
    read: (keys, now) => memory.read(keys, now),
    close: () => memory.close(),
    ...overrides,
  };
}
