import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPico, usdToPico } from '@costspan/core';
import { createDefaultPriceSource } from '@costspan/pricing';
import { CostSpanProcessor, JsonlEventExporter, createCostTracer, parseCostEvent, type CostEvent } from '@costspan/sdk';
import { CanonicalLineReader } from './canonical-line.js';
import { emptyRecord, recordFromEvent, type EventRecord } from './event-record.js';
import { main } from './main.js';
import type { ReportJson } from './report-json.js';

// A token event's total_cost_usd that is not the sum of its parts (a foreign or faulty writer) is
// counted and warned about in every format; the report keeps summing the parts.

/** The golden vector of docs/wire-format.md: 0.0015 + 0.0006 = 0.0021. */
const AGREEING =
  '{"event_id":"01HW4Z3RXVP8Q2M6T9KBJDS7YN","event_type":"llm.cost.token.recorded","org_id":"org_01HX","payload":{"agent_run_id":"run1","cost":{"input_cost_usd":0.0015,"output_cost_usd":0.0006,"total_cost_usd":0.0021},"model":{"name":"gpt-4o","system":"openai"},"span_id":"a1b2c3d4e5f6a7b8","token_usage":{"input_tokens":500,"output_tokens":200,"total_tokens":700}},"schema_version":"2.0","source":"my-app@1.0.0","tags":{"env":"production"},"timestamp":"2026-03-04T14:32:11.042817Z"}';

/** The same call under another id, with `total` as its written total. */
function withTotal(total: string, id = '01HW4Z3RXVP8Q2M6T9KBJDS7YP'): string {
  return AGREEING.replace('01HW4Z3RXVP8Q2M6T9KBJDS7YN', id).replace('"total_cost_usd":0.0021', `"total_cost_usd":${total}`);
}

/** The same event with whitespace: not canonical, so it takes the slow path. */
const spaced = (line: string): string => line.replace('{"event_id":', '{ "event_id": ');

function fastRecord(line: string): EventRecord | undefined {
  const reader = new CanonicalLineReader(emptyRecord());
  const bytes = Buffer.from(`${line}\n`, 'utf8');
  return reader.read(bytes, 0, bytes.length - 1) ? { ...reader.record } : undefined;
}

const slowRecord = (line: string): EventRecord => recordFromEvent(parseCostEvent(line));

let directory: string;
beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-total-mismatch-'));
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

let files = 0;
/** The file the last {@link report} wrote. */
let lastPath = '';
async function report(lines: readonly string[], args: readonly string[]): Promise<string> {
  files += 1;
  lastPath = join(directory, `events-${files}.jsonl`);
  writeFileSync(lastPath, `${lines.join('\n')}\n`);
  return cli(['report', lastPath, ...args]);
}

/** Runs the CLI wide enough that no warning wraps; expects exit 0 and returns standard output. */
async function cli(argv: readonly string[]): Promise<string> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await main([...argv], {
    stdout,
    stderr: new PassThrough(),
    stdin: Readable.from([]),
    env: { COLUMNS: '1000' },
  });
  expect(code).toBe(0);
  return Buffer.concat(chunks).toString('utf8');
}

const reportJson = async (lines: readonly string[]): Promise<ReportJson> =>
  JSON.parse(await report(lines, ['--format', 'json'])) as ReportJson;

const WARNING = '1 token event carries a total_cost_usd that differs from the sum of its parts; the report sums the parts.';

describe('token events whose total_cost_usd is not the sum of their parts', () => {
  it('are flagged alike by the fast path and the slow path, within 4 pico-dollars of rounding', () => {
    for (const [total, differs] of [
      ['0.0021', false],
      ['0.002100000004', false],
      ['0.002099999996', false],
      ['0.002100000005', true],
      ['0.0031', true],
      ['0', true],
    ] as const) {
      const line = withTotal(total);
      const fast = fastRecord(line);
      expect(fast, line).toBeDefined();
      expect(fast?.totalMismatch, line).toBe(differs);
      expect(fastRecord(spaced(line)), 'whitespace takes the slow path').toBeUndefined();
      expect(slowRecord(spaced(line))).toEqual(fast);
    }
  });

  for (const [path, shape] of [
    ['fast', (line: string): string => line],
    ['slow', spaced],
  ] as const) {
    it(`are counted and warned about in every format, totals unchanged (${path} path)`, async () => {
      const lines = [shape(AGREEING), shape(withTotal('0.0031'))];
      const json = await reportJson(lines);
      expect(json.totals).toMatchObject({ calls: 2, cost_usd: '0.0042' });
      expect(json.warnings.total_mismatch_events).toBe(1);
      expect(json.warnings.messages).toContainEqual(expect.stringContaining(WARNING));
      expect(await report(lines, ['--format', 'table'])).toContain(`WARNING: ${WARNING}`);
      expect(await report(lines, ['--format', 'markdown'])).toContain(`> **Warning:** ${WARNING}`);
      const page = join(directory, `report-${path}.html`);
      await report(lines, ['--html', page]);
      expect(/<div class="warnings" role="alert" id="warnings">(.*?)<\/div>/s.exec(readFileSync(page, 'utf8'))?.[1]).toContain(WARNING);
      // Without the differing event: nothing to warn about.
      const agreeing = await reportJson([shape(AGREEING)]);
      expect(agreeing.warnings.total_mismatch_events).toBe(0);
      expect(agreeing.warnings.messages).toEqual([]);
    });
  }

  it('are warned about by the what-if report (--reprice) and by run <id>, as the report words them', async () => {
    const lines = [AGREEING, withTotal('0.0031')];
    const reprice = ['--reprice', 'gpt-4o=gpt-4o-mini'];
    const whatIf = JSON.parse(await report(lines, [...reprice, '--format', 'json'])) as { warnings: ReportJson['warnings'] };
    expect(whatIf.warnings).toEqual((await reportJson(lines)).warnings);
    // The what-if text is 80 columns wide whatever the terminal: its warnings wrap.
    expect((await report(lines, reprice)).replace(/\n {2}/g, ' ')).toContain(`WARNING: ${WARNING}`);
    expect(await report(lines, [...reprice, '--format', 'markdown'])).toContain(`> **Warning:** ${WARNING}`);
    const tree = JSON.parse(await cli(['run', 'run1', lastPath, '--format', 'json'])) as { warnings: ReportJson['warnings'] };
    expect(tree.warnings.total_mismatch_events).toBe(1);
    expect(tree.warnings.messages).toContainEqual(expect.stringContaining(WARNING));
    expect(await cli(['run', 'run1', lastPath])).toContain(`WARNING: ${WARNING}`);
  });

  it('SDK-written calls over $1,000 with all 12 decimals in use, whose totals are written rounded, are not flagged', async () => {
    const path = join(directory, 'sdk.jsonl');
    const processor = new CostSpanProcessor({
      source: 'app@1.0.0',
      exporters: [new JsonlEventExporter({ path })],
      priceSource: createDefaultPriceSource({
        customPrices: [
          { model: 'thousands', inputPerMillion: '987.654321987', outputPerMillion: '1234.567890123' },
          { model: 'hundred-thousands', inputPerMillion: '98765.4321987', outputPerMillion: '123456.7890123' },
        ],
      }),
    });
    const provider = new BasicTracerProvider({ spanProcessors: [processor] });
    const tracer = createCostTracer({ tracerProvider: provider });
    tracer.agentRun('big', {}, (run) => {
      for (const model of ['thousands', 'hundred-thousands'])
        run.step(model, (step) => step.setModel(model, 'acme').setTokenUsage({ input: 1_234_567, output: 2_345_671 }));
    });
    await provider.shutdown();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const costs = lines
      .map((line) => parseCostEvent(line))
      .flatMap((event) =>
        event.event_type === 'llm.cost.token.recorded' ? [(event as CostEvent<'llm.cost.token.recorded'>).payload.cost] : [],
      );
    expect(costs.map((cost) => String(cost.input_cost_usd))).toEqual(['1219.325433332525', '121932.54333325247']);
    const parts = costs.map((cost) => usdToPico(cost.input_cost_usd) + usdToPico(cost.output_cost_usd));
    // The second call's amounts are written within a unit in the last place (~15 pico) each: its total is 30 off.
    expect(costs.map((cost, index) => usdToPico(cost.total_cost_usd) - (parts[index] as bigint))).toEqual([0n, 30n]);
    const json = await reportJson(lines);
    expect(json.warnings.total_mismatch_events).toBe(0);
    expect(json.totals.cost_usd).toBe(formatPico((parts[0] as bigint) + (parts[1] as bigint)));
    // A total off by a cent on the same large call is flagged.
    const token = lines.find((line) => line.includes('"llm.cost.token.recorded"') && line.includes('"name":"hundred-thousands"')) as string;
    const wrong = token.replace(/"total_cost_usd":([\d.]+)/, (_, total: string) => `"total_cost_usd":${String(Number(total) + 0.01)}`);
    expect(slowRecord(wrong)).toMatchObject({ totalMismatch: true, bigCost: expect.anything() as unknown });
    expect((await reportJson([wrong])).warnings.total_mismatch_events).toBe(1);
  });
});
