import type { Attributes, Tracer } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type BufferConfig,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { BenchVariant } from './variant-worker.js';

/** Accepts and discards, so a bare baseline pays no export cost. */
export class DiscardingSpanExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Bare OpenTelemetry making an agent run's span tree: a root `invoke_agent agent` span with
 * `root`'s attributes (and `gen_ai.agent.id` = `run-<index>`), and `steps` model-call spans, each
 * after an `await`, with `step`'s attributes.
 */
export function bareAgentRun(tracer: Tracer, index: number, shape: { root: Attributes; step: Attributes; steps: number }): Promise<void> {
  return tracer.startActiveSpan('invoke_agent agent', async (root) => {
    root.setAttributes(shape.root);
    root.setAttribute('gen_ai.agent.id', `run-${index}`);
    for (let step = 0; step < shape.steps; step += 1) {
      await tracer.startActiveSpan(`step-${step}`, async (span) => {
        await Promise.resolve();
        span.setAttributes(shape.step);
        span.end();
      });
    }
    root.end();
  });
}

/** The bare baseline as a benchmark variant: {@link bareAgentRun} through a BatchSpanProcessor to `exporter`. */
export function bareVariant(
  exporter: SpanExporter,
  queue: BufferConfig,
  shape: { root: Attributes; step: Attributes; steps: number },
): BenchVariant {
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, queue)] });
  const tracer = provider.getTracer('bench');
  return {
    run: (index) => bareAgentRun(tracer, index, shape),
    flush: () => provider.forceFlush(),
    lost: () => 0,
    shutdown: () => provider.shutdown(),
  };
}
