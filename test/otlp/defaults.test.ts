import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OtlpReceiver } from '../../packages/exporter-otlp/src/__fixtures__/otlp-receiver.js';

// The README's snippets as a user runs them: the built package (dist), its own process, no diag logger.
const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

function runNode(script: string): Promise<{ code: number | null; stdout: string; stderr: string; millis: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repositoryRoot,
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_PROTOCOL: '', COSTSPAN_QUIET: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr, millis: Date.now() - started }));
  });
}

const receivers: OtlpReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.stop()));
});

describe('@costspan/exporter-otlp defaults (built output)', () => {
  it('the README\'s "One call": registerCostspan({ endpoint }) prices gpt-4o 500/200 at exactly 0.00325, and prints nothing', async () => {
    const collector = await new OtlpReceiver().start(0);
    receivers.push(collector);
    const result = await runNode(`
import { registerCostspan } from '@costspan/exporter-otlp';
const costspan = registerCostspan({ serviceName: 'my-agent', endpoint: ${JSON.stringify(collector.url)} });
await costspan.tracer.agentRun('planner', async (run) => {
  run.step('plan', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }));
});
console.log(JSON.stringify((await costspan.shutdown()).events));
`);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ queued: 2, exported: 2, failed: 0 });
    expect(collector.requests.every((request) => request.contentType === 'application/x-protobuf')).toBe(true);
    const session = collector.logs.find((log) => log.eventName === 'llm.cost.session.recorded');
    expect(session?.body).toMatchObject({ total_cost: { input_cost_usd: 0.00125, output_cost_usd: 0.002, total_cost_usd: 0.00325 } });
  });

  it("the README's own-provider sequence (costspan.shutdown(), then the provider's) ends within its bound with the collector down", async () => {
    const collector = await new OtlpReceiver().start(0);
    await collector.stop();
    const shutdownTimeoutMillis = 1500;
    const result = await runNode(`
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createCostTracer } from '@costspan/sdk';
import { createCostspanOtlp } from '@costspan/exporter-otlp';
const costspan = createCostspanOtlp({ serviceName: 'my-agent', endpoint: ${JSON.stringify(collector.url)}, shutdownTimeoutMillis: ${shutdownTimeoutMillis} });
const provider = new BasicTracerProvider({ spanProcessors: [...costspan.spanProcessors] });
await createCostTracer({ tracerProvider: provider }).agentRun('planner', async (run) => {
  run.step('plan', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }));
});
const started = Date.now();
const stats = await costspan.shutdown();
await provider.shutdown();
console.log(JSON.stringify({ millis: Date.now() - started, events: stats.events }));
`);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { millis: number; events: { queued: number; exported: number } };
    // Generous: twice the bound for both shutdowns together.
    expect(printed.millis).toBeLessThan(2 * shutdownTimeoutMillis);
    expect(printed.events).toMatchObject({ queued: 2, exported: 0 });
  });
});
