import { context, diag, DiagLogLevel } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CostSpanProcessor, type CostSpanProcessorOptions } from '../processing/cost-span-processor.js';
import { createCostTracer, type CostTracer } from '../tracing/cost-tracer.js';
import { InMemoryEventExporter } from '../export/in-memory-event-exporter.js';

let contextManagerInstalled = false;

/** Installs an AsyncLocalStorage context manager once, as NodeSDK would in an application. */
export function installContextManager(): void {
  if (contextManagerInstalled) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  contextManagerInstalled = true;
}

export interface Harness {
  tracer: CostTracer;
  processor: CostSpanProcessor;
  events: InMemoryEventExporter;
  spans: InMemorySpanExporter;
  provider: BasicTracerProvider;
  /** Flushes and returns finished spans by name. */
  flush(): Promise<void>;
  span(name: string): ReadableSpan;
}

/** A real tracer provider with the cost processor and an in-memory span exporter. */
export function createHarness(options: CostSpanProcessorOptions = {}, withContextManager = true): Harness {
  if (withContextManager) installContextManager();
  const events = new InMemoryEventExporter();
  const spans = new InMemorySpanExporter();
  const processor = new CostSpanProcessor({ source: 'test-app@1.0.0', exporters: [events], ...options });
  const provider = new BasicTracerProvider({ spanProcessors: [processor, new SimpleSpanProcessor(spans)] });
  const tracer = createCostTracer({ tracerProvider: provider });
  return {
    tracer,
    processor,
    events,
    spans,
    provider,
    flush: () => processor.forceFlush(),
    span(name: string): ReadableSpan {
      const matches = spans.getFinishedSpans().filter((span) => span.name === name);
      if (matches.length !== 1) throw new Error(`expected one span named ${name}, found ${matches.length}`);
      return matches[0] as ReadableSpan;
    },
  };
}

/** Installs a diag logger at WARN that collects each warning's text; returns the list it fills. */
export function captureDiagWarnings(): string[] {
  const warnings: string[] = [];
  diag.setLogger(
    {
      verbose: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (...parts: unknown[]) => warnings.push(parts.join(' ')),
      error: () => undefined,
    },
    DiagLogLevel.WARN,
  );
  return warnings;
}
