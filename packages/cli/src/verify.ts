import type { KeyObject } from 'node:crypto';
import { type CostEvent } from '@costspan/sdk';
import { eventSignature, payloadChecksum, signaturesEqual, wholeEventSignature } from '@costspan/sdk/internal';
import { legacyPayloadChecksum } from '@costspan/sdk/internal';
import type { LineLocation } from './read-events.js';

/** What is wrong with an event. */
export type VerifyFindingKind =
  'tampered' | 'bad_signature' | 'envelope_changed' | 'signature_removed' | 'missing_or_reordered' | 'reordered' | 'duplicate' | 'unsigned';

/** One problem found by {@link ChainVerifier}. */
export interface VerifyFinding extends LineLocation {
  kind: VerifyFindingKind;
  eventId: string;
  message: string;
}

/** Options of {@link ChainVerifier}. */
export interface ChainVerifierOptions {
  /** HMAC key; without it checksums and links are checked but signatures are not. */
  key?: KeyObject;
  /**
   * Report events without `checksum`/`signature` as findings. Default: true when
   * a key is given (an unsigned line appended to a signed file is how a cost
   * would be forged), false without one.
   */
  requireSigned?: boolean;
  /** Findings kept (all are counted). Default 20. */
  maxFindings?: number;
}

/** Counters of a verification. */
export interface VerifySummary {
  events: number;
  signed: number;
  unsigned: number;
  /** Chains seen: one per signing process (each starts with an event without `prev_id`). */
  chains: number;
  signaturesChecked: boolean;
  /** Signed events that carry `costspan_signature` (the whole event signed). */
  wholeSigned: number;
  /** Signed events in costspan 0.1's format, without `costspan_signature`: their principal, tags and timestamp are covered by no signature. */
  legacySigned: number;
  /** Events whose `checksum` is in costspan 0.1's number rendering (accepted; spanforge's `verify_chain` rejects them). */
  legacyChecksums: number;
  findingCount: number;
  findings: VerifyFinding[];
}

const RECENT_IDS = 100_000;
const MAX_CHAINS = 10_000;

/**
 * Checks signed cost events in file order, one at a time, in bounded memory:
 * the `checksum` must match the payload (else the payload was tampered with),
 * the `signature` must be the HMAC of `event_id|checksum|prev_id` under the key
 * (else the id or link was changed, or the key is wrong), `costspan_signature`
 * must be the HMAC of the whole event (else a principal, tag, timestamp or
 * other envelope field was changed), and each `prev_id` must name the last
 * event of a chain seen so far (else an event is missing or events were
 * reordered). With a key, an unsigned event is a finding too. Several chains
 * may interleave (several processes appending to one file); each starts with
 * an event without `prev_id`.
 *
 * Files signed by costspan 0.1 (no `costspan_signature`, checksums in
 * JavaScript's number rendering) still verify, counted in
 * {@link VerifySummary.legacySigned}; their envelope fields are covered by no
 * signature. A chain whose events carry `costspan_signature` may not drop it
 * later (that would hide a changed envelope). Removing the last events of a
 * chain cannot be detected.
 *
 * @example
 * ```ts
 * const verifier = new ChainVerifier({ key: createSigningKey(process.env.COSTSPAN_SIGNING_KEY!) });
 * await scanner.scan(['events.jsonl'], (event, location) => verifier.check(event, location));
 * const summary = verifier.summary();
 * ```
 */
export class ChainVerifier {
  private readonly key: KeyObject | undefined;
  private readonly requireSigned: boolean;
  private readonly maxFindings: number;
  /** Last event id of each open chain, and whether the chain carries `costspan_signature`. */
  private readonly heads = new Map<string, boolean>();
  /** Recently seen event ids and the line that followed each, to tell reordering from loss. */
  private readonly recent = new Map<string, LineLocation & { successor?: string }>();
  private readonly counts = {
    events: 0,
    signed: 0,
    unsigned: 0,
    chains: 0,
    findings: 0,
    wholeSigned: 0,
    legacySigned: 0,
    legacyChecksums: 0,
  };
  private readonly findings: VerifyFinding[] = [];

  constructor(options: ChainVerifierOptions = {}) {
    this.key = options.key;
    this.requireSigned = options.requireSigned ?? options.key !== undefined;
    this.maxFindings = options.maxFindings ?? 20;
  }

  /** Checks one event; returns the finding, if any. */
  check(event: CostEvent, location: LineLocation): VerifyFinding | undefined {
    this.counts.events += 1;
    const id = event.event_id;
    const { checksum, signature } = event;
    const prevId = typeof event.prev_id === 'string' ? event.prev_id : '';
    const whole = event.costspan_signature;
    if (checksum === undefined && signature === undefined && event.prev_id === undefined && whole === undefined) {
      this.counts.unsigned += 1;
      if (this.requireSigned) {
        const why =
          this.key === undefined
            ? ''
            : ' in a file verified with a key: an appended or forged line (--allow-unsigned if unsigned writers share the file)';
        return this.find('unsigned', event, location, `event is not signed (no checksum or signature)${why}`);
      }
      return undefined;
    }
    this.counts.signed += 1;
    const wholeSigned = whole !== undefined;
    if (wholeSigned) this.counts.wholeSigned += 1;
    else this.counts.legacySigned += 1;
    const earlier = this.recent.get(id);
    this.remember(id, location);

    let problem: [VerifyFindingKind, string] | undefined;
    let checksumMatches = typeof checksum === 'string' && checksum === payloadChecksum(event.payload);
    // costspan 0.1 rendered numbers as JavaScript does (0.0000135): accepted on events of that format only.
    if (!checksumMatches && !wholeSigned && typeof checksum === 'string' && checksum === legacyPayloadChecksum(event.payload)) {
      checksumMatches = true;
      this.counts.legacyChecksums += 1;
    }
    if (!checksumMatches) {
      problem = [
        'tampered',
        typeof checksum === 'string'
          ? 'payload does not match its checksum: the payload was changed after signing'
          : 'signed event without a checksum',
      ];
    } else if (
      this.key !== undefined &&
      (typeof signature !== 'string' || !signaturesEqual(signature, eventSignature(this.key, id, checksum as string, prevId)))
    ) {
      const hint = this.counts.signed === 1 ? ' (this is the first signed event: is it the right key?)' : '';
      problem = [
        'bad_signature',
        `signature does not verify: event_id or prev_id was changed, or the event was signed with another key${hint}`,
      ];
    } else if (
      this.key !== undefined &&
      wholeSigned &&
      (typeof whole !== 'string' || !signaturesEqual(whole, wholeEventSignature(this.key, event)))
    ) {
      problem = [
        'envelope_changed',
        'costspan_signature does not verify: an envelope field (actor_id, org_id, team_id, tags, timestamp, source, ...) was changed after signing',
      ];
    }
    if (earlier !== undefined) {
      return this.find(
        'duplicate',
        event,
        location,
        `event_id already seen at ${earlier.file}:${earlier.line}: a replayed or duplicated line`,
      );
    }
    const downgraded = !wholeSigned && prevId !== '' && this.heads.get(prevId) === true;
    const linkProblem = this.link(id, prevId, wholeSigned);
    const removed: [VerifyFindingKind, string] | undefined = downgraded
      ? [
          'signature_removed',
          'costspan_signature is missing though the event before it in the chain has one: removed after signing, so an envelope field may have been changed',
        ]
      : undefined;
    const reported = problem ?? removed ?? linkProblem;
    return reported === undefined ? undefined : this.find(reported[0], event, location, reported[1]);
  }

  /** Advances the chain `prevId` belongs to; after a break, later events chain on from this one. */
  private link(id: string, prevId: string, wholeSigned: boolean): [VerifyFindingKind, string] | undefined {
    if (prevId === '') {
      this.counts.chains += 1;
      this.addHead(id, wholeSigned);
      return undefined;
    }
    const previous = this.recent.get(prevId);
    const chainWholeSigned = this.heads.get(prevId);
    if (chainWholeSigned !== undefined) {
      this.heads.delete(prevId);
      // Once a chain carries whole-event signatures it keeps that mark, so a later stripped event stands out.
      this.addHead(id, chainWholeSigned || wholeSigned);
      if (previous !== undefined) previous.successor = id;
      return undefined;
    }
    this.addHead(id, wholeSigned);
    if (previous !== undefined) {
      return [
        'reordered',
        `prev_id ${prevId} (${previous.file}:${previous.line}) was already followed by ${previous.successor ?? 'another event'}: events were reordered or a line was duplicated`,
      ];
    }
    return [
      'missing_or_reordered',
      `prev_id ${prevId} is not an earlier event of the file: the event(s) before this one are missing, or events were reordered`,
    ];
  }

  /** Counters and the findings kept. */
  summary(): VerifySummary {
    return {
      events: this.counts.events,
      signed: this.counts.signed,
      unsigned: this.counts.unsigned,
      chains: this.counts.chains,
      signaturesChecked: this.key !== undefined,
      wholeSigned: this.counts.wholeSigned,
      legacySigned: this.counts.legacySigned,
      legacyChecksums: this.counts.legacyChecksums,
      findingCount: this.counts.findings,
      findings: [...this.findings],
    };
  }

  private addHead(id: string, wholeSigned: boolean): void {
    if (this.heads.size >= MAX_CHAINS) {
      const oldest = this.heads.keys().next();
      if (oldest.done !== true) this.heads.delete(oldest.value);
    }
    this.heads.set(id, wholeSigned);
  }

  private remember(id: string, location: LineLocation): void {
    if (this.recent.size >= RECENT_IDS) {
      const oldest = this.recent.keys().next();
      if (oldest.done !== true) this.recent.delete(oldest.value);
    }
    this.recent.set(id, { file: location.file, line: location.line });
  }

  private find(kind: VerifyFindingKind, event: CostEvent, location: LineLocation, message: string): VerifyFinding {
    const finding: VerifyFinding = { kind, eventId: event.event_id, file: location.file, line: location.line, message };
    this.counts.findings += 1;
    if (this.findings.length < this.maxFindings) this.findings.push(finding);
    return finding;
  }
}
