import { invalidInput } from '@costspan/core';
import { validateName } from '@costspan/sdk/internal';
import { normalizeWindows, type BudgetWindowLimits, type ScopedEntry, type ScopeKind } from './budget-limits.js';
import type { FullBudgetStore } from './store-features.js';
import { type callScopes } from './applicable-limits.js';

// Per-principal limits set at run time (trails' set_budget): validated here, kept in the store
// as JSON by scope, and read back on every reserve, so every process sharing the store sees them.

/**
 * Whose limits {@link BudgetGuard.setLimit} sets: one user, team, org, tag pair
 * (`env=production`), model or agent, or one user's use of one model.
 */
export type BudgetLimitTarget =
  | { readonly userId: string; readonly model?: string }
  | { readonly teamId: string }
  | { readonly orgId: string }
  | { readonly tag: string }
  | { readonly model: string }
  | { readonly agent: string };

/** One override, as {@link BudgetGuard.listLimits} returns it. */
export interface BudgetLimitOverride {
  /** Whose limits. */
  target: BudgetLimitTarget;
  /** `user:alice`, `model:gpt-4o`, `user:alice|model:gpt-4o`, … */
  scope: string;
  /** The windows set; they replace the defaults' windows of the same name for this scope. */
  limits: BudgetWindowLimits;
}

const TARGET_FIELDS = ['userId', 'teamId', 'orgId', 'tag', 'model', 'agent'] as const;

/** @internal The scope kind and scope string of a target; throws `invalid_argument` naming the field. */
export function targetScope(target: unknown): { kind: Exclude<ScopeKind, 'global'>; scope: string; target: BudgetLimitTarget } {
  if (typeof target !== 'object' || target === null) {
    throw invalidInput(
      'invalid_argument',
      'target',
      target,
      'one of { userId }, { teamId }, { orgId }, { tag }, { model }, { agent }, { userId, model }',
    );
  }
  const given = TARGET_FIELDS.filter((field) => (target as Record<string, unknown>)[field] !== undefined);
  const unknown = Object.keys(target).filter((field) => !(TARGET_FIELDS as readonly string[]).includes(field));
  if (unknown.length > 0) throw invalidInput('invalid_argument', `target.${unknown[0]}`, unknown[0], `one of ${TARGET_FIELDS.join(', ')}`);
  const value = (field: (typeof TARGET_FIELDS)[number]): string =>
    validateName((target as Record<string, unknown>)[field], `target.${field}`);
  if (given.length === 2 && given.includes('userId') && given.includes('model')) {
    const userId = value('userId');
    const model = value('model');
    return { kind: 'userModel', scope: `user:${userId}|model:${model}`, target: { userId, model } };
  }
  if (given.length !== 1) {
    throw invalidInput(
      'invalid_argument',
      'target',
      given,
      'exactly one of userId, teamId, orgId, tag, model, agent (or userId with model)',
    );
  }
  const field = given[0]!;
  const id = value(field);
  if (field === 'tag' && !/^[^=]+=.*$/.test(id))
    throw invalidInput('invalid_argument', 'target.tag', id, 'a tag pair such as "env=production"');
  const kinds = { userId: 'user', teamId: 'team', orgId: 'org', tag: 'tag', model: 'model', agent: 'agent' } as const;
  const kind = kinds[field];
  return { kind, scope: `${kind}:${id}`, target: { [field]: id } as BudgetLimitTarget };
}

/** @internal The JSON kept in the store for an override, validated first (throws naming the field). */
export function overrideJson(target: BudgetLimitTarget, kind: ScopeKind, limits: BudgetWindowLimits): string {
  normalizeWindows(kind, limits, 'limits');
  return JSON.stringify({ target, limits });
}

/** @internal An override read back from the store; `undefined` when it is not one (told by the caller). */
export function parseOverride(json: string): { target: BudgetLimitTarget; limits: BudgetWindowLimits } | undefined {
  try {
    const parsed = JSON.parse(json) as { target?: unknown; limits?: unknown };
    const { target } = targetScope(parsed.target);
    if (typeof parsed.limits !== 'object' || parsed.limits === null) return undefined;
    return { target, limits: parsed.limits };
  } catch {
    return undefined;
  }
}

/**
 * @internal The overrides of every scope of a call, read in one round trip; a stored entry
 * that no longer validates is skipped (the defaults apply) and handed to `bad`.
 */
export async function readOverrides(
  store: FullBudgetStore,
  scopes: ReturnType<typeof callScopes>,
  bad: (scope: string) => void,
): Promise<Map<string, ScopedEntry[]>> {
  const overrides = new Map<string, ScopedEntry[]>();
  if (scopes.length === 0) return overrides;
  const values = await store.getLimits(scopes.map((scope) => scope.scope));
  for (const [index, json] of values.entries()) {
    if (json === undefined) continue;
    const scope = scopes[index]!;
    const parsed = parseOverride(json);
    try {
      if (parsed === undefined) throw new Error('not an override');
      overrides.set(scope.scope, normalizeWindows(scope.kind, parsed.limits, `override ${scope.scope}`));
    } catch {
      bad(scope.scope);
    }
  }
  return overrides;
}
