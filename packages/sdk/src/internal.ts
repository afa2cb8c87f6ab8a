/**
 * `@costspan/sdk/internal`: what costspan's sibling packages share with the SDK. Not part of
 * the public API: names here can change in any release.
 */
export { notice, resetNotices } from './notice.js';
export { legacyPayloadChecksum } from './events/event-signer.js';
