import { readFileSync, writeFileSync } from 'node:fs';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createDefaultPriceSource } from '@costspan/pricing';
import { CostSpanProcessor, JsonlEventExporter, createCostTracer, parseCostEvent, serializeEvent, type CostEvent } from '@costspan/sdk';

let contextManagerInstalled = false;

function installContextManager(): void {
  if (contextManagerInstalled) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  contextManagerInstalled = true;
}

/** Options of {@link writeSdkEvents}. */
export interface SdkEventsOptions {
  signingKey?: string;
  /** Root runs of the billing agent to add (each one call of $0.002). Default 1. */
  billingRuns?: number;
  /** Runs of `priced-agent` (user `carol`, tag `feature=search`), priced from the bundled price table with cache and reasoning tokens. Default 0. */
  pricedRuns?: number;
}

/**
 * Writes realistic events to `path` with the real SDK (tracer, processor, JSONL
 * exporter). Known figures:
 * - run `run-support-1` (agent `support-agent`, alice / search / acme, tag env=prod):
 *   plan (gpt-4o, $0.0015 + $0.0006), draft (gpt-4o, $0.005, 2 calls in one step: $0.003 and $0.002),
 *   unpriced-call (mystery-model, no price),
 *   nested run `run-research-1` (`researcher`): search x3 (claude-sonnet-4, $0.00125 + $0.0025 each),
 *   and a nested run `run-fact-1` (`fact-checker`) inside step `verify`: check (gpt-4o-mini, $0.0001 + $0.0002).
 *   Inclusive: 0.0021 + 0.005 + 0 + 3 * 0.00375 + 0.0003 = $0.01865, 8 calls.
 * - `billingRuns` runs `run-billing-N` (agent `billing-agent`, bob / billing / acme): one call each, $0.0005 + $0.0015.
 */
export async function writeSdkEvents(path: string, options: SdkEventsOptions = {}): Promise<void> {
  installContextManager();
  const processor = new CostSpanProcessor({
    source: 'support-app@1.2.3',
    exporters: [new JsonlEventExporter({ path })],
    priceSource: createDefaultPriceSource(),
    ...(options.signingKey === undefined ? {} : { signingKey: options.signingKey }),
  });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = createCostTracer({ tracerProvider: provider });

  await tracer.agentRun(
    'support-agent',
    {
      runId: 'run-support-1',
      sessionId: 'conv-42',
      principal: { userId: 'alice', teamId: 'search', orgId: 'acme', tags: { env: 'prod' } },
    },
    async (run) => {
      run.step('plan', (step) =>
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }).setCost({ inputUsd: 0.0015, outputUsd: 0.0006 }),
      );
      run.step('draft', (step) => {
        step.recordUsage({
          model: 'gpt-4o',
          provider: 'openai',
          usage: { input: 800, output: 100 },
          cost: { inputUsd: 0.002, outputUsd: 0.001 },
        });
        step.recordUsage({
          model: 'gpt-4o',
          provider: 'openai',
          usage: { input: 400, output: 100 },
          cost: { inputUsd: 0.001, outputUsd: 0.001 },
        });
      });
      run.step('unpriced-call', (step) => step.setModel('mystery-model', 'acme-ai').setTokenUsage({ input: 10, output: 5 }));
      await run.agentRun('researcher', { runId: 'run-research-1' }, async (research) => {
        for (let index = 0; index < 3; index += 1) {
          await research.step('search', async (step) => {
            await new Promise((resolve) => setTimeout(resolve, 2));
            step
              .setModel('claude-sonnet-4', 'anthropic')
              .setTokenUsage({ input: 500, output: 250 })
              .setCost({ inputUsd: 0.00125, outputUsd: 0.0025 });
          });
        }
      });
      await run.step('verify', async () => {
        run.agentRun('fact-checker', { runId: 'run-fact-1' }, (checker) => {
          checker.step('check', (step) =>
            step
              .setModel('gpt-4o-mini', 'openai')
              .setTokenUsage({ input: 100, output: 50 })
              .setCost({ inputUsd: 0.0001, outputUsd: 0.0002 }),
          );
        });
      });
    },
  );
  for (let index = 1; index <= (options.billingRuns ?? 1); index += 1) {
    tracer.agentRun(
      'billing-agent',
      { runId: `run-billing-${index}`, principal: { userId: 'bob', teamId: 'billing', orgId: 'acme' } },
      (run) => {
        run.step('invoice', (step) =>
          step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 200, output: 150 }).setCost({ inputUsd: 0.0005, outputUsd: 0.0015 }),
        );
      },
    );
  }
  const models = [
    ['gpt-4o', 'openai'],
    ['gpt-4o-mini', 'openai'],
    ['claude-sonnet-4', 'anthropic'],
    ['o3-mini', 'openai'],
  ] as const;
  for (let index = 0; index < (options.pricedRuns ?? 0); index += 1) {
    tracer.agentRun('priced-agent', { principal: { userId: 'carol', tags: { feature: 'search' } } }, (run) => {
      for (let call = 0; call < 3; call += 1) {
        const [model, provider] = models[(index + call) % models.length] as (typeof models)[number];
        run.step(`call-${call}`, (step) =>
          step.setModel(model, provider).setTokenUsage({
            input: 1000 + 37 * index + call,
            output: 100 + 11 * index,
            cacheRead: (index * 13) % 500,
            ...(model === 'o3-mini' ? { reasoning: 50 } : {}),
          }),
        );
      }
    });
  }
  await provider.shutdown();
}

/** Reads a JSONL file of valid events. */
export function readEventsFile(path: string): CostEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => parseCostEvent(line));
}

/** Rewrites a JSONL file, changing each event with `edit` (e.g. to move timestamps to other days). */
export function rewriteEvents(path: string, edit: (event: CostEvent, index: number) => CostEvent): void {
  const events = readEventsFile(path).map(edit);
  writeFileSync(path, events.map((event) => `${serializeEvent(event)}\n`).join(''));
}
