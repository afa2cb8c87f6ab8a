import { CostspanError } from '@costspan/core';

/** The CostspanError `run` throws; fails the test when it throws something else or nothing. */
export function refusal(run: () => unknown): CostspanError {
  try {
    run();
  } catch (error) {
    if (CostspanError.isInstance(error)) return error;
    throw new Error(`expected a CostspanError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a CostspanError, nothing was thrown');
}
