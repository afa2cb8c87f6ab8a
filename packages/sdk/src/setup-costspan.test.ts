import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CostEvent } from './events/cost-event.js';
import type { EventExporter } from './export/event-exporter.js';
import { resetNotices, setNoticeHandler, type CostspanNotice } from './notice.js';
import { setupCostspan } from './setup-costspan.js';

// No context manager is installed in this file, as in a script that calls setupCostspan and nothing else.

let folder: string;
let originalCwd: string;
let originalEnvironment: string | undefined;

beforeEach(() => {
  folder = realpathSync(mkdtempSync(join(tmpdir(), 'costspan-setup-')));
  originalCwd = process.cwd();
  originalEnvironment = process.env.COSTSPAN_EVENTS_FILE;
  delete process.env.COSTSPAN_EVENTS_FILE;
});

afterEach(() => {
  process.chdir(originalCwd);
  if (originalEnvironment === undefined) delete process.env.COSTSPAN_EVENTS_FILE;
  else process.env.COSTSPAN_EVENTS_FILE = originalEnvironment;
  setNoticeHandler(undefined);
  resetNotices();
  rmSync(folder, { recursive: true, force: true });
});

function readEvents(path: string): CostEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as CostEvent);
}

/** An event exporter that counts calls; its shutdown can be made to never settle. */
class ProbeExporter implements EventExporter {
  exported = 0;
  shutdowns = 0;
  constructor(private readonly hangOnShutdown = false) {}
  export(events: readonly CostEvent[], resultCallback: (result: ExportResult) => void): void {
    this.exported += events.length;
    resultCallback({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    this.shutdowns += 1;
    return this.hangOnShutdown ? new Promise<void>(() => undefined) : Promise.resolve();
  }
}

describe('setupCostspan', () => {
  it('prices, rolls up and writes events.jsonl in the current directory, with no price source and no globals', async () => {
    process.chdir(folder);
    const costspan = setupCostspan({ source: 'my-app@1.0.0' });
    expect(costspan.eventsFile).toBe(join(folder, 'events.jsonl'));
    await costspan.tracer.agentRun('support-bot', { principal: { userId: 'alice' } }, async (run) => {
      await run.step('answer', async (step) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 });
      });
      // The spanforge idiom: a child started through the tracer nests, with no context manager.
      costspan.tracer.agentRun('researcher', (child) =>
        child.step('lookup', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1000, output: 500 })),
      );
    });
    await costspan.shutdown();
    const events = readEvents(join(folder, 'events.jsonl'));
    const sessions = events.filter((event) => event.event_type === 'llm.cost.session.recorded');
    expect(sessions).toHaveLength(1);
    expect((sessions[0]?.payload as { total_cost: { total_cost_usd: number } }).total_cost.total_cost_usd).toBe(0.01075);
    expect(events.filter((event) => event.event_type === 'llm.cost.token.recorded')).toHaveLength(2);
    expect(events.every((event) => event.source === 'my-app@1.0.0')).toBe(true);
    expect(costspan.stats()).toMatchObject({ dropped: 0, failed: 0, unpricedCalls: 0 });
    // No global provider and no context manager were installed.
    const probe = trace.getTracer('probe').startSpan('probe');
    expect(probe.isRecording()).toBe(false);
    expect(context.with(trace.setSpan(context.active(), probe), () => trace.getActiveSpan())).toBeUndefined();
  });

  it('honours COSTSPAN_EVENTS_FILE; an explicit path wins over it', async () => {
    process.env.COSTSPAN_EVENTS_FILE = join(folder, 'from-env.jsonl');
    const fromEnvironment = setupCostspan();
    expect(fromEnvironment.eventsFile).toBe(join(folder, 'from-env.jsonl'));
    fromEnvironment.tracer.agentRun('a', (run) => run.step('s', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })));
    await fromEnvironment.shutdown();
    expect(readEvents(join(folder, 'from-env.jsonl')).length).toBeGreaterThan(0);

    const explicit = setupCostspan({ path: join(folder, 'explicit.jsonl') });
    expect(explicit.eventsFile).toBe(join(folder, 'explicit.jsonl'));
    explicit.tracer.agentRun('b', (run) => run.step('s', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })));
    await explicit.shutdown();
    expect(readEvents(join(folder, 'explicit.jsonl')).map((event) => event.event_type)).toContain('llm.cost.session.recorded');
  });

  it('adds span processors, event exporters and default principal and budget', async () => {
    const spans = new InMemorySpanExporter();
    const extra = new ProbeExporter();
    const reserved: unknown[] = [];
    const budget = {
      reserve: (request: unknown) => {
        reserved.push(request);
        return Promise.resolve({ id: 'r1' });
      },
      record: () => undefined,
      release: () => undefined,
    };
    const costspan = setupCostspan({
      path: join(folder, 'events.jsonl'),
      spanProcessors: [new SimpleSpanProcessor(spans)],
      exporters: [extra],
      principal: { orgId: 'acme' },
      budget,
    });
    await costspan.tracer.agentRun('bot', { principal: { userId: 'alice' } }, (run) =>
      run.step('call', async (step) => {
        await step.reserve({ estimatedUsd: 0.01 });
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 });
      }),
    );
    await costspan.forceFlush();
    expect(reserved).toEqual([expect.objectContaining({ principal: { orgId: 'acme', userId: 'alice' } })]);
    const root = spans.getFinishedSpans().find((span) => span.name === 'invoke_agent bot');
    expect(root?.attributes['llm.cost.inclusive.total_usd']).toBe(0.00325);
    expect(root?.attributes['llm.cost.principal.org_id']).toBe('acme');
    expect(extra.exported).toBe(readEvents(join(folder, 'events.jsonl')).length);
    await costspan.shutdown();
  });

  it('shuts down once: concurrent and repeated calls share one shutdown', async () => {
    const extra = new ProbeExporter();
    const costspan = setupCostspan({ path: join(folder, 'events.jsonl'), exporters: [extra] });
    const first = costspan.shutdown();
    const second = costspan.shutdown();
    expect(second).toBe(first);
    await Promise.all([first, second, costspan.shutdown(), costspan.forceFlush()]);
    expect(extra.shutdowns).toBe(1);
  });

  it('resolves shutdown within its bound when an exporter never settles, and says so once', async () => {
    const notices: CostspanNotice[] = [];
    setNoticeHandler((given) => notices.push(given));
    const costspan = setupCostspan({
      path: join(folder, 'events.jsonl'),
      exporters: [new ProbeExporter(true)],
      shutdownTimeoutMillis: 200,
    });
    const started = Date.now();
    await costspan.shutdown();
    // Generous: within twice its timeout.
    expect(Date.now() - started).toBeLessThan(400);
    await costspan.shutdown();
    expect(notices.filter((given) => given.cause === 'setup_shutdown_timeout')).toHaveLength(1);
    expect(notices.find((given) => given.cause === 'setup_shutdown_timeout')?.message).toContain('within 200 ms');
  });

  it('bounds the processor shutdown by shutdownTimeoutMillis, so its wait cannot hold the process open longer', async () => {
    setNoticeHandler(() => undefined);
    const costspan = setupCostspan({
      path: join(folder, 'events.jsonl'),
      exporters: [new ProbeExporter(true)],
      shutdownTimeoutMillis: 200,
    });
    const started = Date.now();
    // The pipeline's bound is a timer that keeps the event loop alive: it was 30 s whatever was given here.
    await costspan.processor.shutdown();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses a path beside a stream, naming the field', () => {
    expect(() => setupCostspan({ path: join(folder, 'x.jsonl'), stream: process.stdout })).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'path' }),
    );
  });
});
