// The CLI's money helpers: the wire-to-totals decoding is the SDK's own (one owner, shared with
// CostTracker); the pico arithmetic on wire amounts lives in wire-pico.ts, which loads no SDK.
export { addWireCall } from '@costspan/sdk/internal';
export { ratioPico, wireToPico } from './wire-pico.js';
