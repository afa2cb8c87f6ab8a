import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '@costspan/sdk';
import { EventIdSet } from './event-id-set.js';
import { EventScanner } from './read-events.js';
import { reportToJson } from './report-json.js';
import { unreadFields } from './report-group.js';
import { REPORT_DIMENSIONS, ReportAggregator, type ReportDimension } from './report.js';

const directory = mkdtempSync(join(tmpdir(), 'costspan-scan-records-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function id(index: number): string {
  return `01HW4Z3RXVP8Q2M6T9K${String(index).padStart(7, '0')}`;
}

/** A token line as the SDK writes it; `index` varies the figures, model, user, day and run. */
function tokenLine(index: number, options: { id?: string } = {}): string {
  return canonicalJson({
    actor_id: `user-${index % 7}`,
    event_id: options.id ?? id(index),
    event_type: 'llm.cost.token.recorded',
    payload: {
      agent_name: `agent-${index % 3}`,
      agent_run_id: `run-${Math.floor(index / 5)}`,
      cost: {
        input_cost_usd: (index % 97) / 1e4,
        output_cost_usd: (index % 13) / 1e5,
        total_cost_usd: ((index % 97) * 10 + (index % 13)) / 1e5,
      },
      latency_ms: (index % 50) + 0.125,
      model: { name: ['gpt-4o', 'gpt-4o-mini', 'o3-mini'][index % 3] as string, system: 'openai' },
      pricing_tier: { input_per_million_usd: 2.5, model: 'gpt-4o', padding: 'x'.repeat(index % 40) },
      scope: `agent-${index % 3}/step-${index % 4}`,
      token_usage: { input_tokens: 100 + index, output_tokens: 10 + (index % 9), total_tokens: 110 + index },
    },
    schema_version: '2.0',
    source: 'app@1.0.0',
    tags: { env: index % 2 === 0 ? 'prod' : 'dev' },
    // Days 1..20 of March, so spikes have trailing days to compare with.
    timestamp: `2026-03-${String(1 + (index % 20)).padStart(2, '0')}T10:00:00.${String(index % 1e6).padStart(6, '0')}Z`,
  });
}

/** Scans `inputs` both ways and returns the two reports as JSON text, with their scan counters. */
async function bothWays(inputs: string[]): Promise<{ slow: string; fast: string; slowStats: string; fastStats: string }> {
  const dimensions = REPORT_DIMENSIONS;
  const slowScanner = new EventScanner({ maxLineBytes: 4096 });
  const slowAggregator = new ReportAggregator({ dimensions, pivot: ['user', 'model'] });
  await slowScanner.scan(inputs, (event) => slowAggregator.add(event));
  const fastScanner = new EventScanner({ maxLineBytes: 4096 });
  const fastAggregator = new ReportAggregator({ dimensions, pivot: ['user', 'model'] });
  await fastScanner.scanRecords(inputs, (record) => fastAggregator.addRecord(record));
  return {
    slow: JSON.stringify(reportToJson(slowAggregator.result(), { inputs, scan: slowScanner.stats })),
    fast: JSON.stringify(reportToJson(fastAggregator.result(), { inputs, scan: fastScanner.stats })),
    slowStats: JSON.stringify(slowScanner.stats),
    fastStats: JSON.stringify(fastScanner.stats),
  };
}

describe('EventScanner.scanRecords (the fast path) against EventScanner.scan (JSON.parse and validation)', () => {
  it('gives the same report and counts over files mixing canonical and odd lines, across chunk boundaries', async () => {
    const lines: string[] = [];
    for (let index = 0; index < 3000; index += 1) {
      lines.push(tokenLine(index));
      // Odd lines among them: each takes the slow path, or is skipped, exactly as before.
      if (index % 97 === 0) lines.push(tokenLine(index, { id: id(index) })); // a duplicate
      if (index % 101 === 0) lines.push(tokenLine(index + 100_000).replace(':', ': ')); // whitespace
      if (index % 103 === 0) lines.push(tokenLine(index + 200_000).replace('"schema_version":"2.0"', '"schema_version":"9"'));
      if (index % 107 === 0) lines.push('{"not":"json"');
      if (index % 109 === 0) lines.push(`${tokenLine(index + 300_000)}\r`);
      if (index % 113 === 0) lines.push('');
      if (index % 127 === 0) lines.push(tokenLine(index + 400_000).replace('"input_cost_usd":', '"input_cost_usd":1234.5,"x":'));
      if (index % 131 === 0) lines.push(`{"event_type":"llm.cost.token.recorded","pad":"${'y'.repeat(5000)}"}`);
      if (index % 137 === 0)
        lines.push(
          canonicalJson({
            event_id: id(index + 500_000),
            event_type: 'llm.cost.session.recorded',
            payload: {
              agent_name: `agent-${index % 3}`,
              agent_run_id: `run-${Math.floor(index / 5)}`,
              call_count: 3,
              total_cost: { input_cost_usd: 0.1, output_cost_usd: 0.2, total_cost_usd: 0.3 },
              total_token_usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 },
              usage_missing_call_count: 1,
              ...(index % 2 === 0 ? { unpriced_models: ['mystery'], unpriced_call_count: 1 } : {}),
            },
            schema_version: '2.0',
            source: 'app@1.0.0',
            timestamp: `2026-03-0${1 + (index % 9)}T10:00:00.000000Z`,
          }),
        );
    }
    const text = `\ufeff${lines.join('\n')}\n`;
    expect(text.length).toBeGreaterThan(3 * 256 * 1024);
    const plain = join(directory, 'mixed.jsonl');
    writeFileSync(plain, text);
    const gzipped = join(directory, 'mixed.jsonl.gz');
    writeFileSync(gzipped, gzipSync(Buffer.from(lines.slice(0, 500).join('\n') + '\n{"torn":')));
    const result = await bothWays([plain, gzipped]);
    expect(result.fastStats).toBe(result.slowStats);
    expect(result.fast).toBe(result.slow);
    const stats = JSON.parse(result.fastStats) as { duplicates: number; skipped: number; events: number };
    expect(stats.duplicates).toBeGreaterThan(30);
    expect(stats.skipped).toBeGreaterThan(50);
    expect(stats.events).toBeGreaterThan(3000);
  });
});

describe('scanRecords with the fields a report leaves unread', () => {
  it('skips exactly the fields of the dimensions not broken down by', () => {
    expect(unreadFields(['model'])).toEqual(['teamId', 'orgId', 'scope', 'provider', 'tagKeys']);
    expect(unreadFields(['team', 'provider', 'day'])).toEqual(['orgId', 'scope', 'tagKeys']);
    expect(unreadFields(['tag'])).toEqual(['teamId', 'orgId', 'scope', 'provider']);
    expect(unreadFields(REPORT_DIMENSIONS)).toEqual([]);
  });

  it('gives every breakdown (and pivot) the report over full records gives', async () => {
    const path = join(directory, 'unread.jsonl');
    const lines = Array.from({ length: 2000 }, (_, index) =>
      tokenLine(index).replace('"actor_id"', `"org_id":"org-${index % 3}","team_id":"team-${index % 4}","actor_id"`),
    );
    writeFileSync(path, `${lines.join('\n')}\n`);
    const report = async (dimensions: readonly ReportDimension[], unread: boolean): Promise<string> => {
      const pivot = dimensions.length === 2 ? ([dimensions[0], dimensions[1]] as [ReportDimension, ReportDimension]) : undefined;
      const aggregator = new ReportAggregator({ dimensions, ...(pivot === undefined ? {} : { pivot }) });
      const scanner = new EventScanner();
      await scanner.scanRecords([path], (record) => aggregator.addRecord(record), unread ? { unread: unreadFields(dimensions) } : {});
      return JSON.stringify(reportToJson(aggregator.result(), { inputs: [path], scan: scanner.stats }));
    };
    for (const dimensions of [['model'], ['team'], ['org', 'scope'], ['provider', 'user'], ['tag', 'model'], REPORT_DIMENSIONS] as const) {
      const expected = await report(dimensions, false);
      expect(expected).toContain('"calls":2000');
      expect(await report(dimensions, true), dimensions.join()).toBe(expected);
    }
  });
});

describe('EventIdSet', () => {
  it('addAt (from a line) and add (from a string) are the same set, exact through growth', () => {
    // id(0) ends in 32 zero bits: a key whose last word is 0 must still find empty slots.
    const set = new EventIdSet();
    let added = 0;
    for (let index = 0; index < 200_000; index += 1) {
      const text = id(index);
      if (index % 2 === 0 ? set.add(text) : set.addAt(Buffer.from(`"x":"${text}"`, 'latin1'), 5)) added += 1;
    }
    expect(added).toBe(200_000);
    expect(set.size).toBe(200_000);
    let again = 0;
    for (let index = 0; index < 200_000; index += 7) {
      const text = id(index);
      if (index % 2 === 0 ? set.addAt(Buffer.from(text, 'latin1'), 0) : set.add(text)) again += 1;
    }
    expect(again).toBe(0);
    expect(set.add('00000000000000000000000000')).toBe(true);
    expect(set.addAt(Buffer.from('00000000000000000000000000', 'latin1'), 0)).toBe(false);
    expect(set.add('not-a-ulid')).toBe(true);
    expect(set.add('not-a-ulid')).toBe(false);
  });
});
