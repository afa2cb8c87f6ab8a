import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { invalidInput } from '@costspan/core';
import { markCanonical, type CostEvent } from '../events/cost-event.js';
import type { EncodedLineExporter, EventExportResult, EventExporter } from './event-exporter.js';
import { isEncodedBatch } from './event-queue.js';
import { reportError } from '../report-error.js';
import { invokeSafely } from './settle.js';

/** Small helpers of {@link EventPipeline}, kept apart so the pipeline file holds its flow only. */

/** The exporters given, checked: a typed error naming the field, not a TypeError from deep inside. */
export function checkExporters(exporters: unknown): readonly EventExporter[] {
  if (!Array.isArray(exporters)) throw invalidInput('invalid_argument', 'exporters', exporters, 'an array of event exporters');
  exporters.forEach((exporter: unknown, index) => {
    if (typeof (exporter as Partial<EventExporter> | null)?.export !== 'function') {
      throw invalidInput('invalid_argument', `exporters[${index}]`, exporter, 'an event exporter (an object with export())');
    }
  });
  return exporters as EventExporter[];
}

export function flushExporter(exporter: EventExporter): Promise<void> {
  const forceFlush = exporter.forceFlush?.bind(exporter);
  if (forceFlush === undefined) return Promise.resolve();
  return invokeSafely(forceFlush).catch((error: unknown) => reportError(error));
}

export function exporterName(exporter: EventExporter): string {
  const className = (exporter as { constructor?: { name?: unknown } }).constructor?.name;
  const name = typeof className === 'string' && className !== '' && className !== 'Object' ? className : 'exporter';
  const target = (exporter as { target?: unknown }).target;
  return typeof target === 'string' ? `${name}(${target})` : name;
}

/**
 * Events of a batch of `count` that `result` says reached the target: all on SUCCESS; on FAILED,
 * the exporter's {@link EventExportResult.exportedCount} when it is a whole number within the
 * batch, else none (an exporter that does not say, or says nonsense, failed the batch whole).
 */
export function exportedOf(result: EventExportResult, count: number): number {
  if (result.code === ExportResultCode.SUCCESS) return count;
  const exported = result.exportedCount;
  return exported !== undefined && Number.isSafeInteger(exported) && exported >= 0 && exported <= count ? exported : 0;
}

/** Hands a batch to an exporter: encoded lines to `exportEncoded`, events to `export`. */
export function exportTo(
  exporter: EventExporter,
  events: readonly CostEvent[] | readonly Buffer[],
  count: number,
  finish: (result: EventExportResult | undefined) => void,
): unknown {
  return isEncodedBatch(events) ? (exporter as EncodedLineExporter).exportEncoded(events, count, finish) : exporter.export(events, finish);
}

export function failure(message: string): ExportResult {
  return { code: ExportResultCode.FAILED, error: new Error(message) };
}

export function attempt<Value>(work: () => Value, fallback: Value): Value {
  try {
    return work();
  } catch (error) {
    reportError(error);
    return fallback;
  }
}

export function sumOf(
  rows: readonly { exported: number; failed: number; pending: number }[],
  key: 'exported' | 'failed' | 'pending',
): number {
  let total = 0;
  for (const row of rows) total += row[key];
  return total;
}

/**
 * A queued event: its canonical JSONL line (as the processor writes them) or an event object
 * (signed events, events emitted by hand). Exporters that take lines get them as they are.
 */
export type QueuedEvent = CostEvent | string;

/** Event objects for exporters that take objects: each line parses back to its event, keys in order. */
export function toObjects(queued: readonly QueuedEvent[]): CostEvent[] {
  return queued.map((entry) => {
    if (typeof entry !== 'string') return entry;
    const event = JSON.parse(entry) as CostEvent;
    markCanonical(event);
    return event;
  });
}

/**
 * The events of a batch of encoded lines (`EncodedLineExporter.exportEncoded`): each chunk is
 * whole UTF-8 lines ending in a newline; each line parses back to its event, keys in order.
 */
export function eventsOfEncodedLines(encoded: readonly Buffer[]): CostEvent[] {
  const events: CostEvent[] = [];
  for (const chunk of encoded) {
    const text = chunk.toString('utf8');
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      const event = JSON.parse(text.slice(start, end)) as CostEvent;
      markCanonical(event);
      events.push(event);
      start = end + 1;
    }
  }
  return events;
}
