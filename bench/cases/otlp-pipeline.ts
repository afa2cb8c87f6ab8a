import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventPipeline, type CostEvent } from '@costspan/sdk';
import { OtlpLogEventExporter } from '@costspan/exporter-otlp';
import { median, timeIt, type BenchRow } from '../src/harness.js';
import { processorEvents } from './event-pipeline.js';

/** A local OTLP/HTTP receiver that reads each request whole and answers an empty success. */
async function startReceiver(): Promise<{ server: Server; url: string; bytes: () => number }> {
  let bytes = 0;
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => {
      response.writeHead(200, { 'content-type': request.headers['content-type'] ?? 'application/x-protobuf' });
      response.end(request.headers['content-type']?.includes('json') === true ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bytes: () => bytes };
}

/**
 * Case 2b: sustained cost events/s through the pipeline to a live OTLP/HTTP receiver on
 * loopback (protobuf), against serialising the same events to JSON only, the floor any exporter
 * pays. Every event must arrive (exported = emitted).
 */
export async function otlpPipeline(options: { smoke: boolean }): Promise<BenchRow[]> {
  const count = options.smoke ? 10_000 : 100_000;
  const rounds = options.smoke ? 2 : 5;
  const events: CostEvent[] = await processorEvents(count);
  const receiver = await startReceiver();
  const rates: number[] = [];
  const baselines: number[] = [];
  let lost = 0;
  try {
    for (let round = 0; round < rounds; round += 1) {
      const exporter = new OtlpLogEventExporter({ endpoint: receiver.url, protocol: 'http/protobuf', serviceName: 'bench' });
      const pipeline = new EventPipeline([exporter], { maxQueueSize: count * 2, maxExportBatchSize: 512 });
      const elapsed = await timeIt(async () => {
        for (const event of events) pipeline.emit(event);
        await pipeline.forceFlush();
      });
      const stats = pipeline.stats();
      lost += stats.queued - stats.exported;
      await pipeline.shutdown();
      rates.push(count / (elapsed / 1000));
      let sink = 0;
      baselines.push(
        count /
          ((await timeIt(() => {
            for (const event of events) sink += JSON.stringify(event).length;
          })) /
            1000),
      );
      if (sink === 0) throw new Error('unreachable');
    }
  } finally {
    await new Promise((resolve) => receiver.server.close(resolve));
  }
  return [
    {
      name: 'events/s to OTLP/HTTP protobuf (loopback receiver)',
      value: median(rates),
      unit: 'events/s',
      baseline: median(baselines),
      baselineName: 'JSON.stringify only',
    },
    { name: 'events not delivered (all rounds)', value: lost, unit: 'events' },
  ];
}
