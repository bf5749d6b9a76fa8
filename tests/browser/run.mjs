// The browser end-to-end tests: `node run.mjs` (xtask's `browser` step runs it with VAITI_BIN,
// VAITI_CHROMIUM and VAITI_SCREENSHOTS set).
//
// A tiny runner, not a framework: each suite has a fixture (its own `vaiti serve`, proxy and
// browsers) and tests that run in order. In a suite marked `sequential` each test builds on the
// ones before (the clinic story), so after a failure the rest fail as "not run" instead of
// failing confusingly. The last line is the result xtask and CI read:
// `browser tests: N passed; M failed`. The exit code is non-zero on any failure or if no test ran.
//
// `node run.mjs PATTERN` runs only the tests whose "suite › test" name contains PATTERN.

import { suites } from './tests/index.mjs';

const filter = process.argv[2] ?? '';
let passed = 0;
let failed = 0;
const failures = [];
const started = Date.now();

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Runs `fn` with a deadline, so a hung browser fails the test instead of the whole run. */
function withTimeout(fn, ms, name) {
  let timer;
  return Promise.race([
    Promise.resolve().then(fn),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name}: timed out after ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function fail(name, error) {
  failed += 1;
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  failures.push({ name, message });
  console.log(`FAIL ${name}\n     ${message.split('\n').join('\n     ')}`);
}

for (const suite of suites) {
  const tests = suite.tests.filter((t) => `${suite.name} › ${t.name}`.includes(filter));
  if (tests.length === 0) continue;
  console.log(`\n# ${suite.name}`);
  const suiteStart = Date.now();
  let fixture;
  try {
    fixture = await withTimeout(() => suite.setup(), suite.setupTimeoutMs ?? 300_000, `${suite.name} setup`);
  } catch (e) {
    for (const t of tests) fail(`${suite.name} › ${t.name}`, t === tests[0] ? e : 'not run: the suite could not start');
    continue;
  }
  let broken = null;
  for (const t of tests) {
    const name = `${suite.name} › ${t.name}`;
    if (broken) {
      fail(name, `not run: it builds on "${broken}", which failed`);
      continue;
    }
    const t0 = Date.now();
    try {
      await withTimeout(() => t.run(fixture), t.timeoutMs ?? 180_000, name);
      passed += 1;
      console.log(`ok   ${name} (${seconds(Date.now() - t0)})`);
    } catch (e) {
      fail(name, e);
      if (suite.sequential) broken = t.name;
      await suite.onFailure?.(fixture, t.name).catch((err) => console.log(`     (no failure pictures: ${err.message})`));
    }
  }
  try {
    await suite.teardown?.(fixture);
  } catch (e) {
    fail(`${suite.name} › teardown`, e);
  }
  console.log(`# ${suite.name}: ${seconds(Date.now() - suiteStart)}`);
}

console.log(`\n${passed + failed} tests in ${seconds(Date.now() - started)}`);
for (const f of failures) console.log(`  failed: ${f.name}`);
if (passed + failed === 0) console.log(`no test matched ${JSON.stringify(filter)}`);
console.log(`browser tests: ${passed} passed; ${failed} failed`);
// Exit now: a browser or server left running by a broken test must not keep the run alive.
// (stdout to a pipe or file is written synchronously on Linux, so nothing printed is lost.)
process.exit(failed > 0 || passed === 0 ? 1 : 0);
