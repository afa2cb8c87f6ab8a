#!/usr/bin/env node
// The `costspan` command. npm links `bin` when it installs (in a clone, at `npm ci`, before anything
// is built), and skips a link whose target does not exist yet: so the link points at this committed
// file, which loads the compiled CLI from ../dist and, when that is not built, says what to run.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/bin.js', import.meta.url);

function notBuilt(missing) {
  process.stderr.write(`costspan: ${missing} is missing: the CLI is not built; run npm run build\n`);
  process.exitCode = 2;
}

if (!existsSync(entry)) {
  notBuilt(fileURLToPath(entry));
} else {
  try {
    await import(entry.href);
  } catch (error) {
    // A sibling package's dist (e.g. @costspan/sdk in a fresh clone) not built yet: the same fix.
    if (error !== null && typeof error === 'object' && error.code === 'ERR_MODULE_NOT_FOUND') {
      const match = /Cannot find (?:module|package) '([^']+)'/.exec(String(error.message));
      notBuilt(match === null ? 'a module of the CLI' : match[1]);
    } else {
      throw error;
    }
  }
}
