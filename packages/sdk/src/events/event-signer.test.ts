import { spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { CostspanError } from '@costspan/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHarness } from '../__fixtures__/harness.js';
import { parseCostEvent, serializeEvent, type CostEvent } from './cost-event.js';
import {
  EventSigner,
  createSigningKey,
  eventSignature,
  legacyPayloadChecksum,
  payloadChecksum,
  spanforgeJson,
  wholeEventSignature,
} from './event-signer.js';

const KEY = 'test-signing-key-0123456789';

function sampleEvent(id: string): CostEvent {
  return parseCostEvent(
    `{"event_id":"${id}","event_type":"llm.cost.token.recorded","org_id":"org_01HX","payload":{"agent_run_id":"run1","cost":{"input_cost_usd":0.0015,"output_cost_usd":0.0006,"total_cost_usd":0.0021},"model":{"name":"gpt-4o","system":"openai"},"token_usage":{"input_tokens":500,"output_tokens":200,"total_tokens":700}},"schema_version":"2.0","source":"my-app@1.0.0","timestamp":"2026-03-04T14:32:11.042817Z"}`,
  );
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('EventSigner', () => {
  it('checksum is sha256 of the payload as Python renders it; signature is HMAC over event_id|checksum|prev_id', () => {
    const signer = new EventSigner({ key: KEY });
    const first = signer.sign(sampleEvent('01HW4Z3RXVP8Q2M6T9KBJDS7YN'));
    const second = signer.sign(sampleEvent('01HW4Z3RXVP8Q2M6T9KBJDS7YP'));
    const expectedChecksum = `sha256:${createHash('sha256').update(spanforgeJson(first.payload)).digest('hex')}`;
    expect(first.checksum).toBe(expectedChecksum);
    expect(first.prev_id).toBeUndefined();
    expect(first.signature).toBe(
      `hmac-sha256:${createHmac('sha256', KEY).update(`01HW4Z3RXVP8Q2M6T9KBJDS7YN|${expectedChecksum}|`).digest('hex')}`,
    );
    expect(second.prev_id).toBe('01HW4Z3RXVP8Q2M6T9KBJDS7YN');
    expect(second.signature).toBe(
      eventSignature(createSigningKey(KEY), second.event_id, payloadChecksum(second.payload), second.event_id.replace(/P$/, 'N')),
    );
  });

  it('keeps envelope keys sorted, so the serialised line is canonical as built', () => {
    const signed = new EventSigner({ key: KEY }).sign(sampleEvent('01HW4Z3RXVP8Q2M6T9KBJDS7YN'));
    const keys = Object.keys(signed);
    expect(keys).toEqual([...keys].sort());
    expect(serializeEvent(signed)).toBe(JSON.stringify(signed));
  });

  it('never shows the key in inspect, JSON or errors', () => {
    const signer = new EventSigner({ key: KEY });
    expect(inspect(signer, { showHidden: true, depth: 5 })).not.toContain(KEY);
    expect(JSON.stringify(signer)).not.toContain(KEY);
    expect(() => new EventSigner({ key: '' })).toThrow(/must not be empty/);
  });

  it('createSigningKey() without a key, or with a non-key, throws a CostspanError naming signingKey', () => {
    for (const bad of [undefined, null, 42, {}] as unknown[]) {
      let caught: unknown;
      try {
        createSigningKey(bad as string);
      } catch (error) {
        caught = error;
      }
      expect(CostspanError.isInstance(caught)).toBe(true);
      expect((caught as CostspanError).code).toBe('invalid_argument');
      expect((caught as CostspanError).field).toBe('signingKey');
    }
  });

  it('the processor signs every event in emission order (option or COSTSPAN_SIGNING_KEY)', async () => {
    vi.stubEnv('COSTSPAN_SIGNING_KEY', KEY);
    const harness = createHarness();
    await harness.tracer.agentRun('agent', { principal: { userId: 'alice', teamId: 'search' } }, async (run) => {
      run.step('one', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0.002 }));
      run.agentRun('child', (child) => child.step('two', (step) => step.setCost({ inputUsd: 0.003, outputUsd: 0 })));
    });
    await harness.flush();
    const events = harness.events.getEvents();
    expect(events.length).toBe(5);
    const key = createSigningKey(KEY);
    let previous = '';
    for (const event of events) {
      expect(event.checksum).toBe(payloadChecksum(event.payload));
      expect(event.prev_id ?? '').toBe(previous);
      expect(event.signature).toBe(eventSignature(key, event.event_id, event.checksum as string, previous));
      expect(serializeEvent(event)).toBe(JSON.stringify(event));
      previous = event.event_id;
    }
    const unsigned = createHarness({ signingKey: undefined });
    vi.unstubAllEnvs();
    const plain = createHarness();
    plain.tracer.agentRun('agent', (run) => run.step('one', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })));
    await plain.flush();
    expect(plain.events.getEvents()[0]?.checksum).toBeUndefined();
    await unsigned.provider.shutdown();
  });
});

/** Runs `python3` once over many inputs: one JSON text per line in, one line out per input. */
function python(args: readonly string[], lines: readonly string[]): string[] {
  const result = spawnSync('python3', args, { input: `${lines.join('\n')}\n`, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error !== undefined || result.status !== 0)
    throw new Error(`python3 failed (apt-get install -y python3): ${result.error?.message ?? result.stderr}`);
  return result.stdout.split('\n').slice(0, -1);
}

const PY_DUMPS = String.raw`
import json, sys
for line in sys.stdin:
    print(json.dumps(json.loads(line), sort_keys=True, separators=(",", ":"), ensure_ascii=False))
`;

describe('spanforgeJson: what Python json.dumps(sort_keys=True, separators=(",", ":")) writes', () => {
  it('known cases: small and large floats, ints, integral floats, nesting', () => {
    expect(spanforgeJson({ b: 0.0000135, a: 1e-5 })).toBe('{"a":1e-05,"b":1.35e-05}');
    expect(spanforgeJson([0.0001, 0.00012, 1e-7, 1.5e-7, 1e21, 1.5e300, 5e-324, -2.5e-5, 0.5, 10, -0, 123456.789])).toBe(
      '[0.0001,0.00012,1e-07,1.5e-07,1e+21,1.5e+300,5e-324,-2.5e-05,0.5,10,0,123456.789]',
    );
    // JavaScript writes 1e16 as 10000000000000000: an int to Python, written back the same.
    expect(spanforgeJson(1e16)).toBe('10000000000000000');
    expect(spanforgeJson({ x: null, y: true, z: 'é\n"', u: undefined })).toBe('{"x":null,"y":true,"z":"é\\n\\""}');
    expect(() => spanforgeJson(Number.NaN)).toThrow(/finite/);
    expect(() => spanforgeJson(1n)).toThrow(/JSON-serialisable/);
  });

  it('equals python3 on random numbers and documents (property test, one python3 run)', () => {
    const number = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.double({ min: 1e-12, max: 1e-3, noNaN: true }),
      fc.double({ min: 1e14, max: 1e23, noNaN: true }),
      fc.integer(),
      fc.maxSafeInteger(),
      fc.integer({ min: 0, max: 10_000_000 }).map((pico) => pico / 1e12),
      fc.integer({ min: -30, max: 30 }).map((exponent) => 10 ** exponent),
    );
    const key = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', '\u{1F600}', '\uFFFF', 'a', 'B'));
    const document = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        number,
        fc.string(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(key, tie('value'), { maxKeys: 5 }),
      ),
    })).value;
    const samples = [...fc.sample(number, 3000), ...fc.sample(document, 500)].map((value) => JSON.stringify(value));
    const rendered = python(['-c', PY_DUMPS], samples);
    expect(rendered).toHaveLength(samples.length);
    const mismatches = samples.filter((text, index) => spanforgeJson(JSON.parse(text)) !== rendered[index]);
    expect(mismatches.slice(0, 5)).toEqual([]);
  });
});

describe('costspan_signature: the whole event is signed', () => {
  it('covers actor_id, org_id, team_id, tags and timestamp; spanforge fields stay as they were', () => {
    const event: CostEvent = { ...sampleEvent('01HW4Z3RXVP8Q2M6T9KBJDS7YN'), actor_id: 'alice', team_id: 'search', tags: { env: 'prod' } };
    const signed = new EventSigner({ key: KEY }).sign(event);
    const key = createSigningKey(KEY);
    expect(signed.costspan_signature).toBe(wholeEventSignature(key, signed));
    expect(signed.costspan_signature).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    for (const [field, value] of [
      ['actor_id', 'mallory'],
      ['org_id', 'other-org'],
      ['team_id', 'billing'],
      ['tags', { env: 'dev' }],
      ['timestamp', '2026-03-05T14:32:11.042817Z'],
      ['source', 'other-app@1.0.0'],
    ] as const) {
      const moved = { ...signed, [field]: value };
      expect(wholeEventSignature(key, moved), field).not.toBe(signed.costspan_signature);
      // spanforge's own signature does not notice: the reason costspan_signature exists.
      expect(eventSignature(key, moved.event_id, moved.checksum as string, ''), field).toBe(signed.signature);
    }
  });

  it('keeps a __proto__ tag key as data when signing', () => {
    const event = parseCostEvent(
      serializeEvent(sampleEvent('01HW4Z3RXVP8Q2M6T9KBJDS7YN')).replace('"org_id"', '"tags":{"__proto__":"x"},"org_id"'),
    );
    const signed = new EventSigner({ key: KEY }).sign(event);
    expect(Object.getPrototypeOf(signed)).toBe(Object.prototype);
    expect(JSON.stringify(signed.tags)).toBe('{"__proto__":"x"}');
    expect(signed.costspan_signature).toBe(
      wholeEventSignature(createSigningKey(KEY), JSON.parse(serializeEvent(signed)) as Record<string, unknown>),
    );
  });

  it('a signed run with amounts below 1e-4 passes spanforge verify_chain (re-implemented in Python) and the whole-event check', async () => {
    const harness = createHarness({ signingKey: KEY });
    await harness.tracer.agentRun(
      'agent',
      { principal: { userId: 'alice', teamId: 'search', orgId: 'acme', tags: { env: 'prod' } } },
      async (run) => {
        run.step('tiny', (step) =>
          step
            .setModel('gpt-4o-mini', 'openai')
            .setTokenUsage({ input: 90, output: 10 })
            .setCost({ inputUsd: 0.0000135, outputUsd: 0.000006 }),
        );
        run.step('small', (step) =>
          step
            .setModel('gpt-4o-mini', 'openai')
            .setTokenUsage({ input: 1000, output: 50 })
            .setCost({ inputUsd: 0.00015, outputUsd: 0.00003 }),
        );
        run.agentRun('child', (child) => child.step('tinier', (step) => step.setCost({ inputUsd: 0.00000123, outputUsd: 0 })));
      },
    );
    await harness.flush();
    const lines = harness.events.getEvents().map((event) => serializeEvent(event));
    expect(lines.length).toBeGreaterThanOrEqual(5);
    // The JavaScript rendering of these amounts differs from Python's: the old checksum would fail.
    expect(lines.some((line) => /e-\d/.test(line) || /0\.0000/.test(line))).toBe(true);
    const events = lines.map((line) => parseCostEvent(line));
    expect(events.some((event) => legacyPayloadChecksum(event.payload) !== event.checksum)).toBe(true);
    const verifier = fileURLToPath(new URL('../__fixtures__/spanforge_verify.py', import.meta.url));
    const [output] = python([verifier, KEY], lines);
    expect(JSON.parse(output ?? '{}')).toEqual({
      valid: true,
      events: lines.length,
      tampered: [],
      gaps: [],
      whole_checked: lines.length,
      whole_bad: [],
    });
    // And a re-attributed event fails the whole-event check in Python too.
    const moved = lines.map((line, index) => (index === 0 ? line.replace('"actor_id":"alice"', '"actor_id":"mallory"') : line));
    expect(moved[0]).not.toBe(lines[0]);
    const [movedOutput] = python([verifier, KEY], moved);
    expect(JSON.parse(movedOutput ?? '{}')).toMatchObject({ valid: true, whole_bad: [events[0]?.event_id] });
  });
});
