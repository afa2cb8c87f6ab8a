import { invalidInput } from '@costspan/core';

/**
 * The hash tag of a counter key in Redis Cluster: its **scope** (`user:alice`,
 * `team:search`, `session:<run>`, `global`), so that one principal's counters
 * (its daily, monthly and total ones) share a slot and are checked by one
 * script, while different principals spread over the cluster's masters.
 *
 * Counter keys are `<limitType>:<id>[:<window>]` for scoped limits
 * (`user_daily:alice:2026-03-04`, `org_total:acme`), `session:<id>`, and
 * `<window>[:<period>]` for global ones (`daily:2026-03-04`, `total`); ids are
 * URI-encoded, so they hold no `:`, `{` or `}`. A key of another shape is its own
 * tag. Correctness does not depend on the grouping (each group is one atomic
 * script); it decides only how many round trips a call takes.
 */
export function clusterTagOf(key: string): string {
  const parts = key.split(':');
  const type = parts[0] ?? '';
  if (type === 'session') return parts.length >= 2 ? `session:${parts[1]}` : key;
  const cut = type.lastIndexOf('_');
  if (cut > 0 && parts.length >= 2) return `${type.slice(0, cut)}:${parts[1]}`;
  // Global windows (`daily:…`, `monthly:…`, `total`): one tag for them all, apart from every tenant.
  if (cut < 0 && /^[a-z]+$/.test(type)) return 'global';
  return key.replace(/[{}]/g, '_');
}

/** Counters of one call grouped by hash tag, with their positions in the call. */
export interface SlotGroup {
  /** The hash tag all of the group's keys carry. */
  tag: string;
  /** Positions (in the caller's list) of the group's counters, ascending. */
  indexes: number[];
}

/** Groups `keys` by {@link clusterTagOf}, in order of first appearance. */
export function groupBySlotTag(keys: readonly string[]): SlotGroup[] {
  const groups = new Map<string, SlotGroup>();
  keys.forEach((key, index) => {
    const tag = clusterTagOf(key);
    const group = groups.get(tag);
    if (group === undefined) groups.set(tag, { tag, indexes: [index] });
    else group.indexes.push(index);
  });
  return [...groups.values()];
}

/**
 * Redis keys of a counter: its hash and its set of live reservations, both
 * tagged `{<scope>}` so they share a slot with the scope's other counters.
 */
export function counterKeys(prefix: string, key: string): [string, string] {
  const hash = `${prefix}{${clusterTagOf(key)}}${key}`;
  return [hash, `${hash}:reservations`];
}

/** Redis key of a group's set of booked operation ids (same slot as its counters). */
export function opsKey(prefix: string, tag: string): string {
  return `${prefix}{${tag}}:ops`;
}

/**
 * A key prefix for the cluster store. It must not hold `{` or `}`: Redis hashes
 * the first `{…}` of a key, so a tagged prefix would put every key on one slot.
 *
 * @throws CostspanError `invalid_argument` naming `keyPrefix`
 */
export function clusterPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw invalidInput(
      'invalid_argument',
      'keyPrefix',
      prefix,
      'a prefix without { or } (RedisClusterBudgetStore tags every key by scope itself; a tagged prefix would put every tenant on one slot)',
    );
  }
  return prefix;
}
