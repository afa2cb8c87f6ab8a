import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSigningKey, parseCostEvent, type CostEvent } from '@costspan/sdk';
import { eventSignature } from '@costspan/sdk/internal';
import { legacyPayloadChecksum } from '@costspan/sdk/internal';
import { writeSdkEvents } from './__fixtures__/sdk-events.js';
import { main } from './main.js';
import { ChainVerifier, type VerifySummary } from './verify.js';

const KEY = 'audit-key-for-tests-0123456789';
let directory: string;
let lines: string[];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-verify-'));
  const path = join(directory, 'signed.jsonl');
  await writeSdkEvents(path, { signingKey: KEY, billingRuns: 2 });
  lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

function verify(input: readonly string[], key: string | null = KEY, requireSigned?: boolean): VerifySummary {
  const verifier = new ChainVerifier({
    ...(key === null ? {} : { key: createSigningKey(key) }),
    ...(requireSigned === undefined ? {} : { requireSigned }),
  });
  input.forEach((line, index) => verifier.check(parseCostEvent(line), { file: 'f', line: index + 1 }));
  return verifier.summary();
}

function edit(line: string, change: (event: CostEvent) => void): string {
  const event = JSON.parse(line) as CostEvent;
  change(event);
  return JSON.stringify(event);
}

describe('ChainVerifier', () => {
  it('accepts the chain the SDK signed', () => {
    const summary = verify(lines);
    expect(summary).toMatchObject({ events: lines.length, signed: lines.length, chains: 1, findingCount: 0, signaturesChecked: true });
  });

  it('a changed payload is tampered (checksum), at its line', () => {
    const tampered = [...lines];
    tampered[2] = edit(lines[2] as string, (event) => {
      (event.payload as { cost: { total_cost_usd: number } }).cost.total_cost_usd = 0.000001;
    });
    const summary = verify(tampered);
    expect(summary.findingCount).toBe(1);
    expect(summary.findings[0]).toMatchObject({ kind: 'tampered', line: 3 });
  });

  it('a payload changed with its checksum recomputed fails the signature', async () => {
    const { payloadChecksum } = await import('@costspan/sdk/internal');
    const forged = [...lines];
    forged[1] = edit(lines[1] as string, (event) => {
      (event.payload as { model: { name: string } }).model.name = 'cheap-model';
      event.checksum = payloadChecksum(event.payload);
    });
    expect(verify(forged).findings[0]).toMatchObject({ kind: 'bad_signature', line: 2 });
  });

  it('a deleted event breaks the chain at the next one', () => {
    const missing = lines.filter((_, index) => index !== 4);
    const summary = verify(missing);
    expect(summary.findings[0]).toMatchObject({ kind: 'missing_or_reordered', line: 5 });
    expect(summary.findingCount).toBe(1);
  });

  it('swapped events are reported once, at the first out of place; a replayed line as duplicate', () => {
    const swapped = [...lines];
    [swapped[3], swapped[4]] = [swapped[4] as string, swapped[3] as string];
    const summary = verify(swapped);
    expect(summary.findings[0]).toMatchObject({ kind: 'missing_or_reordered', line: 4 });
    expect(summary.findingCount).toBe(1);
    expect(verify([...lines.slice(0, 3), lines[1] as string, ...lines.slice(3)]).findings[0]).toMatchObject({ kind: 'duplicate', line: 4 });
  });

  it('the wrong key fails on the first event and says so', () => {
    const summary = verify(lines, 'not-the-key');
    expect(summary.findings[0]?.message).toMatch(/first signed event: is it the right key/);
  });

  it('without a key, checksums and links are still checked', () => {
    expect(verify(lines, null)).toMatchObject({ findingCount: 0, signaturesChecked: false });
    expect(
      verify(
        lines.filter((_, index) => index !== 2),
        null,
      ).findings[0]?.kind,
    ).toBe('missing_or_reordered');
  });

  it('a second process appending its own chain is fine; with a key an appended unsigned line fails by default', () => {
    const twoChains = [lines[0], lines[1], lines[2]].map(String);
    const unsigned = edit(lines[3] as string, (event) => {
      delete event.checksum;
      delete event.signature;
      delete event.prev_id;
      delete event.costspan_signature;
    });
    expect(verify([...twoChains, ...twoChains.map((line) => line), unsigned]).findings[0]?.kind).toBe('duplicate');
    const appended = verify([...lines, unsigned]);
    expect(appended.findingCount).toBe(1);
    expect(appended.findings[0]).toMatchObject({ kind: 'unsigned', line: lines.length + 1 });
    expect(appended.findings[0]?.message).toMatch(/appended or forged line/);
    expect(verify([...lines, unsigned], KEY, false).findingCount).toBe(0);
    expect(verify([...lines, unsigned], null).findingCount).toBe(0);
    expect(verify([...lines, unsigned], null, true).findings[0]?.kind).toBe('unsigned');
  });

  it('every event the SDK signs carries costspan_signature', () => {
    const summary = verify(lines);
    expect(summary).toMatchObject({ wholeSigned: lines.length, legacySigned: 0, legacyChecksums: 0 });
  });

  it('cost moved to another principal, tag or time is caught (envelope_changed), though spanforge checks pass', () => {
    for (const change of [
      (event: CostEvent) => (event.actor_id = 'mallory'),
      (event: CostEvent) => (event.org_id = 'other-org'),
      (event: CostEvent) => (event.team_id = 'billing'),
      (event: CostEvent) => (event.tags = { env: 'dev' }),
      (event: CostEvent) => (event.timestamp = '2020-01-01T00:00:00.000000Z'),
      (event: CostEvent) => delete event.actor_id,
    ]) {
      const moved = [...lines];
      moved[1] = edit(lines[1] as string, change);
      expect(moved[1]).not.toBe(lines[1]);
      const summary = verify(moved);
      expect(summary.findingCount).toBe(1);
      expect(summary.findings[0]).toMatchObject({ kind: 'envelope_changed', line: 2 });
    }
  });

  it('stripping costspan_signature to re-attribute an event is caught (signature_removed)', () => {
    const stripped = [...lines];
    stripped[2] = edit(lines[2] as string, (event) => {
      delete event.costspan_signature;
      event.actor_id = 'mallory';
    });
    expect(verify(stripped).findings[0]).toMatchObject({ kind: 'signature_removed', line: 3 });
  });

  it("files in costspan 0.1's format still verify, counted as legacy (checksums in JavaScript's rendering included)", () => {
    const key = createSigningKey(KEY);
    let previous = '';
    const legacy = lines.map((line, index) => {
      const event = JSON.parse(line) as CostEvent;
      delete event.costspan_signature;
      // An amount below 1e-4: the 0.1 checksum rendered it as 0.00005, Python (and now costspan) as 5e-05.
      if (index === 1) (event.payload as { cost: { reasoning_cost_usd?: number } }).cost.reasoning_cost_usd = 0.00005;
      event.checksum = legacyPayloadChecksum(event.payload);
      event.signature = eventSignature(key, event.event_id, event.checksum, previous);
      previous = event.event_id;
      return JSON.stringify(event);
    });
    const summary = verify(legacy);
    expect(summary.findingCount).toBe(0);
    expect(summary.legacySigned).toBe(lines.length);
    expect(summary.legacyChecksums).toBeGreaterThanOrEqual(1);
    // A legacy checksum is not accepted on an event that claims the new format.
    const mixed = [...lines];
    mixed[1] = edit(lines[1] as string, (event) => {
      (event.payload as { cost: { reasoning_cost_usd?: number } }).cost.reasoning_cost_usd = 0.00005;
      event.checksum = legacyPayloadChecksum(event.payload);
    });
    expect(verify(mixed).findings[0]?.kind).toBe('tampered');
  });
});

describe('costspan verify (main)', () => {
  async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string }> {
    const stdout = new PassThrough();
    const out: Buffer[] = [];
    stdout.on('data', (chunk: Buffer) => out.push(chunk));
    const code = await main(argv, { stdout, stderr: new PassThrough(), stdin: Readable.from([]), env });
    return { code, stdout: Buffer.concat(out).toString('utf8') };
  }

  it('with COSTSPAN_SIGNING_KEY an appended unsigned line exits 1 unless --allow-unsigned; a legacy file gets a note', async () => {
    const unsigned = edit(lines[3] as string, (event) => {
      for (const field of ['checksum', 'signature', 'prev_id', 'costspan_signature']) delete event[field];
      event.event_id = '01HW4Z3RXVP8Q2M6T9KBJDS7YN';
    });
    const path = join(directory, 'appended.jsonl');
    writeFileSync(path, `${[...lines, unsigned].join('\n')}\n`);
    const env = { COSTSPAN_SIGNING_KEY: KEY };
    const failed = await run(['verify', path], env);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/FIRST PROBLEM: .*appended.jsonl:\d+ event 01HW4Z3RXVP8Q2M6T9KBJDS7YN: unsigned/);
    expect((await run(['verify', path, '--allow-unsigned'], env)).code).toBe(0);
    expect((await run(['verify', path], {})).code).toBe(0);
    const legacyPath = join(directory, 'legacy.jsonl');
    writeFileSync(legacyPath, `${lines.map((line) => edit(line, (event) => delete event.costspan_signature)).join('\n')}\n`);
    const legacy = await run(['verify', legacyPath, '--format', 'json'], env);
    expect(legacy.code).toBe(0);
    const json = JSON.parse(legacy.stdout) as { legacy_signed: number; notes: string[] };
    expect(json.legacy_signed).toBe(lines.length);
    expect(json.notes[0]).toMatch(/costspan 0.1's format .* attribution is unverified/);
  });
});
