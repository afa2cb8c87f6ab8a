import { describe, expect, it } from 'vitest';
import { CostspanError } from '@costspan/core';
import { clusterPrefix, clusterTagOf, counterKeys, groupBySlotTag } from './redis-cluster-keys.js';

describe('Redis Cluster hash tags', () => {
  it('tags a counter by its scope: one principal shares a slot, global windows share one apart from tenants', () => {
    expect(clusterTagOf('user_daily:alice:2026-03-04')).toBe('user:alice');
    expect(clusterTagOf('user_total:alice')).toBe('user:alice');
    expect(clusterTagOf('team_monthly:search:2026-03')).toBe('team:search');
    expect(clusterTagOf('tag_daily:env%3Dprod:2026-03-04')).toBe('tag:env%3Dprod');
    expect(clusterTagOf('session:run-1')).toBe('session:run-1');
    expect(clusterTagOf('daily:2026-03-04')).toBe('global');
    expect(clusterTagOf('total')).toBe('global');
    expect(clusterTagOf('Odd{key}')).toBe('Odd_key_'); // another shape: its own tag, never a brace
  });

  it('groups a call by tag in order of first appearance, keeping positions', () => {
    const keys = ['daily:2026-03-04', 'user_daily:a:2026-03-04', 'team_daily:t:2026-03-04', 'user_total:a'];
    expect(groupBySlotTag(keys)).toEqual([
      { tag: 'global', indexes: [0] },
      { tag: 'user:a', indexes: [1, 3] },
      { tag: 'team:t', indexes: [2] },
    ]);
    expect(counterKeys('p:', 'user_total:a')).toEqual(['p:{user:a}user_total:a', 'p:{user:a}user_total:a:reservations']);
  });

  it('refuses a tagged key prefix, which would put every tenant on one slot', () => {
    expect(clusterPrefix('costspan:budget:')).toBe('costspan:budget:');
    let caught: unknown;
    try {
      clusterPrefix('{costspan}:budget:');
    } catch (error) {
      caught = error;
    }
    expect(CostspanError.isInstance(caught) && caught.code === 'invalid_argument' && caught.field).toBe('keyPrefix');
  });
});
