export type {
  CostBreakdownPico,
  PriceRequest,
  PriceResult,
  PriceSource,
  PricedCall,
  PricingTier,
  TokenUsage,
  UnpricedCall,
} from './price-source.js';
