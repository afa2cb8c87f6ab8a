import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OtlpReceiver } from '../../packages/exporter-otlp/src/__fixtures__/otlp-receiver.js';

// Runs a small agent in its own process against the built package (dist), to see what happens at exit.
const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

function agentScript(endpoint: string, options: string, ending: string): string {
  return `
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { registerCostspan } from '@costspan/exporter-otlp';
diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
const costspan = registerCostspan({ serviceName: 'exit-test', endpoint: ${JSON.stringify(endpoint)}, ${options} });
await costspan.tracer.agentRun('planner', async (run) => {
  run.step('plan', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 10, output: 5 }).setCost({ inputUsd: 0.001, outputUsd: 0.002 }));
});
${ending}
`;
}

function runNode(script: string): Promise<{ code: number | null; stderr: string; millis: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repositoryRoot,
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr, millis: Date.now() - started }));
  });
}

const receivers: OtlpReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.stop()));
});

describe('@costspan/exporter-otlp at process exit (built output)', () => {
  it('flushes spans and cost events when the event loop empties, without shutdown()', async () => {
    const collector = await new OtlpReceiver().start(0);
    receivers.push(collector);
    const result = await runNode(agentScript(collector.url, '', '// no shutdown: the beforeExit hook flushes'));
    expect(result.code).toBe(0);
    expect(collector.spans.map((span) => span.name).sort()).toEqual(['invoke_agent planner', 'plan']);
    expect(collector.logs.map((log) => log.eventName).sort()).toEqual(['llm.cost.session.recorded', 'llm.cost.token.recorded']);
  });

  it('with no collector, exits within its bounds and says what was lost', async () => {
    const collector = await new OtlpReceiver().start(0);
    await collector.stop();
    const result = await runNode(
      agentScript(collector.url, 'timeoutMillis: 1000, retryTimeoutMillis: 60000, shutdownTimeoutMillis: 1500', ''),
    );
    expect(result.code).toBe(0);
    // shutdownTimeoutMillis, plus at most one export attempt (timeoutMillis) still in flight, plus node start-up.
    expect(result.millis).toBeLessThan(1500 + 1000 + 2500);
    expect(result.stderr).toMatch(/shutdown timed out|gave up on 2 cost events|cost events not sent/);
  });

  it('process.exit() right after the run reports the unsent events instead of losing them silently', async () => {
    const collector = await new OtlpReceiver().start(0);
    receivers.push(collector);
    const result = await runNode(agentScript(collector.url, '', 'process.exit(0);'));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('2 cost events unsent at process exit');
    expect(result.stderr).toMatch(/spans unsent/);
  });
});
