import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CostEvent } from '@costspan/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewriteEvents, writeSdkEvents } from './__fixtures__/sdk-events.js';
import type { WhatIfJson, WhatIfRowJson } from './what-if-format.js';
import { runCli, type CliRun } from './__fixtures__/run-cli.js';

let directory: string;
let eventsPath: string;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-what-if-'));
  eventsPath = join(directory, 'events.jsonl');
  // The fixture's known calls (sdk-events.ts), with 2 billing runs:
  //   gpt-4o:          plan 500 in / 200 out ($0.0021), draft 800/100 ($0.003) and 400/100 ($0.002),
  //                    billing 2 x 200/150 ($0.002 each)              actual $0.0111
  //   claude-sonnet-4: 3 x 500/250 ($0.00375 each)                    actual $0.01125
  //   gpt-4o-mini:     100/50 ($0.0003)                               actual $0.0003
  //   mystery-model:   10/5, unpriced                                 actual $0
  //   total actual $0.02265
  await writeSdkEvents(eventsPath, { billingRuns: 2 });
}, 60_000);

afterAll(() => rmSync(directory, { recursive: true, force: true }));

const run = (argv: string[]): Promise<CliRun> => runCli(argv);

async function whatIf(...flags: string[]): Promise<WhatIfJson> {
  const result = await run(['report', eventsPath, '--format', 'json', ...flags]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as WhatIfJson;
}

function row(report: WhatIfJson, dimension: string, key: string): WhatIfRowJson | undefined {
  return report.breakdowns[dimension]?.find((entry) => entry.key === key);
}

describe('report --reprice (what-if)', () => {
  it('gpt-4o=gpt-4o-mini equals the hand-computed what-if to the pico-dollar', async () => {
    const report = await whatIf('--reprice', 'gpt-4o=gpt-4o-mini');
    // gpt-4o-mini's table price: $0.15 per million input tokens, $0.60 per million output tokens.
    //   plan     500 x 0.15e-6 + 200 x 0.6e-6 = 0.000075 + 0.00012  = 0.000195
    //   draft    800 x 0.15e-6 + 100 x 0.6e-6 = 0.00012  + 0.00006  = 0.00018
    //   draft    400 x 0.15e-6 + 100 x 0.6e-6 = 0.00006  + 0.00006  = 0.00012
    //   billing  200 x 0.15e-6 + 150 x 0.6e-6 = 0.00003  + 0.00009  = 0.00012, twice = 0.00024
    //   gpt-4o what-if = 0.000195 + 0.00018 + 0.00012 + 0.00024 = 0.000735; saving 0.0111 - 0.000735 = 0.010365
    // Other models keep their recorded cost: what-if total = 0.02265 - 0.010365 = 0.012285.
    expect(report.what_if).toEqual({ reprice: [{ from: 'gpt-4o', to: 'gpt-4o-mini' }], price_date: null, price_files: [] });
    expect(report.totals).toMatchObject({
      actual_usd: '0.02265',
      what_if_usd: '0.012285',
      saving_usd: '0.010365',
      calls: 10,
      repriced_calls: 5,
      not_repriced_calls: 0,
      actual_unpriced_calls: 1,
    });
    expect(row(report, 'model', 'gpt-4o')).toMatchObject({
      target: 'gpt-4o-mini',
      calls: 5,
      actual_usd: '0.0111',
      what_if_usd: '0.000735',
      saving_usd: '0.010365',
      saving_share: 0.9337,
    });
    expect(row(report, 'model', 'claude-sonnet-4')).toMatchObject({
      target: null,
      actual_usd: '0.01125',
      what_if_usd: '0.01125',
      saving_usd: '0',
    });
    // Per agent: support-agent's gpt-4o calls are plan and draft (0.0071 -> 0.000495); billing 0.004 -> 0.00024.
    expect(row(report, 'agent', 'support-agent')).toMatchObject({ actual_usd: '0.0071', what_if_usd: '0.000495', saving_usd: '0.006605' });
    expect(row(report, 'agent', 'billing-agent')).toMatchObject({ actual_usd: '0.004', what_if_usd: '0.00024', saving_usd: '0.00376' });
    // Per principal: alice's run is $0.01865 of which 0.0071 was gpt-4o: 0.01865 - 0.006605 = 0.012045.
    expect(row(report, 'user', 'alice')).toMatchObject({ actual_usd: '0.01865', what_if_usd: '0.012045', saving_usd: '0.006605' });
    expect(row(report, 'user', 'bob')).toMatchObject({ actual_usd: '0.004', what_if_usd: '0.00024' });
    expect(row(report, 'org', 'acme')).toMatchObject({ actual_usd: '0.02265', what_if_usd: '0.012285' });
    expect(row(report, 'tag', 'env=prod')).toMatchObject({ actual_usd: '0.01865', what_if_usd: '0.012045' });
    expect(report.not_repriced).toEqual([]);
  });

  it('--price-date re-prices every call at that day and lists the calls nothing can price, not guessed', async () => {
    const report = await whatIf('--reprice', 'gpt-4o=gpt-4o-mini', '--price-date', '2026-01-01');
    // Now every call is priced from the table on 2026-01-01:
    //   gpt-4o -> gpt-4o-mini as above                                       0.000735
    //   claude-sonnet-4 ($3 / $15 per million): 3 x (500 x 3e-6 + 250 x 15e-6) = 3 x 0.00525 = 0.01575
    //   gpt-4o-mini: 100 x 0.15e-6 + 50 x 0.6e-6 = 0.000015 + 0.00003        = 0.000045
    //   mystery-model: no price anywhere: kept at its recorded $0 and listed
    //   what-if = 0.000735 + 0.01575 + 0.000045 = 0.01653; saving 0.02265 - 0.01653 = 0.00612
    expect(report.what_if.price_date).toBe('2026-01-01');
    expect(report.totals).toMatchObject({ what_if_usd: '0.01653', saving_usd: '0.00612', repriced_calls: 9, not_repriced_calls: 1 });
    expect(row(report, 'model', 'claude-sonnet-4')).toMatchObject({ what_if_usd: '0.01575', saving_usd: '-0.0045' });
    expect(report.not_repriced).toHaveLength(1);
    expect(report.not_repriced[0]).toMatchObject({
      model: 'mystery-model',
      target: 'mystery-model',
      code: 'unknown_model',
      calls: 1,
      actual_usd: '0',
    });
    expect(report.not_repriced[0]?.event_ids).toHaveLength(1);
    // In text, the listed calls and their reason wrap at 80 columns.
    const text = await run(['report', eventsPath, '--reprice', 'gpt-4o=gpt-4o-mini', '--price-date', '2026-01-01']);
    expect(text.stdout).toMatch(
      /NOT RE-PRICED \(what-if = recorded cost\):\n {2}mystery-model -> mystery-model: 1 call kept at its recorded \$0\.00\n {2}\(unknown_model: [^]*give it a price\s+with --prices FILE\)/,
    );
    for (const line of text.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('a price file prices the calls it matches; the rest keep their recorded cost', async () => {
    const pricesPath = join(directory, 'prices.json');
    writeFileSync(pricesPath, JSON.stringify({ prices: [{ model: 'mystery-model', inputPerMillion: '2', outputPerMillion: 4 }] }));
    const report = await whatIf('--prices', pricesPath);
    // mystery-model: 10 x 2e-6 + 5 x 4e-6 = 0.00002 + 0.00002 = 0.00004; its actual was unpriced ($0).
    expect(report.totals).toMatchObject({
      actual_usd: '0.02265',
      what_if_usd: '0.02269',
      saving_usd: '-0.00004',
      repriced_calls: 1,
      actual_unpriced_calls: 1,
    });
    expect(row(report, 'model', 'mystery-model')).toMatchObject({ what_if_usd: '0.00004', actual_unpriced_calls: 1 });
    expect(row(report, 'model', 'gpt-4o')).toMatchObject({ actual_usd: '0.0111', what_if_usd: '0.0111', repriced_calls: 0 });
  });

  it('lists calls whose cache-write TTL the target prices differently (the event does not record it)', async () => {
    const cachedPath = join(directory, 'cached.jsonl');
    writeFileSync(cachedPath, '');
    await writeSdkEvents(cachedPath, { billingRuns: 1 });
    rewriteEvents(cachedPath, (event) => {
      if (event.event_type !== 'llm.cost.token.recorded') return event;
      const token = event as CostEvent<'llm.cost.token.recorded'>;
      if (token.payload.scope?.endsWith('invoice') !== true) return event;
      // 100 of the call's input tokens were cache writes (input_tokens includes them).
      return { ...token, payload: { ...token.payload, token_usage: { ...token.payload.token_usage, cache_creation_tokens: 100 } } };
    });
    const result = await run(['report', cachedPath, '--format', 'json', '--reprice', 'gpt-4o=claude-sonnet-4']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as WhatIfJson;
    expect(report.not_repriced.map((entry) => [entry.model, entry.target, entry.code, entry.calls])).toEqual([
      ['gpt-4o', 'claude-sonnet-4', 'cache_write_ttl_unknown', 1],
    ]);
    // Its what-if is its recorded cost ($0.002): no saving is claimed for it.
    expect(row(report, 'agent', 'billing-agent')).toMatchObject({ actual_usd: '0.002', what_if_usd: '0.002', not_repriced_calls: 1 });
  });

  it('text fits 80 columns, CSV carries exact amounts, markdown has the tables', async () => {
    // Amounts rounded for reading (4 significant digits) as the report prints them; --exact for every digit.
    const rounded = await run(['report', eventsPath, '--reprice', 'gpt-4o=gpt-4o-mini']);
    expect(rounded.stdout).toMatch(/Actual: +\$0\.02265 +What-if: \$0\.01229 +Saving: \$0\.01037 \(45\.8%\)/);
    const text = await run(['report', eventsPath, '--reprice', 'gpt-4o=gpt-4o-mini', '--exact']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('What if: gpt-4o as gpt-4o-mini');
    expect(text.stdout).toMatch(/Actual: +\$0\.02265 +What-if: \$0\.012285 +Saving: \$0\.010365 \(45\.8%\)/);
    expect(text.stdout).toMatch(/gpt-4o -> gpt-4o-mini +\$0\.0111 +\$0\.000735 +\$0\.010365 +93\.4% +5/);
    for (const line of text.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    // The unpriced model's row is marked, never a plain $0.00.
    expect(text.stdout).toMatch(/^mystery-model ! +\$0\.00 /m);
    const csv = await run(['report', eventsPath, '--reprice', 'gpt-4o=gpt-4o-mini', '--format', 'csv']);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe(
      'dimension,key,target,calls,repriced_calls,not_repriced_calls,actual_unpriced_calls,actual_usd,what_if_usd,saving_usd,saving_share,note',
    );
    expect(lines[1]).toBe('total,total,,10,5,0,1,0.02265,0.012285,0.010365,0.4576,');
    expect(lines).toContain('model,gpt-4o,gpt-4o-mini,5,5,0,0,0.0111,0.000735,0.010365,0.9337,');
    // A re-pricing that costs more has a negative saving: an amount, never quote-prefixed as a formula.
    const dearer = await run(['report', eventsPath, '--reprice', 'gpt-4o-mini=gpt-4o', '--format', 'csv']);
    const dearerLines = dearer.stdout.trim().split('\n');
    expect(dearerLines[1]).toMatch(/^total,total,,10,1,0,1,0\.02265,[0-9.]+,-0\.[0-9]+,-0\.[0-9]+,$/);
    const markdown = await run(['report', eventsPath, '--reprice', 'gpt-4o=gpt-4o-mini', '--format', 'markdown', '--exact']);
    expect(markdown.stdout).toContain('| gpt-4o -> gpt-4o-mini | $0.0111 | $0.000735 | $0.010365 | 93.4% | 5 |');
  });

  it('--group-by picks the breakdowns; --since and --until bound the calls as in the report', async () => {
    const grouped = await whatIf('--reprice', 'gpt-4o=gpt-4o-mini', '--group-by', 'user,model');
    expect(Object.keys(grouped.breakdowns)).toEqual(['model', 'user']);
    expect(grouped.totals.what_if_usd).toBe('0.012285');
    const none = await whatIf('--reprice', 'gpt-4o=gpt-4o-mini', '--since', '2099-01-01');
    expect(none.totals).toMatchObject({ calls: 0, actual_usd: '0', what_if_usd: '0', saving_share: null });
  });

  it('refuses a target nothing prices, a malformed mapping, a bad date and a bad price file, with exit 2', async () => {
    const unknown = await run(['report', eventsPath, '--reprice', 'gpt-4o=gpt-5-typo-model']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--reprice gpt-4o=gpt-5-typo-model: no price for gpt-5-typo-model/);
    expect((await run(['report', eventsPath, '--reprice', 'gpt-4o'])).stderr).toMatch(/--reprice takes from=to/);
    expect((await run(['report', eventsPath, '--reprice', 'a=b,a=c'])).stderr).toMatch(/maps a twice/);
    expect((await run(['report', eventsPath, '--price-date', '2026-02-30'])).code).toBe(2);
    const badPrices = join(directory, 'bad.json');
    writeFileSync(badPrices, JSON.stringify([{ model: 'x', inputPerMillion: -1, outputPerMillion: 1 }]));
    const bad = await run(['report', eventsPath, '--prices', badPrices]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--prices: .*inputPerMillion/);
    expect((await run(['report', eventsPath, '--prices', join(directory, 'none.json')])).code).toBe(2);
  });
});
