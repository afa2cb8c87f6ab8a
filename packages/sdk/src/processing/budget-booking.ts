import type { BudgetGate, BudgetReservation } from '../budget-gate.js';
import { reportError } from '../report-error.js';
import { runStates } from '../tracing/span-state.js';
import type { SpanNode } from './span-tree.js';

/**
 * Reports a call to the budget of `node`'s run, settling `reservation`. `unpricedModel` set
 * marks it `priced: false`: the gate then books the reservation's estimate. Never throws.
 */
export function recordSpend(
  node: SpanNode,
  endMs: number,
  usd: bigint,
  tokens: number,
  reservation: BudgetReservation | undefined,
  unpricedModel: string | undefined,
): void {
  const budget = budgetOf(node);
  if (budget === undefined) return;
  try {
    budget.record({
      principal: node.principal,
      runId: node.run.runId,
      rootRunId: node.root.runId,
      agentName: node.run.name,
      usd,
      tokens,
      timestamp: endMs,
      ...(reservation === undefined ? {} : { reservation }),
      ...(unpricedModel === undefined ? {} : { priced: false, model: unpricedModel }),
    });
  } catch (error) {
    reportError(error);
  }
}

/** Gives back reservations no call settled (a failed or skipped call). Never throws. */
export function releaseUnusedReservations(reservations: BudgetReservation[] | undefined, node: SpanNode | undefined): void {
  if (reservations === undefined || reservations.length === 0) return;
  // Reservations beyond the calls made (a failed or skipped call) go back to the budget.
  const unused = reservations.splice(0);
  const budget = node === undefined ? undefined : budgetOf(node);
  if (budget === undefined) return;
  for (const reservation of unused) {
    try {
      budget.release(reservation);
    } catch (error) {
      reportError(error);
    }
  }
}

/**
 * The budget of `node`'s run or the nearest outer run that has one. The tracer attaches a
 * budget after the span has started, so it is looked up when needed.
 */
export function budgetOf(node: SpanNode): BudgetGate | undefined {
  let run: SpanNode | undefined = node.run;
  while (run !== undefined) {
    const budget = runStates.get(run.span)?.budget;
    if (budget !== undefined) return budget;
    run = run.parent?.run;
  }
  return undefined;
}
