import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { median, type BenchRow } from '../src/harness.js';
import { interleavedRounds, VariantWorker, type RoundResult } from '../src/variant-worker.js';
import type { EventPathVariant, EventPathWorkerData } from './event-path-worker.js';

/** An OTLP/HTTP sink on 127.0.0.1 that reads each request whole and answers an empty success. */
async function startSink(): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const json = request.headers['content-type']?.includes('json') === true;
      response.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      response.end(json ? '{}' : '');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Every variant, in the table's order. */
const VARIANTS: readonly EventPathVariant[] = ['B0', 'B1', 'T', 'C1', 'C2', 'L', 'F1', 'F2', 'F1T', 'S'];

const NAMES: Record<EventPathVariant, string> = {
  B0: 'B0 bare OTel, BatchSpanProcessor, discarding exporter',
  B1: 'B1 bare OTel, spans over OTLP/HTTP protobuf to 127.0.0.1',
  T: "T costspan's tracer alone, no CostSpanProcessor (nothing priced, rolled up or written)",
  C1: 'costspan + JSONL',
  C2: 'costspan + exporter-otlp (spans + cost events as OTLP logs)',
  L: 'Langfuse JS 5.11 (usage + cost on generations, OTLP)',
  F1: "F1 floor of C1: bare OTel with costspan's span attributes, the 14 lines pre-encoded, one write per batch",
  F2: "F2 floor of C2: bare OTel with costspan's span attributes over OTLP, the 14 events as OTLP logs",
  F1T: "F1T costspan's tracer alone (T) delivering the 14 lines pre-encoded as F1 does",
  S: "S V8's JSON.stringify of the run's 14 events (objects already built) and their UTF-8 copy, no spans",
};

/**
 * The event path, side by side: one root run of 10 priced steps (gpt-4o, 1,200 in / 300 out,
 * principal user/team/org: 14 cost events, 11 spans) per variant, each variant in its own worker,
 * rounds interleaved (the order rotates each round), medians of per-round ratios. Once with runs
 * one after another, once with 8 runs at a time.
 */
export async function eventPath(options: { smoke: boolean }): Promise<BenchRow[]> {
  const runsPerRound = options.smoke ? 100 : 2000;
  const rounds = options.smoke ? 2 : 9;
  const sink = await startSink();
  const script = new URL('./event-path-worker.js', import.meta.url);
  const workers = VARIANTS.map(
    (variant) => new VariantWorker(variant, script, { variant, sinkUrl: sink.url } satisfies EventPathWorkerData),
  );
  const rows: BenchRow[] = [];
  try {
    await Promise.all(workers.map((worker) => worker.ready()));
    for (const concurrency of [1, 8]) {
      const results = await interleavedRounds(workers, { runs: runsPerRound, concurrency, rounds });
      rows.push(...tableRows(results, concurrency, rounds));
    }
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    const closed = new Promise((resolve) => sink.server.close(resolve));
    sink.server.closeAllConnections();
    await closed;
  }
  return rows;
}

function tableRows(results: Map<EventPathVariant, RoundResult[]>, concurrency: number, rounds: number): BenchRow[] {
  const of = (variant: EventPathVariant): RoundResult[] => results.get(variant) ?? [];
  const microsIn = (variant: EventPathVariant, round: number): number => of(variant)[round]?.microsPerRun ?? NaN;
  // Medians over rounds of a figure within each round: drift in machine load hits both sides of a round alike.
  const perRound = (figure: (round: number) => number): number => median(Array.from({ length: rounds }, (_, round) => figure(round)));
  const ratio = (variant: EventPathVariant, baseline: EventPathVariant, field: keyof RoundResult = 'microsPerRun'): number =>
    perRound((round) => (of(variant)[round]?.[field] ?? NaN) / (of(baseline)[round]?.[field] ?? NaN));
  const micros = (variant: EventPathVariant): number => median(of(variant).map((result) => result.microsPerRun));
  const suffix = concurrency === 1 ? '' : `, ${concurrency} runs at a time`;
  const rows: BenchRow[] = [];
  for (const variant of VARIANTS) {
    const value = ratio(variant, 'B0');
    rows.push({
      name: `${NAMES[variant]}: µs per run${suffix}`,
      value: micros(variant),
      unit: 'µs',
      baseline: micros('B0'),
      baselineName: 'B0',
      // The ratio column shows the per-round median ratio, not value / baseline of the medians.
      ratio: value,
      ...(variant === 'C1' ? { target: '<= 2.0x B0' } : {}),
    });
  }
  rows.push(
    { name: `costspan OTLP (C2) ÷ Langfuse JS (L)${suffix}`, value: ratio('C2', 'L'), unit: '×', target: '<= 0.6' },
    { name: `costspan OTLP (C2) ÷ bare OTel over OTLP (B1)${suffix}`, value: ratio('C2', 'B1'), unit: '×', target: '<= 1.6' },
    // How far costspan is from what the path costs with none of its own work (see event-path-floor.ts).
    { name: `costspan + JSONL (C1) ÷ its floor (F1)${suffix}`, value: ratio('C1', 'F1'), unit: '×' },
    { name: `costspan OTLP (C2) ÷ its floor (F2)${suffix}`, value: ratio('C2', 'F2'), unit: '×' },
    // The processor's share: the same tracer and spans, with and without CostSpanProcessor and its JSONL exporter.
    { name: `costspan + JSONL (C1) ÷ its tracer alone (T)${suffix}`, value: ratio('C1', 'T'), unit: '×' },
    // The processor's own work on the JSONL path (pricing, roll-up, ids, event text), and what the target leaves it.
    { name: `costspan + JSONL (C1) ÷ its tracer's floor (F1T)${suffix}`, value: ratio('C1', 'F1T'), unit: '×' },
    {
      name: `room the JSONL target leaves the processor: 2.0 × B0 − F1T, µs per run${suffix}`,
      value: perRound((round) => 2 * microsIn('B0', round) - microsIn('F1T', round)),
      unit: 'µs',
    },
    {
      name: `the processor's work on the JSONL path: C1 − F1T, µs per run${suffix}`,
      value: perRound((round) => microsIn('C1', round) - microsIn('F1T', round)),
      unit: 'µs',
    },
    { name: `OTLP floor (F2) ÷ bare OTel over OTLP (B1)${suffix}`, value: ratio('F2', 'B1'), unit: '×' },
    { name: `OTLP floor (F2) ÷ Langfuse JS (L)${suffix}`, value: ratio('F2', 'L'), unit: '×' },
    {
      name: `GC time per run, costspan + JSONL (C1)${suffix}`,
      value: median(of('C1').map((result) => result.gcMicrosPerRun)),
      unit: 'µs',
      baseline: median(of('B0').map((result) => result.gcMicrosPerRun)),
      baselineName: 'B0',
      target: '<= 2.0x B0',
    },
    {
      // The GC the floor itself costs: costspan's larger spans held in BatchSpanProcessor's buffer, the lines delivered.
      name: `GC time per run, its floor (F1)${suffix}`,
      value: median(of('F1').map((result) => result.gcMicrosPerRun)),
      unit: 'µs',
      baseline: median(of('B0').map((result) => result.gcMicrosPerRun)),
      baselineName: 'B0',
    },
    {
      name: `GC time per run, costspan OTLP (C2)${suffix}`,
      value: median(of('C2').map((result) => result.gcMicrosPerRun)),
      unit: 'µs',
      baseline: median(of('B0').map((result) => result.gcMicrosPerRun)),
      baselineName: 'B0',
    },
    {
      name: `cost events or spans lost (C1 + C2)${suffix}`,
      value: (of('C1').at(-1)?.lost ?? 0) + (of('C2').at(-1)?.lost ?? 0),
      unit: 'events',
    },
  );
  return rows;
}
