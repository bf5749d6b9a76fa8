// Starts and stops a real `vaiti serve` for one test: a fresh data directory, port 0 on
// loopback, readiness read from the one line the server prints on stdout, and (with --demo) the
// seeded clinic read from `<data>/demo.json`, which the server writes last, by rename.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The `vaiti` binary under test (a debug build with the web app embedded). */
export function vaitiBin() {
  const bin = process.env.VAITI_BIN;
  if (!bin) throw new Error('VAITI_BIN is not set: run through `cargo xtask test` or set it to target/debug/vaiti');
  return bin;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A running server. `url` is its base URL (http://127.0.0.1:PORT); `demo` the parsed demo.json
 * when started with `demo: true`. `log()` returns what it printed, for failure messages.
 */
export async function startServer({ demo = false, bin = vaitiBin(), readyTimeoutMs = 240_000 } = {}) {
  const data = await mkdtemp(join(tmpdir(), 'vaiti-e2e-data-'));
  const args = ['serve', '--data', data, '--listen', '127.0.0.1:0'];
  if (demo) args.push('--demo');
  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, VAITI_LOG: process.env.VAITI_LOG ?? 'warn' },
  });
  const output = [];
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vaiti serve did not start in time:\n${output.join('\n')}`)), 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${bin}: ${e.message}`));
    });
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`vaiti serve exited (${JSON.stringify(exited)}) before listening:\n${output.join('\n')}`));
    });
    createInterface({ input: child.stderr }).on('line', (l) => output.push(l));
    createInterface({ input: child.stdout }).on('line', (l) => {
      output.push(l);
      const m = /^vaiti: listening on (http:\/\/\S+)$/.exec(l);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  const server = {
    url,
    /** The web app release (SHA-256 of its asset manifest) the server printed, if it has one. */
    release: output.map((l) => /^vaiti: web app release ([0-9a-f]{64})$/.exec(l)?.[1]).find(Boolean) ?? null,
    data,
    demo: null,
    log: () => output.join('\n'),
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        const deadline = Date.now() + 10_000;
        while (exited === null && Date.now() < deadline) await sleep(50);
        if (exited === null) child.kill('SIGKILL');
      }
      await rm(data, { recursive: true, force: true });
    },
  };
  if (demo) {
    try {
      server.demo = await waitForDemo(data, output, () => exited, readyTimeoutMs);
    } catch (e) {
      await server.stop();
      throw e;
    }
  }
  return server;
}

/** Waits until the demo clinic is seeded (demo.json appears) or seeding reports a failure. */
async function waitForDemo(data, output, exited, timeoutMs) {
  const path = join(data, 'demo.json');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
    if (exited()) throw new Error(`vaiti serve exited while seeding the demo:\n${output.join('\n')}`);
    if (output.some((l) => l.includes('seeding the demo clinic failed'))) {
      throw new Error(`demo seeding failed:\n${output.join('\n')}`);
    }
    if (Date.now() > deadline) throw new Error(`the demo was not seeded in ${timeoutMs / 1000} s:\n${output.join('\n')}`);
    await sleep(200);
  }
}

/** The demo users of `role` (admin, therapist, frontdesk, auditor, patient). */
export function demoUsers(demo, role) {
  return demo.users.filter((u) => roles(u).includes(role));
}

/** A demo user's roles: `role` may name one, or several joined by `,`, `+` or spaces. */
export function roles(user) {
  return String(user.role)
    .split(/[,+\s]+/)
    .filter(Boolean);
}
