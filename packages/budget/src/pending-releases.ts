import type { BudgetStoreRelease } from './budget-store.js';

/** A reservation that may be held in the store although the caller was told it is not. */
interface PendingRelease {
  release: BudgetStoreRelease;
  /** The guard's time now. */
  now: () => number;
  expiresAt: number;
}

const MAX_PENDING = 10_000;
const FIRST_DELAY_MS = 50;
const MAX_DELAY_MS = 5000;

/**
 * Reservations to give back once the store answers again: a reserve that timed
 * out after it was sent (it may still run), or a compensation that failed. The
 * release is a no-op in the script for one that never ran, so retrying it is
 * safe. Bounded (the rest lapse at their expiry) and backs off while the store
 * is away; the timer never keeps the process alive.
 */
export class PendingReleases {
  private readonly pending = new Map<string, PendingRelease>();
  private timer: NodeJS.Timeout | undefined;
  private delayMs = FIRST_DELAY_MS;
  private stopped = false;

  /** @param release - gives one reservation back; rejects while the store cannot be reached */
  constructor(private readonly release: (release: BudgetStoreRelease, now: number) => Promise<void>) {}

  /** How many are not yet given back. */
  get size(): number {
    return this.pending.size;
  }

  /** Queues a release of `release.keys` (merged with one already queued for the same id). */
  add(release: BudgetStoreRelease, guardNow: number, expiresAt: number): void {
    if (this.stopped) return;
    const queued = this.pending.get(release.id);
    if (queued !== undefined) {
      queued.release = { ...queued.release, keys: [...new Set([...queued.release.keys, ...release.keys])] };
      return;
    }
    if (this.pending.size >= MAX_PENDING) return;
    const addedAt = Date.now();
    // The guard's clock may not be the wall clock: carry its time forward by wall time elapsed.
    this.pending.set(release.id, { release, now: () => guardNow + (Date.now() - addedAt), expiresAt });
    this.delayMs = FIRST_DELAY_MS;
    this.schedule();
  }

  /** Stops retrying (on close). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.stopped || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, this.delayMs);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    for (const [id, entry] of [...this.pending]) {
      const now = entry.now();
      if (now >= entry.expiresAt) {
        this.pending.delete(id); // lapsed inside the script by now
        continue;
      }
      try {
        await this.release(entry.release, now);
        this.pending.delete(id);
      } catch {
        this.delayMs = Math.min(this.delayMs * 2, MAX_DELAY_MS);
        this.schedule();
        return;
      }
    }
    this.delayMs = FIRST_DELAY_MS;
    this.schedule(); // added while draining
  }
}
