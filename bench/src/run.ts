import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import type { BenchRow } from './harness.js';

interface BenchCase {
  name: string;
  run: (options: { smoke: boolean }) => Promise<BenchRow[]>;
}

const { values } = parseArgs({ options: { smoke: { type: 'boolean', default: false }, only: { type: 'string' } } });
const smoke = values.smoke ?? false;

// Cases are loaded lazily so one broken case cannot stop the others from reporting.
const cases: Array<{ name: string; load: () => Promise<BenchCase['run']> }> = [
  { name: 'event path', load: async () => (await import('../cases/event-path.js')).eventPath },
  { name: 'agent overhead', load: async () => (await import('../cases/agent-overhead.js')).agentOverhead },
  { name: 'event pipeline', load: async () => (await import('../cases/event-pipeline.js')).eventPipeline },
  { name: 'otlp pipeline', load: async () => (await import('../cases/otlp-pipeline.js')).otlpPipeline },
  {
    name: 'pricing lookup',
    load: async () => {
      const { pricingLookup } = await import('../cases/pricing-lookup.js');
      return async (options) => {
        const rows = await pricingLookup(options);
        const baselineOf = (name: string | undefined): number | undefined => rows.find((row) => row.name === name)?.nsPerOp;
        return rows.map((row) => ({
          name: `${row.name} (ns/lookup)`,
          value: row.nsPerOp,
          unit: 'ns',
          ...(row.baseline === undefined ? {} : { baseline: baselineOf(row.baseline), baselineName: row.baseline, target: '< 1000 ns' }),
        }));
      };
    },
  },
  { name: 'cli report', load: async () => (await import('../cases/cli-report.js')).cliReport },
  { name: 'memory soak', load: async () => (await import('../cases/memory-soak.js')).memorySoak },
  { name: 'budget throughput', load: async () => (await import('../cases/budget-throughput.js')).budgetThroughput },
];

function format(value: number): string {
  if (!Number.isFinite(value) || Number.isInteger(value)) return value.toLocaleString('en-US');
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(4);
}

const cpu = cpus()[0]?.model ?? 'unknown cpu';
console.log(`# costspan benchmarks${smoke ? ' (smoke: small N, figures not meaningful)' : ''}`);
console.log(
  `command: npm run bench${smoke ? ' -- --smoke' : ''} | node ${process.version} | ${cpus().length} × ${cpu} | ${Math.round(totalmem() / 2 ** 30)} GiB | ${new Date().toISOString()}\n`,
);
console.log('| case | metric | value | baseline | ratio | target |');
console.log('|---|---|---|---|---|---|');
let failures = 0;
const header = `command: npm run bench | node ${process.version} | ${cpus().length} × ${cpu} | ${new Date().toISOString()}`;
for (const benchCase of cases) {
  if (values.only !== undefined && !benchCase.name.includes(values.only)) continue;
  try {
    const run = await benchCase.load();
    const lines: string[] = [];
    for (const row of await run({ smoke })) {
      const baseline = row.baseline === undefined ? '' : `${format(row.baseline)} ${row.unit} (${row.baselineName ?? 'baseline'})`;
      const ratio =
        row.ratio !== undefined
          ? `${row.ratio.toFixed(2)}x`
          : row.baseline === undefined || row.baseline === 0
            ? ''
            : `${(row.value / row.baseline).toFixed(2)}x`;
      const line = `| ${benchCase.name} | ${row.name} | ${format(row.value)} ${row.unit} | ${baseline} | ${ratio} | ${row.target ?? ''} |`;
      console.log(line);
      lines.push(line);
    }
    if (!smoke) writeResults(benchCase.name, lines);
  } catch (error) {
    failures += 1;
    console.log(`| ${benchCase.name} | FAILED: ${(error as Error).message.replace(/\|/g, '/')} | | | | |`);
  }
}
if (failures > 0) process.exitCode = 1;

/**
 * Writes a full run's rows of one case into bench/RESULTS.md, between the case's markers (added at
 * the end the first time), so the committed figures are the ones the bench printed.
 */
function writeResults(caseName: string, lines: readonly string[]): void {
  const file = new URL('../../RESULTS.md', import.meta.url);
  const start = `<!-- bench:${caseName} -->`;
  const end = `<!-- /bench:${caseName} -->`;
  const block = [
    start,
    '',
    header,
    '',
    '| case | metric | value | baseline | ratio | target |',
    '|---|---|---|---|---|---|',
    ...lines,
    '',
    end,
  ].join('\n');
  let text = readFileSync(file, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  text =
    from >= 0 && to > from
      ? text.slice(0, from) + block + text.slice(to + end.length)
      : `${text.trimEnd()}\n\n## ${caseName}\n\n${block}\n`;
  writeFileSync(file, text);
}
