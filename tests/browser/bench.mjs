// The browser benchmark (`cargo xtask bench-web`; not part of the tests): opening a chart with
// 500 notes of 4 KiB each in headless Chromium, against the native client decrypting the same
// chart in the same run on the same machine.
//
// 1. `vaiti serve --demo` (VAITI_BIN: a release build with the web app embedded).
// 2. With the native CLI: the demo's front desk adds a patient to the demo therapist's caseload,
//    and the therapist writes 500 notes of 4,096 bytes into that chart.
// 3. Browser: the therapist signs in once; then, several times, from the click on "Open chart"
//    to the app's `vaiti-notes-rendered` User Timing mark (all 500 notes decrypted, verified
//    and in the DOM) — a `performance.measure` in the page.
// 4. Native, the same work in the same run: `vaiti bench-open-chart CHART` logs in once, then
//    times what the app does on that click — a verified session, the logged release, the
//    identity and every note decrypted and verified (`vaiti_client::chart::open_chart`), no
//    rendering. For context also `vaiti note list CHART --json`, the whole process with its login.
//
// Prints a block for BENCHMARKS.md. Env: VAITI_BIN, VAITI_CHROMIUM; BENCH_NOTES (default 500),
// BENCH_RUNS (default 7).

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

import { openBrowser } from './lib/browser.mjs';
import { temporaryHetu } from './lib/hetu.mjs';
import { demoUsers, startServer, vaitiBin } from './lib/server.mjs';
import { SLOW, openApp, signInAs } from './lib/ui.mjs';

const NOTES = Number(process.env.BENCH_NOTES ?? 500);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const NOTE_BYTES = 4096;
const PATIENT = 'Benchmark Penkkinen';

const run = promisify(execFile);

/** Runs the CLI as the profile's user; returns stdout. */
async function cli(user, args, { profile, input } = {}) {
  const child = run(vaitiBin(), ['--profile', profile, ...args], {
    env: { ...process.env, VAITI_PASSWORD: user.password, VAITI_SECRET_KEY: user.secret_key, VAITI_LOG: 'warn' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (input !== undefined) child.child.stdin.end(input);
  const { stdout } = await child;
  return stdout;
}

/** A note of exactly `NOTE_BYTES` bytes of readable (ASCII) text, different for each `i`. */
function noteText(i) {
  const words = ['uni', 'stressi', 'kotitehtava', 'harjoitus', 'kaynti', 'mieliala', 'tavoite', 'keskustelu'];
  let text = `Note ${i}. `;
  let k = i;
  while (text.length < NOTE_BYTES) {
    text += `${words[k % words.length]} `;
    k = (k * 7 + 3) % 101;
  }
  return text.slice(0, NOTE_BYTES);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => `${x.toFixed(0)} ms`;

async function main() {
  const t0 = performance.now();
  const loadAtStart = os.loadavg()[0];
  console.error(`bench: starting vaiti serve --demo (${vaitiBin()})`);
  const server = await startServer({ demo: true });
  const tmp = await mkdtemp(join(os.tmpdir(), 'vaiti-bench-'));
  let browser;
  try {
    const demo = server.demo;
    const therapist = demoUsers(demo, 'therapist').find((u) => u.branch === 'Helsinki') ?? demoUsers(demo, 'therapist')[0];
    const frontdesk = demoUsers(demo, 'frontdesk').find((u) => u.branch === therapist.branch);
    // One profile per writer: two commands must not share a profile's local cache (`seen.vaiti`
    // is rewritten in place, so a command reading it while another writes it sees a torn file).
    const profiles = {
      therapist: join(tmp, 'therapist'),
      therapist2: join(tmp, 'therapist-2'),
      frontdesk: join(tmp, 'frontdesk'),
    };
    for (const [who, user] of [['therapist', therapist], ['therapist2', therapist], ['frontdesk', frontdesk]]) {
      await cli(user, ['login', '--server', server.url, '--clinic', String(demo.clinic), '--email', user.login], { profile: profiles[who] });
    }
    const added = JSON.parse(
      await cli(
        frontdesk,
        ['--json', 'patient', 'add', '--branch', therapist.branch, '--name', PATIENT, '--hetu', temporaryHetu(1980, 2, 3, 933), '--therapist', therapist.login],
        { profile: profiles.frontdesk },
      ),
    );
    const chart = added.chart;
    console.error(`bench: chart ${chart}; writing ${NOTES} notes of ${NOTE_BYTES} bytes with the CLI`);

    // Two writers at a time: the machine has two cores, and each command logs in (Argon2).
    const seedStart = performance.now();
    let next = 0;
    const writer = async (profile) => {
      while (next < NOTES) {
        const i = next++;
        const file = join(tmp, `note-${i}.txt`);
        const text = noteText(i);
        if (Buffer.byteLength(text) !== NOTE_BYTES) throw new Error(`note ${i} is ${Buffer.byteLength(text)} bytes`);
        await writeFile(file, text);
        const tier = i % 5 === 0 ? 'shared' : 'team';
        await cli(therapist, ['note', 'add', chart, '--tier', tier, '--title', `Käynti ${i + 1}`, '--file', file], { profile });
        await rm(file);
        if ((i + 1) % 50 === 0) console.error(`bench: ${i + 1} notes`);
      }
    };
    await Promise.all([writer(profiles.therapist), writer(profiles.therapist2)]);
    const seedS = (performance.now() - seedStart) / 1000;

    // Native: the chart opened as the app opens it (after one login, one warm-up not counted),
    // and the whole `note list` process for context.
    const opened = JSON.parse(
      await cli(therapist, ['--json', 'bench-open-chart', chart, '--runs', String(RUNS + 1)], { profile: profiles.therapist }),
    );
    if (opened.notes !== NOTES) throw new Error(`the native open gave ${opened.notes} notes, expected ${NOTES}`);
    const native = { open: opened.runs_ms.slice(1), list: [] };
    for (let r = 0; r < RUNS; r++) {
      const s = performance.now();
      const out = JSON.parse(await cli(therapist, ['--json', 'note', 'list', chart], { profile: profiles.therapist }));
      native.list.push(performance.now() - s);
      if (out.length !== NOTES) throw new Error(`note list gave ${out.length} notes, expected ${NOTES}`);
    }

    // Browser: sign in once, then open the chart RUNS times (plus one warm-up, not counted).
    browser = await openBrowser(server.url, { viewport: { width: 1280, height: 900 } });
    const { page } = browser;
    await openApp(page, server.url);
    await signInAs(page, demo, therapist);
    const web = { click: [], open: [] };
    for (let r = 0; r <= RUNS; r++) {
      await page.getByRole('heading', { name: 'My caseload', level: 1 }).waitFor({ timeout: SLOW });
      const button = page.getByRole('button', { name: `Open chart — ${PATIENT}` });
      await button.waitFor({ timeout: SLOW });
      await page.evaluate(() => {
        performance.clearMarks();
        performance.clearMeasures();
      });
      // The mark is set in the click handler's task, as close to the click as the page can tell.
      await button.evaluate((el) => {
        el.addEventListener('click', () => performance.mark('bench-click'), { capture: true, once: true });
      });
      await button.click();
      await page.locator(`#chart[data-notes-rendered="${NOTES}"]`).waitFor({ timeout: 600_000 });
      const m = await page.evaluate(() => ({
        click: performance.measure('click-to-rendered', 'bench-click', 'vaiti-notes-rendered').duration,
        open: performance.measure('open-to-rendered', 'vaiti-chart-open', 'vaiti-notes-rendered').duration,
      }));
      const notes = await page.locator('ol.timeline > li.note').count();
      if (notes !== NOTES) throw new Error(`the browser shows ${notes} notes, expected ${NOTES}`);
      if (r > 0) {
        web.click.push(m.click);
        web.open.push(m.open);
      }
      console.error(`bench: browser run ${r}${r === 0 ? ' (warm-up)' : ''}: ${ms(m.click)}`);
      await page.getByRole('button', { name: 'Back', exact: true }).first().click();
    }
    browser.assertClean('the benchmark browser');

    const chromium = (await run(process.env.VAITI_CHROMIUM || '/usr/bin/chromium', ['--version']).catch(() => ({ stdout: '?' }))).stdout.trim().split('\n').pop();
    const commit = (await run('git', ['rev-parse', '--short', 'HEAD']).catch(() => ({ stdout: '?' }))).stdout.trim();
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    const gib = Math.round(os.totalmem() / 2 ** 30);
    const webMed = median(web.click);
    const openMed = median(native.open);
    const row = (what, xs) => `| ${what} | ${ms(median(xs))} | ${ms(Math.min(...xs))} |`;
    const lines = [
      `## vaiti-web: opening a chart of ${NOTES} notes in the browser (wasm) and natively`,
      '',
      '- **Command:** `cargo xtask bench-web` (builds `target/release/vaiti` with the web app, then runs',
      `  \`node bench.mjs\` in \`tests/browser\`): ${RUNS} runs of each measurement, after one browser warm-up.`,
      `- **Machine:** ${os.cpus().length} cores (${cpu}), ${gib} GiB, ${os.type()}; ${chromium}, headless,`,
      `  through playwright-core; Node ${process.version}. Run on ${new Date().toISOString().slice(0, 10)} at commit \`${commit}\`;`,
      `  1-minute load average ${loadAtStart.toFixed(1)} at the start and ${os.loadavg()[0].toFixed(1)} at the end (above 2, other work shared the cores).`,
      `- **Content:** one chart of ${NOTES} notes of ${NOTE_BYTES.toLocaleString('en')} bytes each (every fifth shared with the patient),`,
      `  written with \`vaiti note add\` by the demo's therapist (\`vaiti serve --demo\`, SQLite). Opening the chart`,
      '  is a logged key release (signed request; the leaf\'s inclusion proof checked against a verified',
      '  checkpoint) and the identity record, then every note\'s signed envelope opened and verified.',
      '',
      '| measurement | median | min |',
      '|---|---:|---:|',
      row('browser: click on "Open chart" → all notes decrypted and in the DOM (`vaiti-notes-rendered`)', web.click),
      row('browser: the same from the app\'s own `vaiti-chart-open` mark', web.open),
      row('native: the same opening (`vaiti bench-open-chart`: verified session + `open_chart`, no rendering)', native.open),
      row('native, for context: `vaiti note list CHART --json`, the whole process (includes its login: Argon2id, OPAQUE)', native.list),
      '',
      `**Ratio browser (wasm) / native: ${(webMed / openMed).toFixed(2)}×** for the same opening: both run the same`,
      '`vaiti-client` code over the same server; the browser\'s time also includes rendering the timeline.',
      `Writing the ${NOTES} notes with the CLI took ${seedS.toFixed(0)} s (two at a time; each command logs in).`,
    ];
    console.log(lines.join('\n'));
    console.error(`bench: done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    await browser?.close();
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench: ${e.stack ?? e}`);
    process.exit(1);
  },
);
