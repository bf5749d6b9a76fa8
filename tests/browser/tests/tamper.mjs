// Subresource Integrity: the browser refuses a changed wasm module, wasm-bindgen glue or loader,
// so the app never mounts; without tampering it does.
//
// Each tamper flips the case of one letter inside a comment or string constant, so the changed
// file is still valid (checked here: `WebAssembly.validate`, `node --check`). Only the integrity
// check can stop it — a test that broke the file's syntax would pass without SRI too.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { openBrowser } from '../lib/browser.mjs';
import { startProxy } from '../lib/proxy.mjs';
import { startServer } from '../lib/server.mjs';
import { SLOW, openApp } from '../lib/ui.mjs';

/** Flips the case of the first letter of the first of `markers` found in `buf`. */
function flipCase(markers) {
  return (buf) => {
    for (const m of markers) {
      const at = buf.indexOf(Buffer.from(m, 'utf8'));
      if (at < 0) continue;
      const i = at + [...m].findIndex((c) => /[A-Za-z]/.test(c));
      buf[i] ^= 0x20;
      return buf;
    }
    throw new Error(`none of ${JSON.stringify(markers)} is in the file: update the tamper test`);
  };
}

async function stillValidJs(bytes) {
  const dir = await mkdtemp(join(tmpdir(), 'vaiti-e2e-js-'));
  try {
    const file = join(dir, 'tampered.mjs');
    await writeFile(file, bytes);
    await promisify(execFile)(process.execPath, ['--check', file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The release's file names, from the page's own references. */
async function assetPaths(url) {
  const html = await (await fetch(`${url}/`)).text();
  const main = /src="(\/main-[0-9a-f]+\.js)"/.exec(html)?.[1];
  const glue = /href="(\/app-[0-9a-f]+\.js)"/.exec(html)?.[1];
  const loader = await (await fetch(`${url}${main}`)).text();
  const wasm = /fetch\("(\/[^"]+\.wasm)"/.exec(loader)?.[1];
  if (!main || !glue || !wasm) throw new Error(`cannot find the app's files in index.html and ${main}`);
  return { main, glue, wasm };
}

const TAMPERS = {
  wasm: { markers: ['Kirjaudu sisään', 'Sign in'], check: async (b) => {
    if (!WebAssembly.validate(b)) throw new Error('the tampered wasm is not valid wasm: the test would prove nothing');
  } },
  glue: { markers: ['@returns', '@param', 'wasm-bindgen'], check: stillValidJs },
  main: { markers: ['Generated', 'Loads this release'], check: stillValidJs },
};

/** Serves the app with `kind` tampered and asserts the browser refuses it. */
async function refuses(f, kind) {
  const path = f.paths[kind];
  const { markers, check } = TAMPERS[kind];
  // The edit is checked once, on the real file, before the browser sees it.
  const original = Buffer.from(await (await fetch(`${f.proxy.origin}${path}`)).arrayBuffer());
  const edited = flipCase(markers)(Buffer.from(original));
  if (edited.equals(original)) throw new Error('the tamper changed nothing');
  await check(edited);

  f.proxy.tampered.length = 0;
  f.proxy.setTamper({ match: (p) => p === path, edit: flipCase(markers) });
  const b = await openBrowser(f.proxy.origin, { expectIntegrityFailure: true });
  try {
    await b.page.goto(`${f.proxy.origin}/`);
    const integrity = () => b.console.find((m) => m.type === 'error' && /integrity/i.test(m.text));
    const deadline = Date.now() + SLOW;
    while (!integrity() && Date.now() < deadline) await b.page.waitForTimeout(100);
    if (!integrity()) {
      throw new Error(`no integrity error in the console; it said:\n${b.console.map((m) => `${m.type}: ${m.text}`).join('\n')}`);
    }
    if (!integrity().text.includes(path)) throw new Error(`the integrity error names another file: ${integrity().text}`);
    if (!f.proxy.tampered.includes(path)) throw new Error(`the proxy never served the tampered ${path}`);
    // Give a (wrongly) accepted app every chance to mount before checking that it did not.
    await b.page.waitForTimeout(3000);
    const mounted = await b.page.locator('#signin-title, header.top, main#main').count();
    if (mounted) throw new Error(`the app mounted despite the tampered ${path}`);
  } finally {
    f.proxy.setTamper(null);
    await b.close();
  }
}

export default {
  name: 'tampered assets',
  async setup() {
    const server = await startServer();
    const proxy = await startProxy(server.url);
    try {
      return { server, proxy, paths: await assetPaths(proxy.origin) };
    } catch (e) {
      await proxy.close();
      await server.stop();
      throw e;
    }
  },
  async teardown(f) {
    await f?.proxy.close();
    await f?.server.stop();
  },
  tests: [
    {
      name: 'control: the untampered app mounts with no console error or CSP violation',
      async run(f) {
        const b = await openBrowser(f.proxy.origin);
        try {
          await openApp(b.page, f.proxy.origin);
          await b.page.waitForTimeout(500);
          b.assertClean();
        } finally {
          await b.close();
        }
      },
    },
    {
      name: 'an injected inline script and a third-party script are blocked by the CSP, and the guard sees it',
      async run(f) {
        const b = await openBrowser(f.proxy.origin);
        try {
          await openApp(b.page, f.proxy.origin);
          // What an HTML injection would try: an inline script, and a script from elsewhere.
          await b.page.evaluate(() => {
            const inline = document.createElement('script');
            inline.textContent = 'window.__vaitiInjected = true;';
            document.body.append(inline);
            const remote = document.createElement('script');
            remote.src = 'http://127.0.0.2:9/evil.js';
            document.body.append(remote);
          });
          await b.page.waitForTimeout(500);
          const ran = await b.page.evaluate(() => window.__vaitiInjected === true);
          if (ran) throw new Error('an inline script ran: the CSP does not hold');
          const csp = b.problems.filter((p) => p.startsWith('CSP violation'));
          if (!csp.some((p) => p.includes('"blocked":"inline"'))) throw new Error(`the guard did not see the inline script blocked: ${JSON.stringify(b.problems)}`);
          if (!csp.some((p) => p.includes('127.0.0.2'))) throw new Error(`the guard did not see the remote script blocked: ${JSON.stringify(b.problems)}`);
        } finally {
          await b.close();
        }
      },
    },
    { name: 'a tampered wasm module is refused (the app never mounts)', run: (f) => refuses(f, 'wasm') },
    { name: 'a tampered wasm-bindgen glue (app-*.js) is refused', run: (f) => refuses(f, 'glue') },
    { name: 'a tampered loader (main-*.js) is refused', run: (f) => refuses(f, 'main') },
  ],
};
