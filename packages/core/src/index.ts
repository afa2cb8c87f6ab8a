export { CostspanError, describeValue, invalidInput } from './costspan-error.js';
export type { CostspanErrorCode, CostspanErrorOptions } from './costspan-error.js';
export { MAX_TIMER_MILLIS, integerOption, millisecondsOption } from './numeric-option.js';
export { PICO_PER_USD, formatPico, formatUsd, parseUsd, picoToUsd, priceTokens, scalePico, usdToPico } from './money.js';
export type { NumericOptionBounds } from './numeric-option.js';
export type { PicoUsd } from './money.js';
