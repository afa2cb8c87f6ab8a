/**
 * The floors of the event path, measured beside costspan (issue 14: "measure the real floor
 * first, report it"): what any cost tool must do for the same run, with none of costspan's own
 * work. Bare OpenTelemetry makes the same tree with the attributes costspan's spans end with
 * (captured from one real costspan run at start-up, so the floor follows what costspan writes),
 * and the run's 14 cost events, also captured once, are delivered as they would be:
 *
 * - F1 (JSONL): the run's lines, already UTF-8, appended to a file in one synchronous write per
 *   2,048 events. No accounting, pricing, ids, timestamps or encoding.
 * - F2 (OTLP): the spans over OTLP/HTTP protobuf as B1 sends them, and the events handed to
 *   costspan's `OtlpLogEventExporter` in batches of 2,048, which encodes them straight to
 *   protobuf and posts them to the same sink. No accounting, pricing or line encoding.
 * - F1T (JSONL through costspan's tracer): costspan's own tracer with no `CostSpanProcessor` (the
 *   T variant) and F1's delivery of the pre-encoded lines. What the JSONL path costs before any
 *   of the processor's work (pricing, roll-up, ids, event text): C1 minus F1T is that work, and
 *   2.0 × B0 minus F1T is what the JSONL target leaves for it.
 * - S (a yardstick, not a floor): V8's own `JSON.stringify` of the run's 14 events, already built
 *   as objects, and the UTF-8 copy of the lines; no spans. What printing the events costs the
 *   engine's native serializer, beside the room above.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Attributes } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OtlpLogEventExporter } from '@costspan/exporter-otlp';
import { CostSpanProcessor, createCostTracer, serializeEvent, type CostEvent, type CostTracer } from '@costspan/sdk';
import { bareAgentRun, DiscardingSpanExporter } from '../src/bare-otel.js';
import type { BenchVariant } from '../src/variant-worker.js';

/** What one costspan run leaves behind: its spans' final attributes and its cost events. */
interface CapturedRun {
  root: Attributes;
  step: Attributes;
  steps: number;
  events: CostEvent[];
}

const BATCH = 2048;

/** Runs `run` once under costspan and keeps the root's and the first step's attributes and every event. */
async function captureRun(run: (tracer: CostTracer) => Promise<void>): Promise<CapturedRun> {
  const events: CostEvent[] = [];
  const spans = new InMemorySpanExporter();
  const processor = new CostSpanProcessor({ source: 'bench@1.0.0', listeners: [{ onEvent: (event) => events.push(event) }] });
  const provider = new BasicTracerProvider({ spanProcessors: [processor, new SimpleSpanProcessor(spans)] });
  await run(createCostTracer({ tracerProvider: provider }));
  await provider.forceFlush();
  const finished = spans.getFinishedSpans();
  const root = finished.find((span) => span.parentSpanContext === undefined);
  const steps = finished.filter((span) => span !== root);
  await provider.shutdown();
  if (root === undefined || steps[0] === undefined || events.length === 0) throw new Error('the floor capture saw no costspan run');
  return { root: { ...root.attributes }, step: { ...steps[0].attributes }, steps: steps.length, events };
}

/** A floor variant (see the file comment). */
export async function floorVariant(
  kind: 'F1' | 'F2',
  setting: { sinkUrl: string; directory: string; spanQueue: { maxQueueSize: number; maxExportBatchSize: number } },
  run: (tracer: CostTracer) => Promise<void>,
): Promise<BenchVariant> {
  const captured = await captureRun(run);
  const spanExporter = kind === 'F1' ? new DiscardingSpanExporter() : new OTLPTraceExporter({ url: `${setting.sinkUrl}/v1/traces` });
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spanExporter, setting.spanQueue)] });
  const tracer = provider.getTracer('bench');
  const shape = { root: captured.root, step: captured.step, steps: captured.steps };
  const deliver = kind === 'F1' ? jsonlDelivery(captured.events, setting.directory) : otlpDelivery(captured.events, setting.sinkUrl);
  return deliveringVariant(provider, deliver, (index) => bareAgentRun(tracer, index, shape));
}

/** F1T: costspan's tracer without its processor, and F1's delivery of the run's pre-encoded lines. */
export async function tracerFloorVariant(
  setting: { directory: string; spanQueue: { maxQueueSize: number; maxExportBatchSize: number } },
  run: (tracer: CostTracer) => Promise<void>,
): Promise<BenchVariant> {
  const captured = await captureRun(run);
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new DiscardingSpanExporter(), setting.spanQueue)] });
  const tracer = createCostTracer({ tracerProvider: provider });
  return deliveringVariant(provider, jsonlDelivery(captured.events, setting.directory), () => run(tracer));
}

/** A variant that makes a run's spans with `makeSpans`, then hands `deliver` the run's captured events. */
function deliveringVariant(provider: BasicTracerProvider, deliver: Delivery, makeSpans: (index: number) => Promise<void>): BenchVariant {
  return {
    run: async (index) => {
      await makeSpans(index);
      deliver.add();
    },
    flush: async () => {
      await deliver.flush();
      await provider.forceFlush();
    },
    lost: deliver.lost,
    shutdown: async () => {
      await deliver.shutdown();
      await provider.shutdown();
    },
  };
}

/** S: `JSON.stringify` of the captured run's events and their UTF-8 copy, per run. */
export async function stringifyVariant(run: (tracer: CostTracer) => Promise<void>): Promise<BenchVariant> {
  const { events } = await captureRun(run);
  const bytes = Buffer.allocUnsafeSlow(1 << 20);
  let offset = 0;
  return {
    run: () => {
      if (offset > bytes.length - 65_536) offset = 0;
      for (const event of events) {
        offset += bytes.write(JSON.stringify(event), offset, 'utf8');
        bytes[offset++] = 0x0a;
      }
      return Promise.resolve();
    },
    flush: () => Promise.resolve(),
    lost: () => 0,
    shutdown: () => Promise.resolve(),
  };
}

interface Delivery {
  /** Queues one run's events. */
  add: () => void;
  flush: () => Promise<void>;
  lost: () => number;
  shutdown: () => Promise<void>;
}

function jsonlDelivery(events: CostEvent[], directory: string): Delivery {
  const runBytes = Buffer.from(events.map((event) => `${serializeEvent(event)}\n`).join(''), 'utf8');
  const fd = openSync(join(directory, 'floor.jsonl'), 'a', 0o600);
  let pending: Buffer[] = [];
  let pendingEvents = 0;
  const write = (): void => {
    if (pending.length === 0) return;
    writeSync(fd, pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending));
    pending = [];
    pendingEvents = 0;
  };
  return {
    add: () => {
      pending.push(runBytes);
      pendingEvents += events.length;
      if (pendingEvents >= BATCH) write();
    },
    flush: () => {
      write();
      return Promise.resolve();
    },
    lost: () => 0,
    shutdown: () => {
      write();
      closeSync(fd);
      return Promise.resolve();
    },
  };
}

function otlpDelivery(events: CostEvent[], sinkUrl: string): Delivery {
  const exporter = new OtlpLogEventExporter({ endpoint: sinkUrl, protocol: 'http/protobuf' });
  let pending: CostEvent[] = [];
  // One batch at a time, as costspan's event pipeline hands them to the exporter.
  let sending: Promise<void> = Promise.resolve();
  let failed = 0;
  const exportBatch = (batch: CostEvent[]): Promise<void> =>
    new Promise<void>((resolve) =>
      exporter.export(batch, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) failed += batch.length;
        resolve();
      }),
    );
  const send = (): void => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    sending = sending.then(() => exportBatch(batch));
  };
  return {
    add: () => {
      for (const event of events) pending.push(event);
      if (pending.length >= BATCH) send();
    },
    flush: () => {
      send();
      return sending;
    },
    lost: () => failed,
    shutdown: async () => {
      send();
      await sending;
      await exporter.shutdown();
    },
  };
}
