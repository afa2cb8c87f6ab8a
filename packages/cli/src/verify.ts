import type { KeyObject } from 'node:crypto';
import { eventSignature, payloadChecksum, signaturesEqual, type CostEvent } from '@costspan/sdk';
import type { LineLocation } from './read-events.js';

/** What is wrong with an event. */
export type VerifyFindingKind = 'tampered' | 'bad_signature' | 'missing_or_reordered' | 'reordered' | 'duplicate' | 'unsigned';

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
  /** Report events without `checksum`/`signature` as findings. Default false. */
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
  findingCount: number;
  findings: VerifyFinding[];
}

const RECENT_IDS = 100_000;
const MAX_CHAINS = 10_000;

/**
 * Checks signed cost events in file order, one at a time, in bounded memory:
 * the `checksum` must match the canonical payload (else the payload was
 * tampered with), the `signature` must be the HMAC of `event_id|checksum|prev_id`
 * under the key (else the id or link was changed, or the key is wrong), and each
 * `prev_id` must name the last event of a chain seen so far (else an event is
 * missing or events were reordered). Several chains may interleave (several
 * processes appending to one file); each starts with an event without `prev_id`.
 *
 * Limits, inherent in the spanforge-compatible scheme: envelope fields other
 * than `event_id`, `checksum` and `prev_id` are not covered by the signature,
 * and removing the last events of a chain cannot be detected.
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
  /** Last event id of each open chain. */
  private readonly heads = new Set<string>();
  /** Recently seen event ids and the line that followed each, to tell reordering from loss. */
  private readonly recent = new Map<string, LineLocation & { successor?: string }>();
  private readonly counts = { events: 0, signed: 0, unsigned: 0, chains: 0, findings: 0 };
  private readonly findings: VerifyFinding[] = [];

  constructor(options: ChainVerifierOptions = {}) {
    this.key = options.key;
    this.requireSigned = options.requireSigned ?? false;
    this.maxFindings = options.maxFindings ?? 20;
  }

  /** Checks one event; returns the finding, if any. */
  check(event: CostEvent, location: LineLocation): VerifyFinding | undefined {
    this.counts.events += 1;
    const id = event.event_id;
    const { checksum, signature } = event;
    const prevId = typeof event.prev_id === 'string' ? event.prev_id : '';
    if (checksum === undefined && signature === undefined && event.prev_id === undefined) {
      this.counts.unsigned += 1;
      if (this.requireSigned) return this.find('unsigned', event, location, 'event is not signed (no checksum or signature)');
      return undefined;
    }
    this.counts.signed += 1;
    const earlier = this.recent.get(id);
    this.remember(id, location);

    let problem: [VerifyFindingKind, string] | undefined;
    if (typeof checksum !== 'string' || checksum !== payloadChecksum(event.payload)) {
      problem = ['tampered', typeof checksum === 'string' ? 'payload does not match its checksum: the payload was changed after signing' : 'signed event without a checksum'];
    } else if (this.key !== undefined && (typeof signature !== 'string' || !signaturesEqual(signature, eventSignature(this.key, id, checksum, prevId)))) {
      const hint = this.counts.signed === 1 ? ' (this is the first signed event: is it the right key?)' : '';
      problem = ['bad_signature', `signature does not verify: event_id or prev_id was changed, or the event was signed with another key${hint}`];
    }
    if (earlier !== undefined) {
      return this.find('duplicate', event, location, `event_id already seen at ${earlier.file}:${earlier.line}: a replayed or duplicated line`);
    }
    const linkProblem = this.link(id, prevId);
    const reported = problem ?? linkProblem;
    return reported === undefined ? undefined : this.find(reported[0], event, location, reported[1]);
  }

  /** Advances the chain `prevId` belongs to; after a break, later events chain on from this one. */
  private link(id: string, prevId: string): [VerifyFindingKind, string] | undefined {
    if (prevId === '') {
      this.counts.chains += 1;
      this.addHead(id);
      return undefined;
    }
    const previous = this.recent.get(prevId);
    if (this.heads.has(prevId)) {
      this.heads.delete(prevId);
      this.addHead(id);
      if (previous !== undefined) previous.successor = id;
      return undefined;
    }
    this.addHead(id);
    if (previous !== undefined) {
      return ['reordered', `prev_id ${prevId} (${previous.file}:${previous.line}) was already followed by ${previous.successor ?? 'another event'}: events were reordered or a line was duplicated`];
    }
    return ['missing_or_reordered', `prev_id ${prevId} is not an earlier event of the file: the event(s) before this one are missing, or events were reordered`];
  }

  /** Counters and the findings kept. */
  summary(): VerifySummary {
    return {
      events: this.counts.events,
      signed: this.counts.signed,
      unsigned: this.counts.unsigned,
      chains: this.counts.chains,
      signaturesChecked: this.key !== undefined,
      findingCount: this.counts.findings,
      findings: [...this.findings],
    };
  }

  private addHead(id: string): void {
    if (this.heads.size >= MAX_CHAINS) {
      const oldest = this.heads.values().next();
      if (oldest.done !== true) this.heads.delete(oldest.value);
    }
    this.heads.add(id);
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
