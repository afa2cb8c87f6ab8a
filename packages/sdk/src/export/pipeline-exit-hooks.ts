/** What the exit hooks need of a pipeline. */
export interface ExitDrainable {
  /** Writes what is queued through exporters that can write synchronously. */
  drainSync(): void;
  hasPending(): boolean;
  flushBeforeExit(): Promise<void>;
}

const livePipelines = new Set<WeakRef<ExitDrainable>>();
let exitHooksInstalled = false;

/** Drains `pipeline` when the process exits (`exit`: synchronously; `beforeExit`: a bounded flush). */
export function drainOnExit(reference: WeakRef<ExitDrainable>): void {
  livePipelines.add(reference);
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  // `exit` allows synchronous work only: exporters that can write synchronously get what is still queued.
  process.once('exit', () => {
    for (const live of livePipelines) live.deref()?.drainSync();
  });
  process.on('beforeExit', () => {
    for (const live of livePipelines) {
      const pipeline = live.deref();
      if (pipeline === undefined) livePipelines.delete(live);
      else if (pipeline.hasPending()) void pipeline.flushBeforeExit();
    }
  });
}

/** Stops draining `pipeline` at exit (it has shut down with nothing pending). */
export function forgetOnExit(reference: WeakRef<ExitDrainable>): void {
  livePipelines.delete(reference);
}
