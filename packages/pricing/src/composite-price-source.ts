import { UnknownModelNotifier, type UnknownModelHandler } from './bounded-memo.js';
import { CustomPriceSource, type CustomModelPrice } from './custom-price-source.js';
import { GenAiPriceSource, type PriceMultiplier } from './genai-price-source.js';
import type { PriceRequest, PriceResult, PriceSource, UnpricedCall } from './price-source.js';
import { unpriced } from './rate-card.js';

/** Options of {@link CompositePriceSource}. */
export interface CompositePriceSourceOptions {
  /**
   * Called once per (provider, model) that no source could price, with the model and provider as
   * the caller wrote them; the place for the SDK's `diag.warn`. Errors it throws are swallowed.
   */
  onUnknownModel?: UnknownModelHandler;
}

// Lower is more informative: a request error beats "unknown model". On a tie the later source's
// reason wins (the table names the data version; the custom source only says it has no entry).
const UNPRICED_RANK: Record<string, number> = {
  invalid_request: 0,
  invalid_usage: 1,
  source_error: 2,
  no_token_prices: 3,
  no_price_in_force: 4,
  unknown_model: 5,
};

/**
 * Asks several price sources in order; the first that prices the call wins. When none does,
 * returns the most informative `unpriced` result and, if every source said `unknown_model`,
 * calls `onUnknownModel` once per (provider, model). Never throws, even if a source does.
 *
 * @example
 * ```ts
 * const source = new CompositePriceSource([myCustomSource, new GenAiPriceSource()], {
 *   onUnknownModel: (model, provider) => diag.warn(`costspan: no price for ${provider}/${model}`),
 * });
 * ```
 */
export class CompositePriceSource implements PriceSource {
  readonly #sources: readonly PriceSource[];
  readonly #notifier: UnknownModelNotifier;

  constructor(sources: readonly PriceSource[], options: CompositePriceSourceOptions = {}) {
    this.#sources = [...sources];
    this.#notifier = new UnknownModelNotifier(options.onUnknownModel);
  }

  /** Prices one call with the first source that can. Never throws. */
  price(request: PriceRequest): PriceResult {
    let best: UnpricedCall | undefined;
    for (const source of this.#sources) {
      let result: PriceResult;
      try {
        result = source.price(request);
      } catch (error) {
        result = unpriced('source_error', `price source failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (result.status === 'priced') return result;
      if (
        best === undefined ||
        (UNPRICED_RANK[result.code ?? 'unknown_model'] ?? 5) <= (UNPRICED_RANK[best.code ?? 'unknown_model'] ?? 5)
      ) {
        best = result;
      }
    }
    if (best === undefined) return unpriced('unknown_model', 'no price source configured');
    if ((best.code ?? 'unknown_model') === 'unknown_model' && typeof request === 'object' && request !== null) {
      if (typeof request.model === 'string') {
        this.#notifier.notify(request.model, typeof request.provider === 'string' ? request.provider : undefined);
      }
    }
    return best;
  }
}

/** Options of {@link createDefaultPriceSource}. */
export interface DefaultPriceSourceOptions {
  /** Prices to register up front; they win over the table. See {@link CustomModelPrice}. */
  customPrices?: readonly CustomModelPrice[];
  /** Discounts on table prices (negotiated, batch, flex); see {@link PriceMultiplier}. */
  multipliers?: readonly PriceMultiplier[];
  /** Called once per (provider, model) nothing could price; see {@link CompositePriceSourceOptions}. */
  onUnknownModel?: UnknownModelHandler;
  /** Maximum number of memoised (provider, model) resolutions per source. Default 2048. */
  cacheSize?: number;
  /** `data_source` label for table prices; see {@link GenAiPriceSourceOptions}. */
  dataSource?: string;
}

/**
 * What {@link createDefaultPriceSource} returns: your custom prices first, then the
 * genai-prices table, with {@link DefaultPriceSource.register} to add prices at any time.
 */
export class DefaultPriceSource extends CompositePriceSource {
  /** The custom prices, consulted first. */
  readonly custom: CustomPriceSource;
  /** The genai-prices table, consulted second. */
  readonly table: GenAiPriceSource;

  constructor(options: DefaultPriceSourceOptions = {}) {
    const custom = new CustomPriceSource({
      ...(options.customPrices === undefined ? {} : { prices: options.customPrices }),
      ...(options.cacheSize === undefined ? {} : { cacheSize: options.cacheSize }),
    });
    const table = new GenAiPriceSource({
      ...(options.cacheSize === undefined ? {} : { cacheSize: options.cacheSize }),
      ...(options.multipliers === undefined ? {} : { multipliers: options.multipliers }),
      ...(options.dataSource === undefined ? {} : { dataSource: options.dataSource }),
    });
    super([custom, table], options.onUnknownModel === undefined ? {} : { onUnknownModel: options.onUnknownModel });
    this.custom = custom;
    this.table = table;
  }

  /**
   * Registers prices for a model; they win over the table from their `startDate` on.
   *
   * @throws CostspanError for invalid prices (see {@link CustomPriceSource.register})
   */
  register(price: CustomModelPrice): this {
    this.custom.register(price);
    return this;
  }

  /** Forgets memoised table resolutions (after you replaced the data with genai-prices' `updatePrices`). */
  clearCache(): void {
    this.table.clearCache();
  }
}

/**
 * Creates the price source costspan uses by default: custom prices first, then
 * `@pydantic/genai-prices` (offline data; never updated behind your back).
 *
 * @example
 * ```ts
 * const prices = createDefaultPriceSource({
 *   customPrices: [{ model: 'acme-llm', inputPerMillion: 1, outputPerMillion: 3 }],
 *   onUnknownModel: (model, provider) => diag.warn(`no price for ${provider ?? '?'}/${model}`),
 * });
 * prices.price({ model: 'gpt-4o', provider: 'openai', usage: { input: 1000, output: 500 }, timestamp: Date.now() });
 * ```
 */
export function createDefaultPriceSource(options: DefaultPriceSourceOptions = {}): DefaultPriceSource {
  return new DefaultPriceSource(options);
}
