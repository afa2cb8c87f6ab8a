import { createServer, type Server } from 'node:net';
import { diag } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureDiag } from './__fixtures__/events.js';
import { OtlpLogEventExporter } from './otlp-log-event-exporter.js';
import { createCostspanOtlp, type CostspanOtlpOptions } from './register-costspan.js';

// Every public numeric option of the package, checked at construction: undefined is the default,
// anything out of range throws naming the option as the user spells it instead of silently
// becoming the default (or surfacing as an option of the SDK the user never set).

/** What an option takes: a count ≥ 1, a timer duration in milliseconds (≥ 1 or ≥ 0), a TCP port. */
type Kind = 'count' | 'millis' | 'millisOrZero' | 'port';

interface OptionRow {
  owner: string;
  option: string;
  kind: Kind;
  /** Builds the owner with the option set to `value`; returns its shutdown. */
  make: (value: unknown) => () => Promise<unknown>;
}

/** Nothing is sent: an unused port, no metrics unless the row is about them. */
const QUIET = { endpoint: 'http://127.0.0.1:9', flushOnExit: false, metrics: false } as const;

const exporterOption = (option: string, kind: Kind): OptionRow => ({
  owner: 'OtlpLogEventExporter',
  option,
  kind,
  make: (value) => {
    const exporter = new OtlpLogEventExporter({ endpoint: QUIET.endpoint, [option]: value as number });
    return () => exporter.shutdown();
  },
});

/** A row of createCostspanOtlp; `path` is where the option sits in its options (`spanQueue.maxQueueSize`). */
const setupOption = (option: string, kind: Kind, base: CostspanOtlpOptions = {}): OptionRow => ({
  owner: 'createCostspanOtlp',
  option,
  kind,
  make: (value) => {
    const options: Record<string, unknown> = { ...QUIET, ...base };
    const keys = option.split('.');
    let target = options;
    for (const key of keys.slice(0, -1)) {
      target[key] = { ...(target[key] as object) };
      target = target[key] as Record<string, unknown>;
    }
    target[String(keys.at(-1))] = value;
    const setup = createCostspanOtlp(options);
    return () => setup.shutdown({ timeoutMillis: 2000 });
  },
});

// Metrics rows export nowhere: the options are checked before any reader is made.
const NO_READERS: CostspanOtlpOptions = { metrics: { exporters: [] } };

const OPTIONS: readonly OptionRow[] = [
  exporterOption('timeoutMillis', 'millis'),
  exporterOption('retryTimeoutMillis', 'millisOrZero'),
  exporterOption('shutdownTimeoutMillis', 'millis'),
  setupOption('timeoutMillis', 'millis'),
  setupOption('retryTimeoutMillis', 'millisOrZero'),
  setupOption('shutdownTimeoutMillis', 'millis'),
  setupOption('spanQueue.maxQueueSize', 'count'),
  setupOption('spanQueue.maxExportBatchSize', 'count'),
  setupOption('spanQueue.scheduledDelayMillis', 'millis'),
  setupOption('spanQueue.exportTimeoutMillis', 'millis'),
  setupOption('metrics.exportIntervalMillis', 'millis', NO_READERS),
  setupOption('metrics.exportTimeoutMillis', 'millis', NO_READERS),
  setupOption('metrics.prometheus.port', 'port', NO_READERS),
  // Checked by the cost processor; the setup names them under `costs`.
  setupOption('costs.exportTimeoutMillis', 'millis'),
  setupOption('costs.maxQueueSize', 'count'),
];

const MAX_TIMER = 2_147_483_647;
const ALWAYS_REFUSED: readonly unknown[] = [NaN, Infinity, -Infinity, -1, '100', null];
const REFUSED: Record<Kind, readonly unknown[]> = {
  count: [...ALWAYS_REFUSED, 0, 1.5, 2 ** 53],
  millis: [...ALWAYS_REFUSED, 0, 0.5, MAX_TIMER + 1],
  millisOrZero: [...ALWAYS_REFUSED, -0.5, MAX_TIMER + 1],
  port: [...ALWAYS_REFUSED, 1.5, 65_536],
};
const ACCEPTED: Record<Kind, readonly unknown[]> = {
  count: [undefined, 1, 3],
  millis: [undefined, 1, 250.5, MAX_TIMER],
  millisOrZero: [undefined, 0, 250.5, MAX_TIMER],
  port: [undefined, 0, 65_535],
};
const ALLOWED: Record<Kind, string> = {
  count: 'an integer ≥ 1',
  millis: 'a number of milliseconds from 1 to 2147483647',
  millisOrZero: 'a number of milliseconds from 0 to 2147483647',
  port: 'a TCP port, an integer from 0 to 65535',
};

const cases = (values: Record<Kind, readonly unknown[]>): (OptionRow & { value: unknown; label: string })[] =>
  OPTIONS.flatMap((row) => values[row.kind].map((value) => ({ ...row, value, label: String(value) })));

afterEach(() => {
  diag.disable();
  vi.unstubAllEnvs();
});

describe('numeric options', () => {
  it.each(cases(REFUSED))('$owner $option refuses $label with a CostspanError naming it', ({ option, kind, make, value }) => {
    expect(() => make(value)).toThrow(
      expect.objectContaining({
        name: 'CostspanError',
        code: 'invalid_argument',
        field: option,
        message: expect.stringMatching(new RegExp(`^${option.replaceAll('.', '\\.')} must be ${ALLOWED[kind]}; got `)),
      }),
    );
  });

  it.each(cases(ACCEPTED))('$owner $option accepts $label', async ({ make, value }) => {
    const shutdown = make(value);
    await shutdown();
  });

  it('retryTimeoutMillis: Infinity names retryTimeoutMillis, not the pipeline exportTimeoutMillis the setup derives from it', () => {
    expect(() => createCostspanOtlp({ ...QUIET, retryTimeoutMillis: Infinity })).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'retryTimeoutMillis' }),
    );
  });

  it('a bad OTEL_* variable is still ignored (the default applies): only options are refused', async () => {
    vi.stubEnv('OTEL_BSP_MAX_QUEUE_SIZE', 'many');
    vi.stubEnv('OTEL_BSP_SCHEDULE_DELAY', '-5');
    vi.stubEnv('OTEL_EXPORTER_OTLP_LOGS_TIMEOUT', 'Infinity');
    vi.stubEnv('OTEL_METRIC_EXPORT_INTERVAL', '0');
    const setup = createCostspanOtlp({ ...QUIET, ...NO_READERS });
    await setup.shutdown({ timeoutMillis: 2000 });
  });

  it('forceFlush and shutdown never reject: a bad timeoutMillis is told through diag and shutdownTimeoutMillis used', async () => {
    const logs = captureDiag();
    const setup = createCostspanOtlp({ ...QUIET, shutdownTimeoutMillis: 1500 });
    await expect(setup.forceFlush({ timeoutMillis: Number.NaN })).resolves.toBeDefined();
    await expect(setup.shutdown({ timeoutMillis: -1 })).resolves.toBeDefined();
    const told = logs.messages.filter((message) => message.includes('timeoutMillis must be'));
    expect(told).toHaveLength(2);
    expect(told[0]).toContain(
      'timeoutMillis must be a number of milliseconds from 1 to 2147483647; got NaN; waiting shutdownTimeoutMillis (1500 ms) instead',
    );
    expect(told[1]).toContain('got -1; waiting shutdownTimeoutMillis (1500 ms) instead');
  });

  it('an option the cost processor refuses closes the Prometheus endpoint the setup had opened', async () => {
    const port = await freePort();
    expect(() =>
      createCostspanOtlp({
        ...QUIET,
        metrics: { exporters: ['prometheus'], prometheus: { host: '127.0.0.1', port } },
        costs: { maxQueueSize: 0 },
      }),
    ).toThrow(expect.objectContaining({ field: 'costs.maxQueueSize' }));
    await expect.poll(() => canListen(port), { timeout: 3000 }).toBe(true);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await close(server);
  return port;
}

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (listening) await close(server);
  return listening;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
