import type { WhatIfOptions } from './what-if-options.js';
import type { WhatIfAggregator } from './what-if-report.js';

/** The `report` flags that ask for a what-if report. */
export interface WhatIfFlags {
  reprice?: string[];
  'price-date'?: string;
  prices?: string[];
}

/**
 * A {@link WhatIfAggregator} for `--reprice`, `--price-date` and `--prices`, or `undefined`
 * when none is given. Reads the price files and checks every target has a price up front.
 *
 * @throws CliError `usage` / `input_not_found` / `input_error` for bad flags or price files
 */
export async function createWhatIfAggregator(
  flags: WhatIfFlags,
  period: { sinceMs?: number; untilMs?: number },
): Promise<WhatIfAggregator | undefined> {
  // Pricing is loaded only for a what-if report: a plain report never needs it.
  if (flags.reprice === undefined && flags.prices === undefined && flags['price-date'] === undefined) return undefined;
  const { createWhatIfPriceSource, parsePriceDate, parseRepriceMappings, readPriceFile } = await import('./what-if-options.js');
  const { WhatIfAggregator } = await import('./what-if-report.js');
  const mappings = parseRepriceMappings(flags.reprice ?? []);
  const priceFiles = flags.prices ?? [];
  const priceDate = flags['price-date'] === undefined ? undefined : parsePriceDate(flags['price-date']);
  if (mappings.length === 0 && priceFiles.length === 0 && priceDate === undefined) return undefined;
  const customPrices = (await Promise.all(priceFiles.map((file) => readPriceFile(file)))).flat();
  const options: WhatIfOptions = { mappings, priceFiles, customPrices, ...(priceDate === undefined ? {} : { priceDate }) };
  return new WhatIfAggregator({ ...options, ...period, source: createWhatIfPriceSource(options) });
}
