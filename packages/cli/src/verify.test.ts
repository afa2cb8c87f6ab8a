import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSigningKey, parseCostEvent, type CostEvent } from '@costspan/sdk';
import { writeSdkEvents } from './__fixtures__/sdk-events.js';
import { ChainVerifier, type VerifySummary } from './verify.js';

const KEY = 'audit-key-for-tests-0123456789';
let directory: string;
let lines: string[];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-verify-'));
  const path = join(directory, 'signed.jsonl');
  await writeSdkEvents(path, { signingKey: KEY, billingRuns: 2 });
  lines = readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

function verify(input: readonly string[], key: string | null = KEY, requireSigned = false): VerifySummary {
  const verifier = new ChainVerifier({ ...(key === null ? {} : { key: createSigningKey(key) }), requireSigned });
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
    const { payloadChecksum } = await import('@costspan/sdk');
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
    expect(verify(lines.filter((_, index) => index !== 2), null).findings[0]?.kind).toBe('missing_or_reordered');
  });

  it('a second process appending its own chain is fine; unsigned events only fail with requireSigned', () => {
    const twoChains = [lines[0], lines[1], lines[2]].map(String);
    const unsigned = edit(lines[3] as string, (event) => {
      delete event.checksum;
      delete event.signature;
      delete event.prev_id;
    });
    expect(verify([...twoChains, ...twoChains.map((line) => line), unsigned]).findings[0]?.kind).toBe('duplicate');
    expect(verify([...lines, unsigned]).findingCount).toBe(0);
    expect(verify([...lines, unsigned], KEY, true).findings[0]?.kind).toBe('unsigned');
  });
});
