import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { CostspanError, invalidInput } from '@costspan/core';
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

/** Envelope fields the signer writes; the whole-event signature covers every other field and `checksum`/`prev_id`. */
const SIGNATURE_FIELDS = new Set(['signature', 'costspan_signature']);
const SIGNED_FIELDS = new Set(['checksum', 'signature', 'prev_id', 'costspan_signature']);

/**
 * Renders a JSON value exactly as spanforge's Python renders the same event
 * line for its checksum: `json.dumps(value, sort_keys=True, separators=(",", ":"),
 * ensure_ascii=False)` of the value Python parses from costspan's JSON text.
 *
 * Numbers are where the two languages differ. A number costspan writes without
 * `.` or `e` (`10`) is an int to Python and stays `10`; any other is a float and
 * takes Python's `repr`: the same shortest round-trip digits as JavaScript, but in
 * exponent form when the exponent is below -4 or at least 16, with a signed,
 * two-digit-minimum exponent (`1.35e-05`, `1e+16`), and `.0` on integral values.
 * Keys sort by code point, as Python's `sort_keys` does. Strings are escaped as
 * `JSON.stringify` escapes them, which is what `ensure_ascii=False` does for
 * well-formed text.
 *
 * @throws CostspanError `invalid_event` for NaN, infinities, bigints and other non-JSON values
 */
export function spanforgeJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return pythonNumber(value);
    case 'object':
      break;
    default:
      throw invalidInput('invalid_event', 'payload', value, 'JSON-serialisable');
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    const items = (value as unknown[]).map((item) => (item === undefined ? 'null' : spanforgeJson(item)));
    return `[${items.join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort(compareCodePoints)) {
    const item = record[key];
    if (item !== undefined) parts.push(`${JSON.stringify(key)}:${spanforgeJson(item)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Python's rendering of the number that JavaScript writes as `String(value)`. */
function pythonNumber(value: number): string {
  if (!Number.isFinite(value)) throw invalidInput('invalid_event', 'payload', value, 'a finite number');
  const text = String(value);
  // Written without `.` or `e`: Python reads an int and writes it back digit for digit.
  if (/^-?\d+$/.test(text)) return text;
  // toExponential() without digits gives the shortest round-trip digits, as repr() uses.
  const [mantissa = '', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  let fixed: string;
  if (exponent < 0) {
    fixed = `0.${'0'.repeat(-exponent - 1)}${digits}`;
  } else if (digits.length > exponent + 1) {
    fixed = `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
  } else {
    fixed = `${digits.padEnd(exponent + 1, '0')}.0`;
  }
  return negative ? `-${fixed}` : fixed;
}

/** Orders strings by Unicode code point (Python), not UTF-16 code unit (JavaScript's default). */
function compareCodePoints(left: string, right: string): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index += 1) {
    const a = left.charCodeAt(index);
    const b = right.charCodeAt(index);
    if (a === b) continue;
    // Only surrogates (U+D800..DFFF, the halves of code points above U+FFFF) sort differently.
    if (a >= 0xd800 && a <= 0xdfff && !(b >= 0xd800 && b <= 0xdfff) && b >= 0xe000) return 1;
    if (b >= 0xd800 && b <= 0xdfff && !(a >= 0xd800 && a <= 0xdfff) && a >= 0xe000) return -1;
    return a - b;
  }
  return left.length - right.length;
}

/**
 * `sha256:` + hex SHA-256 of the payload as spanforge's Python renders it
 * ({@link spanforgeJson}): the `checksum` envelope field, which spanforge's own
 * `verify_chain` recomputes.
 */
export function payloadChecksum(payload: unknown): string {
  return `sha256:${createHash('sha256').update(spanforgeJson(payload), 'utf8').digest('hex')}`;
}

/**
 * The `checksum` as costspan 0.1 computed it: SHA-256 of the payload's canonical
 * JSON in JavaScript's number rendering (`0.0000135` where Python writes
 * `1.35e-05`). Verifiers accept it on events without `costspan_signature`, so
 * files signed before the change still verify; spanforge's `verify_chain`
 * rejects such events whenever the payload has an amount below 1e-4.
 */
export function legacyPayloadChecksum(payload: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(payload), 'utf8').digest('hex')}`;
}

/**
 * `hmac-sha256:` + hex HMAC-SHA-256 over `event_id|checksum|prev_id` (an empty
 * `prev_id` for the first event of a chain): the `signature` envelope field.
 */
export function eventSignature(key: KeyObject, eventId: string, checksum: string, prevId: string): string {
  return `hmac-sha256:${createHmac('sha256', key).update(`${eventId}|${checksum}|${prevId}`, 'utf8').digest('hex')}`;
}

/**
 * `hmac-sha256:` + hex HMAC-SHA-256 over the whole event without `signature`
 * and `costspan_signature`, rendered by {@link spanforgeJson}: the
 * `costspan_signature` envelope field. Unlike spanforge's `signature`, it
 * covers `actor_id`, `org_id`, `team_id`, `tags`, `timestamp`, `checksum`,
 * `prev_id` and every other envelope field, so cost cannot be moved to
 * another principal undetected.
 */
export function wholeEventSignature(key: KeyObject, event: Readonly<Record<string, unknown>>): string {
  const body: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const field of Object.keys(event)) if (!SIGNATURE_FIELDS.has(field)) body[field] = event[field];
  return `hmac-sha256:${createHmac('sha256', key).update(spanforgeJson(body), 'utf8').digest('hex')}`;
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
 * Signs cost events into a tamper-evident chain in spanforge's format: each
 * event gets `checksum` (SHA-256 of its payload as spanforge's Python renders
 * it, so spanforge's `verify_chain` accepts it), `prev_id` (the id of the event
 * signed before it; left out on the first) and `signature` (HMAC-SHA-256 over
 * `event_id|checksum|prev_id`). spanforge's signature leaves the rest of the
 * envelope (principal, tags, timestamp) uncovered, so each event also gets
 * `costspan_signature`, an HMAC over the whole event (see
 * {@link wholeEventSignature}); spanforge readers keep it as an unknown field.
 * A changed payload breaks the checksum, a changed id, link, principal or any
 * other field breaks a signature, and a removed or reordered event breaks the
 * chain. `costspan verify` checks them all.
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
  private readonly key: KeyObject;
  private previousId = '';

  constructor(options: EventSignerOptions) {
    this.key = createSigningKey(options.key);
  }

  /** A signer keyed by `COSTSPAN_SIGNING_KEY`, or `undefined` when it is unset or empty. */
  static fromEnvironment(environment: NodeJS.ProcessEnv = process.env): EventSigner | undefined {
    const key = environment.COSTSPAN_SIGNING_KEY;
    return key === undefined || key === '' ? undefined : new EventSigner({ key });
  }

  /** Returns a signed copy of `event`, chained to the event signed before it. */
  sign<Event extends CostEvent>(event: Event): Event {
    const checksum = payloadChecksum(event.payload);
    const prevId = this.previousId;
    const added: Record<string, string> = { checksum, signature: eventSignature(this.key, event.event_id, checksum, prevId) };
    if (prevId !== '') added.prev_id = prevId;
    const keys = Object.keys(event).filter((key) => !SIGNED_FIELDS.has(key));
    keys.push(...Object.keys(added), 'costspan_signature');
    keys.sort();
    // Null prototype: an envelope key such as `__proto__` is copied as data, never as a prototype.
    const signed = Object.create(null) as Record<string, unknown>;
    for (const key of keys) if (key !== 'costspan_signature') signed[key] = Object.hasOwn(added, key) ? added[key] : event[key];
    const wholeSignature = wholeEventSignature(this.key, signed);
    // Rebuilt in sorted order with the last field in its place, so the canonical serialiser keeps its fast path.
    const ordered: Record<string, unknown> = {};
    for (const key of keys)
      Object.defineProperty(ordered, key, {
        value: key === 'costspan_signature' ? wholeSignature : signed[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    this.previousId = event.event_id;
    return ordered as Event;
  }

  /** Keeps the key out of logs: `util.inspect` and `JSON.stringify` show no key material. */
  toJSON(): { type: string } {
    return { type: 'EventSigner' };
  }
}
