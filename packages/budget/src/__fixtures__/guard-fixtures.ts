import { afterEach, beforeEach } from 'vitest';
import { setNoticeHandler, type CostspanNotice } from '@costspan/sdk';
import { resetNotices } from '@costspan/sdk/internal';
import { BudgetExceededError } from '../budget-exceeded-error.js';
import type { BudgetStore } from '../budget-store.js';
import { InMemoryBudgetStore } from '../in-memory-budget-store.js';

// What the guard's tests share: catching a refusal, collecting notices, and a store with only the
// methods a first-interface store has.

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
