/**
 * Name and exact version of the bundled price data: `@pydantic/genai-prices@0.1.8`.
 * Written into every table-priced `PricingTier` as `data_source`, so a figure can be
 * re-derived from the same data later. A unit test keeps it equal to the installed version.
 */
export const PRICING_DATA_VERSION: string = '@pydantic/genai-prices@0.1.8';
