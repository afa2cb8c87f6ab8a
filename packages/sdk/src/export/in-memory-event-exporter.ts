import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { CostEvent, CostEventType } from '../events/cost-event.js';
import type { EventExporter } from './event-exporter.js';

/**
 * Keeps exported cost events in memory, for tests (yours and ours).
 *
 * @example
 * ```ts
 * const exporter = new InMemoryEventExporter();
 * const processor = new CostSpanProcessor({ exporters: [exporter] });
 * // ... run agents ...
 * await processor.forceFlush();
 * expect(exporter.getEvents('llm.cost.session.recorded')).toHaveLength(1);
 * ```
 */
export class InMemoryEventExporter implements EventExporter {
  private events: CostEvent[] = [];
  private stopped = false;

  export(events: readonly CostEvent[], resultCallback: (result: ExportResult) => void): void {
    resultCallback(this.exportSync(events));
  }

  exportSync(events: readonly CostEvent[]): ExportResult {
    if (this.stopped) {
      return { code: ExportResultCode.FAILED, error: new Error('InMemoryEventExporter is shut down') };
    }
    for (const event of events) this.events.push(event);
    return { code: ExportResultCode.SUCCESS };
  }

  /** Events exported so far, in order; only those of `type` when given. */
  getEvents<Type extends CostEventType>(type?: Type): CostEvent<Type>[] {
    const all = type === undefined ? this.events : this.events.filter((event) => event.event_type === type);
    return all.slice() as CostEvent<Type>[];
  }

  /** Forgets every event. */
  reset(): void {
    this.events = [];
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }
}
