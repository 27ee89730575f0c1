#!/usr/bin/env node
// `npm test`: lint (module boundaries), type check, unit tests, then integration and end-to-end
// tests against a real Kafka broker and real Postgres (provisioned once by the Jest globalSetup:
// KAFKA_BROKERS/DATABASE_URL, else Testcontainers, else the local broker and server).
//   npm test                 everything
//   npm test -- unit         one stage: lint | typecheck | unit | integration | e2e | personas
// `npm test` runs the persona suite (e2e/personas.e2e-spec.ts) on its own after the others: it plays
// a simulated company through five service processes, and beside the other e2e suites' five it
// starved them on a 2-core machine (CI: the walking skeleton timed out).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const reportDir = join(root, '.kizuna', 'test-reports');
const totals = { passed: 0, failed: 0, skipped: 0 };

function step(title, cmd, args, env = {}) {
  process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) {
    process.stdout.write(`\x1b[31m== ${title}: failed after ${secs} s\x1b[0m\n`);
    return false;
  }
  process.stdout.write(`== ${title}: ok in ${secs} s\n`);
  return true;
}

function jest(title, projects, { extra = [], env = {}, report = projects.join('-') } = {}) {
  mkdirSync(reportDir, { recursive: true });
  const out = join(reportDir, `${report}.json`);
  rmSync(out, { force: true });
  const ok = step(title, bin('jest'), ['--selectProjects', ...projects, '--json', '--outputFile', out, '--maxWorkers=2', ...extra], env);
  try {
    const report = JSON.parse(readFileSync(out, 'utf8'));
    totals.passed += report.numPassedTests;
    totals.failed += report.numFailedTests;
    totals.skipped += report.numPendingTests + report.numTodoTests;
    if (report.numTotalTests === 0) {
      process.stdout.write(`\x1b[31m== ${title}: no tests ran\x1b[0m\n`);
      return false;
    }
  } catch {
    totals.failed += 1; // the run crashed before writing a report
  }
  return ok;
}

/** The other e2e suites run without the persona suite, which runs alone (see the top of this file). */
const WITHOUT_PERSONAS = { KIZUNA_E2E_PERSONAS: '0' };

const stages = {
  lint: () => step('lint (eslint + Nx module boundaries)', 'npm', ['run', '-s', 'lint']),
  typecheck: () => step('type check (tsc, strict)', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']),
  unit: () => jest('unit tests', ['unit']),
  integration: () => jest('integration tests (real Kafka, real Postgres)', ['integration']),
  e2e: () => jest('end-to-end tests (five service processes)', ['e2e'], { env: WITHOUT_PERSONAS }),
  // integration and e2e share one provisioning of Kafka and Postgres
  infra: () => jest('integration and end-to-end tests (real Kafka, real Postgres, five service processes)', ['integration', 'e2e'], { env: WITHOUT_PERSONAS }),
  personas: () => jest('persona scenarios (a simulated company through five service processes)', ['e2e'], {
    extra: ['--testPathPatterns', 'personas'], env: { KIZUNA_E2E_PERSONAS: '1' }, report: 'personas',
  }),
};

const wanted = process.argv.slice(2);
const plan = wanted.length ? wanted : ['lint', 'typecheck', 'unit', 'infra', 'personas'];
for (const s of plan) {
  if (!stages[s]) {
    console.error(`unknown stage "${s}" (known: ${Object.keys(stages).join(', ')})`);
    process.exit(2);
  }
}
const t0 = Date.now();
let ok = true;
for (const s of plan) {
  if (!stages[s]()) {
    ok = false;
    if (process.env.CI) break;
  }
}
process.stdout.write(`\n== ${ok ? 'all green' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
process.stdout.write(`Tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(ok ? 0 : 1);
