import { BoundedMemo, DEFAULT_CACHE_SIZE, UnknownModelNotifier, type UnknownModelHandler } from './bounded-memo.js';
import { CustomPriceSource, type CustomModelPrice } from './custom-price-source.js';
import { GenAiPriceSource, type PriceMultiplier } from './genai-price-source.js';
import { canonicalProvider, nameCandidates } from './model-name.js';
import type { PriceRequest, PriceResult, PriceSource, UnpricedCall } from './price-source.js';
import { priceResolved, requestKey, unpriced, type ResolvedModel } from './rate-card.js';
import { compileServiceTierMultipliers, servedTier, tierFactor, withTier, type ServiceTierMultipliers } from './service-tier.js';

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
  private readonly sources: readonly PriceSource[];
  private readonly notifier: UnknownModelNotifier;

  constructor(sources: readonly PriceSource[], options: CompositePriceSourceOptions = {}) {
    this.sources = [...sources];
    this.notifier = new UnknownModelNotifier(options.onUnknownModel);
  }

  /** Prices one call with the first source that can. Never throws. */
  price(request: PriceRequest): PriceResult {
    let best: UnpricedCall | undefined;
    for (const source of this.sources) {
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
        this.notifier.notify(request.model, typeof request.provider === 'string' ? request.provider : undefined);
      }
    }
    return best;
  }
}

/** Options of {@link createDefaultPriceSource}. */
export interface DefaultPriceSourceOptions {
  /** Prices to register up front; they win over the table on the same name. See {@link CustomModelPrice} and {@link DefaultPriceSource}. */
  customPrices?: readonly CustomModelPrice[];
  /** Discounts on table prices (negotiated, batch, flex); see {@link PriceMultiplier}. */
  multipliers?: readonly PriceMultiplier[];
  /**
   * Factors by the service tier that served a call (`PriceRequest.serviceTier`), applied to
   * custom and table prices alike, e.g. `{ flex: 0.5, priority: 2 }`. Default
   * {@link DEFAULT_SERVICE_TIER_MULTIPLIERS} (`flex` and `batch` at half price); `{}` prices
   * every tier at the standard rates. A tier without a factor is priced at the standard rates
   * and the result says so (`serviceTierApplied: false`).
   */
  serviceTierMultipliers?: ServiceTierMultipliers;
  /** Called once per (provider, model) nothing could price; see {@link CompositePriceSourceOptions}. */
  onUnknownModel?: UnknownModelHandler;
  /** Maximum number of memoised (provider, model) resolutions per source. Default 2048. */
  cacheSize?: number;
  /** `data_source` label for table prices; see {@link GenAiPriceSourceOptions}. */
  dataSource?: string;
}

const NO_TIER_PRICE: UnpricedCall = unpriced('unknown_model', 'no custom price registered for this service tier');

/**
 * What a (provider, model) name resolves to across both sources: the entries to try in order
 * (custom ones may not be in force yet at a call's timestamp; a table entry always is), and
 * what to answer when none prices the call.
 */
interface NameResolution {
  readonly entries: readonly ResolvedModel[];
  readonly miss: UnpricedCall;
}

/**
 * What {@link createDefaultPriceSource} returns: your custom prices and the genai-prices table,
 * with {@link DefaultPriceSource.register} to add prices at any time.
 *
 * The most specific name wins across the two sources: the name candidates (the name as given,
 * then without provider prefix, then without date suffix, ...) are tried in order, each against
 * the custom prices and then the table. So a custom `gpt-4o` prices `gpt-4o`, `openai/gpt-4o`
 * and every name the table itself resolves to its `gpt-4o` entry (`gpt-4o-2024-08-06`), but not
 * `gpt-4o-2024-05-13`, which the table prices under its own dated entry; register that name to
 * override it. On the same name, a custom price beats the table.
 */
export class DefaultPriceSource extends CompositePriceSource {
  /** The custom prices; on the same name they win over the table. */
  readonly custom: CustomPriceSource;
  /** The genai-prices table. */
  readonly table: GenAiPriceSource;
  private readonly memo: BoundedMemo<NameResolution>;
  private readonly unknownModelNotifier: UnknownModelNotifier;
  private readonly serviceTiers: ReadonlyMap<string, number | string>;
  private customRevision: number;
  private tableRevision: number;

  constructor(options: DefaultPriceSourceOptions = {}) {
    const custom = new CustomPriceSource({
      ...(options.customPrices === undefined ? {} : { prices: options.customPrices }),
      ...(options.cacheSize === undefined ? {} : { cacheSize: options.cacheSize }),
      ...(options.serviceTierMultipliers === undefined ? {} : { serviceTierMultipliers: options.serviceTierMultipliers }),
    });
    const table = new GenAiPriceSource({
      ...(options.cacheSize === undefined ? {} : { cacheSize: options.cacheSize }),
      ...(options.multipliers === undefined ? {} : { multipliers: options.multipliers }),
      ...(options.dataSource === undefined ? {} : { dataSource: options.dataSource }),
      ...(options.serviceTierMultipliers === undefined ? {} : { serviceTierMultipliers: options.serviceTierMultipliers }),
    });
    super([custom, table]);
    this.serviceTiers = compileServiceTierMultipliers(options.serviceTierMultipliers);
    this.custom = custom;
    this.table = table;
    this.memo = new BoundedMemo(options.cacheSize ?? DEFAULT_CACHE_SIZE);
    this.unknownModelNotifier = new UnknownModelNotifier(options.onUnknownModel);
    this.customRevision = custom.revision;
    this.tableRevision = table.revision;
  }

  /**
   * Prices one call: the entry of the most specific name either source knows (see the class
   * doc). Never throws.
   */
  override price(request: PriceRequest): PriceResult {
    try {
      const key = requestKey(request);
      if ('status' in key) return key;
      // Prices registered on `custom` directly, or a `table.clearCache()`, make the memo stale.
      if (this.custom.revision !== this.customRevision || this.table.revision !== this.tableRevision) {
        this.memo.clear();
        this.customRevision = this.custom.revision;
        this.tableRevision = this.table.revision;
      }
      const { model, provider, providerKey } = key;
      const tier = servedTier(request);
      if (tier !== undefined && this.custom.hasTierPrices(tier)) {
        // Prices registered for the served tier win over the tier's factor on the standard prices.
        const tiered = this.memo.getOrResolve(`${providerKey}\u0000${tier}`, model, () => this.resolveTier(model, provider, tier));
        for (const entry of tiered.entries) {
          const result = priceResolved(entry, request.usage, request.timestamp, request.multiplier);
          if (result !== undefined) return withTier(result, true);
        }
      }
      const factor = tierFactor(request, this.serviceTiers);
      if ('status' in factor) return factor;
      const resolution = this.memo.getOrResolve(providerKey, model, () => this.resolve(model, provider));
      for (const entry of resolution.entries) {
        // undefined: a custom price not in force yet at this timestamp; the next entry decides.
        const result = priceResolved(entry, request.usage, request.timestamp, factor.factor);
        if (result !== undefined) return withTier(result, factor.applied);
      }
      if (resolution.miss.code === 'unknown_model') this.unknownModelNotifier.notify(model, provider);
      return resolution.miss;
    } catch (error) {
      return unpriced('source_error', `pricing failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** The custom prices registered for `tier`, most specific name first (the table has no tier prices). */
  private resolveTier(model: string, provider: string | undefined, tier: string): NameResolution {
    const requestProvider = canonicalProvider(provider);
    const entries: ResolvedModel[] = [];
    for (const candidate of nameCandidates(model, provider)) {
      const entry = this.custom.resolveCandidate(candidate, requestProvider, tier);
      if (entry !== undefined && !entries.some((existing) => existing.periods === entry.periods)) entries.push(entry);
    }
    return { entries, miss: NO_TIER_PRICE };
  }

  private resolve(model: string, provider: string | undefined): NameResolution {
    const requestProvider = canonicalProvider(provider);
    const entries: ResolvedModel[] = [];
    const addCustom = (entry: ResolvedModel | undefined): void => {
      // The same registration can match several candidates; trying it twice changes nothing.
      if (entry !== undefined && !entries.some((existing) => existing.periods === entry.periods)) entries.push(entry);
    };
    let tableMiss: UnpricedCall | undefined;
    for (const candidate of nameCandidates(model, provider)) {
      addCustom(this.custom.resolveCandidate(candidate, requestProvider));
      // After the table's first hit it has nothing more to say (genai-prices answers the first match).
      if (tableMiss !== undefined) continue;
      const table = this.table.resolveCandidate(model, provider, candidate);
      if (table === undefined) continue;
      if ('status' in table) {
        // Known to the table but not priced per token: a custom price on a later name may still price it.
        tableMiss = table;
        continue;
      }
      // The table resolved this name to one of its entries (`gpt-4o-2024-08-06` → `gpt-4o`):
      // a custom price registered under that entry's own name is the price of this name.
      if (table.model.toLowerCase() !== candidate.model) {
        addCustom(this.custom.resolveCandidate({ provider: table.system, model: table.model.toLowerCase() }, requestProvider));
      }
      entries.push(table);
      // A table entry always has a period in force, so nothing after it is ever reached.
      return { entries, miss: tableMiss ?? this.table.unknown(model, provider) };
    }
    const miss =
      tableMiss ??
      (entries.length > 0
        ? unpriced('no_price_in_force', `no custom price for model "${model}" in force at the call's timestamp, and the table has none`)
        : this.table.unknown(model, provider));
    return { entries, miss };
  }

  /**
   * Registers prices for a model; they win over the table from their `startDate` on, for that
   * name and any less specific form of a name (see the class doc).
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
 * Creates the price source costspan uses by default: custom prices and
 * `@pydantic/genai-prices` (offline data; never updated behind your back), the most specific
 * name winning across the two (see {@link DefaultPriceSource}).
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
