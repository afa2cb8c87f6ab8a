export type {
  CostBreakdownPico,
  PriceRequest,
  PriceResult,
  PriceSource,
  PricedCall,
  PricingTier,
  TokenUsage,
  UnpricedCall,
  UnpricedCode,
} from './price-source.js';
export type { UnknownModelHandler } from './bounded-memo.js';
export { GenAiPriceSource } from './genai-price-source.js';
export type { GenAiPriceSourceOptions, PriceMultiplier } from './genai-price-source.js';
export { CustomPriceSource } from './custom-price-source.js';
export type { CustomModelPrice, CustomPriceSourceOptions, CustomPriceTier } from './custom-price-source.js';
export { CompositePriceSource, DefaultPriceSource, createDefaultPriceSource } from './composite-price-source.js';
export type { CompositePriceSourceOptions, DefaultPriceSourceOptions } from './composite-price-source.js';
export { normalizeUsage } from './normalize-usage.js';
export type { RawUsage, UsageStyle } from './normalize-usage.js';
export { NON_OPENAI_SAFETY_FACTOR, estimateCost, estimateTokens } from './estimate.js';
export type { CostEstimate, EstimateCostOptions, EstimateInput, EstimateMessage, EstimateTokensOptions } from './estimate.js';
export { costFromTotal, totalCost } from './total-cost.js';
export { PRICING_DATA_VERSION } from './pricing-data-version.js';
export { DEFAULT_SERVICE_TIER_MULTIPLIERS } from './service-tier.js';
export type { ServiceTierMultipliers } from './service-tier.js';
