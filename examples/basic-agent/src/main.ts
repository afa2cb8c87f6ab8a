import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CostTracker, setupCostspan, type AgentRun, type Step } from '@costspan/sdk';

// npm runs workspace scripts in the workspace; INIT_CWD is where the user typed the command.
const eventsPath = resolve(process.env.INIT_CWD ?? process.cwd(), process.argv[2] ?? 'events.jsonl');
rmSync(eventsPath, { force: true });

// One call: a tracer whose calls are priced from the built-in table, rolled up and written to
// events.jsonl. The tracker and the in-memory span exporter are only here to print what happened.
const tracker = new CostTracker();
const spans = new InMemorySpanExporter();
const costspan = setupCostspan({
  source: 'research-assistant@1.0.0',
  path: eventsPath,
  listeners: [tracker],
  spanProcessors: [new SimpleSpanProcessor(spans)],
});
const { tracer } = costspan;

/** Stands in for a model call: deterministic usage, a short pause, no network. */
async function callModel(
  step: Step,
  model: string,
  provider: string,
  prompt: string,
  usage: { output: number; cacheRead?: number },
): Promise<string> {
  await new Promise((resolveDelay) => setTimeout(resolveDelay, 5));
  const input = Math.ceil(prompt.length / 4) + (usage.cacheRead ?? 0);
  step
    .setModel(model, provider)
    .setTokenUsage({ input, output: usage.output, ...(usage.cacheRead === undefined ? {} : { cacheRead: usage.cacheRead }) });
  return `(simulated ${model} reply, ${usage.output} output tokens)`;
}

async function research(run: AgentRun, topic: string): Promise<string> {
  return run.agentRun(`web-researcher:${topic}`, async (researcher) => {
    const query = await researcher.step('write-query', (step) =>
      callModel(step, 'gpt-4o-mini', 'openai', `Write a search query about ${topic}`.repeat(20), { output: 120 }),
    );
    return researcher.step('read-results', (step) =>
      callModel(step, 'gpt-4o-mini', 'openai', `${query} ${'result text '.repeat(400)}`, { output: 300 }),
    );
  });
}

const question = 'How do teams keep LLM agent costs under control?';
const answer = await tracer.agentRun(
  'research-assistant',
  { principal: { userId: 'alice', teamId: 'research', orgId: 'acme', tags: { env: 'demo' } } },
  async (run) => {
    const plan = await run.step('plan', (step) =>
      callModel(step, 'gpt-4o', 'openai', `Plan research for: ${question}`.repeat(10), { output: 400 }),
    );
    const notes = await Promise.all(['budgets', 'attribution', 'caching'].map((topic) => research(run, topic)));
    // The spanforge idiom: a child run started through the tracer nests under this run.
    const summary = await tracer.agentRun('summariser', (summariser) =>
      summariser.step('summarise', (step) =>
        callModel(step, 'claude-sonnet-4-20250514', 'anthropic', `${plan}\n${notes.join('\n')}`.repeat(30), {
          output: 900,
          cacheRead: 6000,
        }),
      ),
    );
    return run.step('answer', (step) => callModel(step, 'gpt-4o', 'openai', `${summary} ${question}`, { output: 600 }));
  },
);

await costspan.forceFlush();
// Read the spans before shutdown: shutting the provider down empties the in-memory span exporter.
const finishedSpans = spans.getFinishedSpans();
await costspan.shutdown();

/** One row of the tree: the span's indented name, its cost, and what the cost is. */
interface TreeRow {
  name: string;
  cost: string;
  detail: string;
}

function treeRows(all: readonly ReadableSpan[]): TreeRow[] {
  const children = new Map<string | undefined, ReadableSpan[]>();
  for (const span of all) {
    const parent = span.parentSpanContext?.spanId;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const rows: TreeRow[] = [];
  const walk = (parentId: string | undefined, depth: number): void => {
    const list = [...(children.get(parentId) ?? [])].sort(
      (left, right) => left.startTime[0] - right.startTime[0] || left.startTime[1] - right.startTime[1],
    );
    for (const span of list) {
      const attributes = span.attributes;
      const run = attributes['llm.cost.inclusive.total_usd'] !== undefined;
      rows.push({
        name: `${'  '.repeat(depth)}${span.name}`,
        cost: `$${String(run ? attributes['llm.cost.inclusive.total_usd'] : (attributes['gen_ai.usage.cost.amount'] ?? 0))}`,
        detail: run
          ? `inclusive (own $${String(attributes['llm.cost.own.total_usd'])})`
          : `${String(attributes['gen_ai.request.model'] ?? '')} [${String(attributes['llm.cost.pricing.status'] ?? '')}]`,
      });
      walk(span.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return rows;
}

/** Prints rows in aligned columns: names left-aligned, amounts aligned on the decimal point. */
function printColumns(rows: readonly TreeRow[]): void {
  const split = rows.map((row) => {
    const point = row.cost.indexOf('.');
    return point < 0 ? [row.cost, ''] : [row.cost.slice(0, point), row.cost.slice(point)];
  });
  const nameWidth = Math.max(...rows.map((row) => row.name.length));
  const wholeWidth = Math.max(...split.map(([whole = '']) => whole.length));
  const fractionWidth = Math.max(...split.map(([, fraction = '']) => fraction.length));
  rows.forEach((row, index) => {
    const [whole = '', fraction = ''] = split[index] ?? [];
    console.log(`${row.name.padEnd(nameWidth)}  ${whole.padStart(wholeWidth)}${fraction.padEnd(fractionWidth)}  ${row.detail}`);
  });
}

const summary = tracker.summary();
console.log(`answer: ${answer}\n`);
printColumns(treeRows(finishedSpans));
console.log(
  `\ntotal $${summary.totalCostUsd} over ${summary.calls} model calls (${summary.inputTokens} in / ${summary.outputTokens} out tokens)`,
);
for (const [title, group] of [
  ['by model', summary.byModel],
  ['by agent', summary.byAgent],
  ['by principal', summary.byPrincipal],
] as const) {
  console.log(`\n${title}:`);
  printColumns(
    Object.entries(group).map(([key, value]) => ({
      name: `  ${key}`,
      cost: `$${value.totalCostUsd}`,
      detail: `${value.calls} ${value.calls === 1 ? 'call' : 'calls'}`,
    })),
  );
}
const stats = costspan.stats();
console.log(`\n${stats.exported} cost events written to ${eventsPath} (dropped ${stats.dropped}, failed ${stats.failed})`);
if (summary.unpricedCalls > 0 || stats.dropped > 0 || stats.failed > 0) process.exitCode = 1;
