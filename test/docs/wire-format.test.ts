// docs/wire-format.md is what users read instead of the code: its golden line must be what the
// built SDK writes, byte for byte (parsed and re-serialised, the canonical form).
import { readFileSync } from 'node:fs';
import { parseCostEvent, serializeEvent } from '@costspan/sdk';
import { describe, expect, it } from 'vitest';

const doc = readFileSync(new URL('../../docs/wire-format.md', import.meta.url), 'utf8');

describe('docs/wire-format.md', () => {
  it("the golden vector is the SDK's canonical serialisation of itself", () => {
    const line = doc.split('\n').find((text) => text.startsWith('{"event_id":"01HW4Z3RXVP8Q2M6T9KBJDS7YN"'));
    expect(line).toBeDefined();
    expect(serializeEvent(parseCostEvent(line ?? ''))).toBe(line);
  });
});
