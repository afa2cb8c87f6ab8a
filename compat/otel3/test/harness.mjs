// A 3.x provider with the costspan processor, as an application on the OpenTelemetry JS SDK 3.x line would set it up.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { CostSpanProcessor, InMemoryEventExporter, createCostTracer } from '@costspan/sdk';

let contextManager;

/** The 3.x AsyncLocalStorage context manager, installed once through the (1.10) API globals. */
export function installContextManager() {
  if (contextManager !== undefined) return;
  contextManager = new AsyncLocalStorageContextManager().enable();
  // false only if another test module of this process installed one already (the same 3.x manager).
  if (!context.setGlobalContextManager(contextManager)) contextManager.disable();
}

const projectRequire = createRequire(import.meta.url);

/** Where `name` resolves from this project (or from package `from`), and its version. */
export function resolvedPackage(name, from) {
  const require = from === undefined ? projectRequire : createRequire(projectRequire.resolve(from));
  const entry = require.resolve(name);
  const marker = `node_modules/${name}/`;
  const dir = entry.slice(0, entry.lastIndexOf(marker) + marker.length);
  return { dir, version: JSON.parse(readFileSync(`${dir}package.json`, 'utf8')).version };
}

export function createHarness(options = {}) {
  installContextManager();
  const events = new InMemoryEventExporter();
  const spans = new InMemorySpanExporter();
  const processor = new CostSpanProcessor({ source: 'compat-otel3@1.0.0', exporters: [events], ...options });
  // 3.x: BasicTracerProvider is now TracerProvider; span processors take an options object.
  const provider = new TracerProvider({ spanProcessors: [processor, new SimpleSpanProcessor({ exporter: spans })] });
  const tracer = createCostTracer({ tracerProvider: provider });
  return {
    tracer,
    processor,
    events,
    spans,
    provider,
    flush: () => processor.forceFlush(),
    span(name) {
      const matches = spans.getFinishedSpans().filter((span) => span.name === name);
      if (matches.length !== 1) throw new Error(`expected one span named ${name}, found ${matches.length}`);
      return matches[0];
    },
  };
}

/** The spanforge multi-agent example: own 0.0015 on the parent, 0.00375 in the child, 0.00525 in all. */
export function spanforgeExample(tracer) {
  return tracer.agentRun('parent-agent', async (parent) => {
    parent.step('research', (step) => {
      step.setTokenUsage({ input: 200, output: 100, total: 300 });
      step.setCost({ inputUsd: 0.0005, outputUsd: 0.001 });
    });
    await parent.agentRun('child-summariser', async (child) => {
      child.step('summarise', (step) => {
        step.setTokenUsage({ input: 500, output: 250, total: 750 });
        step.setCost({ inputUsd: 0.00125, outputUsd: 0.0025 });
      });
    });
  });
}
