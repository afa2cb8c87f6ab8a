import type { HrTime } from '@opentelemetry/api';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CostEvent } from '@costspan/sdk';
import { costEventToLogRecord } from './cost-event-log-record.js';
import { CostEventProtobufEncoder, costEventSerializer } from './cost-event-protobuf.js';
import { tokenEvent } from './__fixtures__/events.js';
import { randomEvent as event } from './__fixtures__/random-events.js';
import { decodeRequest, logsOf } from './__fixtures__/otlp-decode.js';

const OBSERVED: HrTime = [1_772_634_731, 42_817_000];

/** What OpenTelemetry's serializer makes of the same events: the reference. */
function reference(events: readonly CostEvent[], resource: Resource, observed: HrTime = OBSERVED): Buffer {
  return Buffer.from(ProtobufLogsSerializer.serializeRequest(events.map((event) => costEventToLogRecord(event, resource, observed))) ?? []);
}

function direct(events: readonly CostEvent[], resource: Resource, observed: HrTime = OBSERVED): Buffer {
  return Buffer.from(new CostEventProtobufEncoder(resource).encode(events, observed));
}

function sessionEvent(): CostEvent {
  return {
    event_id: '01KJKB3Q00BDCYP2GXYN7BBPKE',
    event_type: 'llm.cost.session.recorded',
    payload: {
      agent_name: 'planner',
      agent_run_id: 'run-1',
      budget_refusals: [{ limit_type: 'run', attempted_usd: '0.5' }],
      call_count: 3,
      models_used: ['gpt-4o', 'gpt-4o-mini'],
      session_duration_ms: 1234.567,
      total_cost: { input_cost_usd: 0.00012015, output_cost_usd: 1e-12, total_cost_usd: 123456.789 },
      total_token_usage: { input_tokens: 9_007_199_254_740_991, output_tokens: 0, total_tokens: 2 ** 60 },
    },
    schema_version: '2.0',
    source: 'app@1.0.0',
    span_id: 'a1b2c3d4e5f6a7b8',
    timestamp: '2026-03-04T14:32:11.042817Z',
    trace_id: '0af7651916cd43dd8448eb211c80319c',
  } as unknown as CostEvent;
}

describe('CostEventProtobufEncoder', () => {
  it('writes the bytes OpenTelemetry serializes from costEventToLogRecord', () => {
    const resource = defaultResource().merge(resourceFromAttributes({ 'service.name': 'checkout', 'deployment.environment.name': 'prod' }));
    const events = [tokenEvent(1), sessionEvent(), tokenEvent(2)];
    const bytes = direct(events, resource);
    expect(bytes.length).toBeGreaterThan(1000);
    expect(bytes.equals(reference(events, resource))).toBe(true);
  });

  it('matches OpenTelemetry over randomized events, resources and observed times', () => {
    const attribute = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null))),
    );
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 8 }),
        fc.dictionary(fc.string({ maxLength: 12 }), attribute, { maxKeys: 5 }),
        fc.tuple(fc.integer({ min: 0, max: 18_000_000_000 }), fc.integer({ min: 0, max: 999_999_999 })),
        (events, attributes, observed) => {
          const resource = resourceFromAttributes(attributes as Parameters<typeof resourceFromAttributes>[0]);
          expect(direct(events, resource, observed).equals(reference(events, resource, observed))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('matches OpenTelemetry on a batch whose lengths need several bytes (records, scope logs, resource logs)', () => {
    const resource = resourceFromAttributes({ 'service.name': 'big' });
    const events = Array.from({ length: 3000 }, (_, index) => {
      const base = tokenEvent(index);
      return { ...base, payload: { ...base.payload, scope: 'x'.repeat(index % 200) } };
    });
    const bytes = direct(events, resource);
    expect(bytes.length).toBeGreaterThan(2 ** 21);
    expect(bytes.equals(reference(events, resource))).toBe(true);
  });

  it('encodes one request after another from one encoder (cached resource, keys and timestamps)', () => {
    const resource = resourceFromAttributes({ 'service.name': 'again' });
    const encoder = new CostEventProtobufEncoder(resource);
    for (const batch of [[tokenEvent(1)], [sessionEvent(), tokenEvent(3)], [tokenEvent(4)]]) {
      expect(Buffer.from(encoder.encode(batch, OBSERVED)).equals(reference(batch, resource))).toBe(true);
    }
    expect(encoder.encode([], OBSERVED).length).toBe(0);
  });

  it('serializes events it does not take through OpenTelemetry, in the same request', () => {
    const resource = resourceFromAttributes({ 'service.name': 'mixed' });
    const odd = { ...tokenEvent(9), timestamp: 'yesterday' } as CostEvent;
    const events = [tokenEvent(1), odd, tokenEvent(2)];
    const bytes = costEventSerializer(new CostEventProtobufEncoder(resource)).serializeRequest(events) ?? new Uint8Array(0);
    const logs = logsOf(decodeRequest('logs', bytes));
    // The encoded events first, then OpenTelemetry's ResourceLogs for the odd one; all under the same resource.
    expect(logs.map((log) => log.attributes.event_id)).toEqual([events[0]?.event_id, events[2]?.event_id, odd.event_id]);
    expect(logs.map((log) => log.resource['service.name'])).toEqual(['mixed', 'mixed', 'mixed']);
    expect(logs[0]?.body).toEqual(events[0]?.payload);
  });
});
