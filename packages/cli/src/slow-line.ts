// What the scanner needs for lines the fast path does not take, loaded on the first such line
// (see read-events.ts): the SDK's validation and the collector-line reader, which loads it too.
export { COST_EVENT_TYPES, validateCostEvent } from '@costspan/sdk';
export { isOtherOtlpRequest, isOtlpLogsRequest, otlpLineContents } from './otlp-records.js';
