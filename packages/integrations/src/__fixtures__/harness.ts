import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  CostSpanProcessor,
  InMemoryEventExporter,
  createCostTracer,
  setNoticeHandler,
  type CostspanNotice,
  type CostTracer,
} from '@costspan/sdk';
import { resetNotices } from '@costspan/sdk/internal';
import { testPriceSource } from './test-price-source.js';

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
  flush(): Promise<void>;
  /** The one finished span named `name`. */
  span(name: string): ReadableSpan;
}

/** A real tracer provider with the cost processor (priced by the test price table) and an in-memory span exporter. */
export function createHarness(): Harness {
  installContextManager();
  const events = new InMemoryEventExporter();
  const spans = new InMemorySpanExporter();
  const processor = new CostSpanProcessor({ source: 'test-app@1.0.0', exporters: [events], priceSource: testPriceSource });
  const provider = new BasicTracerProvider({ spanProcessors: [processor, new SimpleSpanProcessor(spans)] });
  return {
    tracer: createCostTracer({ tracerProvider: provider }),
    processor,
    events,
    spans,
    provider,
    flush: () => processor.forceFlush(),
    span(name) {
      const matches = spans.getFinishedSpans().filter((span) => span.name === name);
      if (matches.length !== 1)
        throw new Error(
          `expected one span named ${name}, found ${matches.length}: ${spans
            .getFinishedSpans()
            .map((span) => span.name)
            .join(', ')}`,
        );
      return matches[0] as ReadableSpan;
    },
  };
}

/** What the run's session event and the processor counted, once flushed. */
export interface CallCounts {
  /** `call_count` of the session event. */
  calls: unknown;
  /** `usage_missing_call_count` of the session event (absent when 0). */
  missing: unknown;
  /** Token events: calls recorded with usage. */
  priced: number;
  /** `stats().usageMissingCalls` of the processor. */
  stats: number;
}

/** Flushes `harness` and counts the calls of its (one) root run. */
export async function callCounts(harness: Harness): Promise<CallCounts> {
  await harness.flush();
  const session = harness.events.getEvents('llm.cost.session.recorded')[0]?.payload;
  return {
    calls: session?.call_count,
    missing: session?.usage_missing_call_count,
    priced: harness.events.getEvents('llm.cost.token.recorded').length,
    stats: harness.processor.stats().usageMissingCalls,
  };
}

/** Collects the notices told from now on, each cause afresh; `setNoticeHandler(undefined)` after the test. */
export function captureNotices(): CostspanNotice[] {
  const notices: CostspanNotice[] = [];
  resetNotices();
  setNoticeHandler((notice) => notices.push(notice));
  return notices;
}
