import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventPipeline, JsonlEventExporter, serializeEvent, type CostEvent } from '@costspan/sdk';
import { median, timeIt, type BenchRow } from '../src/harness.js';

function tokenEvent(index: number): CostEvent {
  // Built in key order, as the processor builds its events.
  return {
    actor_id: 'alice',
    event_id: `01JBENCH${String(index).padStart(18, '0')}`,
    event_type: 'llm.cost.token.recorded',
    org_id: 'acme',
    parent_span_id: '0123456789abcdef',
    payload: {
      agent_name: 'agent',
      agent_run_id: '01JBENCHRUN000000000000000',
      cost: { input_cost_usd: 0.00125, output_cost_usd: 0.002, pricing_date: '2026-11-23', total_cost_usd: 0.00325 },
      model: { name: 'gpt-4o', system: 'openai' },
      pricing_status: 'priced',
      scope: 'agent/step',
      span_id: 'fedcba9876543210',
      token_usage: { input_tokens: 500, output_tokens: 200, total_tokens: 700 },
    },
    schema_version: '2.0',
    source: 'bench@1.0.0',
    span_id: 'fedcba9876543210',
    team_id: 'search',
    timestamp: '2026-11-23T10:00:00.000000Z',
    trace_id: '0123456789abcdef0123456789abcdef',
  };
}

/**
 * Case 2: sustained events/s through the bounded pipeline into a JSONL file, against the
 * baseline of serialising the same events with JSON.stringify and nothing else; and a
 * 100k-event burst: zero lost, or the exact count reported.
 */
export async function eventPipeline(options: { smoke: boolean }): Promise<BenchRow[]> {
  const count = options.smoke ? 20_000 : 200_000;
  const rounds = options.smoke ? 2 : 5;
  const events = Array.from({ length: count }, (_, index) => tokenEvent(index));
  const directory = mkdtempSync(join(tmpdir(), 'costspan-bench-'));
  const pipelineRates: number[] = [];
  const stringifyRates: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const path = join(directory, `round-${round}.jsonl`);
    const pipeline = new EventPipeline([new JsonlEventExporter({ path })]);
    const elapsed = await timeIt(async () => {
      for (const event of events) pipeline.emit(event);
      await pipeline.shutdown();
    });
    pipelineRates.push(count / (elapsed / 1000));
    let sink = 0;
    const baseline = await timeIt(() => {
      for (const event of events) sink += JSON.stringify(event).length;
    });
    if (sink === 0) throw new Error('unreachable');
    stringifyRates.push(count / (baseline / 1000));
    rmSync(path);
  }

  const burstPath = join(directory, 'burst.jsonl');
  const burst = new EventPipeline([new JsonlEventExporter({ path: burstPath })]);
  for (let index = 0; index < 100_000; index += 1) burst.emit(tokenEvent(index));
  await burst.shutdown();
  const written = readFileSync(burstPath, 'utf8').split('\n').length - 1;
  const stats = burst.stats();
  rmSync(directory, { recursive: true, force: true });
  if (written + stats.dropped + stats.failed !== 100_000) throw new Error(`burst accounting broken: ${written} written, ${stats.dropped} dropped`);
  if (serializeEvent(events[0] as CostEvent) !== JSON.stringify(events[0])) throw new Error('bench events are not in canonical key order');
  return [
    { name: 'events/s to JSONL (sustained)', value: median(pipelineRates), unit: 'events/s', baseline: median(stringifyRates), baselineName: 'JSON.stringify only', target: '>= 300k events/s' },
    { name: '100k burst: lines written', value: written, unit: 'events' },
    { name: '100k burst: dropped (counted)', value: stats.dropped, unit: 'events' },
  ];
}
