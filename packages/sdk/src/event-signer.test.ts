import { createHash, createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { CostspanError } from '@costspan/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHarness } from './__fixtures__/harness.js';
import { canonicalJson, parseCostEvent, serializeEvent, type CostEvent } from './cost-event.js';
import { EventSigner, createSigningKey, eventSignature, payloadChecksum } from './event-signer.js';

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
  it('checksum is sha256 of the canonical payload; signature is HMAC over event_id|checksum|prev_id', () => {
    const signer = new EventSigner({ key: KEY });
    const first = signer.sign(sampleEvent('01HW4Z3RXVP8Q2M6T9KBJDS7YN'));
    const second = signer.sign(sampleEvent('01HW4Z3RXVP8Q2M6T9KBJDS7YP'));
    const expectedChecksum = `sha256:${createHash('sha256').update(canonicalJson(first.payload)).digest('hex')}`;
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
