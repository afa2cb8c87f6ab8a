import type { HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CostEvent } from '@costspan/sdk';
import { CostEventProtobufEncoder } from './cost-event-protobuf.js';

/*
 * The entry memo (entry-memo.ts) copies the encoding remembered for an entry's text: these tests
 * write sequences of lines whose entries repeat, change, change length and alternate, and hold
 * each line's record to the one the encoder makes of the parsed line. A stale encoding (an entry
 * taken for the one remembered when its text differs) shows as a differing record.
 */

const OBSERVED: HrTime = [1_772_634_731, 42_000_000];
const resource = resourceFromAttributes({ 'service.name': 'memo' });

/** The record of `line` written from its bytes (no line parsed), and the one of the parsed line. */
function bothWays(encoder: CostEventProtobufEncoder, lines: readonly string[]): { fromBytes: Buffer; parsed: Buffer } {
  const parse = vi.spyOn(JSON, 'parse');
  const fromBytes = Buffer.from(encoder.encodeLines([Buffer.from(lines.map((line) => `${line}\n`).join(''))], OBSERVED));
  // Every line here is one the bytes path takes: the memo is what is under test, not the fallback.
  expect(parse).not.toHaveBeenCalled();
  parse.mockRestore();
  const events = lines.map((line) => JSON.parse(line) as CostEvent);
  return { fromBytes, parsed: Buffer.from(new CostEventProtobufEncoder(resource).encode(events, OBSERVED)) };
}

function expectSameRecords(lines: readonly string[]): void {
  const encoder = new CostEventProtobufEncoder(resource);
  for (const line of lines) {
    const { fromBytes, parsed } = bothWays(encoder, [line]);
    expect(fromBytes.toString('hex')).toBe(parsed.toString('hex'));
  }
  const { fromBytes, parsed } = bothWays(encoder, lines);
  expect(fromBytes.equals(parsed)).toBe(true);
}

function lineOf(fields: Record<string, unknown>, payload: Record<string, unknown>): string {
  return JSON.stringify({
    actor_id: 'alice',
    event_id: '01M8YEZMV60MD64PKGSDFHG4JA',
    event_type: 'llm.cost.token.recorded',
    org_id: 'acme',
    ...fields,
    payload,
    schema_version: '2.0',
    span_id: '6e1ff1ef2fb414da',
    timestamp: '2026-12-03T17:24:39.906641Z',
    trace_id: '4a949be3fd8d4b5eb54ec8042cf2bac8',
  });
}

afterEach(() => vi.restoreAllMocks());

describe('the entry memo of lines written from their bytes', () => {
  it('writes an entry again when its value changes, by a digit, past one byte of length, or back', () => {
    const tier = (name: string) => ({ model: name, input_per_million_usd: 2.5, output_per_million_usd: 10 });
    // The number under a key of 12 bytes and more: the memo's slot comes from the 12 bytes after its quote, which then do not see the value.
    expectSameRecords([
      lineOf({ team_id: 'search' }, { cached_input_per_million_usd: 1, tier: tier('gpt-4o'), note: 'x'.repeat(110) }),
      lineOf({ team_id: 'search' }, { cached_input_per_million_usd: 12, tier: tier('gpt-4o'), note: 'x'.repeat(110) }),
      lineOf({ team_id: 'search' }, { cached_input_per_million_usd: 1.5, tier: tier('gpt-4o-mini'), note: 'x'.repeat(125) }),
      // 127, then 128 bytes of entry: its length takes a second byte.
      lineOf({ team_id: 'searc' }, { cached_input_per_million_usd: 1, tier: tier('a'.repeat(96)), note: 'x'.repeat(111) }),
      lineOf({ team_id: 'search' }, { cached_input_per_million_usd: 1, tier: tier('a'.repeat(97)), note: 'x'.repeat(112) }),
      lineOf({ team_id: 'search' }, { cached_input_per_million_usd: 1, tier: tier('a'.repeat(96)), note: 'x'.repeat(111) }),
      lineOf({ team_id: 'search' }, { cached_input_per_million_usd: -1, tier: tier('a'.repeat(97)), note: 'x'.repeat(200) }),
      lineOf({ team_id: 'search' }, { cached_input_per_million_usd: 1e21, tier: tier('gpt-4o'), note: true }),
      lineOf({ team_id: 'search' }, { cached_input_per_million_usd: 1, tier: tier('gpt-4o'), note: null }),
    ]);
  });

  it('keeps a nested entry apart from a top-level one of the same text', () => {
    const payload = { agent_name: 'agent', event_type: 'x', span_id: 'y' };
    expectSameRecords([
      // `tags.payload` and `tags.model` have the text of a top-level payload and attribute.
      lineOf({ tags: { payload, model: 'gpt-4o' } }, payload),
      lineOf({ model: 'gpt-4o' }, payload),
      lineOf({ tags: { payload, model: 'gpt-4o' } }, { model: 'gpt-4o', payload }),
      lineOf({ model: 'gpt-4o' }, { model: 'gpt-4o', payload }),
    ]);
  });

  it('writes the entries of a run again when one of them changes', () => {
    const steady = { agent_name: 'agent', agent_run_id: 'run-1', cost: { total_cost_usd: 0.006 }, model: 'gpt-4o' };
    expectSameRecords([
      lineOf({}, steady),
      lineOf({}, steady),
      lineOf({}, steady),
      lineOf({}, { ...steady, agent_run_id: 'run-2' }),
      lineOf({}, { ...steady, agent_run_id: 'run-2' }),
      lineOf({}, { ...steady, cost: { total_cost_usd: 0.0061 } }),
      lineOf({}, steady),
      lineOf({}, { ...steady, latency_ms: 0.5 }),
      lineOf({}, { agent_name: 'agent', agent_run_id: 'run-1' }),
      lineOf({}, steady),
    ]);
  });

  it('matches the parsed lines over randomized sequences whose entries repeat, change and alternate', () => {
    const text = (minLength: number, maxLength: number) =>
      fc.string({ unit: fc.constantFrom(...'abcxyz0129 -_./:@é✓'), minLength, maxLength });
    const leaf = fc.oneof(
      text(0, 6),
      // Strings around 128 bytes: their length, and their entry's, cross to two bytes.
      text(110, 135),
      fc.constantFrom(0, 1, 12, 1.5, -1, 120, 2 ** 53, 1e21, 0.1, true, false, null),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    );
    const key = fc.constantFrom('a', 'ab', 'model', 'cost', 'span_id', 'payload', 'event_type', 'source', 'pricing_tier', 'x'.repeat(13));
    const value = fc.oneof(
      leaf,
      fc.dictionary(key, leaf, { maxKeys: 4 }),
      fc.dictionary(key, fc.oneof(leaf, fc.dictionary(key, leaf, { maxKeys: 3 })), { maxKeys: 4 }),
      fc.array(leaf, { maxLength: 3 }),
    );
    // A few values for each key, which the lines pick from: runs of one value, changes, alternation.
    const pools = fc.dictionary(key, fc.array(value, { minLength: 1, maxLength: 3 }), { minKeys: 1, maxKeys: 6 });
    const envelope = fc.dictionary(
      fc.constantFrom('team_id', 'session_id', 'parent_span_id', 'tags', 'cost'),
      fc.array(value, { minLength: 1, maxLength: 3 }),
      {
        maxKeys: 4,
      },
    );
    const picks = fc.array(fc.array(fc.nat({ max: 3 }), { minLength: 10, maxLength: 10 }), { minLength: 2, maxLength: 16 });
    fc.assert(
      fc.property(pools, envelope, picks, (payloadPools, envelopePools, lines) => {
        const pick = (pool: Record<string, unknown[]>, choices: readonly number[]) =>
          Object.fromEntries(
            Object.entries(pool).flatMap(([name, values], index) => {
              const choice = choices[index % choices.length] as number;
              // One choice past the pool leaves the entry out.
              return choice < values.length ? [[name, values[choice]]] : [];
            }),
          );
        expectSameRecords(lines.map((choices) => lineOf(pick(envelopePools, choices.slice(5)), pick(payloadPools, choices))));
      }),
      { numRuns: 300 },
    );
  });
});
