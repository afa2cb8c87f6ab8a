import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createDefaultPriceSource } from '@costspan/pricing';
import {
  CostSpanProcessor,
  CostTracker,
  JsonlEventExporter,
  createCostTracer,
  type AgentRun,
  type Step,
} from '@costspan/sdk';

// npm runs workspace scripts in the workspace; INIT_CWD is where the user typed the command.
const eventsPath = resolve(process.env.INIT_CWD ?? process.cwd(), process.argv[2] ?? 'events.jsonl');
rmSync(eventsPath, { force: true });

// The application's own OpenTelemetry setup; costspan only adds a span processor to it.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracker = new CostTracker();
const costProcessor = new CostSpanProcessor({
  source: 'research-assistant@1.0.0',
  priceSource: createDefaultPriceSource(),
  exporters: [new JsonlEventExporter({ path: eventsPath })],
  listeners: [tracker],
});
const spans = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [costProcessor, new SimpleSpanProcessor(spans)] });
const tracer = createCostTracer({ tracerProvider: provider });

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
  step.setModel(model, provider).setTokenUsage({ input, output: usage.output, ...(usage.cacheRead === undefined ? {} : { cacheRead: usage.cacheRead }) });
  return `${model} answer to: ${prompt.slice(0, 24)}`;
}

async function research(run: AgentRun, topic: string): Promise<string> {
  return run.agentRun(`web-researcher:${topic}`, async (researcher) => {
    const query = await researcher.step('write-query', (step) => callModel(step, 'gpt-4o-mini', 'openai', `Write a search query about ${topic}`.repeat(20), { output: 120 }));
    return researcher.step('read-results', (step) => callModel(step, 'gpt-4o-mini', 'openai', `${query} ${'result text '.repeat(400)}`, { output: 300 }));
  });
}

const question = 'How do teams keep LLM agent costs under control?';
const answer = await tracer.agentRun(
  'research-assistant',
  { principal: { userId: 'alice', teamId: 'research', orgId: 'acme', tags: { env: 'demo' } } },
  async (run) => {
    const plan = await run.step('plan', (step) => callModel(step, 'gpt-4o', 'openai', `Plan research for: ${question}`.repeat(10), { output: 400 }));
    const notes = await Promise.all(['budgets', 'attribution', 'caching'].map((topic) => research(run, topic)));
    const summary = await run.agentRun('summariser', (summariser) =>
      summariser.step('summarise', (step) => callModel(step, 'claude-sonnet-4-20250514', 'anthropic', `${plan}\n${notes.join('\n')}`.repeat(30), { output: 900, cacheRead: 6000 })),
    );
    return run.step('answer', (step) => callModel(step, 'gpt-4o', 'openai', `${summary} ${question}`, { output: 600 }));
  },
);

await provider.forceFlush();
const finishedSpans = spans.getFinishedSpans();
await provider.shutdown();

function printTree(all: readonly ReadableSpan[]): void {
  const children = new Map<string | undefined, ReadableSpan[]>();
  for (const span of all) {
    const parent = span.parentSpanContext?.spanId;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const walk = (parentId: string | undefined, depth: number): void => {
    const list = [...(children.get(parentId) ?? [])].sort((left, right) => left.startTime[0] - right.startTime[0] || left.startTime[1] - right.startTime[1]);
    for (const span of list) {
      const attributes = span.attributes;
      const cost =
        attributes['llm.cost.inclusive.total_usd'] !== undefined
          ? `own $${String(attributes['llm.cost.own.total_usd'])}  inclusive $${String(attributes['llm.cost.inclusive.total_usd'])}`
          : `$${String(attributes['gen_ai.usage.cost.amount'] ?? 0)}  ${String(attributes['gen_ai.request.model'] ?? '')} [${String(attributes['llm.cost.pricing.status'] ?? '')}]`;
      console.log(`${'  '.repeat(depth)}${span.name.padEnd(40 - depth * 2)} ${cost}`);
      walk(span.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
}

const summary = tracker.summary();
console.log(`answer: ${answer}\n`);
printTree(finishedSpans);
console.log(`\ntotal $${summary.totalCostUsd} over ${summary.calls} model calls (${summary.inputTokens} in / ${summary.outputTokens} out tokens)`);
for (const [title, group] of [
  ['by model', summary.byModel],
  ['by agent', summary.byAgent],
  ['by principal', summary.byPrincipal],
] as const) {
  console.log(`\n${title}:`);
  for (const [key, value] of Object.entries(group)) console.log(`  ${key.padEnd(36)} $${String(value.totalCostUsd).padEnd(12)} ${value.calls} calls`);
}
const stats = costProcessor.stats();
console.log(`\n${stats.exported} cost events written to ${eventsPath} (dropped ${stats.dropped}, failed ${stats.failed})`);
if (summary.unpricedCalls > 0 || stats.dropped > 0 || stats.failed > 0) process.exitCode = 1;
