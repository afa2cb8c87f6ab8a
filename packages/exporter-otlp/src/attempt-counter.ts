import type { ExportResult } from '@opentelemetry/core';

interface ExporterLike<Item> {
  export(items: Item[], resultCallback: (result: ExportResult) => void): void;
}

/**
 * Counts the HTTP requests an OpenTelemetry OTLP exporter makes, to tell first
 * attempts from its built-in retries. The exporter calls the `headers` factory
 * once per request (retries included), so that is the hook: no private fields.
 */
export class AttemptCounter {
  private requests = 0;
  private sends = 0;
  private readonly retrySources: { readonly retried: number }[] = [];

  /** Adds the retries counted by `source` (e.g. the gRPC retries, which call no headers factory). */
  countRetriesOf(source: { readonly retried: number }): void {
    this.retrySources.push(source);
  }

  /** A `headers` option that counts requests and returns `headers`. */
  headersFactory(headers: Record<string, string> | undefined): () => Promise<Record<string, string>> {
    const fixed = { ...headers };
    return () => {
      this.requests += 1;
      return Promise.resolve(fixed);
    };
  }

  /** Calls `exporter.export`, counting the batch as sent unless it failed before any I/O. */
  export<Item>(exporter: ExporterLike<Item>, items: Item[], resultCallback: (result: ExportResult) => void): void {
    this.send((callback) => exporter.export(items, callback), resultCallback);
  }

  /** Runs one export started by `start`, counting it as sent unless it answered before any I/O. */
  send(start: (callback: (result: ExportResult) => void) => void, resultCallback: (result: ExportResult) => void): void {
    let synchronous = true;
    let answeredSynchronously = false;
    start((result) => {
      if (synchronous) answeredSynchronously = true;
      resultCallback(result);
    });
    synchronous = false;
    // Refusals (concurrency limit, nothing to send) answer at once and make no request.
    if (!answeredSynchronously) this.sends += 1;
  }

  /** Requests beyond the first of each batch: the exporter's own retries. */
  retried(): number {
    let total = Math.max(0, this.requests - this.sends);
    for (const source of this.retrySources) total += source.retried;
    return total;
  }
}
