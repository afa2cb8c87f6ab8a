import { describe, expect, it } from 'vitest';
import { attributionTargets, mergePrincipals, principalFromAttributes, principalToAttributes, validatePrincipal } from './principal.js';
import { refusal } from '../__fixtures__/refusal.js';

/** Plain-object view (tag records have a null prototype), keeping which keys are present. */
function plain(value: unknown): unknown {
  return value === undefined ? value : JSON.parse(JSON.stringify(value));
}

describe('validatePrincipal, field by field', () => {
  it('treats an absent principal as none', () => {
    expect(validatePrincipal(undefined)).toStrictEqual({});
  });

  it('refuses a principal that is not a plain object', () => {
    for (const [value, shown] of [
      [null, 'null'],
      ['alice', '"alice"'],
      [5, '5'],
      [['alice'], '["alice"]'],
    ] as const) {
      const error = refusal(() => validatePrincipal(value));
      expect(error.code).toBe('invalid_argument');
      expect(error.field).toBe('principal');
      expect(error.message).toBe(`principal must be an object with userId, teamId, orgId or tags; got ${shown}`);
    }
    expect(refusal(() => validatePrincipal(null, 'options.principal')).field).toBe('options.principal');
  });

  it.each(['userId', 'teamId', 'orgId'] as const)('refuses an empty or non-string %s naming it', (key) => {
    for (const [value, shown] of [
      ['', '""'],
      ['  ', '"  "'],
      [42, '42'],
      [null, 'null'],
    ] as const) {
      const error = refusal(() => validatePrincipal({ [key]: value }));
      expect(error.code).toBe('invalid_argument');
      expect(error.field).toBe(`principal.${key}`);
      expect(error.message).toBe(`principal.${key} must be a non-empty string; got ${shown}`);
    }
    expect(refusal(() => validatePrincipal({ [key]: '' }, 'run.principal')).field).toBe(`run.principal.${key}`);
    expect(validatePrincipal({ [key]: ' id 7 ' })).toStrictEqual({ [key]: ' id 7 ' });
  });

  it('keeps only the fields given, and drops unknown ones', () => {
    expect(validatePrincipal({ userId: 'alice', teamId: 'search', orgId: 'acme', extra: 1 })).toStrictEqual({
      userId: 'alice',
      teamId: 'search',
      orgId: 'acme',
    });
    expect(validatePrincipal({ orgId: 'acme' })).toStrictEqual({ orgId: 'acme' });
  });

  it('refuses tags that are not an object of strings', () => {
    for (const [value, shown] of [
      [null, 'null'],
      [['env=prod'], '["env=prod"]'],
      ['env=prod', '"env=prod"'],
    ] as const) {
      const error = refusal(() => validatePrincipal({ tags: value }));
      expect(error.code).toBe('invalid_argument');
      expect(error.field).toBe('principal.tags');
      expect(error.message).toBe(`principal.tags must be an object of string values; got ${shown}`);
    }
  });

  it('refuses a tag with an empty key, a key containing "=", or a non-string value', () => {
    const emptyKey = refusal(() => validatePrincipal({ tags: { '': 'x' } }));
    expect(emptyKey.field).toBe('principal.tags.');
    expect(emptyKey.message).toBe('principal.tags. must be a string under a non-empty key without "="; got "x"');
    const withEquals = refusal(() => validatePrincipal({ tags: { 'a=b': 'x' } }));
    expect(withEquals.field).toBe('principal.tags.a=b');
    const nonString = refusal(() => validatePrincipal({ tags: { env: 1 } }));
    expect(nonString.code).toBe('invalid_argument');
    expect(nonString.field).toBe('principal.tags.env');
    expect(nonString.message).toBe('principal.tags.env must be a string under a non-empty key without "="; got 1');
    // An empty value is a value.
    expect(plain(validatePrincipal({ tags: { env: '' } }))).toStrictEqual({ tags: { env: '' } });
  });

  it('copies tags in sorted key order, as on the wire', () => {
    const tags = { zone: 'eu', app: 'search', env: 'prod', beta: 'yes' };
    const checked = validatePrincipal({ tags });
    expect(Object.keys(checked.tags ?? {})).toEqual(['app', 'beta', 'env', 'zone']);
    expect(checked.tags).toEqual(tags);
    expect(checked.tags).not.toBe(tags);
    expect(plain(validatePrincipal({ tags: {} }))).toStrictEqual({ tags: {} });
  });
});

describe('mergePrincipals', () => {
  it('returns the inner principal when the outer one is absent or empty', () => {
    const inner = { userId: 'bob' };
    expect(mergePrincipals(undefined, inner)).toBe(inner);
    expect(mergePrincipals({}, inner)).toBe(inner);
  });

  it('lets inner fields win and merges tags, inner values winning, sorted', () => {
    const merged = mergePrincipals(
      { userId: 'alice', teamId: 'search', tags: { env: 'prod', zone: 'eu' } },
      { userId: 'bob', tags: { env: 'staging', app: 'x' } },
    );
    expect(plain(merged)).toStrictEqual({ userId: 'bob', teamId: 'search', tags: { app: 'x', env: 'staging', zone: 'eu' } });
    expect(Object.keys(merged.tags ?? {})).toEqual(['app', 'env', 'zone']);
  });

  it('adds no tags when neither principal has any', () => {
    expect(mergePrincipals({ userId: 'alice' }, { teamId: 'search' })).toStrictEqual({ userId: 'alice', teamId: 'search' });
  });

  it('keeps the outer tags when the inner principal has none, and the inner ones alone', () => {
    expect(plain(mergePrincipals({ orgId: 'acme', tags: { env: 'prod' } }, { userId: 'bob' }))).toStrictEqual({
      orgId: 'acme',
      userId: 'bob',
      tags: { env: 'prod' },
    });
    expect(plain(mergePrincipals({ orgId: 'acme' }, { tags: { env: 'dev' } }))).toStrictEqual({ orgId: 'acme', tags: { env: 'dev' } });
  });
});

describe('principal attributes', () => {
  it('writes each field under its attribute and tags as sorted key=value pairs', () => {
    expect(principalToAttributes({ userId: 'alice', teamId: 'search', orgId: 'acme', tags: { app: 'x', env: 'prod' } })).toStrictEqual({
      'llm.cost.principal.user_id': 'alice',
      'llm.cost.principal.team_id': 'search',
      'llm.cost.principal.org_id': 'acme',
      'llm.cost.principal.tags': ['app=x', 'env=prod'],
    });
    expect(principalToAttributes({ tags: {} })).toStrictEqual({});
    expect(principalToAttributes({ teamId: 't' })).toStrictEqual({ 'llm.cost.principal.team_id': 't' });
  });

  it('reads back what it wrote', () => {
    const principal = { userId: 'alice', teamId: 'search', orgId: 'acme', tags: { app: 'x', env: 'prod' } };
    expect(plain(principalFromAttributes(principalToAttributes(principal)))).toStrictEqual(principal);
  });

  it('reads foreign attributes leniently: empty ids, non-strings and malformed tags are skipped', () => {
    expect(
      plain(
        principalFromAttributes({
          'llm.cost.principal.user_id': '',
          'llm.cost.principal.team_id': 7,
          'llm.cost.principal.org_id': 'acme',
          'llm.cost.principal.tags': ['zone=eu', 'noequals', '=novalue', 'expr=a=b', 'empty='],
        }),
      ),
    ).toStrictEqual({ orgId: 'acme', tags: { empty: '', expr: 'a=b', zone: 'eu' } });
    expect(principalFromAttributes({ 'llm.cost.principal.tags': [1, 2] })).toBeUndefined();
    expect(principalFromAttributes({ 'llm.cost.principal.tags': 'env=prod' })).toBeUndefined();
    expect(principalFromAttributes({})).toBeUndefined();
    expect(principalFromAttributes({ 'llm.cost.principal.user_id': 'u', 'llm.cost.principal.team_id': '' })).toStrictEqual({ userId: 'u' });
    expect(principalFromAttributes({ 'llm.cost.principal.team_id': 'T' })).toStrictEqual({ teamId: 'T' });
    expect(principalFromAttributes({ 'llm.cost.principal.org_id': '' })).toBeUndefined();
    const sorted = principalFromAttributes({ 'llm.cost.principal.tags': ['zone=eu', 'app=x'] });
    expect(Object.keys(sorted?.tags ?? {})).toEqual(['app', 'zone']);
  });

  it('names attribution targets user, team, org, then each tag', () => {
    expect(attributionTargets({ userId: 'alice', teamId: 'search', orgId: 'acme', tags: { app: 'x', env: 'prod' } })).toEqual([
      'user:alice',
      'team:search',
      'org:acme',
      'tag:app=x',
      'tag:env=prod',
    ]);
    expect(attributionTargets({})).toEqual([]);
    expect(attributionTargets({ orgId: 'acme' })).toEqual(['org:acme']);
  });
});
