import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { CostspanError } from '@costspan/core';
import { canonicalJson, type CostEvent } from './cost-event.js';

/** Options of {@link EventSigner}. */
export interface EventSignerOptions {
  /**
   * HMAC key. Default: the `COSTSPAN_SIGNING_KEY` environment variable (read by
   * {@link EventSigner.fromEnvironment} and by `CostSpanProcessor`). It is held as
   * a `KeyObject` and never written to events, messages or `util.inspect` output.
   */
  key: string | Uint8Array;
}

const SIGNED_FIELDS = new Set(['checksum', 'signature', 'prev_id']);

/**
 * `sha256:` + hex SHA-256 of the canonical JSON of an event payload: the
 * `checksum` envelope field.
 */
export function payloadChecksum(payload: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(payload), 'utf8').digest('hex')}`;
}

/**
 * `hmac-sha256:` + hex HMAC-SHA-256 over `event_id|checksum|prev_id` (an empty
 * `prev_id` for the first event of a chain): the `signature` envelope field.
 */
export function eventSignature(key: KeyObject, eventId: string, checksum: string, prevId: string): string {
  return `hmac-sha256:${createHmac('sha256', key).update(`${eventId}|${checksum}|${prevId}`, 'utf8').digest('hex')}`;
}

/** Compares two signatures in constant time. */
export function signaturesEqual(left: string, right: string): boolean {
  const a = Buffer.from(left, 'utf8');
  const b = Buffer.from(right, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Turns a key given as text or bytes into a secret `KeyObject`.
 *
 * @throws CostspanError `invalid_argument` for a missing, non-string or empty key (the key itself is never in the message)
 */
export function createSigningKey(key: string | Uint8Array): KeyObject {
  // Called from JavaScript or with an unset variable, `key` can be anything: refuse it by name, never with a raw TypeError.
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) {
    throw new CostspanError({
      code: 'invalid_argument',
      field: 'signingKey',
      message: `signingKey must be a non-empty string or Uint8Array; got ${key === null ? 'null' : typeof key}`,
    });
  }
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  if (bytes.length === 0) {
    throw new CostspanError({ code: 'invalid_argument', field: 'signingKey', message: 'signingKey must not be empty' });
  }
  return createSecretKey(bytes);
}

/**
 * Signs cost events into a tamper-evident chain, as spanforge does: each event
 * gets `checksum` (SHA-256 of its canonical payload), `prev_id` (the id of the
 * event signed before it; left out on the first) and `signature` (HMAC-SHA-256
 * over `event_id|checksum|prev_id`). A changed payload breaks the checksum, a
 * changed id or link breaks the signature, and a removed or reordered event
 * breaks the chain. `costspan verify` checks all three.
 *
 * The signed event is a new object whose keys stay in sorted order, so the
 * canonical serialiser keeps its native fast path.
 *
 * @example
 * ```ts
 * const processor = new CostSpanProcessor({ signingKey: process.env.AUDIT_KEY });
 * // or set COSTSPAN_SIGNING_KEY and pass nothing
 * ```
 */
export class EventSigner {
  readonly #key: KeyObject;
  #previousId = '';

  constructor(options: EventSignerOptions) {
    this.#key = createSigningKey(options.key);
  }

  /** A signer keyed by `COSTSPAN_SIGNING_KEY`, or `undefined` when it is unset or empty. */
  static fromEnvironment(environment: NodeJS.ProcessEnv = process.env): EventSigner | undefined {
    const key = environment.COSTSPAN_SIGNING_KEY;
    return key === undefined || key === '' ? undefined : new EventSigner({ key });
  }

  /** Returns a signed copy of `event`, chained to the event signed before it. */
  sign<Event extends CostEvent>(event: Event): Event {
    const checksum = payloadChecksum(event.payload);
    const prevId = this.#previousId;
    const added: Record<string, string> = { checksum, signature: eventSignature(this.#key, event.event_id, checksum, prevId) };
    if (prevId !== '') added.prev_id = prevId;
    const keys = Object.keys(event).filter((key) => !SIGNED_FIELDS.has(key));
    keys.push(...Object.keys(added));
    keys.sort();
    const signed: Record<string, unknown> = {};
    for (const key of keys) signed[key] = Object.hasOwn(added, key) ? added[key] : event[key];
    this.#previousId = event.event_id;
    return signed as Event;
  }

  /** Keeps the key out of logs: `util.inspect` and `JSON.stringify` show no key material. */
  toJSON(): { type: string } {
    return { type: 'EventSigner' };
  }
}
