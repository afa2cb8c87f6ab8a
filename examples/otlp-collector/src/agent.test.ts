import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
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
});
