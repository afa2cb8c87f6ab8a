// @costspan/sdk and @costspan/pricing (built dist, entry points only) on a 3.x TracerProvider.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, diag, DiagLogLevel, SpanStatusCode } from '@opentelemetry/api';
import { setGlobalErrorHandler, suppressTracing } from '@opentelemetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonlEventExporter, parseCostEvent } from '@costspan/sdk';
import { createDefaultPriceSource } from '@costspan/pricing';
import { createHarness, resolvedPackage, spanforgeExample } from './harness.mjs';

afterEach(() => {
  diag.disable();
});

describe('the installation under test', () => {
  it('runs on Node 24 with the 3.x line; costspan keeps its own 2.x @opentelemetry/core', () => {
    expect(process.versions.node).toMatch(/^24\./);
    expect(resolvedPackage('@opentelemetry/api').version).toBe('1.10.0');
    expect(resolvedPackage('@opentelemetry/sdk-trace').version).toMatch(/^3\./);
    expect(resolvedPackage('@opentelemetry/core').version).toMatch(/^3\./);
    expect(resolvedPackage('@opentelemetry/context-async-hooks').version).toMatch(/^3\./);
    // The one @opentelemetry/api is shared; @opentelemetry/core is a second, 2.x copy inside costspan.
    expect(resolvedPackage('@opentelemetry/api', '@costspan/sdk').dir).toBe(resolvedPackage('@opentelemetry/api').dir);
    expect(resolvedPackage('@opentelemetry/core', '@costspan/sdk').version).toMatch(/^2\./);
    // No fallback to the monorepo: costspan is the packed dist installed here.
    expect(resolvedPackage('@costspan/sdk').dir).toBe(fileURLToPath(new URL('../node_modules/@costspan/sdk/', import.meta.url)));
  });
});

describe('roll-up on a 3.x provider', () => {
  it('the spanforge example: own 0.0015, inclusive 0.00525, on the span and in the session event', async () => {
    const harness = createHarness();
    await spanforgeExample(harness.tracer);
    await harness.flush();

    const parent = harness.span('invoke_agent parent-agent');
    // Set in onEnding (3.x still calls it before the span is frozen), so they are on the exported span.
    expect(parent.attributes['llm.cost.own.total_usd']).toBe(0.0015);
    expect(parent.attributes['llm.cost.inclusive.total_usd']).toBe(0.00525);
    expect(parent.attributes['llm.cost.inclusive.call_count']).toBe(2);
    expect(harness.span('invoke_agent child-summariser').attributes['llm.cost.inclusive.total_usd']).toBe(0.00375);
    expect(harness.span('invoke_agent child-summariser').parentSpanContext?.spanId).toBe(parent.spanContext().spanId);

    const sessions = harness.events.getEvents('llm.cost.session.recorded');
    expect(sessions).toHaveLength(1);
    expect(sessions[0].payload.total_cost.total_cost_usd).toBe(0.00525);
    expect(sessions[0].payload.call_count).toBe(2);
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(2);
  });

  it('rolls up parallel children (AsyncLocalStorage context across awaits)', async () => {
    const harness = createHarness();
    await harness.tracer.agentRun('root', async (root) => {
      await Promise.all(
        [1, 2, 3].map((index) =>
          root.agentRun(`worker-${index}`, async (worker) => {
            await new Promise((resolve) => setTimeout(resolve, 5 * (4 - index)));
            worker.step('call', (step) => step.setCost({ inputUsd: 0.001 * index, outputUsd: 0 }));
            worker.agentRun(`leaf-${index}`, (leaf) => leaf.step('call', (step) => step.setCost({ inputUsd: 0.0001, outputUsd: 0.0002 })));
          }),
        ),
      );
    });
    await harness.flush();
    expect(harness.span('invoke_agent root').attributes['llm.cost.inclusive.total_usd']).toBe(0.0069);
    expect(harness.span('invoke_agent root').attributes['llm.cost.own.total_usd']).toBe(0);
    expect(harness.span('invoke_agent worker-2').attributes['llm.cost.inclusive.total_usd']).toBe(0.0023);
    expect(harness.events.getEvents('llm.cost.session.recorded')).toHaveLength(1);
  });

  it('a throwing step marks ERROR, keeps its cost, and rethrows', async () => {
    const harness = createHarness();
    const failure = new Error('model timed out');
    await expect(
      harness.tracer.agentRun('fragile', (run) =>
        run.step('call', async (step) => {
          step.setCost({ inputUsd: 0.002, outputUsd: 0 });
          throw failure;
        }),
      ),
    ).rejects.toBe(failure);
    await harness.flush();
    expect(harness.span('call').status.code).toBe(SpanStatusCode.ERROR);
    expect(harness.span('invoke_agent fragile').status.code).toBe(SpanStatusCode.ERROR);
    expect(harness.span('invoke_agent fragile').attributes['llm.cost.inclusive.total_usd']).toBe(0.002);
    expect(harness.events.getEvents('llm.cost.token.recorded')[0].payload.status).toBe('error');
    expect(harness.events.getEvents('llm.cost.session.recorded')[0].payload.status).toBe('error');
  });

  it('prices a foreign span carrying gen_ai.usage.* with createDefaultPriceSource()', async () => {
    const harness = createHarness({ priceSource: createDefaultPriceSource() });
    const other = harness.provider.getTracer('@opentelemetry/instrumentation-openai');
    await harness.tracer.agentRun('mixed', async () => {
      other.startActiveSpan(
        'chat gpt-4o',
        {
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.provider.name': 'openai',
            'gen_ai.request.model': 'gpt-4o',
            'gen_ai.usage.input_tokens': 1000,
            'gen_ai.usage.output_tokens': 500,
          },
        },
        (span) => span.end(),
      );
    });
    await harness.flush();
    expect(harness.span('chat gpt-4o').attributes['gen_ai.usage.cost.amount']).toBe(0.0075);
    expect(harness.span('invoke_agent mixed').attributes['llm.cost.inclusive.total_usd']).toBe(0.0075);
    expect(harness.events.getEvents('llm.cost.token.recorded')[0].payload.pricing_status).not.toBe('unpriced');
  });
});

describe('JSONL exporter', () => {
  it('writes the events of the spanforge example to a file', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'costspan-otel3-'));
    try {
      const path = join(directory, 'events.jsonl');
      const harness = createHarness({ exporters: [new JsonlEventExporter({ path })] });
      await spanforgeExample(harness.tracer);
      await harness.processor.shutdown();
      const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
      const events = lines.map((line) => parseCostEvent(line));
      expect(events.filter((event) => event.event_type === 'llm.cost.token.recorded')).toHaveLength(2);
      const session = events.find((event) => event.event_type === 'llm.cost.session.recorded');
      expect(session.payload.total_cost.total_cost_usd).toBe(0.00525);
      expect(lines.find((line) => line.includes('llm.cost.session.recorded'))).toContain('"total_cost_usd":0.00525');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('mixing costspan (core 2.x inside) with a 3.x SDK', () => {
  it('the suppressTracing key is shared: spans started while costspan exports events are not recorded', async () => {
    const recorded = [];
    let provider;
    const probe = {
      export(events, done) {
        // An instrumented HTTP client inside an exporter would do this; costspan wraps export in core 2.x suppressTracing.
        const span = provider.getTracer('probe').startSpan('exporter-http-call');
        recorded.push(span.isRecording());
        span.end();
        done({ code: 0 });
      },
      shutdown: () => Promise.resolve(),
      forceFlush: () => Promise.resolve(),
    };
    const harness = createHarness({ exporters: [probe] });
    provider = harness.provider;
    harness.tracer.agentRun('run', (run) => run.step('s', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })));
    await harness.flush();
    expect(recorded.length).toBeGreaterThan(0);
    expect(recorded.every((isRecording) => isRecording === false)).toBe(true);
    // And the other way round: a context suppressed by core 3.x stops costspan's own spans (2.x never sees them).
    const quiet = context.with(suppressTracing(context.active()), () =>
      harness.tracer.agentRun('quiet', (run) => run.step('s', (step) => step.span.isRecording())),
    );
    expect(quiet).toBe(false);
  });

  it('costspan errors reach diag (shared), not a 3.x setGlobalErrorHandler (module-local in each core copy)', async () => {
    const viaCore3 = [];
    const viaDiag = [];
    setGlobalErrorHandler((error) => viaCore3.push(error));
    diag.setLogger(
      { error: (...args) => viaDiag.push(args.join(' ')), warn() {}, info() {}, debug() {}, verbose() {} },
      DiagLogLevel.ERROR,
    );
    try {
      const broken = {
        price: () => {
          throw new Error('price table broken');
        },
      };
      const harness = createHarness({ priceSource: broken });
      harness.tracer.agentRun('run', (run) =>
        run.step('s', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1, output: 1 })),
      );
      await harness.flush();
      expect(viaCore3).toEqual([]);
      expect(viaDiag.some((message) => message.includes('price table broken'))).toBe(true);
    } finally {
      setGlobalErrorHandler((error) => diag.error(String(error)));
    }
  });
});
