import { context, diag } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, afterEach, beforeAll, vi } from 'vitest';
import { resetNotices } from '@costspan/sdk/internal';

/** Anything a test starts that must be stopped after it: a receiver. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** A one-call setup a test made. */
export interface ShutsDown {
  shutdown(options: { timeoutMillis: number }): Promise<unknown>;
}

/**
 * The lifecycle the setup tests share: a context manager for the file; after each test diag off,
 * env stubs undone, notices reset (when asked), every setup shut down and every receiver stopped.
 * Push what a test starts into the returned lists.
 */
export function trackSetups<Receiver extends Stoppable, Setup extends ShutsDown>(
  options: { resetNotices: boolean } = { resetNotices: true },
): { receivers: Receiver[]; setups: Setup[] } {
  const receivers: Receiver[] = [];
  const setups: Setup[] = [];
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  afterAll(() => {
    context.disable();
  });
  afterEach(async () => {
    diag.disable();
    vi.unstubAllEnvs();
    if (options.resetNotices) resetNotices();
    await Promise.all(setups.splice(0).map((setup) => setup.shutdown({ timeoutMillis: 1000 })));
    await Promise.all(receivers.splice(0).map((receiver) => receiver.stop()));
  });
  return { receivers, setups };
}
