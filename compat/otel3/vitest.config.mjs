import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['test/**/*.test.mjs'],
    // Run costspan and OpenTelemetry through Node's own loader, exactly as an application would.
    server: { deps: { external: [/node_modules/] } },
    testTimeout: 20_000,
  },
});
