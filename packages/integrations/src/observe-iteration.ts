import { reportRecordingError } from './usage-recording.js';

type IteratorFactory<Item> = () => AsyncIterator<Item>;

/** The SDKs' `Stream` class: iteration and `tee()` both read `this.iterator()`. */
interface SdkStreamShape<Item> {
  iterator?: unknown;
  tee?: unknown;
  [Symbol.asyncIterator]: IteratorFactory<Item>;
}

/**
 * Wraps `iterable`'s iterator in place so that every item is passed to
 * `observe` and `finish` runs once when iteration ends, however it ends.
 * The object keeps its type and other methods.
 *
 * The `openai` and `@anthropic-ai/sdk` streams keep their source in an own `iterator`
 * function that `[Symbol.asyncIterator]`, `tee()` and `toReadableStream()` all read: that
 * function is wrapped when present, so a teed stream's items are observed once, at the
 * shared source, and its usage counted once however many branches read it. When every
 * branch of a `tee()` is left before the source ended, `finish(false)` runs.
 */
export function observeIteration<Item>(
  iterable: AsyncIterable<Item>,
  observe: (item: Item) => void,
  finish: (completed: boolean) => void,
): void {
  let finished = false;
  const done = (completed: boolean): void => {
    if (finished) return;
    finished = true;
    try {
      finish(completed);
    } catch (error) {
      reportRecordingError(error);
    }
  };
  const stream = iterable as unknown as SdkStreamShape<Item>;
  const ownIterator = Object.hasOwn(stream, 'iterator') && typeof stream.iterator === 'function';
  const original: IteratorFactory<Item> = ownIterator
    ? (stream.iterator as IteratorFactory<Item>).bind(stream)
    : stream[Symbol.asyncIterator].bind(stream);
  const wrapped = (): AsyncIterator<Item> => observedIterator(original(), observe, done);
  if (ownIterator) {
    Object.defineProperty(stream, 'iterator', { value: wrapped, configurable: true, writable: true });
    if (typeof stream.tee === 'function') wrapTee(stream as SdkStreamShape<Item> & { tee: () => unknown }, () => done(false));
  } else {
    Object.defineProperty(stream, Symbol.asyncIterator, { value: wrapped, configurable: true, writable: true });
  }
}

function observedIterator<Item>(
  iterator: AsyncIterator<Item>,
  observe: (item: Item) => void,
  done: (completed: boolean) => void,
): AsyncIterator<Item> {
  return {
    async next(...args: [] | [unknown]): Promise<IteratorResult<Item>> {
      let result: IteratorResult<Item>;
      try {
        result = await iterator.next(...args);
      } catch (error) {
        done(false);
        throw error;
      }
      if (result.done === true) done(true);
      else {
        try {
          observe(result.value);
        } catch (error) {
          reportRecordingError(error);
        }
      }
      return result;
    },
    async return(value?: unknown): Promise<IteratorResult<Item>> {
      done(false);
      return iterator.return === undefined ? { done: true, value: value as Item } : iterator.return(value);
    },
    async throw(error?: unknown): Promise<IteratorResult<Item>> {
      done(false);
      if (iterator.throw === undefined) throw error;
      return iterator.throw(error);
    },
    [Symbol.asyncIterator](): AsyncIterator<Item> {
      return this;
    },
  } as AsyncIterator<Item>;
}

/**
 * `tee()` reads the (wrapped) source once for both branches, so nothing is counted twice;
 * its branches only need watching for being left: when all are, the source never ends and
 * its usage never arrives, which is told as `stream_incomplete`.
 */
function wrapTee<Item>(stream: SdkStreamShape<Item> & { tee: () => unknown }, abandoned: () => void): void {
  const originalTee = stream.tee.bind(stream);
  const tee = (): unknown => {
    const branches = originalTee();
    if (!Array.isArray(branches)) return branches;
    let open = branches.length;
    const closeOne = (): void => {
      open -= 1;
      if (open === 0) abandoned();
    };
    for (const branch of branches as unknown[]) {
      const shape = branch as SdkStreamShape<Item>;
      if (typeof branch !== 'object' || branch === null || typeof shape.iterator !== 'function') {
        // A branch we cannot watch: never tell its stream as left.
        open = Number.POSITIVE_INFINITY;
        continue;
      }
      const branchIterator = (shape.iterator as IteratorFactory<Item>).bind(branch);
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        closeOne();
      };
      Object.defineProperty(branch, 'iterator', {
        value: (): AsyncIterator<Item> => closeWatcher(branchIterator(), close),
        configurable: true,
        writable: true,
      });
    }
    return branches;
  };
  Object.defineProperty(stream, 'tee', { value: tee, configurable: true, writable: true });
}

/** Passes `iterator` through and calls `close` when it is left early (its end is the source's). */
function closeWatcher<Item>(iterator: AsyncIterator<Item>, close: () => void): AsyncIterator<Item> {
  return {
    next: (...args: [] | [unknown]) => iterator.next(...args),
    async return(value?: unknown): Promise<IteratorResult<Item>> {
      close();
      return iterator.return === undefined ? { done: true, value: value as Item } : iterator.return(value);
    },
    [Symbol.asyncIterator](): AsyncIterator<Item> {
      return this;
    },
  } as AsyncIterator<Item>;
}
