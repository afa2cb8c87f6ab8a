/**
 * `@costspan/sdk/internal`: what costspan's sibling packages share with the SDK. Not part of
 * the public API: names here can change in any release.
 */
export { notice, resetNotices } from './notice.js';
export { legacyPayloadChecksum } from './events/event-signer.js';
export { INCLUSIVE_PREFIX, INVOKE_AGENT, OWN_PREFIX } from './attributes.js';
export { createEventIdGenerator, formatEventTimestamp, parseEventTimestamp, validateSource } from './events/cost-event.js';
export {
  addCall,
  addWireCall,
  addWireCost,
  emptyTotals,
  toCostBreakdownWire,
  toTokenUsageWire,
  totalsToAttributes,
} from './processing/cost-totals.js';
export { eventSignature, payloadChecksum, signaturesEqual, spanforgeJson, wholeEventSignature } from './events/event-signer.js';
export { attributionTargets, validatePrincipal } from './tracing/principal.js';
export { countUsageMissing, openCall, type OpenCall, type UsageMissingCall } from './tracing/span-state.js';
export { validateCost, validateName, validateTokenUsage } from './tracing/usage-input.js';
export { eventsOfEncodedLines } from './export/event-pipeline-support.js';
export { SDK_NAME, SDK_VERSION } from './version.js';
