import type { Attributes } from '@opentelemetry/api';
import { invalidInput } from '@costspan/core';
import { ATTR } from '../attributes.js';
import type { Principal } from '../budget-gate.js';

/**
 * Checks a principal given by the caller: ids are non-empty strings, tags map
 * non-empty keys to strings. Every key survives end to end, `__proto__`, `constructor`
 * and `prototype` included: tags are kept in null-prototype objects, where such keys are
 * plain data, and events carry them as written.
 *
 * @throws CostspanError `invalid_argument` naming the field and value
 */
export function validatePrincipal(principal: unknown, field = 'principal'): Principal {
  if (principal === undefined) return {};
  if (typeof principal !== 'object' || principal === null || Array.isArray(principal)) {
    throw invalidInput('invalid_argument', field, principal, 'an object with userId, teamId, orgId or tags');
  }
  const record = principal as Record<string, unknown>;
  const result: { userId?: string; teamId?: string; orgId?: string; tags?: Record<string, string> } = {};
  for (const key of ['userId', 'teamId', 'orgId'] as const) {
    const value = record[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.trim() === '') {
      throw invalidInput('invalid_argument', `${field}.${key}`, value, 'a non-empty string');
    }
    result[key] = value;
  }
  if (record.tags !== undefined) {
    const tags = record.tags;
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
      throw invalidInput('invalid_argument', `${field}.tags`, tags, 'an object of string values');
    }
    const copy = tagRecord();
    // Sorted, as on the wire: keys are unique, so the default (UTF-16 code unit) order is the whole order.
    for (const key of Object.keys(tags).sort()) {
      const value: unknown = (tags as Record<string, unknown>)[key];
      if (key === '' || key.includes('=') || typeof value !== 'string') {
        throw invalidInput('invalid_argument', `${field}.tags.${key}`, value, 'a string under a non-empty key without "="');
      }
      copy[key] = value;
    }
    result.tags = copy;
  }
  return result;
}

/** Inner fields win; tags are merged, inner values winning. */
export function mergePrincipals(outer: Principal | undefined, inner: Principal): Principal {
  if (outer === undefined || Object.keys(outer).length === 0) return inner;
  const merged: { userId?: string; teamId?: string; orgId?: string; tags?: Record<string, string> } = { ...outer, ...inner };
  // Spread defines own properties (a `__proto__` key stays a key); sortKeys copies into a null-prototype record.
  // Stryker disable LogicalOperator,ConditionalExpression: with one side's tags only, the sorted copy equals that side's tags, which the spread already carries
  if (outer.tags !== undefined && inner.tags !== undefined) merged.tags = sortKeys({ ...outer.tags, ...inner.tags });
  else if (outer.tags !== undefined) merged.tags = outer.tags;
  // Stryker restore LogicalOperator,ConditionalExpression
  return merged;
}

/** The span attributes that carry a principal. */
export function principalToAttributes(principal: Principal): Attributes {
  const attributes: Attributes = {};
  if (principal.userId !== undefined) attributes[ATTR.PRINCIPAL_USER_ID] = principal.userId;
  if (principal.teamId !== undefined) attributes[ATTR.PRINCIPAL_TEAM_ID] = principal.teamId;
  if (principal.orgId !== undefined) attributes[ATTR.PRINCIPAL_ORG_ID] = principal.orgId;
  if (principal.tags !== undefined && Object.keys(principal.tags).length > 0) {
    attributes[ATTR.PRINCIPAL_TAGS] = Object.entries(principal.tags).map(([key, value]) => `${key}=${value}`);
  }
  return attributes;
}

/** Reads a principal back from span attributes (for run spans made by other instrumentation). */
export function principalFromAttributes(attributes: Attributes): Principal | undefined {
  const principal: { userId?: string; teamId?: string; orgId?: string; tags?: Record<string, string> } = {};
  const userId = attributes[ATTR.PRINCIPAL_USER_ID];
  const teamId = attributes[ATTR.PRINCIPAL_TEAM_ID];
  const orgId = attributes[ATTR.PRINCIPAL_ORG_ID];
  if (typeof userId === 'string' && userId !== '') principal.userId = userId;
  if (typeof teamId === 'string' && teamId !== '') principal.teamId = teamId;
  if (typeof orgId === 'string' && orgId !== '') principal.orgId = orgId;
  const tags = attributes[ATTR.PRINCIPAL_TAGS];
  if (Array.isArray(tags)) {
    const parsed = tagRecord();
    for (const entry of tags) {
      if (typeof entry !== 'string') continue;
      const separator = entry.indexOf('=');
      if (separator > 0) parsed[entry.slice(0, separator)] = entry.slice(separator + 1);
    }
    if (Object.keys(parsed).length > 0) principal.tags = sortKeys(parsed);
  }
  return Object.keys(principal).length > 0 ? principal : undefined;
}

/** Attribution targets of a principal: `user:…`, `team:…`, `org:…`, `tag:key=value`. */
export function attributionTargets(principal: Principal): string[] {
  const targets: string[] = [];
  if (principal.userId !== undefined) targets.push(`user:${principal.userId}`);
  if (principal.teamId !== undefined) targets.push(`team:${principal.teamId}`);
  if (principal.orgId !== undefined) targets.push(`org:${principal.orgId}`);
  if (principal.tags !== undefined) {
    for (const [key, value] of Object.entries(principal.tags)) targets.push(`tag:${key}=${value}`);
  }
  return targets;
}

/** A record for tags: no prototype, so `__proto__` or `constructor` are keys like any other. */
function tagRecord(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  const sorted = tagRecord();
  for (const key of Object.keys(record).sort()) sorted[key] = record[key] as string;
  return sorted;
}
