import type { Attributes } from '@opentelemetry/api';
import { integerOption } from '@costspan/core';
import type { Principal } from '../budget-gate.js';
import { notice } from '../notice.js';

/** The value a principal key takes on metrics once its cap of distinct values is reached. */
export const OTHER_VALUE = '(other)';

/** Metric attribute of each principal key: the span attribute names, tags under `llm.cost.principal.tag.<key>`. */
export const PRINCIPAL_METRIC_ATTRIBUTES = {
  user: 'llm.cost.principal.user_id',
  team: 'llm.cost.principal.team_id',
  org: 'llm.cost.principal.org_id',
  tagPrefix: 'llm.cost.principal.tag.',
} as const;

/** The principal keys costspan can put on metrics: `user`, `team`, `org`. Tags are allowlisted by key in `tagKeys`. */
export type PrincipalMetricKey = 'user' | 'team' | 'org';

/** Bounds on the principal attributes of costspan's metrics (every distinct value is a new time series). */
export interface PrincipalCardinalityOptions {
  /** Principal fields written as attributes. Default `['user', 'team', 'org']`; `[]` writes none. */
  principalKeys?: readonly PrincipalMetricKey[];
  /** Tag keys written as attributes (`llm.cost.principal.tag.<key>`). Default none: tags are free-form. */
  tagKeys?: readonly string[];
  /**
   * Distinct values kept per key (per principal field, per tag key) for the life of the
   * process; later new values are written as `(other)`, told once per key. Default 100; an
   * integer ≥ 0 (0 writes every value as `(other)`).
   */
  maxValuesPerKey?: number;
}

/** The principal attributes of one principal, with a key that identifies them among series. */
export interface BoundedPrincipal {
  readonly attributes: Attributes;
  readonly key: string;
}

const DEFAULT_KEYS: readonly PrincipalMetricKey[] = ['user', 'team', 'org'];
const DEFAULT_MAX_VALUES = 100;
const NONE: BoundedPrincipal = { attributes: {}, key: '' };

/** Principal objects whose bounded attributes are kept. */
const RECENT = 16;

/**
 * Maps principals to metric attributes within a fixed budget of time series: only the
 * allowlisted keys, and per key at most `maxValuesPerKey` distinct values (first come, first
 * kept); the rest share `(other)`. The result is cached for the last few principal objects
 * (runs share theirs with their steps, and a few runs are open at a time), so the hot path is a
 * few identity comparisons. Not a `WeakMap`: each run's principal is a new object, and V8's
 * young-generation collector keeps a WeakMap entry's value alive as long as the entry exists.
 */
export class PrincipalCardinality {
  private readonly keys: readonly PrincipalMetricKey[];
  private readonly tagKeys: readonly string[];
  private readonly maxValues: number;
  private readonly seen = new Map<string, Set<string>>();
  private readonly recentPrincipals: Array<Principal | undefined> = new Array<Principal | undefined>(RECENT).fill(undefined);
  private readonly recentBounded: BoundedPrincipal[] = new Array<BoundedPrincipal>(RECENT).fill(NONE);
  private nextSlot = 0;

  constructor(options: PrincipalCardinalityOptions = {}) {
    this.keys = (options.principalKeys ?? DEFAULT_KEYS).filter((key) => key in PRINCIPAL_METRIC_ATTRIBUTES);
    this.tagKeys = [...new Set(options.tagKeys ?? [])].filter((key) => typeof key === 'string' && key !== '').sort();
    this.maxValues = integerOption(options.maxValuesPerKey, 'metrics.maxValuesPerKey', { fallback: DEFAULT_MAX_VALUES, min: 0 });
  }

  /** The bounded attributes of `principal`. */
  of(principal: Principal): BoundedPrincipal {
    for (let slot = 0; slot < RECENT; slot += 1) {
      if (this.recentPrincipals[slot] === principal) return this.recentBounded[slot] as BoundedPrincipal;
    }
    const bounded = this.bound(principal);
    this.recentPrincipals[this.nextSlot] = principal;
    this.recentBounded[this.nextSlot] = bounded;
    this.nextSlot = (this.nextSlot + 1) % RECENT;
    return bounded;
  }

  private bound(principal: Principal): BoundedPrincipal {
    if (this.keys.length === 0 && this.tagKeys.length === 0) return NONE;
    const attributes: Attributes = {};
    let key = '';
    for (const field of this.keys) {
      const value = field === 'user' ? principal.userId : field === 'team' ? principal.teamId : principal.orgId;
      if (value === undefined) continue;
      const kept = this.admit(field, value);
      attributes[PRINCIPAL_METRIC_ATTRIBUTES[field]] = kept;
      key += `\u0001${field}\u0002${kept}`;
    }
    const tags = principal.tags;
    if (tags !== undefined) {
      for (const tagKey of this.tagKeys) {
        const value = tags[tagKey];
        if (value === undefined) continue;
        const kept = this.admit(`tag:${tagKey}`, value);
        attributes[`${PRINCIPAL_METRIC_ATTRIBUTES.tagPrefix}${tagKey}`] = kept;
        key += `\u0001tag:${tagKey}\u0002${kept}`;
      }
    }
    return key === '' ? NONE : { attributes, key };
  }

  private admit(key: string, value: string): string {
    let values = this.seen.get(key);
    if (values === undefined) {
      values = new Set();
      this.seen.set(key, values);
    }
    if (values.has(value)) return value;
    if (values.size < this.maxValues) {
      values.add(value);
      return value;
    }
    notice(
      `metrics_principal_cap:${key}`,
      `more than ${this.maxValues} distinct values of principal ${key} on costspan's metrics: further ones are counted under "${OTHER_VALUE}" (the cost events keep every value). Raise metrics.maxValuesPerKey, or drop the key from metrics.principalKeys / metrics.tagKeys.`,
    );
    return OTHER_VALUE;
  }
}

/** Equal user, team, org and tags: the same bounded attributes, so the same series. */
export function samePrincipal(left: Principal | undefined, right: Principal | undefined): boolean {
  if (left === right) return true;
  if (left === undefined || right === undefined) return false;
  if (left.userId !== right.userId || left.teamId !== right.teamId || left.orgId !== right.orgId) return false;
  const leftTags = left.tags;
  const rightTags = right.tags;
  if (leftTags === rightTags) return true;
  if (leftTags === undefined || rightTags === undefined) return false;
  const keys = Object.keys(leftTags);
  if (keys.length !== Object.keys(rightTags).length) return false;
  for (const key of keys) if (leftTags[key] !== rightTags[key]) return false;
  return true;
}
