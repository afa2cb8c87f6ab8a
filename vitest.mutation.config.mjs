// @ts-check
// Vitest config for mutation testing (scripts/mutation.mjs): the root config's `unit` project,
// restricted to the unit tests of one package (COSTSPAN_MUTATION_PACKAGE), so each file is
// mutated against its own package's tests only.
//
// Why not Stryker's `testFiles` option: with it, Stryker 9.6.1 activates static mutants
// (module-level constants such as a regex) only after the module has loaded, so they are
// reported as survived although the tests kill them (stryker-js issue #6144).
import { defineConfig } from 'vitest/config';
import rootConfig from './vitest.config.ts';

const packageName = process.env.COSTSPAN_MUTATION_PACKAGE;
if (packageName === undefined || !/^[a-z][a-z0-9-]*$/.test(packageName)) {
  throw new Error(`COSTSPAN_MUTATION_PACKAGE must name a package under packages/; got ${String(packageName)}`);
}
/**
 * Test files left out of a package's mutation run, with why. None of them tests a mutated file
 * alone: each mutated file keeps in-process tests of its own.
 */
const SLOW_TESTS = {
  // Real redis-server processes (single node and a 3 + 3 Cluster) and forked workers: minutes
  // per mutant under instrumentation, the multi-process case times out on shared cores, and the
  // Cluster failover test depends on timing the instrumented dry run cannot hold. They test the
  // Redis stores (not mutated); no budget mutant is covered by them alone (checked against
  // mutation/budget.incremental.json): budget-limits and calendar-window have in-process tests.
  budget: ['**/redis-budget-store.test.ts', '**/redis-cluster-budget-store.test.ts', '**/redis-guard-features.test.ts'],
  // Calls process.chdir(), which Stryker's vitest runner (worker threads) does not allow; it tests
  // the one-call setup, and cost-totals, usage-input and principal have tests of their own.
  sdk: ['**/setup-costspan.test.ts'],
};

const unit = (rootConfig.test?.projects ?? []).find(
  (project) => typeof project === 'object' && project !== null && 'test' in project && project.test?.name === 'unit',
);
if (unit === undefined || typeof unit !== 'object' || !('test' in unit)) {
  throw new Error('vitest.config.ts has no project named "unit"');
}

export default defineConfig({
  resolve: 'resolve' in unit ? unit.resolve : undefined,
  test: {
    ...unit.test,
    name: `unit-${packageName}`,
    include: [`packages/${packageName}/src/**/*.test.ts`],
    // Comma-separated globs of test files to leave out, e.g. to measure a score before new tests.
    exclude: [
      ...(SLOW_TESTS[/** @type {keyof typeof SLOW_TESTS} */ (packageName)] ?? []),
      ...(process.env.COSTSPAN_MUTATION_EXCLUDE ?? '').split(',').filter((glob) => glob !== ''),
      '**/node_modules/**',
    ],
    // Instrumented code on shared cores is several times slower: a test's own 5 s default
    // would fail the initial run; Stryker bounds each mutant run with its own timeout.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
