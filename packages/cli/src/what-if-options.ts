import { readFile } from 'node:fs/promises';
import { CostspanError } from '@costspan/core';
import { createDefaultPriceSource, type CustomModelPrice, type PriceSource } from '@costspan/pricing';
import { CliError } from './cli-error.js';

/** One `--reprice from=to` mapping: calls of `from` are re-priced as `to`. */
export interface RepriceMapping {
  from: string;
  to: string;
}

/** What a what-if report re-prices with; see {@link WhatIfAggregator}. */
export interface WhatIfOptions {
  /** Model substitutions; `from` matches the event's `model.name` case-insensitively. */
  mappings: readonly RepriceMapping[];
  /** `YYYY-MM-DD`: price every call as if it had been made on that UTC day (same time of day). */
  priceDate?: string;
  /** Price files read (for the record in the output). */
  priceFiles: readonly string[];
  /** Prices from the files, winning over the table on the names they match. */
  customPrices: readonly CustomModelPrice[];
}

/**
 * Parses `--reprice` values: each is `from=to` or a comma list of them.
 *
 * @throws CliError `usage` for an empty side, or one model mapped to two targets
 */
export function parseRepriceMappings(values: readonly string[]): RepriceMapping[] {
  const mappings: RepriceMapping[] = [];
  for (const value of values) {
    for (const part of value.split(',')) {
      const text = part.trim();
      if (text === '') continue;
      const equals = text.indexOf('=');
      const from = equals === -1 ? '' : text.slice(0, equals).trim();
      const to = equals === -1 ? '' : text.slice(equals + 1).trim();
      if (from === '' || to === '') {
        throw new CliError({ code: 'usage', message: `--reprice takes from=to (e.g. gpt-4o=gpt-4o-mini); got ${JSON.stringify(text)}` });
      }
      const existing = mappings.find((mapping) => mapping.from.toLowerCase() === from.toLowerCase());
      if (existing !== undefined && existing.to !== to) {
        throw new CliError({ code: 'usage', message: `--reprice maps ${from} twice (to ${existing.to} and to ${to}); give one target` });
      }
      if (existing === undefined) mappings.push({ from, to });
    }
  }
  return mappings;
}

/**
 * Parses `--price-date YYYY-MM-DD` (a real calendar day).
 *
 * @throws CliError `usage` for anything else
 */
export function parsePriceDate(text: string): string {
  const time = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== text) {
    throw new CliError({ code: 'usage', message: `--price-date must be a day (2026-03-01); got ${JSON.stringify(text)}` });
  }
  return text;
}

/**
 * Reads a price file: a JSON array of custom prices, or `{ "prices": [...] }`, each entry a
 * `CustomModelPrice` of `@costspan/pricing` (`model`, `inputPerMillion`, `outputPerMillion`, ...).
 *
 * @throws CliError `input_not_found` / `input_error` for a missing, unreadable or malformed file
 */
export async function readPriceFile(path: string): Promise<CustomModelPrice[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'input_not_found' : 'input_error';
    throw new CliError({ code, message: `--prices ${path}: ${(error as Error).message}`, cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError({ code: 'input_error', message: `--prices ${path}: not JSON: ${(error as Error).message}`, cause: error });
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { prices?: unknown } | null)?.prices;
  if (!Array.isArray(list)) {
    throw new CliError({
      code: 'input_error',
      message: `--prices ${path}: expected an array of prices or {"prices": [...]} with model, inputPerMillion and outputPerMillion`,
    });
  }
  return list as CustomModelPrice[];
}

/**
 * The price source of a what-if report: the bundled table with the price files' entries on top.
 * Checks that every `--reprice` target has a price, so a typo fails up front instead of
 * listing every call as not re-priced.
 *
 * @throws CliError `usage` for an invalid price entry or a target model nothing prices
 */
export function createWhatIfPriceSource(options: WhatIfOptions): PriceSource {
  let source: PriceSource;
  try {
    source = createDefaultPriceSource({ customPrices: options.customPrices });
  } catch (error) {
    if (error instanceof CostspanError) throw new CliError({ code: 'usage', message: `--prices: ${error.message}`, cause: error });
    throw error;
  }
  const timestamp = options.priceDate === undefined ? Date.now() : Date.parse(`${options.priceDate}T12:00:00Z`);
  for (const mapping of options.mappings) {
    const result = source.price({ model: mapping.to, usage: { input: 1, output: 1 }, timestamp });
    if (result.status === 'unpriced' && result.code !== 'no_price_in_force') {
      throw new CliError({
        code: 'usage',
        message: `--reprice ${mapping.from}=${mapping.to}: no price for ${mapping.to} (${result.reason}); check the name or give it a price with --prices FILE`,
      });
    }
  }
  return source;
}
