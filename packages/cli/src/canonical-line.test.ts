import { describe, expect, it } from 'vitest';
import { canonicalJson, validateCostEvent } from '@costspan/sdk';
import { parseEventTimestamp } from '@costspan/sdk/internal';
import { CanonicalLineReader } from './canonical-line.js';
import { emptyRecord, recordFromEvent, type EventRecord } from './event-record.js';
import { eventTimeMs } from './report.js';

/** A deterministic generator, so a failure names a seed that can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Amounts of every shape the SDK writes (and some it does not): small, exponent, 12 decimals, >= $1000. */
function amount(next: () => number): number {
  switch (Math.floor(next() * 7)) {
    case 0:
      return 0;
    case 1:
      return Math.round(next() * 1e6) / 1e12; // 1e-7 and such: exponent form
    case 2:
      return Math.round(next() * 1e12) / 1e12;
    case 3:
      return Math.round(next() * 1e9) / 1e6;
    case 4:
      return 999.999999999999;
    case 5:
      return Math.round(next() * 1e7) / 1e3 + 1000; // >= $1000: slow path
    default:
      return 0.1 + 0.2; // more than 12 decimals: slow path
  }
}

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)] as T;
}

/** A random valid event as the SDK would write it (keys sorted by canonicalJson). */
function randomEvent(next: () => number, index: number): Record<string, unknown> {
  const id = `0${Array.from({ length: 25 }, () => pick(next, [...CROCKFORD])).join('')}`;
  const type = pick(next, ['llm.cost.token.recorded', 'llm.cost.session.recorded', 'llm.cost.attributed']);
  const strings = ['gpt-4o', 'claude-sonnet-4', 'ünïcode-modèl', 'agent-1', 'a/b c', '', '(none)', '__proto__'];
  const cost = {
    input_cost_usd: amount(next),
    output_cost_usd: amount(next),
    total_cost_usd: amount(next),
    ...(next() < 0.3 ? { cached_discount_usd: amount(next) } : {}),
    ...(next() < 0.3 ? { reasoning_cost_usd: amount(next) } : {}),
    ...(next() < 0.1 ? { currency: pick(next, ['USD', 'usd', 'EUR']) } : {}),
    ...(next() < 0.5 ? { pricing_date: '2026-03-01' } : {}),
  };
  // Every other event states the sum of its parts as its total (to the pico), the rest another amount.
  if (index % 2 === 0) {
    const pico = (usd: number | undefined): number => Math.round((usd ?? 0) * 1e12);
    const total = pico(cost.input_cost_usd) + pico(cost.output_cost_usd) + pico(cost.reasoning_cost_usd) - pico(cost.cached_discount_usd);
    if (total >= 0) cost.total_cost_usd = total / 1e12;
  }
  const usage = {
    input_tokens: Math.floor(next() * 1e6),
    output_tokens: Math.floor(next() * 1e4),
    total_tokens: Math.floor(next() * 1e6),
    ...(next() < 0.3 ? { cached_tokens: Math.floor(next() * 1000) } : {}),
    ...(next() < 0.3 ? { cache_creation_tokens: Math.floor(next() * 1000) } : {}),
    ...(next() < 0.3 ? { reasoning_tokens: Math.floor(next() * 1000) } : {}),
  };
  const payload: Record<string, unknown> =
    type === 'llm.cost.token.recorded'
      ? {
          cost,
          token_usage: usage,
          model: { name: pick(next, strings), ...(next() < 0.8 ? { system: pick(next, ['openai', 'anthropic']) } : {}) },
          ...(next() < 0.8 ? { agent_name: pick(next, strings) } : {}),
          ...(next() < 0.8 ? { agent_run_id: `run-${Math.floor(next() * 5)}` } : {}),
          ...(next() < 0.8 ? { scope: pick(next, strings) } : {}),
          ...(next() < 0.3 ? { pricing_status: pick(next, ['priced', 'unpriced', 'caller']) } : {}),
          ...(next() < 0.5 ? { latency_ms: Math.round(next() * 1e7) / 1000 } : {}),
          ...(next() < 0.5 ? { pricing_tier: { input_per_million_usd: 2.5, model: 'gpt-4o', system: 'openai' } } : {}),
          ...(next() < 0.2 ? { status: 'error', span_id: 'd2c1424f54c348b0' } : {}),
          // The SDK validates it (a non-empty string): the fast path must too.
          ...(next() < 0.2 ? { service_tier: pick(next, ['flex', 'priority', '', 7]) } : {}),
        }
      : type === 'llm.cost.session.recorded'
        ? {
            total_cost: cost,
            total_token_usage: usage,
            call_count: Math.floor(next() * 10),
            agent_run_id: `run-${index}`,
            ...(next() < 0.8 ? { agent_name: pick(next, strings) } : {}),
            ...(next() < 0.3 ? { usage_missing_call_count: Math.floor(next() * 3) } : {}),
            ...(next() < 0.2 ? { unpriced_call_count: 1, unpriced_models: ['mystery'] } : {}),
            ...(next() < 0.5 ? { models_used: ['gpt-4o'], session_duration_ms: 35.5 } : {}),
          }
        : { cost, attribution_target: pick(next, ['user:alice', 'team:x', '']), attribution_type: 'direct', source_event_ids: [id] };
  return {
    schema_version: '2.0',
    event_id: id,
    event_type: type,
    timestamp: `2026-03-${String(1 + Math.floor(next() * 28)).padStart(2, '0')}T12:00:0${Math.floor(next() * 10)}.${String(Math.floor(next() * 1e6)).padStart(6, '0')}Z`,
    source: pick(next, ['app@1.0.0', '@acme/app@2.1.0-beta.1', 'bad source']),
    payload,
    ...(next() < 0.7 ? { trace_id: '00000000a1b2c3d4e5f60718293a4b5c', span_id: 'b3c7e382046b3934' } : {}),
    ...(next() < 0.5 ? { parent_span_id: 'd2c1424f54c348b0' } : {}),
    ...(next() < 0.7 ? { actor_id: pick(next, strings) } : {}),
    ...(next() < 0.5 ? { team_id: 'team-1', org_id: 'acme' } : {}),
    ...(next() < 0.6
      ? { tags: pick(next, [{}, { env: 'prod' }, { env: 'dev', feature: 'search' }, { __proto__x: 'y' }, { '10': 'a', '9': 'b' }]) }
      : {}),
  };
}

/** Odd variants of a canonical line: each must be read exactly as the slow path reads it, or left to it. */
function variants(line: string, next: () => number): string[] {
  const swaps: Array<[RegExp, string]> = [
    [/:/, ': '],
    [/"gpt-4o"/, '"gpt\\u002d4o"'],
    [/"input_tokens":(\d+)/, '"input_tokens":$1.0'],
    [/"input_tokens":(\d+)/, '"input_tokens":-1'],
    [/"input_tokens":(\d+)/, '"input_tokens":"$1"'],
    [/"input_cost_usd":([0-9.e-]+)/, '"input_cost_usd":1e2'],
    [/"input_cost_usd":([0-9.e-]+)/, '"input_cost_usd":00.1'],
    [/"input_cost_usd":([0-9.e-]+)/, '"input_cost_usd":null'],
    [/"latency_ms":([0-9.]+)/, '"latency_ms":-0'],
    [/"latency_ms":([0-9.]+)/, '"latency_ms":1e400'],
    [/"schema_version":"2.0"/, '"schema_version":"2.1"'],
    [/"event_id":"0/, '"event_id":"8'],
    [/"event_id":"0/, '"event_id":"I'],
    [/"span_id":"b/, '"span_id":"B'],
    [/Z"/, 'z"'],
    [/"actor_id":"[^"]*"/, '"actor_id":null'],
    [/"actor_id":"[^"]*"/, '"actor_id":7'],
    [/"tags":\{/, '"tags":{"z":1,'],
    [/"tags":\{[^}]*\}/, '"tags":"x"'],
    [/"model":\{/, '"model":{"name":"dup",'],
    [/,"payload":/, ',"payload":{},"payload":'],
    [/\}$/, ',"extra":[1,{"a":[true,false,null]},"\\t"]}'],
    [/\}$/, ',"extra":"raw\ttab"}'],
    [/\}$/, '}}'],
    [/^\{/, '{"resourceLogs":[],'],
    [/"name":"[^"]*"/, '"name":"x","name":"y"'],
    [/"system":"[^"]*"/, '"system":3'],
    [/"agent_name":"[^"]*"/, '"agent_name":false'],
    [/"pricing_status":"[^"]*"/, '"pricing_status":"unpriced\\u0000"'],
    [/"call_count":\d+/, '"call_count":1.5'],
    [/"scope":/, '"service_tier":"","scope":'],
    [/"scope":/, '"service_tier":null,"scope":'],
    [/"team_id":"[^"]*"/, '"team_id":["x"]'],
    [/"team_id":"[^"]*"/, '"team_id":"t\\u0041"'],
    [/"system":"[^"]*"/, '"system":"open\\"ai"'],
  ];
  const out: string[] = [];
  for (const [pattern, replacement] of swaps) if (pattern.test(line) && next() < 0.5) out.push(line.replace(pattern, replacement));
  // A truncated line and a byte flipped somewhere.
  out.push(line.slice(0, Math.floor(next() * line.length)));
  const at = Math.floor(next() * line.length);
  out.push(`${line.slice(0, at)}${String.fromCharCode(32 + Math.floor(next() * 95))}${line.slice(at + 1)}`);
  return out;
}

/** What the slow path makes of a line: its record, or undefined when it is not a valid event. */
function slowRecord(line: string): EventRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  try {
    return recordFromEvent(validateCostEvent(value));
  } catch {
    return undefined;
  }
}

function fastRecord(reader: CanonicalLineReader, line: string): EventRecord | undefined {
  const bytes = Buffer.from(`${line}\n`, 'utf8');
  return reader.read(bytes, 0, bytes.length - 1) ? { ...reader.record } : undefined;
}

describe('the canonical-line fast path', () => {
  it('reads every canonical line the slow path accepts, to the same record', () => {
    const next = random(7);
    const reader = new CanonicalLineReader(emptyRecord());
    let fast = 0;
    let slow = 0;
    // Token events read fast whose total is and is not the sum of their parts.
    const totals = { agree: 0, differ: 0 };
    for (let index = 0; index < 3000; index += 1) {
      const line = canonicalJson(randomEvent(next, index));
      const expected = slowRecord(line);
      const actual = fastRecord(reader, line);
      if (expected !== undefined) slow += 1;
      if (actual !== undefined) {
        fast += 1;
        expect(actual, line).toEqual(expected);
        if (actual.type === 'llm.cost.token.recorded') totals[actual.totalMismatch ? 'differ' : 'agree'] += 1;
      }
    }
    expect(totals.agree).toBeGreaterThan(20);
    expect(totals.differ).toBeGreaterThan(20);
    // It must engage: only the shapes it leaves on purpose (amounts >= $1000 or with more than
    // 12 decimals, unpriced model lists, integer-like tag keys) go the slow way.
    expect(slow).toBeGreaterThan(500);
    expect(fast).toBeGreaterThan(slow * 0.15);
  });

  it('leaves the fields asked to be unread undefined, reading every other one as the slow path does', () => {
    const next = random(13);
    const unread = ['teamId', 'orgId', 'scope', 'provider', 'tagKeys'] as const;
    const reader = new CanonicalLineReader(emptyRecord(), unread);
    const full = new CanonicalLineReader(emptyRecord());
    let fast = 0;
    let onlyUnread = 0;
    for (let index = 0; index < 2000; index += 1) {
      const event = randomEvent(next, index);
      for (const line of [canonicalJson(event), ...variants(canonicalJson(event), next)]) {
        const expected = slowRecord(line);
        const actual = fastRecord(reader, line);
        if (actual === undefined) continue;
        fast += 1;
        // A line the full reader leaves to the slow path for an unread field alone (a team_id of another type, integer-like tags).
        if (fastRecord(full, line) === undefined) onlyUnread += 1;
        expect(expected, line).toBeDefined();
        const blank = { teamId: undefined, orgId: undefined, scope: undefined, provider: undefined, tagKeys: ['(none)'] };
        expect(actual, line).toEqual({ ...expected, ...blank });
      }
    }
    expect(fast).toBeGreaterThan(500);
    expect(onlyUnread).toBeGreaterThan(5);
  });

  it('takes service_tier as the SDK validates it: a non-empty string on a token event', () => {
    const reader = new CanonicalLineReader(emptyRecord());
    const next = random(3);
    let base = '';
    // The first random token event the fast path reads, without a tier of its own.
    while (base === '') {
      const line = canonicalJson(randomEvent(next, 1));
      if (line.includes('"llm.cost.token.recorded"') && !line.includes('service_tier') && fastRecord(reader, line) !== undefined)
        base = line;
    }
    const line = (tier: string): string => base.replace('"payload":{', `"payload":{"service_tier":${tier},`);
    expect(fastRecord(reader, line('"flex"'))).toBeDefined();
    expect(fastRecord(reader, line('"flex"'))).toEqual(slowRecord(line('"flex"')));
    for (const tier of ['""', '7', 'null', '["flex"]']) {
      expect(slowRecord(line(tier)), tier).toBeUndefined();
      expect(fastRecord(reader, line(tier)), tier).toBeUndefined();
    }
  });

  it('never accepts a line the slow path rejects, nor reads an odd line differently', () => {
    const next = random(11);
    const reader = new CanonicalLineReader(emptyRecord());
    let checked = 0;
    for (let index = 0; index < 1500; index += 1) {
      const line = canonicalJson(randomEvent(next, index));
      // Warm the reader's caches with the line, then try its variants (the caches must not let one through).
      fastRecord(reader, line);
      for (const variant of variants(line, next)) {
        const actual = fastRecord(reader, variant);
        if (actual === undefined) continue;
        checked += 1;
        expect(actual, variant).toEqual(slowRecord(variant));
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('reads plain SDK lines fast: amounts in exponent form, unicode, empty strings and tags', () => {
    const reader = new CanonicalLineReader(emptyRecord());
    const line = canonicalJson({
      actor_id: 'ünï',
      event_id: '01KJKB3Q001MWRF8S4VR8F8K2P',
      event_type: 'llm.cost.token.recorded',
      payload: {
        cost: { cached_discount_usd: 5e-7, input_cost_usd: 1.5e-7, output_cost_usd: 0.0012, total_cost_usd: 0.00119965 },
        latency_ms: 0.818,
        model: { name: '', system: 'openai' },
        token_usage: { cached_tokens: 3, input_tokens: 800, output_tokens: 120, total_tokens: 920 },
      },
      schema_version: '2.0',
      source: 'bench-app@1.0.0',
      tags: { env: 'prod', feature: 'ü' },
      timestamp: '2026-03-01T00:00:00.000000Z',
    });
    const actual = fastRecord(reader, line);
    expect(actual).toEqual(slowRecord(line));
    expect(actual).toMatchObject({
      input: 150_000,
      cachedDiscount: 500_000,
      output: 1_200_000_000,
      model: '',
      latencyMs: 0.818,
      totalMismatch: false,
    });
  });

  it('eventTimeMs is the SDK parseEventTimestamp', () => {
    const next = random(3);
    for (let index = 0; index < 200; index += 1) {
      const timestamp = new Date(Math.floor(next() * 4e12))
        .toISOString()
        .replace(/\.(\d{3})Z$/, (_, ms: string) => `.${ms}${String(Math.floor(next() * 1000)).padStart(3, '0')}Z`);
      expect(eventTimeMs(timestamp)).toBe(parseEventTimestamp(timestamp));
    }
  });
});
