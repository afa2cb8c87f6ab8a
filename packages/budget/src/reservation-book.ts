import type { BudgetReservation as BudgetGateReservation, Principal } from '@costspan/sdk';
import type { BudgetStoreRelease } from './budget-store.js';
import type { CallContext } from './guard-estimate.js';

/** @internal What the guard remembers of a reservation it granted, until it is settled or released. */
export interface ReservationState {
  principal: Principal;
  rootRunId: string | undefined;
  /** Model, agent, step and run of the call: its settlement counts on the same scopes. */
  context: CallContext;
  /** Counter keys it holds budget on (empty when not backed by the store). */
  keys: string[];
  pico: bigint;
  tokens: bigint;
  backed: boolean;
  done: boolean;
}

/**
 * @internal Reservation bookkeeping of one guard: the state of each reservation it granted
 * (weakly held, so a reservation the caller drops costs nothing) and the background store
 * work started by `record` and `release`, so `flush` can wait for it.
 */
export class ReservationBook {
  private readonly states = new WeakMap<object, ReservationState>();
  private readonly pending = new Set<Promise<void>>();

  add(reservation: BudgetGateReservation, state: ReservationState): void {
    this.states.set(reservation, state);
  }

  /** The state of a reservation this guard granted; `undefined` for anything else. */
  stateOf(reservation: unknown): ReservationState | undefined {
    return typeof reservation === 'object' && reservation !== null ? this.states.get(reservation) : undefined;
  }

  /** Keeps `work` for `flush`; when not rethrown, its failure goes to `report`. */
  track(work: Promise<void>, rethrow: boolean, report: (error: unknown) => void): Promise<void> {
    const tracked = work.then(undefined, (error: unknown) => {
      if (rethrow) throw error;
      report(error);
    });
    const settledMarker = tracked.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settledMarker);
    void settledMarker.then(() => this.pending.delete(settledMarker));
    return tracked;
  }

  /** Tracked work not yet finished. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Resolves once no tracked work is left (work started while waiting included). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

/** @internal What settling `reservation` gives back to the store: nothing when it was not backed. */
export function releaseOf(
  reservation: BudgetGateReservation | undefined,
  state: ReservationState | undefined,
): BudgetStoreRelease | undefined {
  if (reservation === undefined || state === undefined || !state.backed || state.keys.length === 0) return undefined;
  return { id: reservation.id, keys: state.keys, pico: state.pico, tokens: state.tokens };
}

/** @internal The larger of the reported amounts and the reservation's estimate, per unit. */
export function atLeastEstimate(state: ReservationState | undefined, pico: bigint, tokens: bigint): { pico: bigint; tokens: bigint } {
  if (state === undefined) return { pico, tokens };
  return { pico: state.pico > pico ? state.pico : pico, tokens: state.tokens > tokens ? state.tokens : tokens };
}
