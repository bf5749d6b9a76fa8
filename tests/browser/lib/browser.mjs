// Headless Chromium (Debian's, through playwright-core) with a guard that turns every console
// error, page error, failed same-origin request and CSP violation into a test failure.
//
// Each browser is a fresh persistent profile in its own temporary directory: a "new browser"
// in the app's sense (no remembered device, empty storage).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

// Runs in every page before the app's scripts: CSP violations are reported to the test through
// a binding, which survives navigations (a page-global array would not).
const CSP_LISTENER = `
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__vaitiCspViolation({
      directive: e.violatedDirective,
      blocked: e.blockedURI,
      source: e.sourceFile + ':' + e.lineNumber,
      sample: e.sample,
    });
  });
`;

/**
 * A fresh browser whose pages talk to `origin`. The guard collects problems in `problems`;
 * `assertClean()` throws if there are any. With `expectIntegrityFailure`, nothing fails the
 * guard by itself (the tamper tests read `console` and `problems` to assert the refusal).
 */
export async function openBrowser(origin, { expectIntegrityFailure = false, viewport = { width: 1280, height: 860 } } = {}) {
  const executablePath = process.env.VAITI_CHROMIUM || '/usr/bin/chromium';
  const dir = await mkdtemp(join(tmpdir(), 'vaiti-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath,
    headless: true,
    args: FLAGS,
    viewport,
    // English UI (the app follows navigator.language) and a fixed zone, so screenshots and
    // texts are the same on every machine.
    locale: 'en-GB',
    timezoneId: 'Europe/Helsinki',
    colorScheme: 'light',
    reducedMotion: 'reduce',
  });
  const problems = [];
  const console = [];
  const aborted = [];
  await context.exposeBinding('__vaitiCspViolation', (_source, v) => {
    problems.push(`CSP violation: ${JSON.stringify(v)}`);
  });
  await context.addInitScript(CSP_LISTENER);
  const watch = (page) => {
    page.on('console', (msg) => {
      const text = msg.text();
      console.push({ type: msg.type(), text });
      if (msg.type() === 'error') problems.push(`console error: ${text}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (req) => {
      if (!req.url().startsWith(origin)) return;
      const error = req.failure()?.errorText;
      // The client library (reqwest on wasm) aborts the fetch of an answer whose body it does
      // not read — a 2xx with no content — when it drops the response: Chromium reports that
      // as a failed request although the call succeeded. Only that case is let through, and
      // only for API calls; any other failure, and any failed file, fails the test.
      if (error === 'net::ERR_ABORTED' && new URL(req.url()).pathname.startsWith('/api/')) {
        aborted.push(`${req.method()} ${req.url()}`);
        return;
      }
      problems.push(`request failed: ${req.method()} ${req.url()}: ${error}`);
    });
    page.on('response', (res) => {
      const url = res.url();
      // Same-origin files (not API answers, whose refusals the app shows as messages).
      if (url.startsWith(origin) && !url.startsWith(`${origin}/api/`) && res.status() >= 400) {
        problems.push(`asset ${url} answered ${res.status()}`);
      }
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    problems,
    console,
    aborted,
    expectIntegrityFailure,
    /** Throws if the guard saw anything. */
    assertClean(what = 'the browser') {
      if (problems.length) throw new Error(`${what} reported ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
    },
    async close() {
      await context.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
