import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from './__fixtures__/chromium.js';

let directory: string;

function fakeBinary(folder: string, name: string): string {
  mkdirSync(folder, { recursive: true });
  const path = join(folder, name);
  writeFileSync(path, '#!/bin/sh\nexit 0\n');
  chmodSync(path, 0o755);
  return path;
}

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-chromium-'));
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

// The HTML report test drives a real browser; it must find one wherever Debian, Ubuntu or Chrome put it.
describe('findChromium (the HTML test browser lookup)', () => {
  it('finds chromium-browser or google-chrome on the PATH, not only /usr/bin/chromium', () => {
    const ubuntu = fakeBinary(join(directory, 'ubuntu'), 'chromium-browser');
    const chrome = fakeBinary(join(directory, 'chrome'), 'google-chrome');
    expect(findChromium({ PATH: [join(directory, 'empty'), join(directory, 'ubuntu')].join(delimiter) })).toBe(ubuntu);
    expect(findChromium({ PATH: join(directory, 'chrome') })).toBe(chrome);
  });

  it('CHROME_PATH wins over the PATH', () => {
    const custom = fakeBinary(join(directory, 'custom'), 'my-chrome');
    fakeBinary(join(directory, 'debian'), 'chromium');
    expect(findChromium({ CHROME_PATH: custom, PATH: join(directory, 'debian') })).toBe(custom);
  });

  it('with none, fails (never skips) with the exact install command', () => {
    writeFileSync(join(directory, 'not-executable'), '');
    expect(() => findChromium({ PATH: join(directory, 'nowhere') })).toThrow(
      'run `apt-get update && apt-get install -y --no-install-recommends chromium` or set CHROME_PATH',
    );
  });
});
