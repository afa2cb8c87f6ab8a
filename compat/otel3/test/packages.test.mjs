// @costspan/budget, @costspan/integrations and @costspan/cli (built dist, installed packed) on the 3.x line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetExceededError, BudgetGuard } from '@costspan/budget';
import { recordOpenAIUsage } from '@costspan/integrations';
import { createDefaultPriceSource } from '@costspan/pricing';
import { JsonlEventExporter } from '@costspan/sdk';
import { createHarness, resolvedPackage } from './harness.mjs';

const project = fileURLToPath(new URL('..', import.meta.url));
const directories = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

/** A chat completion as the OpenAI client returns it: gpt-4o, 1000 in / 500 out = $0.0075 at list price. */
const completion = { id: 'chatcmpl-1', model: 'gpt-4o', usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 } };

describe('installed like published', () => {
  it('budget, integrations and cli resolve from this project, sharing the one api 1.10', () => {
    for (const name of ['@costspan/budget', '@costspan/integrations', '@costspan/cli']) {
      expect(resolvedPackage(name).dir).toBe(join(project, 'node_modules', name, '/'));
    }
    expect(resolvedPackage('@opentelemetry/api', '@costspan/budget').dir).toBe(resolvedPackage('@opentelemetry/api').dir);
    expect(resolvedPackage('@opentelemetry/api', '@costspan/integrations').dir).toBe(resolvedPackage('@opentelemetry/api').dir);
  });
});

describe('@costspan/budget (in-memory store)', () => {
  it('reserve then settle, exactly: $0.004 calls under a $0.01 daily user limit, the third refused', async () => {
    const guard = new BudgetGuard({ limits: { user: { daily: { usd: 0.01 } } } });
    const principal = { userId: 'alice' };
    for (let call = 0; call < 2; call += 1) {
      const reservation = await guard.reserve({ principal, estimatedUsd: 0.004 });
      await guard.settle(reservation, 0.004, 100);
    }
    const refused = await guard.reserve({ principal, estimatedUsd: 0.004 }).catch((error) => error);
    expect(refused).toBeInstanceOf(BudgetExceededError);
    expect(refused.limitType).toBe('user_daily');
    const status = await guard.getBudget(principal);
    const usd = status.limits.find((limit) => limit.unit === 'usd');
    expect(usd.exact.spent).toBe(8_000_000_000n); // $0.008 in pico-USD
    expect(usd.exact.reserved).toBe(0n);
    await guard.shutdown();
  });

  it('settles a run through the SDK: the step reserves, the processor books the priced call', async () => {
    const guard = new BudgetGuard({ limits: { user: { daily: { usd: 1 } } } });
    const principal = { userId: 'bob' };
    const harness = createHarness({ priceSource: createDefaultPriceSource() });
    await harness.tracer.agentRun('support-bot', { principal, budget: guard }, async (run) => {
      await run.step('answer', async (step) => {
        await step.reserve({ estimatedUsd: 0.02 });
        recordOpenAIUsage(step, completion);
      });
    });
    await harness.flush();
    const usd = (await guard.getBudget(principal)).limits.find((limit) => limit.unit === 'usd');
    expect(usd.exact.spent).toBe(7_500_000_000n);
    expect(usd.exact.reserved).toBe(0n);
    await guard.shutdown();
  });
});

describe('@costspan/integrations', () => {
  it('recordOpenAIUsage on a 3.x provider: one token event, priced 0.0075', async () => {
    const harness = createHarness({ priceSource: createDefaultPriceSource() });
    await harness.tracer.agentRun('bot', async (run) => {
      await run.step('answer', (step) => recordOpenAIUsage(step, completion));
    });
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens).toHaveLength(1);
    expect(tokens[0].payload.token_usage.input_tokens).toBe(1000);
    expect(tokens[0].payload.token_usage.output_tokens).toBe(500);
    expect(tokens[0].payload.cost.total_cost_usd).toBe(0.0075);
  });
});

describe('@costspan/cli', () => {
  it('npx @costspan/cli report totals the JSONL the SDK wrote: 2 calls, $0.015', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'costspan-otel3-cli-'));
    directories.push(directory);
    const path = join(directory, 'events.jsonl');
    const harness = createHarness({ priceSource: createDefaultPriceSource(), exporters: [new JsonlEventExporter({ path })] });
    await harness.tracer.agentRun('bot', async (run) => {
      await run.step('first', (step) => recordOpenAIUsage(step, completion));
      await run.step('second', (step) => recordOpenAIUsage(step, completion));
    });
    await harness.provider.shutdown();

    const result = spawnSync('npx', ['--no-install', '@costspan/cli', 'report', path, '--format', 'json'], {
      cwd: project,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.totals.cost_usd).toBe('0.015');
    expect(report.totals.calls).toBe(2);
    expect(report.totals.runs).toBe(1);
  });
});
