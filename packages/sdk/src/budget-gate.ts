import type { PicoUsd } from '@costspan/core';

/**
 * Who a run is done for. Every field is optional; each set field becomes an
 * attribution target (`user:alice`, `team:search`, `org:acme`, `tag:env=prod`).
 */
export interface Principal {
  /** End user the run serves. Written as `actor_id` on events. */
  userId?: string;
  /** Team that owns the spend. */
  teamId?: string;
  /** Organisation (tenant) that owns the spend. */
  orgId?: string;
  /** Free-form tags, e.g. `{ env: 'production', feature: 'search' }`. */
  tags?: Readonly<Record<string, string>>;
}

/** What a step asks to spend before it calls a model. */
export interface BudgetReserveRequest {
  /** Principal of the enclosing run (inherited from outer runs when not set). */
  principal: Principal;
  /** `gen_ai.agent.id` of the enclosing run. */
  runId: string;
  /** `gen_ai.agent.id` of the root run (the session). */
  rootRunId: string;
  /** Name of the enclosing run. */
  agentName: string;
  /** Name of the step reserving (with `agentName`, the key of estimates from history). */
  step?: string;
  /** Model of the coming call, when known (the key of per-model limits). */
  model?: string;
  /** Estimated cost of the call, when known. */
  estimatedUsd?: PicoUsd;
  /** Estimated tokens of the call, when known. */
  estimatedTokens?: number;
}

/** Opaque handle returned by {@link BudgetGate.reserve}. */
export interface BudgetReservation {
  readonly id: string;
}

/** A priced call, reported to the gate once the span processor has priced it. */
export interface BudgetSpend {
  principal: Principal;
  runId: string;
  rootRunId: string;
  agentName: string;
  /** Exact cost of the call. */
  usd: PicoUsd;
  /** Total tokens of the call. */
  tokens: number;
  /** The reservation this spend settles, when the step made one. */
  reservation?: BudgetReservation | undefined;
  /**
   * False when the call ran but could not be priced (unknown model, no price source) or
   * reported no usage: `usd` (and possibly `tokens`) is then a floor, and the gate books
   * the reservation's estimate instead of $0. Default true.
   */
  priced?: boolean | undefined;
  /** Model of the call, for messages about it. */
  model?: string | undefined;
  /** When the call ended (epoch ms). */
  timestamp: number;
}

/**
 * What the SDK needs from a budget: reserve before a call, record the real
 * spend after it. `@costspan/budget`'s `BudgetGuard` implements it; pass one as
 * `agentRun(name, { budget }, fn)`.
 */
export interface BudgetGate {
  /**
   * Reserves budget before a call. Rejects with a `CostspanError` whose code is
   * `budget_exceeded` (or `budget_unavailable`) when the call must not be made.
   */
  reserve(request: BudgetReserveRequest): Promise<BudgetReservation>;
  /**
   * Records a priced call, settling `spend.reservation` when there is one.
   * Called from span processing: must not throw and must not block.
   */
  record(spend: BudgetSpend): void;
  /** Gives back a reservation whose call failed or was not made. Must not throw. */
  release(reservation: BudgetReservation): void;
}
