#!/usr/bin/env node
// `npm run mutation` / `npm run mutation:ci` (issue 13): Stryker over the files where a bug is a
// wrong dollar figure, one package at a time (each file against its own package's unit tests),
// then the mutation score of every file, failing when any is below the threshold. Stryker's own
// `thresholds.break` applies to a whole run only, hence this per-file check.
//
//   node scripts/mutation.mjs               every package, incrementally: only mutants whose code
//                                           or covering tests changed since the committed baseline
//                                           mutation/<package>.incremental.json run again; the
//                                           baseline is refreshed in place (commit it)
//   node scripts/mutation.mjs --force       every mutant again (a full run); refreshes the baseline
//   node scripts/mutation.mjs --ci          CI: incremental against a copy of the baseline, so the
//                                           tree stays clean (npm run mutation:ci)
//   node scripts/mutation.mjs --package sdk    one package (repeatable)
//   node scripts/mutation.mjs --survivors      also list every surviving mutant
//   node scripts/mutation.mjs --report-only    no run: the table of the last reports in artifacts/
//
// Reports: artifacts/mutation/<package>/mutation.{html,json}. Concurrency: COSTSPAN_MUTATION_CONCURRENCY
// (default 2, for two cores).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MUTATED_FILES, THRESHOLD } from '../stryker.config.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const strykerBin = join(root, 'node_modules/@stryker-mutator/core/bin/stryker.js');

const args = process.argv.slice(2);
const ci = args.includes('--ci');
const force = args.includes('--force');
const showSurvivors = args.includes('--survivors');
const reportOnly = args.includes('--report-only');
const selected = args.flatMap((arg, index) => (arg === '--package' ? [args[index + 1]] : []));
for (const name of selected) {
  if (!(name in MUTATED_FILES)) {
    console.error(`unknown package "${name}"; one of: ${Object.keys(MUTATED_FILES).join(', ')}`);
    process.exit(2);
  }
}
const packages = selected.length > 0 ? selected : Object.keys(MUTATED_FILES);

/** Stryker's mutation score: detected (killed, timeout) over valid (detected, survived, no coverage). */
function score(mutants) {
  const counts = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0, errors: 0 };
  for (const mutant of mutants) {
    if (mutant.status === 'Killed') counts.killed += 1;
    else if (mutant.status === 'Timeout') counts.timeout += 1;
    else if (mutant.status === 'Survived') counts.survived += 1;
    else if (mutant.status === 'NoCoverage') counts.noCoverage += 1;
    else if (mutant.status === 'Ignored') counts.ignored += 1;
    else counts.errors += 1;
  }
  const detected = counts.killed + counts.timeout;
  const valid = detected + counts.survived + counts.noCoverage;
  return { ...counts, score: valid === 0 ? 100 : (100 * detected) / valid };
}

function run(name) {
  const reportDir = join(root, 'artifacts/mutation', name);
  mkdirSync(reportDir, { recursive: true });
  const baseline = join(root, 'mutation', `${name}.incremental.json`);
  const env = { ...process.env, COSTSPAN_MUTATION_PACKAGE: name };
  const strykerArgs = [strykerBin, 'run', 'stryker.config.mjs'];
  if (force) {
    strykerArgs.push('--force');
  } else if (ci) {
    // Stryker rewrites its incremental file after the run: give it a copy of the baseline.
    const working = join(reportDir, 'incremental.json');
    if (existsSync(baseline)) copyFileSync(baseline, working);
    env.COSTSPAN_MUTATION_INCREMENTAL_FILE = working;
  }
  if (!force && !existsSync(baseline)) console.log(`no baseline ${baseline}: full run of ${name}`);
  const started = Date.now();
  const result = spawnSync(process.execPath, strykerArgs, { cwd: root, env, stdio: 'inherit' });
  const seconds = (Date.now() - started) / 1000;
  console.log(`\n${name}: Stryker ${force ? 'full' : 'incremental'} run took ${seconds.toFixed(0)} s (exit ${result.status})`);
  return { seconds, failed: result.status !== 0 };
}

const timings = [];
let runFailed = false;
if (!reportOnly) {
  for (const name of packages) {
    const { seconds, failed } = run(name);
    timings.push([name, seconds]);
    runFailed ||= failed;
  }
}

const rows = [];
const survivors = [];
const unmeasured = [];
for (const name of packages) {
  const reportFile = join(root, 'artifacts/mutation', name, 'mutation.json');
  if (!existsSync(reportFile)) {
    console.error(`missing ${reportFile}: run without --report-only first`);
    runFailed = true;
    continue;
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  for (const file of MUTATED_FILES[name]) {
    const entry = report.files[file];
    if (entry === undefined) {
      rows.push({ file, missing: true });
      continue;
    }
    rows.push({ file, ...score(entry.mutants) });
    const lines = entry.source.split('\n');
    for (const mutant of entry.mutants) {
      if (mutant.status !== 'Survived' && mutant.status !== 'NoCoverage') continue;
      // stryker-js #6213: a covered mutant whose run completed no test is reported as survived.
      if (mutant.status === 'Survived' && mutant.testsCompleted === 0)
        unmeasured.push(`${file}:${mutant.location.start.line} #${mutant.id}`);
      const line = mutant.location.start.line;
      survivors.push(
        `${file}:${line} ${mutant.mutatorName} (${mutant.status}) -> ${JSON.stringify(mutant.replacement)} | ${lines[line - 1]?.trim()}`,
      );
    }
  }
}

if (showSurvivors && survivors.length > 0) {
  console.log('\nSurviving mutants:');
  for (const line of survivors) console.log(`  ${line}`);
}

if (unmeasured.length > 0) {
  console.log(`\n${unmeasured.length} survivor(s) ran no test (stryker-js #6213, counted as survived): ${unmeasured.join(', ')}`);
}

const width = Math.max(...rows.map((row) => row.file.length), 4);
console.log(`\nMutation score per file (threshold ${THRESHOLD} %):`);
console.log(`${'file'.padEnd(width)}  score  killed timeout survived no-cov ignored  `);
let below = 0;
for (const row of rows) {
  if (row.missing) {
    below += 1;
    console.log(`${row.file.padEnd(width)}  (not in the report)  FAIL`);
    continue;
  }
  const fails = row.score < THRESHOLD;
  if (fails) below += 1;
  console.log(
    `${row.file.padEnd(width)} ${row.score.toFixed(2).padStart(6)} ${String(row.killed).padStart(7)} ${String(row.timeout).padStart(7)} ${String(row.survived).padStart(8)} ${String(row.noCoverage).padStart(6)} ${String(row.ignored).padStart(7)}  ${fails ? 'FAIL' : 'ok'}`,
  );
}
if (timings.length > 0) {
  const total = timings.reduce((sum, [, seconds]) => sum + seconds, 0);
  console.log(`\ntime: ${timings.map(([name, seconds]) => `${name} ${seconds.toFixed(0)} s`).join(', ')}; total ${total.toFixed(0)} s`);
}
if (below > 0 || runFailed) {
  console.error(`\nmutation: ${below} file(s) below ${THRESHOLD} %${runFailed ? '; a Stryker run failed' : ''}`);
  process.exit(1);
}
console.log(`\nmutation: every file at or above ${THRESHOLD} %`);
