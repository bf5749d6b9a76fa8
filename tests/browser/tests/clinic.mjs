// The clinic story, end to end in headless Chromium against `vaiti serve --demo`, each person in
// a browser of their own: a therapist signs in on a new browser; a patient is added; the
// therapist writes a note private to the care team and one shared with the patient, and invites
// the patient to the portal; the patient signs up (Emergency Kit), and after the therapist's next
// sign-in completes the join, sees only the shared note and the therapist's access, and reports
// an entry; front desk has no way to reach notes. Along the way: the session cookie, hide screen
// and lock, screenshots of the main screens; at the end, every request body the server received
// is searched for the plaintext typed into the browsers.
//
// The tests run in order and build on each other (a sequential suite).

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openBrowser } from '../lib/browser.mjs';
import { temporaryHetu } from '../lib/hetu.mjs';
import { findPlaintext } from '../lib/plaintext.mjs';
import { startProxy } from '../lib/proxy.mjs';
import { demoUsers, roles, startServer } from '../lib/server.mjs';
import { SLOW, nav, openApp, screenshot, screenshotWritten, settled, signIn, signInAs, signOut } from '../lib/ui.mjs';

/** The screenshots this suite writes (docs/screenshots/<name>.png). */
export const SCREENSHOTS = [
  'sign-in',
  'emergency-kit',
  'caseload',
  'pending-joins',
  'chart-notes',
  'note-editor',
  'portal-notes',
  'portal-access-log',
  'frontdesk-patients',
  'add-patient',
  'admin',
  'about',
];

// What people type. Fictional, and distinctive enough that finding one in the captured traffic
// cannot be a coincidence. The identity code is a temporary one (never issued to a person).
const PATIENT = {
  name: 'Ilmari Selainkoe',
  hetu: temporaryHetu(1991, 6, 12, 957),
  phone: '+358 40 555 0137',
  email: 'ilmari.selainkoe@example.invalid',
};
const PRIVATE_NOTE = {
  title: 'Process note Q7-Kuusi',
  text: 'Private to the care team: Ilmari spoke of the lighthouse dream again (marker PRV-4417).',
};
const SHARED_NOTE = {
  title: 'Homework for the week Q7-Lumi',
  text: 'Shared with you: walk by the sea twice this week and write down one calm moment (marker SHR-8802).',
};
const PATIENT_PASSWORD = 'selain-salasana-7731';
const REPORT_REASON = 'I do not know this person, marker RPT-5530';

/** A visible element whose text is exactly `text`, in the page. */
const byText = (page, text) => page.getByText(text, { exact: true });

export default {
  name: 'clinic',
  sequential: true,
  async setup() {
    const server = await startServer({ demo: true });
    const proxy = await startProxy(server.url);
    const demo = server.demo;
    const therapists = demoUsers(demo, 'therapist');
    assert.ok(therapists.length > 0, 'the demo has no therapist');
    // A therapist who also holds the front-desk role (a solo practitioner) adds the patient
    // themselves; otherwise the front desk of the therapist's branch does.
    const solo = therapists.find((u) => roles(u).includes('frontdesk'));
    const therapist = solo ?? therapists.find((u) => u.branch === 'Helsinki') ?? therapists[0];
    const frontdesk = demoUsers(demo, 'frontdesk').find(
      (u) => !roles(u).includes('therapist') && (!therapist.branch || u.branch === therapist.branch),
    );
    assert.ok(frontdesk, `the demo has no front desk in ${therapist.branch}`);
    const admin = demoUsers(demo, 'admin')[0];
    assert.ok(admin, 'the demo has no admin');
    return { server, proxy, demo, therapist, solo, frontdesk, admin, browsers: {}, state: {}, runStart: Date.now() };
  },
  /** Pictures of every open browser, to see what a failed test saw. */
  async onFailure(f) {
    const dir = join(tmpdir(), 'vaiti-e2e-failures');
    await mkdir(dir, { recursive: true });
    for (const [who, b] of Object.entries(f.browsers)) {
      const path = join(dir, `${who}.png`);
      await b.page.screenshot({ path, fullPage: true }).catch(() => {});
      console.log(`     ${who}'s browser: ${path}`);
      if (b.problems.length) console.log(`     ${who}'s browser reported: ${b.problems.join(' | ')}`);
    }
  },
  async teardown(f) {
    if (!f) return;
    for (const b of Object.values(f.browsers)) await b.close();
    await f.proxy.close();
    await f.server.stop();
  },
  tests: [
    {
      name: 'a therapist signs in on a new browser with clinic id, email, password and Secret Key',
      async run(f) {
        const b = (f.browsers.therapist = await openBrowser(f.proxy.origin));
        await openApp(b.page, f.proxy.origin);
        await screenshot(b.page, 'sign-in');
        await signInAs(b.page, f.demo, f.therapist);
        await b.page.getByRole('heading', { name: 'My caseload', level: 1 }).waitFor({ timeout: SLOW });
        await settled(b.page);
        b.assertClean();
      },
    },
    {
      name: 'the session cookie is HttpOnly and SameSite=Strict, and not in document.cookie',
      async run(f) {
        const b = f.browsers.therapist;
        const cookies = await b.context.cookies();
        const session = cookies.filter((c) => c.name === 'vaiti_session');
        assert.equal(session.length, 1, `one session cookie, got ${JSON.stringify(cookies.map((c) => c.name))}`);
        const [c] = session;
        assert.ok(c.value.length >= 16, 'the cookie carries a token');
        assert.equal(c.httpOnly, true, 'HttpOnly');
        assert.equal(c.sameSite, 'Strict', 'SameSite=Strict');
        assert.equal(c.path, '/api/v1/');
        // Plain HTTP on loopback here; over TLS the server adds Secure (its own tests cover that).
        const pageCookies = await b.page.evaluate(() => document.cookie);
        assert.ok(!pageCookies.includes('vaiti_session'), `document.cookie shows the session: ${pageCookies}`);
        assert.ok(!pageCookies.includes(c.value), 'document.cookie holds the token');
        b.assertClean();
      },
    },
    {
      name: 'the patient is added (HETU checked as typed) with the therapist on the care team',
      async run(f) {
        const adder = f.solo ? f.therapist : f.frontdesk;
        let b;
        if (f.solo) {
          b = f.browsers.therapist;
        } else {
          b = f.browsers.frontdesk = await openBrowser(f.proxy.origin);
          await openApp(b.page, f.proxy.origin);
          await signInAs(b.page, f.demo, adder);
          await b.page.getByRole('heading', { name: 'Patients', level: 1 }).waitFor({ timeout: SLOW });
        }
        const { page } = b;
        await nav(page, 'Add patient', 'Add patient');
        const branch = page.getByLabel('Branch', { exact: true });
        await branch.locator('option').first().waitFor({ state: 'attached', timeout: SLOW });
        if (f.therapist.branch) await branch.selectOption({ label: f.therapist.branch });
        await page.getByLabel('Name', { exact: true }).fill(PATIENT.name);
        // Typed key by key, as a person types: the check follows each key.
        const status = page.getByTestId('hetu-status');
        const hetu = page.getByLabel('Personal identity code (HETU)');
        await hetu.pressSequentially(PATIENT.hetu.slice(0, 6));
        assert.doesNotMatch(await status.innerText(), /^Valid/, 'half a code is not valid');
        await hetu.pressSequentially(PATIENT.hetu.slice(6, -1));
        // The wrong check character is refused …
        const wrong = PATIENT.hetu.slice(-1) === 'A' ? 'B' : 'A';
        await hetu.pressSequentially(wrong);
        await page.locator('[data-testid="hetu-status"].error').waitFor({ timeout: SLOW });
        // … the right one accepted, with the birth date read from it.
        await hetu.press('Backspace');
        await hetu.pressSequentially(PATIENT.hetu.slice(-1));
        await page.locator('[data-testid="hetu-status"].ok', { hasText: 'born 1991-06-12' }).waitFor({ timeout: SLOW });
        await page.getByLabel('Phone (optional)').fill(PATIENT.phone);
        await page.getByLabel('Email (optional)').fill(PATIENT.email);
        await page.getByRole('group', { name: 'Care team' }).getByLabel(f.therapist.login).check();
        await screenshot(page, 'add-patient');
        await page.getByRole('button', { name: 'Save the patient', exact: true }).click();
        const added = page.getByTestId('patient-added');
        await added.getByRole('heading', { name: 'Patient added.' }).waitFor({ timeout: SLOW });
        await added.getByText(f.therapist.login).waitFor();
        b.assertClean();
      },
    },
    {
      name: 'the therapist writes a care-team note and a shared note, and sees both in the timeline',
      async run(f) {
        const { page } = f.browsers.therapist;
        await nav(page, 'Caseload', 'My caseload');
        await page.getByRole('cell', { name: PATIENT.name, exact: true }).waitFor({ timeout: SLOW });
        await screenshot(page, 'caseload');
        await page.getByRole('button', { name: `Open chart — ${PATIENT.name}` }).click();
        await page.getByRole('heading', { name: PATIENT.name, level: 1 }).waitFor({ timeout: SLOW });
        await page.locator('#chart[data-notes-rendered="0"]').waitFor({ timeout: SLOW });
        // The identity decrypted in the browser.
        await byText(page, PATIENT.hetu).waitFor();

        const write = async (note, shared, shot) => {
          await page.getByLabel('Title', { exact: true }).fill(note.title);
          await page.getByLabel('Text', { exact: true }).fill(note.text);
          const share = page.getByLabel('Share with the patient (they can read it in the portal)');
          assert.equal(await share.isChecked(), false, 'a new note is private to the care team by default');
          if (shared) await share.check();
          await page.getByText('Draft saved, encrypted, on this device at').waitFor({ timeout: SLOW });
          if (shot) await screenshot(page, shot);
          await page.getByRole('button', { name: 'Sign and lock', exact: true }).click();
        };
        await write(PRIVATE_NOTE, false, 'note-editor');
        await page.locator('#chart[data-notes-rendered="1"]').waitFor({ timeout: SLOW });
        await write(SHARED_NOTE, true);
        await page.locator('#chart[data-notes-rendered="2"]').waitFor({ timeout: SLOW });

        const timeline = page.locator('ol.timeline');
        const privateCard = timeline.locator('li.note', { hasText: PRIVATE_NOTE.title });
        const sharedCard = timeline.locator('li.note.shared', { hasText: SHARED_NOTE.title });
        await privateCard.getByText(PRIVATE_NOTE.text).waitFor();
        await privateCard.getByText('Care team only').waitFor();
        await sharedCard.getByText(SHARED_NOTE.text).waitFor();
        await sharedCard.getByText('Shared with patient').waitFor();
        assert.equal(await timeline.locator('li.note').count(), 2);
        // The editor is empty again and its draft gone.
        assert.equal(await page.getByLabel('Title', { exact: true }).inputValue(), '');
        f.state.chartUrl = page.url();
        await screenshot(page, 'chart-notes');
        f.browsers.therapist.assertClean();
      },
    },
    {
      name: 'front desk invites the patient to the portal and gets a one-time code',
      async run(f) {
        let b = f.browsers.frontdesk;
        if (b) {
          await nav(b.page, 'Patients', 'Patients');
        } else {
          b = f.browsers.frontdesk = await openBrowser(f.proxy.origin);
          await openApp(b.page, f.proxy.origin);
          await signInAs(b.page, f.demo, f.frontdesk);
          await b.page.getByRole('heading', { name: 'Patients', level: 1 }).waitFor({ timeout: SLOW });
        }
        const { page } = b;
        await page.getByRole('button', { name: `Show identity — ${PATIENT.name}` }).click({ timeout: SLOW });
        const card = page.getByTestId('identity-card');
        await card.getByText(PATIENT.hetu, { exact: true }).waitFor({ timeout: SLOW });
        // The front desk hands the code over; the care team confirms the sign-up.
        await card.getByText(/their therapist confirms it at their next sign-in/).waitFor();
        await card.getByRole('button', { name: 'Invite to the portal', exact: true }).click();
        const code = page.getByTestId('invite-code');
        await code.waitFor({ timeout: SLOW });
        f.state.inviteCode = (await code.innerText()).trim();
        assert.match(f.state.inviteCode, /^V1\./, 'an invite code starts with V1.');
        await page.getByRole('button', { name: 'Done — hide the code', exact: true }).click();
        b.assertClean();
      },
    },
    {
      name: 'the patient signs up with the code on a new browser and is shown the Emergency Kit',
      async run(f) {
        const b = (f.browsers.patient = await openBrowser(f.proxy.origin));
        const { page } = b;
        await openApp(page, f.proxy.origin);
        await page.getByRole('button', { name: 'I have an invite code' }).click();
        await page.getByRole('heading', { name: 'Sign up with an invite', level: 1 }).waitFor();
        await page.getByLabel('Invite code').fill(f.state.inviteCode);
        await page.getByLabel('New password (at least 10 characters)').fill(PATIENT_PASSWORD);
        await page.getByLabel('Repeat the password').fill(PATIENT_PASSWORD);
        await page.getByRole('button', { name: 'Create account', exact: true }).click();
        await page.getByRole('heading', { name: 'Emergency Kit', level: 1 }).waitFor({ timeout: SLOW });
        const kit = {
          clinic: (await page.getByTestId('kit-clinic').innerText()).trim(),
          login: (await page.getByTestId('kit-login').innerText()).trim(),
          secretKey: (await page.getByTestId('kit-secret-key').innerText()).trim(),
        };
        assert.equal(kit.clinic, String(f.demo.clinic), 'the kit names the clinic');
        assert.match(kit.secretKey, /^V1-/, 'a Secret Key starts with V1-');
        assert.ok(kit.login.length >= 8, 'a patient handle');
        f.state.kit = kit;
        await screenshot(page, 'emergency-kit');
        await page.getByRole('button', { name: 'I have saved my Emergency Kit' }).click();
        await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
        b.assertClean();
      },
    },
    {
      name: "the therapist confirms the patient's portal sign-up the front desk started",
      async run(f) {
        const { page } = f.browsers.therapist;
        await signOut(page);
        await signInAs(page, f.demo, f.therapist);
        await page.getByRole('heading', { name: 'My caseload', level: 1 }).waitFor({ timeout: SLOW });
        // Confirming certifies the patient and wraps the shared tier's keys to them.
        const waiting = page.getByTestId('pending-joins');
        const row = waiting.locator('li', { hasText: PATIENT.name });
        await row.waitFor({ timeout: SLOW });
        await row.getByText(`invited by`).waitFor();
        await row.getByText(f.state.kit.login).waitFor();
        await screenshot(page, 'pending-joins');
        const completed = page.waitForResponse((r) => /\/invites\/[0-9a-f]+\/complete$/.test(new URL(r.url()).pathname), { timeout: SLOW });
        await row.getByRole('button', { name: 'Confirm', exact: true }).click();
        const res = await completed;
        assert.ok(res.ok(), `completing the join answered ${res.status()}`);
        await page.getByText('Confirmed: the patient can now sign in to the portal.').waitFor({ timeout: SLOW });
        await waiting.waitFor({ state: 'detached', timeout: SLOW });
        await settled(page);
        f.browsers.therapist.assertClean();
      },
    },
    {
      name: 'the patient sees only the shared note, and the therapist in "who accessed my record"',
      async run(f) {
        const { page } = f.browsers.patient;
        await signIn(page, { clinic: f.state.kit.clinic, login: f.state.kit.login, password: PATIENT_PASSWORD, secretKey: f.state.kit.secretKey });
        await page.getByRole('heading', { name: 'Notes shared with me', level: 1 }).waitFor({ timeout: SLOW });
        await settled(page);
        await page.getByText(SHARED_NOTE.title).waitFor({ timeout: SLOW });
        await page.getByText(SHARED_NOTE.text).waitFor();
        const body = await page.locator('body').innerText();
        for (const secret of [PRIVATE_NOTE.title, PRIVATE_NOTE.text, 'PRV-4417', 'Q7-Kuusi']) {
          assert.ok(!body.includes(secret), `the patient's portal shows the private note: ${secret}`);
        }
        const html = await page.content();
        assert.ok(!html.includes('PRV-4417') && !html.includes('Q7-Kuusi'), 'the private note is nowhere in the page');
        assert.equal(await page.locator('ol.timeline li.note').count(), 1, 'exactly one note');
        // The author by the name they chose at sign-up (it is in their certificate).
        await page.locator('ol.timeline li.note .meta', { hasText: f.therapist.name }).waitFor();
        await screenshot(page, 'portal-notes');

        await nav(page, 'Who has accessed my record', 'Who accessed my record, and why');
        await page.getByText(/Log checked on this device: \d+ entries/).waitFor({ timeout: SLOW });
        const rows = page.locator('table.access-log tbody tr', { hasText: f.therapist.login });
        assert.ok((await rows.count()) > 0, `no access by ${f.therapist.login} in the patient's log`);
        // Opening the chart released its keys to the therapist: that is in the patient's log.
        const openings = rows.filter({ hasText: 'key release' });
        assert.ok((await openings.count()) > 0, `no chart opening (key release) by ${f.therapist.login} in the patient's log`);
        // The front desk's work is there too, as what it was (never a key release).
        const desk = page.locator('table.access-log tbody tr', { hasText: f.frontdesk.login });
        assert.equal(await desk.filter({ hasText: 'key release' }).count(), 0, 'a key release to front desk');
        await screenshot(page, 'portal-access-log');

        // "I don't recognise this": a reason, sealed to the clinic's admins and auditors.
        await openings.first().getByRole('button', { name: "I don't recognise this" }).click();
        await page.getByLabel(/Say briefly why/).fill(REPORT_REASON);
        await page.getByRole('button', { name: 'Send report', exact: true }).click();
        await page.getByText('Report sent. The clinic will look into it.').waitFor({ timeout: SLOW });
        f.browsers.patient.assertClean();
      },
    },
    {
      name: 'front desk signs in and has no way to reach note content',
      async run(f) {
        let b = f.browsers.frontdesk;
        if (b) {
          await signOut(b.page);
        } else {
          b = f.browsers.frontdesk = await openBrowser(f.proxy.origin);
          await openApp(b.page, f.proxy.origin);
        }
        const { page } = b;
        await signInAs(page, f.demo, f.frontdesk);
        await page.getByRole('heading', { name: 'Patients', level: 1 }).waitFor({ timeout: SLOW });
        await page.getByText('The front desk role gives no access to notes.').waitFor();
        const navText = await page.getByRole('navigation', { name: 'main' }).innerText();
        assert.ok(!navText.includes('Caseload'), 'front desk has a caseload');
        await page.getByRole('cell', { name: PATIENT.name, exact: true }).waitFor({ timeout: SLOW });
        assert.equal(await page.getByRole('button', { name: /Open chart/ }).count(), 0, 'an open-chart button for front desk');
        // What front desk can open is the identity: never notes.
        await page.getByRole('button', { name: `Show identity — ${PATIENT.name}` }).click();
        const card = page.getByTestId('identity-card');
        await card.getByText(PATIENT.hetu, { exact: true }).waitFor({ timeout: SLOW });
        await card.getByText(f.therapist.login).first().waitFor();
        await card.getByText('Portal', { exact: true }).waitFor();
        await screenshot(page, 'frontdesk-patients');
        const text = await page.locator('body').innerText();
        const html = await page.content();
        for (const secret of [PRIVATE_NOTE.title, PRIVATE_NOTE.text, SHARED_NOTE.title, SHARED_NOTE.text, 'PRV-4417', 'SHR-8802']) {
          assert.ok(!text.includes(secret) && !html.includes(secret), `front desk sees note content: ${secret}`);
        }
        assert.equal(await page.locator('ol.timeline, li.note, #note-title, #chart').count(), 0, 'a notes timeline or editor for front desk');
        assert.equal(await page.getByRole('button', { name: /Open chart|Sign and lock|Confirm/ }).count(), 0);
        b.assertClean();
      },
    },
    {
      name: 'hide screen (F8) covers the page; Lock shows the lock screen; the password unlocks',
      async run(f) {
        const b = f.browsers.therapist;
        const { page } = b;
        await page.getByRole('heading', { name: 'My caseload', level: 1 }).waitFor();
        await page.keyboard.press('F8');
        const cover = page.locator('.cover[role="dialog"]');
        await cover.waitFor();
        const box = await cover.boundingBox();
        const vp = page.viewportSize();
        assert.ok(box && box.x <= 0 && box.y <= 0 && box.width >= vp.width && box.height >= vp.height, `the cover does not cover the page: ${JSON.stringify(box)}`);
        // What is on top in the middle of the screen is the cover, not the caseload.
        const onTop = await page.evaluate(([x, y]) => !!document.elementFromPoint(x, y)?.closest('.cover'), [vp.width / 2, vp.height / 2]);
        assert.ok(onTop, 'the cover is not on top');
        await page.keyboard.press('F8');
        await cover.waitFor({ state: 'detached' });

        await page.getByRole('button', { name: 'Lock', exact: true }).click();
        await page.getByRole('heading', { name: 'Locked', level: 1 }).waitFor();
        assert.equal(await page.getByText(PATIENT.name).count(), 0, 'the lock screen shows a patient');
        await page.getByLabel('Password', { exact: true }).fill(f.therapist.password);
        await page.getByRole('button', { name: 'Unlock', exact: true }).click();
        await page.getByRole('heading', { name: 'My caseload', level: 1 }).waitFor({ timeout: SLOW });
        await page.getByRole('cell', { name: PATIENT.name, exact: true }).waitFor({ timeout: SLOW });
        b.assertClean();
      },
    },
    {
      name: 'front desk adds a colleague therapist to the care team; the earlier notes wait for a clinician',
      async run(f) {
        const colleague = demoUsers(f.demo, 'therapist').find(
          (u) => u !== f.therapist && u.branch === f.therapist.branch && !roles(u).includes('frontdesk'),
        );
        assert.ok(colleague, `the demo has no second therapist in ${f.therapist.branch}`);
        f.colleague = colleague;
        const { page } = f.browsers.frontdesk;
        await page.getByRole('button', { name: `Show identity — ${PATIENT.name}` }).click({ timeout: SLOW });
        const card = page.getByTestId('identity-card');
        await card.getByText(PATIENT.hetu, { exact: true }).waitFor({ timeout: SLOW });
        await card.getByLabel('Add a therapist to the care team').selectOption(colleague.login);
        await card.getByRole('button', { name: 'Add to care team', exact: true }).click();
        await page.getByText(/^Therapist added to the care team\./).waitFor({ timeout: SLOW });
        f.browsers.frontdesk.assertClean();

        // The therapist's next opening of the chart gives the colleague the keys from now on,
        // and shows who added them and when, with a button to share the earlier notes.
        const { page: tp } = f.browsers.therapist;
        await nav(tp, 'Caseload', 'My caseload');
        await tp.getByRole('button', { name: `Open chart — ${PATIENT.name}` }).click({ timeout: SLOW });
        await tp.getByRole('heading', { name: PATIENT.name, level: 1 }).waitFor({ timeout: SLOW });
        const row = tp.locator('ul.waiting-list li.waiting', { hasText: colleague.login });
        await row.getByText(/cannot read the earlier notes yet/).waitFor({ timeout: SLOW });
        await row.getByText(f.frontdesk.login).waitFor();

        // Before anyone shares them, the colleague opens the chart and reads none of them.
        const c = (f.browsers.colleague = await openBrowser(f.proxy.origin));
        await openApp(c.page, f.proxy.origin);
        await signInAs(c.page, f.demo, colleague);
        await c.page.getByRole('heading', { name: 'My caseload', level: 1 }).waitFor({ timeout: SLOW });
        await c.page.getByRole('button', { name: `Open chart — ${PATIENT.name}` }).click({ timeout: SLOW });
        // The client says why, rather than showing a chart with notes silently missing.
        await c.page.getByText(/you hold no key for some of this chart's notes/).waitFor({ timeout: SLOW });
        await settled(c.page);
        const before = await c.page.content();
        for (const secret of ['PRV-4417', 'SHR-8802']) {
          assert.ok(!before.includes(secret), `the colleague reads an earlier note before it was shared: ${secret}`);
        }
        f.state.colleagueOpened = true;
      },
    },
    {
      name: "the therapist shares the earlier notes; the colleague then reads them",
      async run(f) {
        assert.ok(f.state.colleagueOpened, 'the previous test did not add the colleague');
        const { page } = f.browsers.therapist;
        const row = page.locator('ul.waiting-list li.waiting', { hasText: f.colleague.login });
        const shared = page.waitForResponse(
          (r) => /\/charts\/[0-9a-f]+\/wraps$/.test(new URL(r.url()).pathname) && r.request().method() === 'POST',
          { timeout: SLOW },
        );
        await row.getByRole('button', { name: 'Share the earlier notes', exact: true }).click();
        const res = await shared;
        assert.ok(res.ok(), `sharing the earlier notes answered ${res.status()}`);
        await row.waitFor({ state: 'detached', timeout: SLOW });
        f.browsers.therapist.assertClean();

        const { page: cp } = f.browsers.colleague;
        await nav(cp, 'Caseload', 'My caseload');
        await cp.getByRole('button', { name: `Open chart — ${PATIENT.name}` }).click({ timeout: SLOW });
        await cp.getByRole('heading', { name: PATIENT.name, level: 1 }).waitFor({ timeout: SLOW });
        const timeline = cp.locator('ol.timeline');
        await timeline.locator('li.note', { hasText: PRIVATE_NOTE.title }).getByText(PRIVATE_NOTE.text).waitFor({ timeout: SLOW });
        await timeline.locator('li.note.shared', { hasText: SHARED_NOTE.title }).getByText(SHARED_NOTE.text).waitFor();
        f.browsers.colleague.assertClean();
      },
    },
    {
      name: "the admin reads the patient's report; the about page shows the release fingerprint",
      async run(f) {
        const b = (f.browsers.admin = await openBrowser(f.proxy.origin));
        const { page } = b;
        await openApp(page, f.proxy.origin);
        await signInAs(page, f.demo, f.admin);
        await page.getByRole('heading', { name: 'Clinic administration', level: 1 }).waitFor({ timeout: SLOW });
        // The patient's report, decrypted here: only admins and auditors hold its key.
        await page.getByRole('button', { name: 'Open the reports', exact: true }).click();
        await page.getByTestId('reports-list').getByText(REPORT_REASON).waitFor({ timeout: SLOW });
        await settled(page);
        await screenshot(page, 'admin');
        await page.getByRole('button', { name: 'About', exact: true }).click();
        await page.getByRole('heading', { name: 'About this app', level: 1 }).waitFor();
        // The fingerprint the browser computes is the one the server announced at start-up.
        assert.ok(f.server.release, `the server printed no web app release:\n${f.server.log()}`);
        await page.getByTestId('release').filter({ hasText: f.server.release }).waitFor({ timeout: SLOW });
        await screenshot(page, 'about');
        b.assertClean();
      },
    },
    {
      name: 'no request body the server received holds any plaintext typed into the browsers',
      async run(f) {
        const requests = f.proxy.requests;
        const api = requests.filter((r) => r.path.startsWith('/api/') && r.body.length > 0);
        const bytes = api.reduce((n, r) => n + r.body.length, 0);
        // Not vacuous: the story's sign-ins, sign-up, patient, notes and report all went
        // through the proxy as request bodies.
        assert.ok(api.length >= 20 && bytes >= 20_000, `only ${api.length} request bodies (${bytes} bytes) were captured`);
        for (const what of ['/login/start', '/login/finish', '/signup', '/reports']) {
          assert.ok(api.some((r) => r.path.includes(what)), `no request to …${what} was captured`);
        }
        const users = [f.therapist, f.frontdesk, f.admin, f.colleague].filter(Boolean);
        const secrets = [
          { label: 'patient name', value: PATIENT.name },
          { label: 'patient HETU', value: PATIENT.hetu },
          { label: 'patient phone', value: PATIENT.phone },
          { label: 'patient email', value: PATIENT.email },
          { label: 'private note title', value: PRIVATE_NOTE.title },
          { label: 'private note text', value: PRIVATE_NOTE.text },
          { label: 'shared note title', value: SHARED_NOTE.title },
          { label: 'shared note text', value: SHARED_NOTE.text },
          { label: 'report reason', value: REPORT_REASON },
          { label: "patient's password", value: PATIENT_PASSWORD },
          { label: "patient's Secret Key", value: f.state.kit.secretKey },
          ...users.flatMap((u) => [
            { label: `${u.role}'s password`, value: u.password },
            { label: `${u.role}'s Secret Key`, value: u.secret_key },
          ]),
          // Staff emails are logins (the server must know who signs in), so they are not
          // searched for; the patient's handle is a login too. The patient's own email above
          // is identity data, not a login, and is searched for.
        ];
        // The detector finds what is there: a login name, in the same requests, is found; and
        // each secret planted in a synthetic body in each encoding, at an odd offset, is found.
        const control = findPlaintext(requests, [{ label: 'login', value: f.therapist.login }]);
        assert.ok(control.length > 0, 'the search found not even a login name: it would find nothing');
        for (const { label, value } of secrets) {
          const bytes = Buffer.concat([Buffer.from('x'), Buffer.from(value)]);
          for (const planted of [value, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')]) {
            const fake = [{ method: 'POST', path: '/planted', body: Buffer.from(`{"sealed":"AAAA${planted}AAAA"}`) }];
            assert.ok(findPlaintext(fake, [{ label, value }]).length > 0, `the search misses a planted ${label}`);
          }
        }
        const hits = findPlaintext(requests, secrets);
        console.log(`     searched ${requests.length} requests (${api.length} API bodies, ${bytes} bytes) for ${secrets.length} typed secrets`);
        assert.deepEqual(
          hits.map((h) => `${h.label} (${h.form}) in ${h.request}`),
          [],
          'plaintext reached the server',
        );
      },
    },
    {
      name: 'screenshots of the main screens were written',
      async run(f) {
        if (!process.env.VAITI_SCREENSHOTS) return;
        for (const name of SCREENSHOTS) {
          const size = await screenshotWritten(name, f.runStart);
          assert.ok(size > 5_000, `${name}.png is suspiciously small (${size} bytes)`);
        }
      },
    },
  ],
};
