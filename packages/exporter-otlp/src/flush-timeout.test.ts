import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { registerCostspan, type RegisteredCostspan } from './register-costspan.js';

// A collector that holds every request until `recover()`, then answers 200 (the held ones too).
async function stallingCollector(): Promise<{ url: string; recover: () => void; close: () => Promise<void> }> {
  let stalled = true;
  const held: ServerResponse[] = [];
  const answer = (response: ServerResponse): void => {
    response.writeHead(200, { 'content-type': 'application/x-protobuf' });
    response.end();
  };
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => (stalled ? held.push(response) : answer(response)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    recover: () => {
      stalled = false;
      for (const response of held.splice(0)) answer(response);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function oneCall(costspan: RegisteredCostspan): void {
  costspan.tracer.agentRun('agent', (run) =>
    run.step('answer', (step) => void step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 10, output: 5 })),
  );
}

describe('a forceFlush that times out', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('does not stop later exports once the collector answers again', async () => {
    const collector = await stallingCollector();
    cleanups.push(collector.close);
    const costspan = registerCostspan({ endpoint: collector.url, metrics: false, flushOnExit: false, timeoutMillis: 2000 });
    cleanups.push(() => costspan.shutdown({ timeoutMillis: 1000 }));
    oneCall(costspan);
    const stalled = await costspan.forceFlush({ timeoutMillis: 200 });
    expect(stalled.events.exported + stalled.events.failed).toBe(0);
    collector.recover();
    oneCall(costspan);
    const after = await costspan.forceFlush({ timeoutMillis: 5000 });
    expect(after.events).toMatchObject({ queued: 4, exported: 4, failed: 0, pending: 0 });
    expect(after.spans).toMatchObject({ exported: 4, failed: 0, pending: 0 });
  }, 10_000);
});
