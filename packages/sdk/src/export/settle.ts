/**
 * Small promise tools for the export path: every promise an exporter returns is handled here,
 * and every wait has a bound, so nothing in export or shutdown can reject into, or hang, the host.
 */

/**
 * Runs `work` at most once; every call returns the first call's promise. The idea of
 * OpenTelemetry's `BindOnceFuture` (`@opentelemetry/core`), kept here so it does not depend on
 * that class staying exported across OTel major versions.
 */
export class OnceFuture<Value> {
  private promise: Promise<Value> | undefined;
  private readonly work: () => Value | PromiseLike<Value>;

  constructor(work: () => Value | PromiseLike<Value>) {
    this.work = work;
  }

  /** True once {@link OnceFuture.call} has run the work. */
  get isCalled(): boolean {
    return this.promise !== undefined;
  }

  /** Runs the work the first time; later calls get the same promise. */
  call(): Promise<Value> {
    this.promise ??= invokeSafely(this.work);
    return this.promise;
  }
}

/** Calls `work`, turning a synchronous throw into a rejection, so callers handle one path only. */
export function invokeSafely<Value>(work: () => Value | PromiseLike<Value>): Promise<Value> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(asError(error));
  }
}

/** How a bounded wait ended. */
export type BoundedOutcome = { outcome: 'done' } | { outcome: 'failed'; error: Error } | { outcome: 'timeout' };

/**
 * Waits for `promise` at most `timeoutMillis`; never rejects. With `keepAlive` the timer holds
 * the event loop open (an awaited `shutdown()` must settle, or Node ends the script with an
 * unsettled top-level await); without it, a hung exporter cannot keep the process alive.
 */
export function settleWithin(promise: Promise<unknown>, timeoutMillis: number, keepAlive: boolean): Promise<BoundedOutcome> {
  return new Promise<BoundedOutcome>((resolve) => {
    const timer = setTimeout(() => resolve({ outcome: 'timeout' }), timeoutMillis);
    if (!keepAlive) timer.unref();
    promise.then(
      () => {
        clearTimeout(timer);
        resolve({ outcome: 'done' });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ outcome: 'failed', error: asError(error) });
      },
    );
  });
}

/** True for anything with a callable `then`: what an `async` method returns. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

/** An Error for anything thrown or rejected with. */
export function asError(value: unknown, fallback = 'unknown error'): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value) ?? fallback);
  } catch {
    return new Error(fallback);
  }
}
