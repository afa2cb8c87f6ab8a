export { CostspanError, describeValue, invalidInput } from './costspan-error.js';
export type { CostspanErrorCode, CostspanErrorOptions } from './costspan-error.js';
export { PICO_PER_USD, formatPico, formatUsd, parseUsd, picoToUsd, priceTokens, scalePico, usdToPico } from './money.js';
export type { PicoUsd } from './money.js';
