// What a person does in the app, in the English UI (the browser's locale is en-GB): find
// fields by their labels, buttons by their role and name, headings by their text.

import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Generous: signing in runs Argon2 (64 MiB) in wasm, and the machine has two busy cores. */
export const SLOW = 60_000;

/** Opens the app and waits for the sign-in screen. */
export async function openApp(page, origin) {
  await page.goto(`${origin}/`);
  await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor({ timeout: SLOW });
}

/** Signs in on a new browser: clinic id, login, password and Secret Key. */
export async function signIn(page, { clinic, login, password, secretKey }) {
  await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor({ timeout: SLOW });
  await page.getByLabel('Clinic ID').fill(clinic);
  await page.getByLabel('Email or patient handle').fill(login);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Secret Key', { exact: true }).fill(secretKey);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  // The sign-in form goes away once the keys are unlocked.
  await page.locator('#signin-title').waitFor({ state: 'detached', timeout: SLOW });
  const error = page.locator('.notice.error');
  if (await error.count()) throw new Error(`sign-in refused: ${await error.first().innerText()}`);
}

/** Signs in with a demo user (demo.json's fields). */
export function signInAs(page, demo, user) {
  return signIn(page, {
    clinic: String(demo.clinic),
    login: user.login,
    password: user.password,
    secretKey: user.secret_key,
  });
}

/** Clicks a main navigation entry and waits for its screen's heading. */
export async function nav(page, entry, heading) {
  await page.getByRole('navigation', { name: 'main' }).getByRole('button', { name: entry, exact: true }).click();
  if (heading) await page.getByRole('heading', { name: heading, level: 1 }).waitFor({ timeout: SLOW });
}

/** Signs out from the header. */
export async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor({ timeout: SLOW });
}

/** Waits (up to SLOW, then goes on) until no status line says the app is still decrypting. */
export async function settled(page) {
  await page.getByText('Decrypting on this device…').first().waitFor({ state: 'detached', timeout: SLOW }).catch(() => {});
}

/**
 * Saves a screenshot of the whole page as `<VAITI_SCREENSHOTS>/<name>.png` (overwritten each
 * run; no directory set means no screenshots, as when a test is run by hand).
 */
export async function screenshot(page, name) {
  const dir = process.env.VAITI_SCREENSHOTS;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  // Let fonts and layout settle, and keep the blinking caret out of the picture.
  await page.evaluate(() => document.fonts?.ready);
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true, caret: 'hide', animations: 'disabled' });
}

/** Whether `<VAITI_SCREENSHOTS>/<name>.png` was written since `since` (ms) and is a PNG. */
export async function screenshotWritten(name, since) {
  const path = join(process.env.VAITI_SCREENSHOTS, `${name}.png`);
  const s = await stat(path);
  if (s.mtimeMs < since - 1000) throw new Error(`${path} was not written in this run`);
  const head = (await readFile(path)).subarray(0, 8);
  if (!head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) throw new Error(`${path} is not a PNG`);
  return s.size;
}
