import { afterEach, describe, expect, it } from 'vitest';
import { resetNotices, setNoticeHandler, type CostspanNotice } from '../notice.js';
import { OTHER_VALUE, PrincipalCardinality, samePrincipal } from './principal-cardinality.js';

afterEach(() => {
  setNoticeHandler(undefined);
  resetNotices();
});

describe('PrincipalCardinality', () => {
  it('by default writes user, team and org, never tags, under the span attribute names', () => {
    const bounded = new PrincipalCardinality().of({ userId: 'alice', teamId: 'search', orgId: 'acme', tags: { env: 'prod' } });
    expect(bounded.attributes).toEqual({
      'llm.cost.principal.user_id': 'alice',
      'llm.cost.principal.team_id': 'search',
      'llm.cost.principal.org_id': 'acme',
    });
    expect(new PrincipalCardinality().of({}).key).toBe('');
  });

  it('caps each key on its own, tells it once per key, and keeps values seen before the cap', () => {
    const notices: CostspanNotice[] = [];
    setNoticeHandler((notice) => notices.push(notice));
    const cardinality = new PrincipalCardinality({ tagKeys: ['env', 'feature'], maxValuesPerKey: 1 });
    const of = (userId: string, env: string) => cardinality.of({ userId, tags: { env, feature: 'search' } }).attributes;
    expect(of('alice', 'prod')).toEqual({
      'llm.cost.principal.user_id': 'alice',
      'llm.cost.principal.tag.env': 'prod',
      'llm.cost.principal.tag.feature': 'search',
    });
    expect(of('bob', 'dev')).toEqual({
      'llm.cost.principal.user_id': OTHER_VALUE,
      'llm.cost.principal.tag.env': OTHER_VALUE,
      'llm.cost.principal.tag.feature': 'search',
    });
    expect(of('carol', 'prod')['llm.cost.principal.tag.env']).toBe('prod');
    expect(of('alice', 'test')['llm.cost.principal.user_id']).toBe('alice');
    expect(notices.map((notice) => notice.cause).sort()).toEqual(['metrics_principal_cap:tag:env', 'metrics_principal_cap:user']);
  });

  it('distinct bounded principals have distinct keys; equal ones share a key', () => {
    const cardinality = new PrincipalCardinality();
    const alice = cardinality.of({ userId: 'alice' });
    expect(cardinality.of({ userId: 'alice' }).key).toBe(alice.key);
    expect(cardinality.of({ teamId: 'alice' }).key).not.toBe(alice.key);
    expect(cardinality.of({ userId: 'alice', teamId: 'x' }).key).not.toBe(alice.key);
  });
});

describe('samePrincipal (a run reuses the last series only for an equal principal)', () => {
  it('compares user, team, org and tags by value, not by object', () => {
    const alice = { userId: 'alice', teamId: 'search', tags: { env: 'prod', tier: 'gold' } };
    expect(samePrincipal(alice, { userId: 'alice', teamId: 'search', tags: { tier: 'gold', env: 'prod' } })).toBe(true);
    expect(samePrincipal(undefined, undefined)).toBe(true);
    expect(samePrincipal({}, {})).toBe(true);
    for (const other of [
      undefined,
      { userId: 'bob', teamId: 'search', tags: alice.tags },
      { userId: 'alice', teamId: 'ads', tags: alice.tags },
      { userId: 'alice', teamId: 'search', orgId: 'acme', tags: alice.tags },
      { userId: 'alice', teamId: 'search' },
      { userId: 'alice', teamId: 'search', tags: { env: 'prod' } },
      { userId: 'alice', teamId: 'search', tags: { env: 'dev', tier: 'gold' } },
      { userId: 'alice', teamId: 'search', tags: { env: 'prod', tier: 'gold', region: 'eu' } },
    ]) {
      expect(samePrincipal(alice, other)).toBe(false);
      expect(samePrincipal(other, alice)).toBe(false);
    }
  });
});
