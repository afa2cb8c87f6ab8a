import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CostEvent } from '@costspan/sdk';
import { readEventsFile, writeSdkEvents } from './__fixtures__/sdk-events.js';
import { formatRunTreeText, runTreeToJson, type RunTreeNodeJson } from './run-tree-format.js';
import { RunTreeBuilder, type RunTree } from './run-tree.js';

let directory: string;
let events: CostEvent[];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-tree-'));
  const path = join(directory, 'events.jsonl');
  await writeSdkEvents(path, { billingRuns: 2 });
  events = readEventsFile(path);
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

function build(runId: string, input: readonly CostEvent[] = events): RunTree {
  const builder = new RunTreeBuilder(runId);
  for (const event of input) builder.locate(event);
  for (const event of input) builder.add(event);
  return builder.build();
}

function outline(node: RunTreeNodeJson, depth = 0): string[] {
  const line = `${'  '.repeat(depth)}${node.kind === 'run' ? `[${node.run_id}] ` : ''}${node.name} own=${node.own_cost_usd} incl=${node.inclusive_cost_usd} calls=${node.inclusive_calls}${node.spans > 1 ? ` spans=${node.spans}` : ''}`;
  return [line, ...node.children.flatMap((child) => outline(child, depth + 1))];
}

describe('RunTreeBuilder', () => {
  it('rebuilds the root run from token and session events: nested runs under their step, own and inclusive exact', () => {
    const tree = build('run-support-1');
    expect(outline(runTreeToJson(tree).tree)).toEqual([
      '[run-support-1] support-agent own=0.0071 incl=0.01865 calls=8',
      '  plan own=0.0021 incl=0.0021 calls=1',
      '  draft own=0.005 incl=0.005 calls=2',
      '  unpriced-call own=0 incl=0 calls=1',
      '  [run-research-1] researcher own=0.01125 incl=0.01125 calls=3',
      '    search own=0.01125 incl=0.01125 calls=3 spans=3',
      '  verify own=0 incl=0.0003 calls=1',
      '    [run-fact-1] fact-checker own=0.0003 incl=0.0003 calls=1',
      '      check own=0.0003 incl=0.0003 calls=1',
    ]);
    expect(tree.warnings).toEqual([]);
    expect(tree.root.durationMs).toBeGreaterThan(0);
    expect(tree.root.inclusive.unpricedCallCount).toBe(1);
    expect(tree.attributions.map((item) => item.target)).toEqual(['org:acme', 'tag:env=prod', 'team:search', 'user:alice']);
    const text = formatRunTreeText(tree);
    expect(text).toContain('└─ fact-checker [run run-fact-1]');
    expect(text).toContain('$0.01865');
    // In the report's words, naming the model (the `!` in the table marks the call).
    expect(text.replace(/\n {2}/g, ' ')).toContain('WARNING: 1 call could not be priced and is counted at $0: mystery-model (1 call).');
    expect(tree.inputWarnings).toMatchObject({ unpricedCalls: 1, unpricedModels: [{ model: 'mystery-model', calls: 1 }] });
    // A run's own cost is its steps' calls (not its nested runs), never $0.00 when its steps spent.
    expect(text).toContain('(own $0.0071, $0.01155 in 2 nested runs)');
  });

  it('a nested run id gives its subtree and names what encloses it', () => {
    const tree = build('run-fact-1');
    expect(tree.ancestors).toEqual(['support-agent', 'verify']);
    expect(outline(runTreeToJson(tree).tree)).toEqual([
      '[run-fact-1] fact-checker own=0.0003 incl=0.0003 calls=1',
      '  check own=0.0003 incl=0.0003 calls=1',
    ]);
  });

  it('keeps other root runs out, and says when token events do not add up to the session', () => {
    expect(build('run-billing-2').root.inclusive.callCount).toBe(1);
    const withoutSearch = events.filter(
      (event) => !(event.event_type === 'llm.cost.token.recorded' && event.payload.scope === 'support-agent/researcher/search'),
    );
    const tree = build('run-support-1', withoutSearch);
    expect(tree.warnings[0]).toMatch(
      /session event says 8 calls costing \$0.01865, but the token events found add up to 5 calls costing \$0.0074/,
    );
  });

  it('a call that reported no usage is named, not reported as missing events', async () => {
    const { BasicTracerProvider } = await import('@opentelemetry/sdk-trace-base');
    const { CostSpanProcessor, InMemoryEventExporter, createCostTracer } = await import('@costspan/sdk');
    const exporter = new InMemoryEventExporter();
    const processor = new CostSpanProcessor({ source: 'tree@1.0.0', exporters: [exporter] });
    const tracer = createCostTracer({ tracerProvider: new BasicTracerProvider({ spanProcessors: [processor] }) });
    tracer.agentRun('outer', { runId: 'outer-1' }, (run) => {
      run.step('ok', (step) => step.setModel('m', 'p').setTokenUsage({ input: 10, output: 1 }).setCost({ inputUsd: 0.001, outputUsd: 0 }));
      run.step('stream', (step) => step.setModel('m', 'p').span.setAttributes({ 'llm.cost.usage.missing': true }));
    });
    await processor.forceFlush();
    const tree = build('outer-1', exporter.getEvents());
    expect(tree.root.inclusive.callCount).toBe(1);
    // Told once, in the report's words: the collector owns the wording, the rebuild has nothing to add.
    expect(tree.warnings).toEqual([]);
    expect(tree.inputWarnings.usageMissingCalls).toBe(1);
    expect(formatRunTreeText(tree).replace(/\n {2}/g, ' ')).toContain(
      'WARNING: 1 call reported no usage, so no tokens or cost are counted for it.',
    );
  });

  it('an unknown run id is a run_not_found error', () => {
    expect(() => build('no-such-run')).toThrow(expect.objectContaining({ code: 'run_not_found' }));
  });
});

describe('sibling runs that share a name', () => {
  it('nests each run under its own parent, by parent_run_id', async () => {
    const { BasicTracerProvider } = await import('@opentelemetry/sdk-trace-base');
    const { CostSpanProcessor, InMemoryEventExporter, createCostTracer } = await import('@costspan/sdk');
    const exporter = new InMemoryEventExporter();
    const processor = new CostSpanProcessor({ source: 'tree@1.0.0', exporters: [exporter] });
    const tracer = createCostTracer({ tracerProvider: new BasicTracerProvider({ spanProcessors: [processor] }) });
    tracer.agentRun('root', { runId: 'root-1' }, (root) => {
      for (const [index, cost] of [0.001, 0.002].entries()) {
        root.agentRun('worker', { runId: `worker-${index}` }, (worker) =>
          worker.agentRun('leaf', { runId: `leaf-${index}` }, (leaf) =>
            leaf.step('call', (step) => step.setCost({ inputUsd: cost, outputUsd: 0 })),
          ),
        );
      }
    });
    await processor.forceFlush();
    expect(outline(runTreeToJson(build('root-1', exporter.getEvents())).tree)).toEqual([
      '[root-1] root own=0 incl=0.003 calls=2',
      '  [worker-0] worker own=0 incl=0.001 calls=1',
      '    [leaf-0] leaf own=0.001 incl=0.001 calls=1',
      '      call own=0.001 incl=0.001 calls=1',
      '  [worker-1] worker own=0 incl=0.002 calls=1',
      '    [leaf-1] leaf own=0.002 incl=0.002 calls=1',
      '      call own=0.002 incl=0.002 calls=1',
    ]);
  });
});
