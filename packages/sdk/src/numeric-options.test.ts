import { existsSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { metrics } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventExporter } from './export/event-exporter.js';
import { EventPipeline } from './export/event-pipeline.js';
import { InMemoryEventExporter } from './export/in-memory-event-exporter.js';
import { JsonlEventExporter } from './export/jsonl-event-exporter.js';
import { resetNotices, setNoticeHandler } from './notice.js';
import { CostSpanProcessor } from './processing/cost-span-processor.js';
import { setupCostspan } from './setup-costspan.js';
import { sampleEvent } from './__fixtures__/sample-event.js';

// Every public numeric option of the SDK, checked at construction: undefined is the default,
// anything out of range throws naming the option instead of silently becoming the default.

/** What an option takes: a count (≥ 1 or ≥ 0) or a timer duration in milliseconds (≥ 1 or ≥ 0). */
type Kind = 'count' | 'countOrZero' | 'millis' | 'millisOrZero';

interface OptionRow {
  option: string;
  kind: Kind;
  /** Builds the owner with the option set to `value`; returns its shutdown. */
  make: (value: unknown) => () => Promise<unknown>;
}

const pipelineOption = (option: string, kind: Kind): OptionRow => ({
  option,
  kind,
  make: (value) => {
    const pipeline = new EventPipeline([new InMemoryEventExporter()], { [option]: value as number });
    return () => pipeline.shutdown();
  },
});

const metricsOption = (key: string, kind: Kind): OptionRow => ({
  option: `metrics.${key}`,
  kind,
  make: (value) => {
    const processor = new CostSpanProcessor({
      priceSource: null,
      meterProvider: metrics.getMeterProvider(),
      metrics: { [key]: value as number },
    });
    return () => processor.shutdown();
  },
});

const OPTIONS: readonly OptionRow[] = [
  pipelineOption('maxQueueSize', 'count'),
  pipelineOption('maxExportBatchSize', 'count'),
  pipelineOption('scheduledDelayMillis', 'millis'),
  pipelineOption('exportTimeoutMillis', 'millis'),
  pipelineOption('shutdownTimeoutMillis', 'millis'),
  {
    option: 'maxOpenSpans',
    kind: 'count',
    make: (value) => {
      const processor = new CostSpanProcessor({ priceSource: null, maxOpenSpans: value as number });
      return () => processor.shutdown();
    },
  },
  metricsOption('maxBufferedValues', 'count'),
  metricsOption('maxSeries', 'count'),
  metricsOption('maxValuesPerKey', 'countOrZero'),
  {
    option: 'blockedWriteTimeoutMillis',
    kind: 'millisOrZero',
    make: (value) => {
      const exporter = new JsonlEventExporter({ stream: new PassThrough(), blockedWriteTimeoutMillis: value as number });
      return () => exporter.shutdown();
    },
  },
  {
    option: 'shutdownTimeoutMillis',
    kind: 'millis',
    make: (value) => {
      const costspan = setupCostspan({ stream: new PassThrough(), priceSource: null, shutdownTimeoutMillis: value as number });
      return () => costspan.shutdown();
    },
  },
];

const MAX_TIMER = 2_147_483_647;
const ALWAYS_REFUSED: readonly unknown[] = [NaN, Infinity, -Infinity, -1, '100', null];
const REFUSED: Record<Kind, readonly unknown[]> = {
  count: [...ALWAYS_REFUSED, 0, 1.5, 2 ** 53],
  countOrZero: [...ALWAYS_REFUSED, 1.5, 2 ** 53],
  millis: [...ALWAYS_REFUSED, 0, 0.5, MAX_TIMER + 1],
  millisOrZero: [...ALWAYS_REFUSED, -0.5, MAX_TIMER + 1],
};
const ACCEPTED: Record<Kind, readonly unknown[]> = {
  count: [undefined, 1, 3],
  countOrZero: [undefined, 0, 3],
  millis: [undefined, 1, 250.5, MAX_TIMER],
  millisOrZero: [undefined, 0, 250.5, MAX_TIMER],
};
const ALLOWED: Record<Kind, string> = {
  count: 'an integer ≥ 1',
  countOrZero: 'an integer ≥ 0',
  millis: 'a number of milliseconds from 1 to 2147483647',
  millisOrZero: 'a number of milliseconds from 0 to 2147483647',
};

const refusedCases = OPTIONS.flatMap((row) => REFUSED[row.kind].map((value) => ({ ...row, value, label: String(value) })));
const acceptedCases = OPTIONS.flatMap((row) => ACCEPTED[row.kind].map((value) => ({ ...row, value, label: String(value) })));

let folder: string;

beforeEach(() => {
  folder = realpathSync(mkdtempSync(join(tmpdir(), 'costspan-options-')));
  setNoticeHandler(() => undefined);
});

afterEach(() => {
  setNoticeHandler(undefined);
  resetNotices();
  rmSync(folder, { recursive: true, force: true });
});

describe('numeric options', () => {
  it.each(refusedCases)('$option refuses $label with a CostspanError naming it', ({ option, kind, make, value }) => {
    expect(() => make(value)).toThrow(
      expect.objectContaining({
        name: 'CostspanError',
        code: 'invalid_argument',
        field: option,
        message: expect.stringMatching(new RegExp(`^${option.replace('.', '\\.')} must be ${ALLOWED[kind]}; got `)),
      }),
    );
  });

  it.each(acceptedCases)('$option accepts $label', async ({ make, value }) => {
    const shutdown = make(value);
    await shutdown();
  });

  it('a fractional shutdownTimeoutMillis bounds the pipeline (it fell back to 30 s before)', async () => {
    const never = (): Promise<void> => new Promise<void>(() => undefined);
    const hung: EventExporter = { export: () => undefined, forceFlush: never, shutdown: never };
    const pipeline = new EventPipeline([hung], { shutdownTimeoutMillis: 100.5 });
    pipeline.emit(sampleEvent(1));
    const started = Date.now();
    await pipeline.shutdown();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('setupCostspan refuses a bad shutdownTimeoutMillis before it creates the file', () => {
    const path = join(folder, 'events.jsonl');
    expect(() => setupCostspan({ path, shutdownTimeoutMillis: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'shutdownTimeoutMillis' }),
    );
    expect(existsSync(path)).toBe(false);
  });

  it.skipIf(!existsSync('/proc/self/fd'))('setupCostspan closes the file it opened when the processor refuses an option', async () => {
    const path = join(folder, 'events.jsonl');
    expect(() => setupCostspan({ path, priceSource: null, maxQueueSize: 0.5 })).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'maxQueueSize' }),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    const open = readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path;
      } catch {
        return false;
      }
    });
    expect(open).toEqual([]);
  });
});
