import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { EventPipeline, serializeEvent, type CostEvent } from '@costspan/sdk';
import { captureDiag, eventFromLog, tokenEvent, waitFor } from './__fixtures__/events.js';
import { OtlpReceiver } from './__fixtures__/otlp-receiver.js';
import { timestampToHrTime } from './cost-event-log-record.js';
import { OtlpLogEventExporter, type OtlpLogEventExporterOptions } from './otlp-log-event-exporter.js';

const receivers: OtlpReceiver[] = [];
const exporters: OtlpLogEventExporter[] = [];

afterEach(async () => {
  diag.disable();
  for (const exporter of exporters.splice(0)) {
    exporter.stopRetrying();
    await exporter.shutdown();
  }
  await Promise.all(receivers.splice(0).map((receiver) => receiver.stop()));
});

async function receiver(): Promise<OtlpReceiver> {
  const started = await new OtlpReceiver().start(0);
  receivers.push(started);
  return started;
}

function exporter(options: OtlpLogEventExporterOptions): OtlpLogEventExporter {
  const made = new OtlpLogEventExporter({ serviceName: 'wire-test', timeoutMillis: 3000, ...options });
  exporters.push(made);
  return made;
}

function send(target: OtlpLogEventExporter, events: CostEvent[]): Promise<ExportResult> {
  return new Promise((resolve) => target.export(events, resolve));
}

describe('cost events as OTLP log records, on the wire', () => {
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`${protocol}: event name, ids, trace context, timestamp and body arrive, and rebuild the exact event`, async () => {
      const collector = await receiver();
      const events = [tokenEvent(1), tokenEvent(2)];
      const result = await send(exporter({ endpoint: collector.url, protocol }), events);

      expect(result.code).toBe(ExportResultCode.SUCCESS);
      expect(collector.requests[0]?.path).toBe('/v1/logs');
      expect(collector.requests[0]?.contentType).toBe(protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
      expect(collector.logs).toHaveLength(2);
      const log = collector.logs[0]!;
      expect(log.eventName).toBe('llm.cost.token.recorded');
      expect(log.attributes['event.name']).toBe('llm.cost.token.recorded');
      expect(log.attributes.event_id).toBe(events[0]!.event_id);
      expect(log.attributes).toMatchObject({
        org_id: 'org_01HX',
        team_id: 'search',
        actor_id: 'alice',
        session_id: 'conv-7',
        tags: { env: 'production' },
      });
      expect(log.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      expect(log.spanId).toBe('a1b2c3d4e5f6a7b8');
      expect(log.timeUnixNano).toBe('1772634731042817000');
      expect(log.severityText).toBe('INFO');
      expect(log.resource['service.name']).toBe('wire-test');
      expect(log.scope).toBe('@costspan/exporter-otlp');
      expect(log.body).toMatchObject({ cost: { total_cost_usd: 0.0021 }, model: { name: 'gpt-4o' } });
      // Lossless: the canonical line rebuilt from the record equals the original's.
      expect(collector.logs.map((received) => serializeEvent(eventFromLog(received) as CostEvent))).toEqual(events.map(serializeEvent));
    });
  }

  it('timestamps keep every microsecond', () => {
    expect(timestampToHrTime('2026-03-04T14:32:11.042817Z')).toEqual([1772634731, 42_817_000]);
    expect(timestampToHrTime('2026-03-04T14:32:11.000001Z')).toEqual([1772634731, 1000]);
  });

  it('503 with Retry-After: retried after the delay and delivered exactly once', async () => {
    const collector = await receiver();
    collector.script = ({ index }) => (index === 0 ? { status: 503, headers: { 'retry-after': '1' } } : undefined);
    const target = exporter({ endpoint: collector.url });
    const started = Date.now();
    const result = await send(target, [tokenEvent()]);

    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(collector.requests.map((request) => request.status)).toEqual([503, 200]);
    expect(collector.logs).toHaveLength(1);
    expect(target.stats()).toMatchObject({ exported: 1, retried: 1, failed: 0, inFlight: 0 });
  });

  it('400 and 500 are not retried: counted as failed and reported through diag', async () => {
    const logs = captureDiag();
    const collector = await receiver();
    collector.script = ({ index }) => ({ status: index === 0 ? 400 : 500 });
    const target = exporter({ endpoint: collector.url });

    expect((await send(target, [tokenEvent()])).code).toBe(ExportResultCode.FAILED);
    expect((await send(target, [tokenEvent(), tokenEvent()])).code).toBe(ExportResultCode.FAILED);
    expect(collector.requests).toHaveLength(2);
    expect(target.stats()).toMatchObject({ exported: 0, retried: 0, failed: 3 });
    expect(logs.text()).toMatch(/gave up on 1 cost events \(not retryable\).*400/);
  });

  it('partial success (rejected_log_records) is reported through diag', async () => {
    const logs = captureDiag();
    const collector = await receiver();
    collector.script = () => ({ status: 200, partialSuccess: { rejected: 2, errorMessage: 'quota exceeded for tenant' } });
    const result = await send(exporter({ endpoint: collector.url }), [tokenEvent(), tokenEvent(), tokenEvent()]);

    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(logs.text()).toContain('Partial Success');
    expect(logs.text()).toContain('quota exceeded for tenant');
    expect(logs.text()).toMatch(/"rejectedLogRecords":"?2/);
  });

  it('collector down for a while: held and retried, delivered once it is back', async () => {
    const collector = await receiver();
    await collector.stop();
    const target = exporter({ endpoint: collector.url, timeoutMillis: 1000, retryTimeoutMillis: 15_000 });
    const events = [tokenEvent(), tokenEvent()];
    const delivered = send(target, events);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(target.stats()).toMatchObject({ exported: 0, inFlight: 2 });
    await collector.start();

    expect((await delivered).code).toBe(ExportResultCode.SUCCESS);
    expect(collector.eventIds()).toEqual(events.map((event) => event.event_id));
    expect(target.stats().retried).toBeGreaterThanOrEqual(1);
  });

  it('collector down past the retry timeout: counted as failed and reported, never thrown', async () => {
    const logs = captureDiag();
    const collector = await receiver();
    await collector.stop();
    const target = exporter({ endpoint: collector.url, timeoutMillis: 500, retryTimeoutMillis: 1000 });
    const result = await send(target, [tokenEvent(), tokenEvent(), tokenEvent()]);

    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(target.stats()).toMatchObject({ exported: 0, failed: 3, inFlight: 0 });
    expect(logs.text()).toMatch(/gave up on 3 cost events \(collector unreachable.*ECONNREFUSED/);
  });

  it("encoded lines (the pipeline's off-heap queue) arrive as the same log records as the events themselves", async () => {
    const collector = await receiver();
    const events = [tokenEvent(1), tokenEvent(2), tokenEvent(3)];
    const lines = (list: CostEvent[]): Buffer => Buffer.from(list.map((event) => `${serializeEvent(event)}\n`).join(''));
    const viaEvents = exporter({ endpoint: collector.url });
    expect((await send(viaEvents, events)).code).toBe(ExportResultCode.SUCCESS);
    const fromEvents = collector.logs.splice(0);
    const viaLines = exporter({ endpoint: collector.url });
    // Two chunks, as the queue hands them when a batch spans its 1 MiB blocks.
    const result = await new Promise<ExportResult>((resolve) =>
      viaLines.exportEncoded([lines(events.slice(0, 2)), lines(events.slice(2))], 3, resolve),
    );

    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(collector.logs.map(eventFromLog)).toEqual(fromEvents.map(eventFromLog));
    expect(collector.logs.map(eventFromLog).map((event) => event.event_id)).toEqual(events.map((event) => event.event_id));
    expect(viaLines.stats()).toMatchObject({ exported: 3, failed: 0, inFlight: 0 });
  });
  it('a batch of encoded lines that does not parse is counted as failed, whole, and never sent', async () => {
    const collector = await receiver();
    const target = exporter({ endpoint: collector.url });
    const encoded = [Buffer.from(`${serializeEvent(tokenEvent(1))}\n{"event_id":\n`)];
    const result = await new Promise<ExportResult>((resolve) => target.exportEncoded(encoded, 2, resolve));

    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(target.stats()).toMatchObject({ exported: 0, failed: 2 });
    expect(collector.requests).toHaveLength(0);
  });
  it('exportEncodedSync at process exit counts every line as failed, without parsing them', () => {
    const logs = captureDiag();
    const target = exporter({ endpoint: 'http://127.0.0.1:9' });
    expect(target.exportEncodedSync([Buffer.from('not json\n{}\n'), Buffer.from('x\n')]).code).toBe(ExportResultCode.FAILED);
    expect(target.stats().failed).toBe(3);
    expect(logs.text()).toContain('3 cost events unsent at process exit');
  });
  it('a 10k burst through the event pipeline arrives exactly once, by event id, despite 503s', async () => {
    const collector = await receiver();
    collector.script = ({ index }) => (index % 3 === 0 ? { status: 503, headers: { 'retry-after': '0' } } : undefined);
    const target = exporter({ endpoint: collector.url });
    const pipeline = new EventPipeline([target], { maxExportBatchSize: 1000, scheduledDelayMillis: 10 });
    const events = Array.from({ length: 10_000 }, (_, index) => tokenEvent(index));
    for (const event of events) pipeline.emit(event);
    await pipeline.shutdown();

    const ids = collector.eventIds();
    expect(ids).toHaveLength(10_000);
    expect(new Set(ids).size).toBe(10_000);
    expect(new Set(ids)).toEqual(new Set(events.map((event) => event.event_id)));
    expect(pipeline.stats()).toMatchObject({ queued: 10_000, exported: 10_000, dropped: 0, failed: 0 });
    expect(target.stats()).toMatchObject({ exported: 10_000, failed: 0 });
    expect(target.stats().retried).toBeGreaterThanOrEqual(3);
    // Retries back off 0.5 s each; a loaded CI machine needs more than the default 5 s.
  }, 30_000);

  it('a burst larger than the queue: delivered plus dropped is exactly the burst, drops counted and reported', async () => {
    const logs = captureDiag();
    const collector = await receiver();
    const target = exporter({ endpoint: collector.url });
    const pipeline = new EventPipeline([target], { maxQueueSize: 4000, maxExportBatchSize: 1000 });
    for (let index = 0; index < 10_000; index += 1) pipeline.emit(tokenEvent(index));
    await pipeline.shutdown();

    const stats = pipeline.stats();
    expect(stats.dropped).toBe(6000);
    expect(collector.logs).toHaveLength(4000);
    expect(new Set(collector.eventIds()).size + stats.dropped).toBe(10_000);
    expect(logs.text()).toMatch(/dropped 6000 cost events/);
  });

  it('stopRetrying ends retries at once and later exports fail fast, counted', async () => {
    const collector = await receiver();
    await collector.stop();
    const target = exporter({ endpoint: collector.url, timeoutMillis: 300, retryTimeoutMillis: 60_000 });
    const pending = send(target, [tokenEvent()]);
    await waitFor(() => target.stats().retried > 0, 5000, 'a retry');
    const started = Date.now();
    target.stopRetrying();
    expect((await pending).code).toBe(ExportResultCode.FAILED);
    expect((await send(target, [tokenEvent()])).code).toBe(ExportResultCode.FAILED);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(target.stats()).toMatchObject({ failed: 2, inFlight: 0 });
  });

  it('exportSync at process exit counts the events as failed and says so', () => {
    const logs = captureDiag();
    const target = exporter({ endpoint: 'http://127.0.0.1:9' });
    expect(target.exportSync([tokenEvent(), tokenEvent()]).code).toBe(ExportResultCode.FAILED);
    expect(target.stats().failed).toBe(2);
    expect(logs.text()).toContain('2 cost events unsent at process exit');
  });
});
