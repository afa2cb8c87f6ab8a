import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CostspanError, usdToPico } from '@costspan/core';
import {
  canonicalJson,
  createEventIdGenerator,
  formatEventTimestamp,
  parseCostEvent,
  parseEventTimestamp,
  serializeEvent,
  validateSource,
  type CostEvent,
} from './cost-event.js';
import { addCall, emptyTotals, toCostBreakdownWire, toTokenUsageWire } from '../processing/cost-totals.js';
import { SDK_VERSION } from '../version.js';

// DESIGN.md's golden line. spanforge writes Python floats (`10.0`); costspan writes `10`.
const GOLDEN =
  '{"event_id":"01HW4Z3RXVP8Q2M6T9KBJDS7YN","event_type":"llm.cost.token.recorded","org_id":"org_01HX","payload":{"agent_run_id":"run1","cost":{"input_cost_usd":0.0015,"output_cost_usd":0.0006,"total_cost_usd":0.0021},"model":{"name":"gpt-4o","system":"openai"},"pricing_tier":{"cached_input_per_million_usd":1.25,"effective_date":"2026-03-04","input_per_million_usd":2.5,"model":"gpt-4o","output_per_million_usd":10.0,"system":"openai"},"span_id":"a1b2c3d4e5f6a7b8","token_usage":{"input_tokens":500,"output_tokens":200,"total_tokens":700}},"schema_version":"2.0","source":"my-app@1.0.0","tags":{"env":"production"},"timestamp":"2026-03-04T14:32:11.042817Z"}';

describe('golden vector', () => {
  it('reproduces DESIGN.md byte for byte from the same inputs (10 for 10.0)', () => {
    const cost = { input: usdToPico(0.0015), output: usdToPico(0.0006), reasoning: 0n, cachedDiscount: 0n };
    const totals = emptyTotals();
    addCall(totals, cost, { input: 500, output: 200 }, 700, true);
    const event: CostEvent<'llm.cost.token.recorded'> = {
      schema_version: '2.0',
      event_id: '01HW4Z3RXVP8Q2M6T9KBJDS7YN',
      event_type: 'llm.cost.token.recorded',
      timestamp: '2026-03-04T14:32:11.042817Z',
      source: validateSource('my-app@1.0.0'),
      org_id: 'org_01HX',
      tags: { env: 'production' },
      payload: {
        cost: toCostBreakdownWire(cost),
        token_usage: toTokenUsageWire(totals),
        model: { system: 'openai', name: 'gpt-4o' },
        pricing_tier: {
          system: 'openai',
          model: 'gpt-4o',
          input_per_million_usd: 2.5,
          output_per_million_usd: 10,
          cached_input_per_million_usd: 1.25,
          effective_date: '2026-03-04',
        },
        span_id: 'a1b2c3d4e5f6a7b8',
        agent_run_id: 'run1',
      },
    };
    expect(serializeEvent(event)).toBe(GOLDEN.replace('"output_per_million_usd":10.0', '"output_per_million_usd":10'));
    // And the golden line itself is read back to the same event.
    expect(serializeEvent(parseCostEvent(GOLDEN))).toBe(serializeEvent(event));
  });
});

describe('canonical JSON', () => {
  it('sorts keys at every level, drops undefined, no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: 'é' }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"x":"é","z":1}]},"b":1}',
    );
  });

  it('refuses NaN, Infinity and bigint naming the path', () => {
    expect(() => canonicalJson({ payload: { cost: Number.NaN } })).toThrow(/\$\.payload\.cost must be a finite number; got NaN/);
    expect(() => canonicalJson({ a: [1n] })).toThrow(CostspanError);
  });

  it('parses back to the same value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
    );
  });

  it('keeps unknown fields on re-serialisation', () => {
    const line = GOLDEN.replace('"schema_version"', '"x_vendor":{"k":1},"schema_version"');
    expect(serializeEvent(parseCostEvent(line))).toContain('"x_vendor":{"k":1}');
  });
});

describe('timestamps and ids', () => {
  it('formats UTC with exactly six fractional digits', () => {
    expect(formatEventTimestamp([1_772_634_731, 42_817_000])).toBe('2026-03-04T14:32:11.042817Z');
    expect(formatEventTimestamp(Date.UTC(2026, 2, 4, 14, 32, 11, 42))).toBe('2026-03-04T14:32:11.042000Z');
    expect(parseEventTimestamp('2026-03-04T14:32:11.042817Z')).toBeCloseTo(Date.UTC(2026, 2, 4, 14, 32, 11, 42) + 0.817, 3);
  });

  it('makes ULIDs that sort in creation order within one millisecond', () => {
    const next = createEventIdGenerator();
    const ids = Array.from({ length: 1000 }, () => next(1_772_634_731_042));
    expect(new Set(ids).size).toBe(1000);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
  });
});

describe('parsing and validation', () => {
  it.each([
    ['not json', 'invalid_event', 'line'],
    ['{"schema_version":"2.0"}', 'invalid_event', 'event_id'],
    [GOLDEN.replace('llm.cost.token.recorded', 'llm.cost.made.up'), 'unknown_event_type', 'event_type'],
    [GOLDEN.replace('"input_tokens":500', '"input_tokens":-5'), 'invalid_event', 'payload.token_usage.input_tokens'],
    [GOLDEN.replace('"input_tokens":500', '"input_tokens":1.5'), 'invalid_event', 'payload.token_usage.input_tokens'],
    [GOLDEN.replace('"input_cost_usd":0.0015', '"input_cost_usd":-1'), 'invalid_event', 'payload.cost.input_cost_usd'],
    [GOLDEN.replace('.042817Z', '.042Z'), 'invalid_event', 'timestamp'],
    [GOLDEN.replace('my-app@1.0.0', 'my-app'), 'invalid_event', 'source'],
  ])('refuses case %# with %1$s on %2$s', (line, code, field) => {
    let thrown: unknown;
    try {
      parseCostEvent(line);
    } catch (error) {
      thrown = error;
    }
    expect(CostspanError.isInstance(thrown)).toBe(true);
    expect((thrown as CostspanError).code).toBe(code);
    expect((thrown as CostspanError).field).toBe(field);
  });

  it('reads __proto__ keys as plain data', () => {
    const event = parseCostEvent(GOLDEN.replace('"tags":{"env":"production"}', '"tags":{"__proto__":{"polluted":true}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(event.tags)).toBe(Object.prototype);
  });

  it('validates sources as name@semver', () => {
    expect(validateSource('@acme/agent@1.2.3-beta.1')).toBe('@acme/agent@1.2.3-beta.1');
    expect(() => validateSource('agent@v1')).toThrow(expect.objectContaining({ code: 'invalid_source', value: 'agent@v1' }));
  });

  it('accepts what package.json versions look like, as full semver on the wire', () => {
    expect(validateSource('b2@1')).toBe('b2@1.0.0');
    expect(validateSource('app@1.2')).toBe('app@1.2.0');
    expect(validateSource('app@1.0.0-beta.1+build')).toBe('app@1.0.0-beta.1+build');
    expect(validateSource('@acme/app@2.1')).toBe('@acme/app@2.1.0');
    expect(validateSource('@acme/app@3.0.0-rc.2')).toBe('@acme/app@3.0.0-rc.2');
    expect(validateSource('my-app@1.0.0')).toBe('my-app@1.0.0');
  });

  it('says exactly what it wants for anything else', () => {
    for (const bad of ['app', 'app@', '@acme/app', 'app@^1.2', 'app@1.2.3.4', 'my app@1', 42]) {
      expect(() => validateSource(bad)).toThrow(expect.objectContaining({ code: 'invalid_source', field: 'source' }));
    }
    expect(() => validateSource('app@latest')).toThrow(/name@version as in package\.json.*1, 1\.2, 1\.2\.3 or 1\.0\.0-beta\.1\+build/);
  });

  it('keeps SDK_VERSION equal to package.json', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SDK_VERSION).toBe(manifest.version);
  });
});
