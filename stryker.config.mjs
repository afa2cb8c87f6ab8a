// @ts-check
// Mutation testing (issue 13) of the files where a bug is a wrong dollar figure.
//
// One Stryker run per package: each file is mutated against its own package's unit tests
// only (a mutant in core's money.ts must be killed by core's tests, not by sdk's tests that
// happen to call it). `scripts/mutation.mjs` runs the packages one after another, sets
// COSTSPAN_MUTATION_PACKAGE and checks the score of every file against the threshold.
// Add a file here when it computes, rolls up or encodes money.

/** Files to mutate, per package. */
export const MUTATED_FILES = {
  core: ['packages/core/src/money.ts'],
  pricing: ['packages/pricing/src/rate-card.ts', 'packages/pricing/src/custom-price-source.ts'],
  sdk: ['packages/sdk/src/processing/cost-totals.ts', 'packages/sdk/src/tracing/usage-input.ts', 'packages/sdk/src/tracing/principal.ts'],
  budget: ['packages/budget/src/calendar-window.ts', 'packages/budget/src/budget-limits.ts'],
};

/** Minimum mutation score of every listed file (checked per file by scripts/mutation.mjs). */
export const THRESHOLD = 90;

const packageName = process.env.COSTSPAN_MUTATION_PACKAGE ?? 'core';
const mutate = MUTATED_FILES[/** @type {keyof typeof MUTATED_FILES} */ (packageName)];
if (mutate === undefined) {
  throw new Error(`COSTSPAN_MUTATION_PACKAGE must be one of ${Object.keys(MUTATED_FILES).join(', ')}; got ${packageName}`);
}
const reportDir = `artifacts/mutation/${packageName}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  // Only this package's own unit tests, from source (vitest.mutation.config.mjs reads
  // COSTSPAN_MUTATION_PACKAGE; Stryker's `testFiles` would misreport static mutants).
  vitest: { configFile: 'vitest.mutation.config.mjs', related: false },
  mutate,
  coverageAnalysis: 'perTest',
  // Two shared cores: one or two test runners at most.
  concurrency: Number(process.env.COSTSPAN_MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 10_000,
  // Static mutants (module-level constants) need a fresh environment for every test file;
  // they are still tested.
  ignoreStatic: false,
  reporters: ['html', 'json', 'progress-append-only', 'clear-text'],
  htmlReporter: { fileName: `${reportDir}/mutation.html` },
  jsonReporter: { fileName: `${reportDir}/mutation.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false, reportScoreTable: true },
  incremental: true,
  incrementalFile: process.env.COSTSPAN_MUTATION_INCREMENTAL_FILE ?? `mutation/${packageName}.incremental.json`,
  // Nothing outside the sources and tests is needed in the sandbox; other packages' sandboxes
  // (runs in parallel) must not be copied into this one.
  ignorePatterns: [
    '/.stryker-tmp',
    'dist',
    '/artifacts',
    '/bench',
    '/compat',
    '/docs',
    '/examples',
    '/test',
    '/mutation',
    '/.ci',
    '.turbo',
    'coverage',
  ],
  tempDirName: `.stryker-tmp/${packageName}`,
  cleanTempDir: 'always',
  thresholds: { high: 95, low: THRESHOLD, break: null },
};
