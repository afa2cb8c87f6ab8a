import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The names a Chromium or Chrome binary goes by on Linux PATHs, in the order they are tried. */
const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome'];

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The browser the HTML report test drives: `$CHROME_PATH`, else `chromium`, `chromium-browser` or
 * `google-chrome` on the PATH (the same lookup as scripts/ensure-test-tools.mjs, npm test's pretest,
 * which installs Chromium when none is found). Throws with the fix when there is none.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['CHROME_PATH'];
  if (fromEnv !== undefined && fromEnv !== '' && isExecutableFile(fromEnv)) return fromEnv;
  for (const name of CHROMIUM_NAMES) {
    for (const dir of (env['PATH'] ?? '').split(delimiter)) {
      if (dir !== '' && isExecutableFile(join(dir, name))) return join(dir, name);
    }
  }
  throw new Error(
    'no Chromium found (CHROME_PATH, or chromium, chromium-browser, google-chrome on the PATH): ' +
      'run `apt-get update && apt-get install -y --no-install-recommends chromium` or set CHROME_PATH',
  );
}
