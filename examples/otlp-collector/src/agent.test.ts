import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { OtlpReceiver } from '../../../packages/exporter-otlp/src/__fixtures__/otlp-receiver.js';
import { runAgent } from './agent.js';

describe('the otlp-collector example', () => {
  it('finishes within its bounds and counts what it could not send when no collector runs', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));

    const started = Date.now();
    const stats = await runAgent({ endpoint: `http://127.0.0.1:${port}`, shutdownTimeoutMillis: 5000 });
    expect(Date.now() - started).toBeLessThan(6000);
    expect(stats.events.queued).toBe(6);
    expect(stats.events.exported).toBe(0);
    expect(stats.events.failed + stats.events.pending).toBe(6);
    expect(stats.spans.exported).toBe(0);
  }, 10_000);

  it('prices from the built-in table, with no price source passed', async () => {
    const collector = await new OtlpReceiver().start(0);
    try {
      const stats = await runAgent({ endpoint: collector.url, shutdownTimeoutMillis: 5000 });
      expect(stats.events.exported).toBe(6);
      const root = collector.logs.find(
        (log) =>
          log.eventName === 'llm.cost.session.recorded' &&
          log.body !== null &&
          (log.body as { agent_name?: string }).agent_name === 'research-assistant',
      );
      // gpt-4o 1200/300 = 0.006; claude-sonnet-4 4000/500 = 0.0195 (the nested summariser's, rolled up).
      expect(root?.body).toMatchObject({
        call_count: 2,
        total_cost: { input_cost_usd: 0.015, output_cost_usd: 0.0105, total_cost_usd: 0.0255 },
      });
      // The same two calls as cost metrics: one histogram point each, summing to the run's total.
      const histogram = collector.metrics.filter((metric) => metric.name === 'gen_ai.client.operation.cost').at(-1);
      const points = histogram?.dataPoints ?? [];
      expect(points.reduce((total, point) => total + (point.count ?? 0), 0)).toBe(2);
      expect(points.reduce((total, point) => total + (point.sum ?? 0), 0)).toBeCloseTo(0.0255, 14);
      expect(stats.metrics.failed).toBe(0);
    } finally {
      await collector.stop();
    }
  }, 10_000);
});
