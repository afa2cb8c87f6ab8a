import type { PicoUsd } from '@costspan/core';

// Structural copies of the SDK's `BudgetGate` contract (packages/sdk/src/budget-gate.ts), kept
// local so that this package builds while the SDK is being written. `gate-types.test.ts` checks
// with the compiler that they stay identical; the SDK may replace them with `import type`.

/**
 * Who a call is made for: each set field selects the limits of that principal
 * (`user`, `team`, `org`, one `tag` limit per `key=value`). Structurally the SDK's `Principal`.
 */
export interface Principal {
  /** End user the run serves. */
  userId?: string;
  /** Team that owns the spend. */
  teamId?: string;
  /** Organisation (tenant) that owns the spend. */
  orgId?: string;
  /** Free-form tags, e.g. `{ env: 'production' }`. */
  tags?: Readonly<Record<string, string>>;
}

/** What the SDK asks to spend before a call. Structurally the SDK's `BudgetReserveRequest`. */
export interface BudgetReserveRequest {
  /** Principal of the enclosing run. */
  principal: Principal;
  /** Id of the enclosing run. */
  runId: string;
  /** Id of the root run (the session): the key of `session` limits. */
  rootRunId: string;
  /** Name of the enclosing run. */
  agentName: string;
  /** Estimated cost of the call in pico-USD, when known. */
  estimatedUsd?: PicoUsd;
  /** Estimated tokens of the call, when known. */
  estimatedTokens?: number;
}

/** Opaque reservation handle. Structurally the SDK's `BudgetReservation`. */
export interface BudgetGateReservation {
  /** Unique id of the reservation. */
  readonly id: string;
}

/** A priced call reported by the SDK's span processor. Structurally the SDK's `BudgetSpend`. */
export interface BudgetSpend {
  /** Principal of the run that made the call. */
  principal: Principal;
  /** Id of the run that made the call. */
  runId: string;
  /** Id of the root run (the session). */
  rootRunId: string;
  /** Name of the run that made the call. */
  agentName: string;
  /** Exact cost of the call in pico-USD. */
  usd: PicoUsd;
  /** Total tokens of the call. */
  tokens: number;
  /** The reservation this spend settles, when the step made one. */
  reservation?: BudgetGateReservation;
  /** When the call ended (epoch ms). */
  timestamp: number;
}

/** What the SDK needs from a budget. Structurally the SDK's `BudgetGate`. */
export interface BudgetGate {
  /** Reserves budget before a call; rejects with `budget_exceeded` or `budget_unavailable`. */
  reserve(request: BudgetReserveRequest): Promise<BudgetGateReservation>;
  /** Records a priced call, settling `spend.reservation` when there is one. Never throws. */
  record(spend: BudgetSpend): void;
  /** Gives back a reservation whose call failed or was not made. Never throws. */
  release(reservation: BudgetGateReservation): void;
}
