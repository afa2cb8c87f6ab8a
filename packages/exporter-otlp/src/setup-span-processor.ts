import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** What a {@link SetupSpanProcessor} asks of the setup that made it. */
export interface SpanProcessorOwner {
  /** Flushes `processor` within the setup's bound; never rejects. */
  flushProcessor(processor: SpanProcessor): Promise<void>;
  /** The processors' part of the setup's shutdown (starting it when not yet started); bounded, never rejects. */
  shutdownProcessors(): Promise<void>;
}

/**
 * One of the setup's processors as a provider sees it: spans pass straight through, but
 * the provider's `forceFlush()` and `shutdown()` go through the setup, so they are bounded,
 * never reject, and shut each processor and exporter down once, whether the setup or the
 * provider is shut down first (`costspan.shutdown()` then `sdk.shutdown()`, or the reverse).
 */
export class SetupSpanProcessor implements SpanProcessor {
  private readonly processor: SpanProcessor & { onEnding?(span: Span): void };
  private readonly owner: SpanProcessorOwner;

  constructor(processor: SpanProcessor, owner: SpanProcessorOwner) {
    this.processor = processor;
    this.owner = owner;
    // sdk-trace 2.x calls `onEnding` when a processor has it; offer it only when the wrapped one does.
    const inner = this.processor;
    if (typeof inner.onEnding === 'function') {
      (this as { onEnding?: (span: Span) => void }).onEnding = (span: Span): void => inner.onEnding?.(span);
    }
  }

  onStart(span: Span, parentContext: Context): void {
    this.processor.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.processor.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.owner.flushProcessor(this.processor);
  }

  shutdown(): Promise<void> {
    return this.owner.shutdownProcessors();
  }
}
