import { calcPrice } from '@pydantic/genai-prices';
import { GenAiPriceSource, createDefaultPriceSource, type PriceRequest, type PriceSource } from '@costspan/pricing';
import { median } from '../src/harness.js';

/** One row of this case: throughput and time per operation, and what it is compared with. */
export interface PricingLookupRow {
  name: string;
  opsPerSec: number;
  nsPerOp: number;
  /** Name of the row this one is compared with, measured in the same run. */
  baseline?: string;
}

const TIMESTAMP = Date.parse('2026-03-04T14:32:11Z');
const REQUESTS: PriceRequest[] = [
  { model: 'gpt-4o', provider: 'openai', usage: { input: 1000, output: 500, cacheRead: 200 }, timestamp: TIMESTAMP },
  {
    model: 'claude-sonnet-4-5',
    provider: 'anthropic',
    usage: { input: 6000, output: 500, cacheRead: 2000, cacheWrite: 3000 },
    timestamp: TIMESTAMP,
  },
  { model: 'gemini-2.5-pro', provider: 'gcp.gemini', usage: { input: 250_000, output: 1000 }, timestamp: TIMESTAMP },
];
const RAW = REQUESTS.map((request) => ({
  model: request.model,
  providerId: request.provider === 'gcp.gemini' ? 'google' : (request.provider as string),
  usage: {
    input_tokens: request.usage.input,
    output_tokens: request.usage.output,
    cache_read_tokens: request.usage.cacheRead ?? 0,
    cache_write_tokens: request.usage.cacheWrite ?? 0,
  },
  timestamp: new Date(request.timestamp),
}));

/** Runs `operation` `count` times (cycling through the request mix) and returns ns per operation. */
function measure(count: number, operation: (index: number) => unknown): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let index = 0; index < count; index += 1) if (operation(index % 3) !== null) sink += 1;
  const elapsed = Number(process.hrtime.bigint() - start);
  if (sink < 0) console.log(sink); // keeps the loop observable
  return elapsed / count;
}

function row(name: string, samples: number[], baseline?: string): PricingLookupRow {
  const nsPerOp = median(samples);
  return { name, nsPerOp, opsPerSec: 1e9 / nsPerOp, ...(baseline === undefined ? {} : { baseline }) };
}

/**
 * Case: a repeated (provider, model, day) price lookup through costspan's memo against raw
 * `@pydantic/genai-prices` `calcPrice` for the same calls, measured in the same run.
 */
export async function pricingLookup(options: { smoke: boolean }): Promise<PricingLookupRow[]> {
  const rounds = options.smoke ? 3 : 9;
  const memoCount = options.smoke ? 100_000 : 2_000_000;
  const rawCount = options.smoke ? 2_000 : 40_000;
  const defaultSource: PriceSource = createDefaultPriceSource();
  const tableSource: PriceSource = new GenAiPriceSource();
  const raw = (index: number): unknown => {
    const call = RAW[index] as (typeof RAW)[number];
    return calcPrice(call.usage, call.model, { providerId: call.providerId, timestamp: call.timestamp });
  };

  // Warm up: JIT, and the memo (the first lookup of each model resolves through genai-prices).
  measure(memoCount / 10, (index) => defaultSource.price(REQUESTS[index] as PriceRequest));
  measure(memoCount / 10, (index) => tableSource.price(REQUESTS[index] as PriceRequest));
  measure(rawCount / 10, raw);

  const memoised: number[] = [];
  const table: number[] = [];
  const genai: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const runs = [
      () => memoised.push(measure(memoCount, (index) => defaultSource.price(REQUESTS[index] as PriceRequest))),
      () => table.push(measure(memoCount, (index) => tableSource.price(REQUESTS[index] as PriceRequest))),
      () => genai.push(measure(rawCount, raw)),
    ];
    // Rotate the order so drift in machine load hits every side alike.
    for (let offset = 0; offset < runs.length; offset += 1) (runs[(round + offset) % runs.length] as () => void)();
    await Promise.resolve();
  }
  const baseline = 'genai-prices calcPrice (raw)';
  return [
    row('price(): default source, memoised (custom + table)', memoised, baseline),
    row('price(): GenAiPriceSource, memoised', table, baseline),
    row(baseline, genai),
  ];
}
