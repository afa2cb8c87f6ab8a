import { registerCostspan, type CostspanOtlpStats } from '@costspan/exporter-otlp';

/** Options of {@link runAgent}. */
export interface RunAgentOptions {
  /** Collector base URL. Default: `OTEL_EXPORTER_OTLP_ENDPOINT`, else `http://127.0.0.1:4318`. */
  endpoint?: string;
  /** Bound of the final flush. Default 5000 ms. */
  shutdownTimeoutMillis?: number;
}

/**
 * A research assistant: a planner run with two model calls and a nested
 * summariser run, exported as spans and cost events. Resolves with the export
 * counters; never hangs when no collector runs (every wait is bounded).
 */
export async function runAgent(options: RunAgentOptions = {}): Promise<CostspanOtlpStats> {
  const costspan = registerCostspan({
    serviceName: 'otlp-collector-example',
    ...(process.env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined ? { endpoint: options.endpoint ?? 'http://127.0.0.1:4318' } : {}),
    costs: { source: 'otlp-collector-example@0.1.0' },
    // Short bounds for a demo; services keep the defaults (10 s per export, 25 s of retries).
    timeoutMillis: 2000,
    retryTimeoutMillis: 3000,
    shutdownTimeoutMillis: options.shutdownTimeoutMillis ?? 5000,
  });

  await costspan.tracer.agentRun('research-assistant', { principal: { userId: 'alice', teamId: 'search', orgId: 'acme' } }, async (run) => {
    // Usage only: the built-in price table prices it (1200 × $2.50/M + 300 × $10/M = $0.006).
    run.step('plan', (step) => {
      step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1200, output: 300 });
    });
    await run.agentRun('summariser', async (child) => {
      await child.step('summarise', async (step) => {
        await Promise.resolve(); // the model call would be awaited here
        // 4000 × $3/M + 500 × $15/M = $0.0195.
        step.setModel('claude-sonnet-4', 'anthropic').setTokenUsage({ input: 4000, output: 500 });
      });
    });
  });

  return costspan.shutdown();
}
