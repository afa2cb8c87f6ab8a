import { CostspanError } from '@costspan/core';
import type { Principal } from '@costspan/sdk';
import { budgetUnavailable } from './budget-exceeded-error.js';
import { isPromiseLike } from './guard-input.js';
import type { LimitContext } from './applicable-limits.js';
import { targetScope, type BudgetLimitTarget } from './limit-overrides.js';

// Small helpers of BudgetGuard's query and admin methods.

/** @internal Runs a store operation; a failure that is not already a CostspanError becomes `budget_unavailable`. */
export async function storeCall<T>(operation: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw CostspanError.isInstance(error) ? error : budgetUnavailable(operation, error);
  }
}

/** @internal Calls a user callback; a throw or a rejection goes to `report`, never to the caller. */
export function callbackSafely<T>(callback: (value: T) => unknown, value: T, report: (error: unknown) => void): void {
  try {
    const result = callback(value);
    if (isPromiseLike(result)) result.then(undefined, report);
  } catch (error) {
    report(error);
  }
}

/** @internal The principal and context whose limits include a target's, and the target's scope (`global` for `{}`). */
export function targetPrincipal(target: BudgetLimitTarget | Record<string, never>): {
  principal: Principal;
  context: Pick<LimitContext, 'model' | 'agent'>;
  scope: string;
} {
  if (typeof target === 'object' && target !== null && Object.keys(target).length === 0) {
    return { principal: {}, context: {}, scope: 'global' };
  }
  const { scope, target: checked } = targetScope(target);
  const fields = checked as { userId?: string; teamId?: string; orgId?: string; tag?: string; model?: string; agent?: string };
  const principal: Principal = {
    ...(fields.userId === undefined ? {} : { userId: fields.userId }),
    ...(fields.teamId === undefined ? {} : { teamId: fields.teamId }),
    ...(fields.orgId === undefined ? {} : { orgId: fields.orgId }),
  };
  if (fields.tag !== undefined) {
    const at = fields.tag.indexOf('=');
    principal.tags = { [fields.tag.slice(0, at)]: fields.tag.slice(at + 1) };
  }
  return { principal, context: { model: fields.model, agent: fields.agent }, scope };
}
