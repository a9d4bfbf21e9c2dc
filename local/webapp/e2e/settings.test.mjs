// Browser test of the reference settings page (local/webapp) against the whole local stack:
// it starts local/cmd/devstack on free ports, drives Debian's Chromium through playwright-core,
// clicks through the connection flow including Google's consent screen (the emulator's), and
// saves a screenshot of every screen under results/browser/. Run it with scripts/test-browser.
//
// The steps share one browser page and run in order; once one fails the rest are skipped.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SHOTS = path.join(ROOT, 'results', 'browser');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// Fixed names of the local stack (local/devstack): the seeded Google account and the OAuth
// client drivesync uses there.
const ACCOUNT = 'marie.dupont@example.com';
const CLIENT_ID = 'drivesync-dev.apps.googleusercontent.com';
const CLIENT_SECRET = 'drivesync-dev-secret'; // an emulator credential, not a secret anywhere else
const SHARED_DRIVE = 'Équipe finance';
const EFACTORI_TOKEN = 'efactori-dev-token'; // the stand-in's admin credential (local/devstack)
const PROJECT = 'drivesync-dev';
const EVENTS_TOPIC = 'efactori-document-events';
const FAILED_DOC = 'acme-e2e-0999'; // a document made during the test, whose first copy fails
const FAILED_NUMBER = 'F2026-0999';
const STEP_TIMEOUT = 60_000;
const WAIT = 20_000;

let stack; // {proc, urls, dir, log}
let context;
let profile;
let page;
let shotNo = 0;
let broken = false; // a step failed: the following ones cannot run
const timings = [];

// ---------------------------------------------------------------- the local stack

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
}

// startStack starts the dev stack with DRIVE_SCOPE driveScope (built once per run).
async function startStack(driveScope = 'drive') {
  const began = Date.now();
  mkdirSync(path.join(ROOT, '.dev'), { recursive: true });
  const bin = path.join(ROOT, '.dev', 'devstack');
  if (!startStack.built) {
    const build = spawnSync('go', ['build', '-o', bin, './local/cmd/devstack'], { cwd: ROOT, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('go build ./local/cmd/devstack failed');
    startStack.built = true;
  }
  // Its own folder, so the Drive emulator starts empty and nothing of scripts/dev is touched.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'drivesync-e2e-'));
  const args = ['-dir', dir, '-frontend-port', '0', '-connections-port', '0', '-callback-port', '0',
    '-google-port', '0', '-efactori-port', '0', '-drive-scope', driveScope];
  if (process.env.DEVSTACK_VERBOSE) args.push('-v');
  const proc = spawn(bin, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  proc.stdout.on('data', (b) => { log += b; });
  proc.stderr.on('data', (b) => { log += b; if (process.env.DEVSTACK_VERBOSE) process.stderr.write(b); });
  stack = { proc, dir, urls: null, get log() { return log; } };
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`devstack exited (${proc.exitCode}):\n${log}`);
    if (log.includes('Press Ctrl-C')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!log.includes('Press Ctrl-C')) throw new Error(`devstack did not come up in 180 s:\n${log}`);
  const url = (label) => {
    const m = log.match(new RegExp(`${label}\\s+(http://\\S+)`));
    if (!m) throw new Error(`no "${label}" URL in the devstack output:\n${log}`);
    return m[1];
  };
  stack.urls = {
    frontend: url('Settings page'),
    api: url('Connections API').replace(/\/v1\/integration$/, ''),
    callback: url('OAuth callback'),
    google: url('Google OAuth \\+ Drive'),
    efactori: url('eFactori stand-in'),
  };
  for (const [name, label] of [['firestore', 'Firestore emulator'], ['pubsub', 'Pub/Sub emulator']]) {
    const m = log.match(new RegExp(`${label}\\s+(\\S+:\\d+)`));
    if (m) stack.urls[name] = `http://${m[1]}`;
  }
  timings.push([`stack up (${driveScope})`, Date.now() - began]);
}

function portOpen(u) {
  const { hostname, port } = new URL(u);
  return new Promise((resolve) => {
    const s = net.connect({ host: hostname, port: Number(port) });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
  });
}

// stopStack sends SIGINT as Ctrl-C would, and checks every port is closed afterwards.
async function stopStack() {
  if (!stack) return;
  const { proc } = stack;
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill('SIGINT');
    if (!(await waitExit(proc, 30_000))) {
      console.error('devstack did not stop within 30 s of SIGINT; killing its process group');
      try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ }
      await waitExit(proc, 5_000);
    }
  }
  // The functions run from binaries built into the stack's folder: none may outlive it.
  const left = !existsSync('/proc') ? [] : readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(stack.dir); } catch { return false; }
  });
  rmSync(stack.dir, { recursive: true, force: true });
  assert.deepEqual(left, [], `processes of the stack still running: ${left.join(' ')}`);
  if (stack.urls) {
    for (const [name, u] of Object.entries(stack.urls)) {
      assert.equal(await portOpen(u), false, `${name} (${u}) still answers after the stack stopped`);
    }
  }
}

// ---------------------------------------------------------------- helpers

async function shot(name) {
  shotNo += 1;
  const file = path.join(SHOTS, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// step runs one test step, skipping it once an earlier one failed.
function step(name, fn, timeout = STEP_TIMEOUT) {
  it(name, { timeout }, async (t) => {
    if (broken) { t.skip('an earlier step failed'); return; }
    const began = Date.now();
    try {
      await fn();
    } catch (err) {
      broken = true;
      if (page) await shot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`).catch(() => {});
      throw err;
    } finally {
      timings.push([name, Date.now() - began]);
    }
  });
}

// expectText waits until the locator is visible and its text matches re.
async function expectText(locator, re) {
  await locator.first().waitFor({ state: 'visible', timeout: WAIT });
  const deadline = Date.now() + WAIT;
  let text = '';
  while (Date.now() < deadline) {
    text = (await locator.first().innerText()).replace(/\s+/g, ' ').trim();
    if (re.test(text)) return text;
    await page.waitForTimeout(100);
  }
  assert.match(text, re);
  return text;
}

// expectCopyDone waits, longer than for a click's answer, until the connection screen says the
// copy (or reorganisation) run is over.
async function expectCopyDone(ms = 100_000) {
  const copy = page.locator('#detail-copy');
  await waitUntil('the copy to finish on the page', async () => /^Terminée/.test(await copy.innerText()), ms);
}

// expectFocus checks that keyboard focus is on the element with this id.
async function expectFocus(id) {
  await page.waitForFunction((want) => document.activeElement && document.activeElement.id === want, id, { timeout: WAIT })
    .catch(() => {});
  const got = await page.evaluate(() => {
    const el = document.activeElement;
    return el ? `${el.tagName.toLowerCase()}#${el.id} "${(el.textContent || '').trim().slice(0, 60)}"` : 'nothing';
  });
  assert.ok(got.includes(`#${id} `), `focus is on ${got}, want #${id}`);
}

async function apiGet(p) {
  const cfg = await (await fetch(`${stack.urls.frontend}config.json`)).json();
  const r = await fetch(cfg.apiUrl + p, { headers: { Authorization: `Bearer ${cfg.token}` } });
  assert.equal(r.status, 200, `GET ${p}`);
  return r.json();
}

// waitUntil calls fn every 250 ms until it returns something truthy, and returns that.
async function waitUntil(what, fn, ms = WAIT) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function documentState(connectionId, documentId) {
  const cfg = await (await fetch(`${stack.urls.frontend}config.json`)).json();
  const r = await fetch(`${cfg.apiUrl}/v1/connections/${connectionId}/documents/${documentId}`, {
    headers: { Authorization: `Bearer ${cfg.token}` },
  });
  if (r.status === 404) return '';
  assert.equal(r.status, 200, `GET document ${documentId}`);
  return (await r.json()).state;
}

async function onlyConnection() {
  const { connections } = await apiGet('/v1/connections');
  assert.equal(connections.length, 1, 'one connection');
  return connections[0];
}

// revokeGrant does what a person does in their Google account's "third-party access" page:
// remove the app. The OAuth emulator exposes RevokeAll only in Go, so this goes through its
// public endpoints: a consent for the same account and client (posted to the consent form the
// emulator serves), a code exchange, and POST /revoke with that access token, which ends every
// token of the account + client, drivesync's refresh token included.
async function revokeGrant(account) {
  await revoke(await userToken(account));
}

// userToken is an access token for account and drivesync's OAuth client with the full drive
// scope, from the emulator's public consent form and token endpoint.
async function userToken(account) {
  const { google, callback } = stack.urls;
  const consent = await fetch(`${google}/signin/oauth/consent`, {
    method: 'POST', redirect: 'manual',
    body: new URLSearchParams({
      client_id: CLIENT_ID, redirect_uri: callback, response_type: 'code',
      scope: 'https://www.googleapis.com/auth/drive', state: 'e2e-user', account, action: 'allow',
    }),
  });
  assert.equal(consent.status, 302, 'consent redirects with a code');
  const code = new URL(consent.headers.get('location')).searchParams.get('code');
  assert.ok(code, 'authorization code');
  const tok = await fetch(`${google}/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uri: callback,
    }),
  });
  assert.equal(tok.status, 200, 'token exchange');
  return (await tok.json()).access_token;
}

// revoke revokes accessToken, which ends every token and grant of its account and client.
async function revoke(accessToken) {
  const rev = await fetch(`${stack.urls.google}/revoke`, { method: 'POST', body: new URLSearchParams({ token: accessToken }) });
  assert.equal(rev.status, 200, 'revoke');
}

// userFolder makes a folder in the account's Drive as the person would in Google Drive (the
// emulator's admin endpoint): drivesync (drive.file) sees it only once it is picked in the Picker.
async function userFolder(account, name, parentId = 'root') {
  return driveAdmin('folders', { account, name, fileId: parentId });
}

// ENGLISH matches the English of the API's problems and lastError messages, which the page must
// never show on a French screen.
const ENGLISH = /\b(the|needed|must|choose|lost|already|invalid|request|folder|reconnect|Google Drive refused)\b/i;

async function expectNoEnglish(locator) {
  const text = await locator.first().innerText();
  assert.doesNotMatch(text, ENGLISH, `English on the French page: "${text}"`);
}

// expectRoute waits until the address shows the screen's route (#/…).
async function expectRoute(re) {
  await page.waitForFunction((src) => new RegExp(src).test(window.location.hash), re.source, { timeout: WAIT }).catch(() => {});
  assert.match(new URL(page.url()).hash, re);
}

// reload reloads the page, as a person pressing F5 does, and waits until it is drawn again.
async function reload() {
  await page.reload();
  await page.locator('body[data-ready=true]').waitFor({ timeout: WAIT });
}

async function driveAdmin(p, body) {
  const r = await fetch(`${stack.urls.google}/emulator/drive/${p}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await r.text();
  assert.equal(r.status, 200, `drive emulator ${p}: ${text}`);
  return JSON.parse(text);
}

// publishDocument makes a new document in the eFactori stand-in (its admin API) and publishes its
// event to the Pub/Sub emulator's topic, as eFactori does, so the dev stack's SyncDocument
// copies it.
async function publishDocument(documentId, upsert) {
  const r = await fetch(`${stack.urls.efactori}/admin/companies/acme/documents/${documentId}`, {
    method: 'PUT', headers: { Authorization: `Bearer ${EFACTORI_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(upsert),
  });
  const text = await r.text();
  assert.equal(r.status, 200, `eFactori upsert: ${text}`);
  const event = JSON.parse(text);
  const msg = {
    data: Buffer.from(JSON.stringify(event)).toString('base64'),
    attributes: { companyId: event.companyId, eventType: event.eventType, schemaVersion: String(event.schemaVersion) },
  };
  const p = await fetch(`${stack.urls.pubsub}/v1/projects/${PROJECT}/topics/${EVENTS_TOPIC}:publish`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ messages: [msg] }),
  });
  assert.equal(p.status, 200, `publish: ${await p.text()}`);
  return event;
}

// efactoriFaults makes the stand-in's next content downloads fail (404: the revision is gone).
async function efactoriFaults(body) {
  const r = await fetch(`${stack.urls.efactori}/admin/faults${body ? '/content' : ''}`, {
    method: body ? 'PUT' : 'DELETE', headers: { Authorization: `Bearer ${EFACTORI_TOKEN}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  assert.equal(r.status, 204, `eFactori faults: ${await r.text()}`);
}

async function consent(allow) {
  await page.waitForURL((u) => u.href.startsWith(stack.urls.google), { timeout: WAIT });
  await expectText(page.getByRole('heading', { level: 1 }), /Sign in with Google/);
  const radio = page.getByLabel(ACCOUNT);
  await radio.waitFor({ timeout: WAIT });
  if (allow) await radio.check();
  await shot(allow ? 'consent-account-chosen' : 'consent-screen');
  await page.getByRole('button', { name: allow ? 'Allow' : 'Cancel' }).click();
  await page.waitForURL((u) => u.href.startsWith(stack.urls.frontend), { timeout: WAIT });
  await page.locator('body[data-ready=true]').waitFor({ timeout: WAIT });
}

// ---------------------------------------------------------------- the test

// setUp starts a stack with DRIVE_SCOPE driveScope, seeds the shared drive, and opens Chromium.
async function setUp(driveScope) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (scripts/test-browser does it)`);
  broken = false;
  await startStack(driveScope);
  const r = await fetch(`${stack.urls.google}/emulator/drive/shared-drives`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ account: ACCOUNT, name: SHARED_DRIVE }),
  });
  const seeded = await r.text();
  assert.equal(r.status, 200, `seed shared drive: ${seeded}`);
  stack.sharedDriveId = JSON.parse(seeded).id;
  const began = Date.now();
  profile = mkdtempSync(path.join(os.tmpdir(), 'drivesync-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 800 },
    locale: 'fr-BE',
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  timings.push(['browser up', Date.now() - began]);
}

// tearDown closes Chromium and stops the stack, checking nothing of it is left.
async function tearDown() {
  if (context) await context.close().catch(() => {});
  context = null;
  if (profile) {
    // Chromium may still be writing its profile as it exits: retry, and never fail the run
    // over a temporary directory.
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch (err) {
      console.warn(`profile ${profile} not removed: ${err.message}`);
    }
  }
  profile = null;
  try {
    await stopStack();
  } finally {
    stack = null;
    console.log('timings (ms):', timings.splice(0).map(([n, ms]) => `${n}=${ms}`).join(', '));
    console.log(`screenshots in ${SHOTS}: ${readdirSync(SHOTS).length}`);
  }
}

describe('settings page in Chromium against the local stack', () => {
  before(async () => {
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    await setUp('drive');
  }, { timeout: 240_000 });

  after(tearDown, { timeout: 60_000 });

  step('opens on "Applications et connexions" with the Google Drive card', async () => {
    await page.goto(stack.urls.frontend);
    await page.locator('body[data-ready=true]').waitFor({ timeout: WAIT });
    await expectText(page.getByRole('heading', { level: 1 }), /^Applications et connexions$/);
    await expectText(page.getByRole('heading', { name: 'Synchronisation et sauvegarde avec Google Drive' }), /Google Drive/);
    await expectText(page.locator('#integration-state'), /^Désactivée$/);
    assert.equal(await page.getByRole('button', { name: 'Configurer' }).isDisabled(), true, 'Configurer waits for Activer');
    await expectFocus('apps-heading');
    await shot('applications');
  });

  step('speaks Dutch and English, French by default', async () => {
    await page.getByLabel('Langue').selectOption('nl');
    await expectText(page.getByRole('heading', { level: 1 }), /^Toepassingen en koppelingen$/);
    await expectText(page.getByRole('button', { name: 'Inschakelen' }), /Inschakelen/);
    await shot('applications-nl');
    await page.getByLabel('Taal').selectOption('en');
    await expectText(page.getByRole('heading', { level: 1 }), /^Apps and connections$/);
    await page.getByLabel('Language').selectOption('fr');
    await expectText(page.getByRole('heading', { level: 1 }), /^Applications et connexions$/);
  });

  step('Activer switches the integration on', async () => {
    await page.getByRole('button', { name: 'Activer' }).click();
    await expectText(page.locator('#notice'), /synchronisation avec Google Drive est activée/);
    await expectText(page.locator('#integration-state'), /^Activée$/);
    assert.equal(await page.getByRole('button', { name: 'Configurer' }).isDisabled(), false);
    await expectFocus('btn-configure');
    assert.equal((await apiGet('/v1/integration')).enabled, true);
    await shot('activated');
  });

  step('Configurer lists the connected Drives (none yet)', async () => {
    await page.keyboard.press('Enter'); // focus is on Configurer
    await expectText(page.getByRole('heading', { level: 2, name: 'Google Drive connectés' }), /Google Drive connectés/);
    await expectFocus('connections-heading');
    await expectText(page.locator('#connections-empty'), /Aucun Google Drive/);
    await expectRoute(/^#\/connections$/);
    await shot('connections-empty');
  });

  step('Ajouter: its own address (reload, back, forward), a name the server refuses explained in French', async () => {
    await page.getByRole('button', { name: 'Ajouter Google Drive' }).click();
    await expectRoute(/^#\/connections\/new$/);
    await reload(); // the address alone brings the form back
    await expectFocus('add-heading');
    // A control character passes the page's own check (not blank) and is refused by the API,
    // whose English reason must not reach the screen.
    await page.getByLabel('Nom de la connexion').fill('Compta\u0007bilité');
    await page.locator('#layout-year').check();
    await page.getByRole('button', { name: 'Continuer avec Google' }).click();
    await expectText(page.locator('#add-name-error'), /^Ce nom n'est pas accepté : de 1 à 100 caractères, sans caractère de contrôle/);
    await expectText(page.locator('#alert'), /^Corrigez les champs indiqués\.$/);
    await expectNoEnglish(page.locator('#view-add'));
    await expectNoEnglish(page.locator('#alert'));
    await expectFocus('add-name');
    assert.equal(await page.getByLabel('Nom de la connexion').getAttribute('aria-invalid'), 'true');
    assert.equal((await apiGet('/v1/connections')).connections.length, 0, 'nothing was created');
    await shot('add-drive-server-validation');
    await page.getByRole('button', { name: 'Annuler' }).click();
    await expectRoute(/^#\/connections$/);
    await page.goBack();
    await expectText(page.getByRole('heading', { level: 2, name: 'Ajouter Google Drive' }), /Ajouter Google Drive/);
    await expectRoute(/^#\/connections\/new$/);
    await page.goForward();
    await expectText(page.locator('#connections-empty'), /Aucun Google Drive/);
    await expectRoute(/^#\/connections$/);
  });

  step('Ajouter Google Drive: name and folder structure, keyboard only', async () => {
    await page.getByRole('button', { name: 'Ajouter Google Drive' }).click();
    await expectFocus('add-heading');
    await expectText(page.locator('#view-add'), /Acme\/2024\/Facture\.pdf/);
    await expectText(page.locator('#view-add'), /Acme\/2024\/03\//);
    await expectText(page.locator('#view-add'), /Acme\/2024\/Factures de vente\//);
    // Submitting empty shows the errors next to the fields and focuses the first one.
    await page.getByRole('button', { name: 'Continuer avec Google' }).click();
    await expectText(page.locator('#add-name-error'), /Indiquez un nom/);
    await expectFocus('add-name');
    await page.keyboard.type('Comptabilité');
    await page.keyboard.press('Tab'); // into the radio group: the first structure
    await expectFocus('layout-year');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.getByLabel(/par type de document/).isChecked(), true, 'year_kind chosen with the arrows');
    await shot('add-drive-form');
    await page.keyboard.press('Tab');
    await expectFocus('add-submit');
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.href.startsWith(stack.urls.google), { timeout: WAIT });
    const c = await onlyConnection();
    assert.equal(c.name, 'Comptabilité');
    assert.equal(c.folderLayout, 'year_kind');
    assert.equal(c.status, 'awaiting_authorization');
  });

  step('Cancel on the consent screen: denied message, still awaiting authorization', async () => {
    await consent(false);
    await expectText(page.locator('#notice'), /Vous avez annulé l'autorisation.*« Comptabilité » attend toujours votre autorisation/);
    await expectText(page.locator('#detail-heading'), /^Comptabilité$/);
    await expectFocus('detail-heading');
    await expectText(page.locator('#detail-status'), /^En attente de l'autorisation Google$/);
    await expectText(page.locator('#detail-problem-action'), /^Reconnecter$/);
    assert.equal(new URL(page.url()).search, '', 'the callback query is cleared from the address bar');
    const c = await onlyConnection();
    assert.equal(c.status, 'awaiting_authorization');
    await expectRoute(new RegExp(`^#/connections/${c.id}$`));
    await shot('consent-denied');
  });

  step('Google fails the code exchange: result=error, in French, Reconnecter offered', async () => {
    // The code Google hands back is spoiled on its way to the callback (as an expired or
    // already used code would be): the exchange fails for real and the callback answers
    // result=error. The browser follows redirects without routing them, so the consent form's
    // answer, Google's redirect to the callback, is what is rewritten.
    const consentForm = (u) => u.href.startsWith(`${stack.urls.google}/signin/oauth/consent`);
    await page.route(consentForm, async (route) => {
      const resp = await route.fetch({ maxRedirects: 0 });
      const headers = resp.headers();
      const to = new URL(headers.location);
      assert.ok(to.searchParams.has('code'), `consent redirects with a code: ${to}`);
      to.searchParams.set('code', 'spoiled-code');
      await route.fulfill({ status: resp.status(), headers: { ...headers, location: to.href } });
    });
    try {
      await page.getByRole('button', { name: 'Reconnecter' }).click();
      await consent(true);
    } finally {
      await page.unroute(consentForm);
    }
    await expectText(page.locator('#notice'), /Google n'a pas pu terminer la connexion de « Comptabilité »\. Réessayez avec « Reconnecter »/);
    await expectText(page.locator('#detail-problem-text'), /^Google n'a pas terminé l'autorisation\. Cliquez sur « Reconnecter »/);
    await expectNoEnglish(page.locator('#view-detail'));
    const c = await onlyConnection();
    assert.equal(c.status, 'awaiting_authorization');
    assert.equal(c.lastError.code, 'authorization_failed');
    assert.equal(new URL(page.url()).search, '');
    await shot('consent-error');
  });

  step('Reconnecter, choose marie.dupont@example.com, Allow: the folder picker opens', async () => {
    await page.getByRole('button', { name: 'Reconnecter' }).click();
    await consent(true);
    await expectText(page.locator('#notice'), new RegExp(`Google Drive connecté avec le compte ${ACCOUNT.replace(/\./g, '\\.')}`));
    await expectText(page.getByRole('heading', { level: 2 }).filter({ hasText: 'Choisir le dossier' }), /Choisir le dossier de destination/);
    await expectFocus('picker-heading');
    await expectText(page.locator('#breadcrumb'), /^Mon Drive$/);
    const c = await onlyConnection();
    assert.equal(c.status, 'awaiting_folder');
    assert.equal(c.googleAccountEmail, ACCOUNT);
    await expectRoute(new RegExp(`^#/connections/${c.id}/folder$`));
    await shot('picker-my-drive');
  });

  step('folder picker: a shared drive, back to My Drive', async () => {
    await page.getByRole('button', { name: 'Drives partagés' }).click();
    await expectText(page.locator('#picker-folder-heading'), /^Drives partagés$/);
    await expectFocus('picker-folder-heading');
    assert.equal(await page.getByRole('button', { name: 'Sélectionner le dossier actuel' }).isDisabled(), true);
    await expectText(page.locator('#picker-current'), /Ouvrez un Drive partagé/);
    await shot('picker-shared-drives');
    await page.locator('#picker-list').getByRole('button', { name: SHARED_DRIVE }).click();
    await expectText(page.locator('#breadcrumb'), new RegExp(`Drives partagés.*${SHARED_DRIVE}`));
    await expectText(page.locator('#picker-empty'), /aucun sous-dossier/);
    assert.equal(await page.getByRole('button', { name: 'Sélectionner le dossier actuel' }).isDisabled(), false);
    await shot('picker-in-shared-drive');
    await page.getByRole('button', { name: 'Mon Drive' }).click();
    await expectText(page.locator('#breadcrumb'), /^Mon Drive$/);
  });

  step('folder picker: a folder with more subfolders than a page, Afficher plus de dossiers', async () => {
    // The customer's "Classeurs" folder holds 103 folders: the API lists 100 a page.
    const { id } = await userFolder(ACCOUNT, 'Classeurs');
    for (let i = 1; i <= 103; i++) await userFolder(ACCOUNT, `Classeur ${String(i).padStart(3, '0')}`, id);
    await page.getByRole('button', { name: 'Mon Drive' }).click(); // list My Drive again
    await page.locator('#picker-list').getByRole('button', { name: 'Classeurs' }).click();
    await expectText(page.locator('#breadcrumb'), /Mon Drive.*Classeurs/);
    await page.locator('#picker-list li').nth(99).waitFor({ timeout: WAIT });
    assert.equal(await page.locator('#picker-list li').count(), 100, 'a first page of 100');
    await page.getByRole('button', { name: 'Afficher plus de dossiers' }).click();
    await page.locator('#picker-list li').nth(102).waitFor({ timeout: WAIT });
    assert.equal(await page.locator('#picker-list li').count(), 103, 'the rest added below');
    assert.equal(await page.getByRole('button', { name: 'Afficher plus de dossiers' }).isVisible(), false, 'no more pages');
    assert.equal(await page.evaluate(() => [...document.querySelectorAll('#picker-list button')].indexOf(document.activeElement)), 100,
      'focus moves to the first folder added');
    await shot('picker-show-more-folders');
    await page.locator('#picker-mydrive').click();
    await expectText(page.locator('#breadcrumb'), /^Mon Drive$/);
  });

  step('folder picker: Drive full while creating a folder says what to do', async () => {
    const r = await fetch(`${stack.urls.google}/emulator/drive/faults`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ method: 'files.create', count: 1, kind: 'storageQuotaExceeded' }),
    });
    assert.equal(r.status, 200, `inject fault: ${await r.text()}`);
    await page.getByLabel('Nouveau dossier').fill('Factures eFactori');
    await page.getByRole('button', { name: 'Créer un dossier ici' }).click();
    await expectText(page.locator('#alert'), /Le stockage du compte Google est plein\. Libérez de l'espace/);
    await expectNoEnglish(page.locator('#alert')); // the API problem's English title and detail stay off the screen
    assert.equal(await page.locator('#view-picker').isVisible(), true, 'still in the folder picker');
    await shot('picker-drive-full');
  });

  step('folder picker: create "Factures eFactori", enter it, select it: active', async () => {
    await page.getByLabel('Nouveau dossier').fill('Factures eFactori');
    await page.getByRole('button', { name: 'Créer un dossier ici' }).click();
    await expectText(page.locator('#notice'), /Dossier « Factures eFactori » créé/);
    const folder = page.locator('#picker-list').getByRole('button', { name: 'Factures eFactori' });
    await folder.waitFor({ timeout: WAIT });
    const focused = await page.evaluate(() => document.activeElement?.textContent);
    assert.equal(focused, 'Factures eFactori', 'focus moves to the new folder');
    await shot('picker-folder-created');
    await page.keyboard.press('Enter');
    await expectText(page.locator('#breadcrumb'), /Mon Drive.*Factures eFactori/);
    await expectText(page.locator('#picker-current'), /Dossier actuel : Mon Drive \/ Factures eFactori/);
    await expectRoute(/\/folder\?parent=/);
    await reload(); // the folder's address brings the picker back in the same folder
    await expectText(page.locator('#breadcrumb'), /Mon Drive.*Factures eFactori/);
    await expectText(page.locator('#picker-current'), /Dossier actuel : Mon Drive \/ Factures eFactori/);
    await shot('picker-in-new-folder');
    await page.getByRole('button', { name: 'Sélectionner le dossier actuel' }).click();
    await expectText(page.locator('#notice'), /Dossier choisi : .*Factures eFactori/);
    await expectFocus('detail-heading');
    await expectText(page.locator('#detail-status'), /^Active : les documents sont copiés automatiquement$/);
    await expectText(page.locator('#detail-folder'), /^Mon Drive \/ Factures eFactori$/);
    await expectText(page.locator('#detail-account'), new RegExp(ACCOUNT.replace(/\./g, '\\.')));
    await expectText(page.locator('#detail-copy'), /Sur le point de commencer|documents copiés|Pas encore commencée/);
    const c = await onlyConnection();
    assert.equal(c.status, 'active');
    assert.ok(c.target.path.includes('Factures eFactori'), `target path ${c.target.path}`);
    const tree = await (await fetch(`${stack.urls.google}/emulator/drive/tree?account=${encodeURIComponent(ACCOUNT)}&format=text`)).text();
    assert.match(tree, /Factures eFactori/, 'the folder exists in the Drive emulator');
    await shot('connection-active');
  });

  step('initial copy: live progress until done', async () => {
    // The page polls GET /v1/connections/{id}; the dev stack's InitialCopy and SyncDocument
    // functions do the copying.
    const copy = page.locator('#detail-copy');
    let sawProgress = false;
    const deadline = Date.now() + 100_000;
    let text = '';
    while (Date.now() < deadline) {
      text = (await copy.innerText()).trim();
      if (/^Terminée/.test(text)) break;
      const m = text.match(/^(\d+) sur (\d+) documents copiés/);
      if (m && Number(m[1]) > 0 && !sawProgress) {
        sawProgress = true;
        await shot('initial-copy-progress');
      }
      await page.waitForTimeout(250);
    }
    assert.match(text, /^Terminée : \d+ documents copiés/, 'the initial copy finishes on the page');
    const c = await onlyConnection();
    assert.equal(c.initialCopy.state, 'done');
    assert.equal(text.startsWith(`Terminée : ${c.initialCopy.synced} documents copiés`), true, `page says "${text}"`);
    assert.ok(c.initialCopy.synced > 0, 'documents were copied');
    // The banner that said the copy starts now says it is done.
    await expectText(page.locator('#notice'), new RegExp(`^Copie terminée : ${c.initialCopy.synced} documents copiés dans Google Drive\\.$`));
    await expectText(page.locator('#detail-lastsync'), /\d/); // a date, no longer "Jamais"
    const tree = await (await fetch(`${stack.urls.google}/emulator/drive/tree?account=${encodeURIComponent(ACCOUNT)}&format=text`)).text();
    assert.match(tree, /Factures de vente/, 'year_kind layout with French kind folders in Drive');
    assert.match(tree, /\.pdf/, 'PDFs in Drive');
    await shot('initial-copy-done');
  }, 120_000);

  step('the connection screen has its own address: reload shows it again', async () => {
    const c = await onlyConnection();
    await expectRoute(new RegExp(`^#/connections/${c.id}$`));
    await reload();
    await expectText(page.locator('#detail-heading'), /^Comptabilité$/);
    await expectFocus('detail-heading');
    await expectText(page.locator('#detail-status'), /^Active : les documents sont copiés automatiquement$/);
    assert.equal(await page.locator('#notice').isVisible(), false, 'a reload does not replay the last message');
    await shot('connection-reloaded');
  });

  step('rename the connection', async () => {
    await page.getByLabel('Renommer la connexion').fill('Comptabilité Acme');
    await page.getByRole('button', { name: 'Renommer', exact: true }).click();
    await expectText(page.locator('#notice'), /renommée en « Comptabilité Acme »/);
    await expectText(page.locator('#detail-heading'), /^Comptabilité Acme$/);
    assert.equal((await onlyConnection()).name, 'Comptabilité Acme');
  });

  step('a second Drive with the same name (other capitals, spaces): refused next to the field', async () => {
    await page.getByRole('button', { name: '← Google Drive connectés' }).click();
    await expectRoute(/^#\/connections$/);
    await page.getByRole('button', { name: 'Ajouter Google Drive' }).click();
    await page.getByLabel('Nom de la connexion').fill('  comptabilité ACME ');
    await page.locator('#layout-year_month').check();
    await page.getByRole('button', { name: 'Continuer avec Google' }).click();
    await expectText(page.locator('#add-name-error'), /^Une autre connexion Google Drive porte déjà ce nom\. Choisissez-en un autre\.$/);
    await expectFocus('add-name');
    await expectNoEnglish(page.locator('#view-add'));
    assert.equal((await apiGet('/v1/connections')).connections.length, 1, 'no second connection');
    await shot('add-drive-duplicate-name');
    await page.getByRole('button', { name: 'Annuler' }).click();
    await page.getByRole('link', { name: 'Ouvrir : Comptabilité Acme' }).click();
    await expectText(page.locator('#detail-heading'), /^Comptabilité Acme$/);
    await expectFocus('detail-heading');
  });

  step('a new layout on the active connection: the page says files will be reorganised', async () => {
    await expectText(page.locator('#layout-reorganise-hint'), /^Les fichiers déjà copiés seront réorganisés dans la nouvelle structure\.$/);
    await page.getByLabel('Rangement des documents').selectOption('year_month');
    await page.getByRole('button', { name: 'Enregistrer le rangement' }).click();
    await expectText(page.locator('#notice'), /Rangement enregistré\. Les fichiers déjà copiés sont réorganisés/);
    await expectText(page.locator('#detail-layout'), /^Par année et par mois$/);
    const c = await onlyConnection();
    assert.equal(c.folderLayout, 'year_month');
    assert.notEqual(c.initialCopy.state, 'none', 'a run was started');
    await shot('layout-changed');
  });

  step('document history: the latest sent, a failed one with its reason in words, paging, a successful retry', async () => {
    await expectCopyDone(); // the layout change's run is over
    const c = await onlyConnection();
    await expectText(page.locator('#history-heading'), /^Derniers documents envoyés$/);
    await expectText(page.locator('#history-recent li').first(), /Envoyé le/);
    assert.equal(await page.locator('#history-recent li').count(), 5, 'the last five documents sent');
    await expectText(page.locator('#history-failed-empty'), /^Aucun document en échec\.$/);
    // A new invoice whose content eFactori answers 404 for at the first download: its copy
    // fails for real (content_gone), in the dev stack's SyncDocument.
    await efactoriFaults({ failNext: 1, status: 404 });
    await publishDocument(FAILED_DOC, { kind: 'sales_invoice', number: FAILED_NUMBER, date: '2026-11-30', title: 'Chantier rue Haute' });
    await waitUntil('the new document to fail', async () => (await documentState(c.id, FAILED_DOC)) === 'failed', 60_000);
    await efactoriFaults(null);
    await reload();
    const failed = page.locator('#history-failed li', { hasText: FAILED_NUMBER });
    await expectText(failed, new RegExp(`Facture de vente ${FAILED_NUMBER}.*En échec`));
    await expectText(failed, /Ce document, ou cette version, n'existe plus dans eFactori au moment de la copie\./);
    await expectText(page.getByRole('button', { name: 'Tout réessayer' }), /Tout réessayer/);
    await expectNoEnglish(page.locator('#detail-history'));
    await shot('history-failed-document');

    await page.getByRole('link', { name: 'Voir tous les documents' }).click();
    await expectRoute(new RegExp(`^#/connections/${c.id}/documents$`));
    await expectFocus('documents-heading');
    await expectText(page.locator('#documents-heading'), /^Documents envoyés vers « Comptabilité Acme »$/);
    await page.locator('#documents-list li').nth(9).waitFor({ timeout: WAIT });
    assert.equal(await page.locator('#documents-list li').count(), 10, 'a page of ten');
    await page.getByRole('button', { name: 'Afficher plus' }).click();
    await page.locator('#documents-list li').nth(10).waitFor({ timeout: WAIT });
    assert.ok(await page.locator('#documents-list li').count() > 10, 'the next page is added below');
    assert.equal(await page.evaluate(() => [...document.querySelectorAll('#documents-list li')].indexOf(document.activeElement)), 10,
      'focus moves to the first document added');
    await shot('documents-show-more');

    await page.locator('#documents-filters').getByRole('button', { name: 'En échec' }).click();
    await expectRoute(/\/documents\?state=failed$/);
    await reload(); // the filter is part of the address
    await expectText(page.locator('#documents-filters [aria-pressed=true]'), /^En échec$/);
    const item = page.locator('#documents-list li', { hasText: FAILED_NUMBER });
    await item.waitFor({ timeout: WAIT });
    assert.equal(await page.locator('#documents-list li').count(), 1, 'only the failed document');
    await shot('documents-failed');
    await item.getByRole('button', { name: `Réessayer : Facture de vente ${FAILED_NUMBER}` }).click();
    await expectText(page.locator('#notice'), new RegExp(`^Nouvel essai demandé pour Facture de vente ${FAILED_NUMBER}`));
    await expectText(page.locator('#notice'), new RegExp(`^Facture de vente ${FAILED_NUMBER} est maintenant dans Google Drive\\.$`));
    await expectText(page.locator('#documents-empty'), /^Aucun document\.$/);
    assert.equal(await documentState(c.id, FAILED_DOC), 'synced');
    const tree = await (await fetch(`${stack.urls.google}/emulator/drive/tree?account=${encodeURIComponent(ACCOUNT)}&format=text`)).text();
    assert.match(tree, new RegExp(FAILED_NUMBER), 'the retried document is in Drive');
    await shot('document-retried');
    await page.getByRole('link', { name: '← Retour à la connexion' }).click();
    await expectText(page.locator('#history-recent li').first(), new RegExp(`Facture de vente ${FAILED_NUMBER}.*Envoyé`));
    await expectText(page.locator('#history-failed-empty'), /^Aucun document en échec\.$/);
  }, 240_000);

  step('folder put in the trash: "error" status, the box says what to do, Choisir un autre dossier fixes it', async () => {
    await expectCopyDone(); // the layout change's run is over
    const c = await onlyConnection();
    await driveAdmin('trash', { account: ACCOUNT, fileId: c.target.folderId });
    await page.getByRole('button', { name: 'Tout recopier' }).click();
    await expectText(page.locator('#alert'), /^Le dossier choisi est dans la corbeille\. Restaurez-le dans Google Drive ou choisissez un autre dossier\./);
    await expectText(page.locator('#detail-status'), /^Problème : une action de votre part est nécessaire$/);
    await expectText(page.locator('#detail-problem-text'), /^Le dossier choisi n'est plus utilisable/);
    await expectText(page.locator('#detail-problem-action'), /^Choisir un autre dossier$/);
    assert.equal(await page.getByRole('button', { name: 'Tout recopier' }).isVisible(), false, 'no resync while in error');
    await expectNoEnglish(page.locator('#view-detail'));
    await expectNoEnglish(page.locator('#alert'));
    const e = await onlyConnection();
    assert.equal(e.status, 'error');
    assert.equal(e.lastError.code, 'target_trashed');
    await shot('connection-error-folder-trashed');
    // The customer restores the folder from Google Drive's trash, then chooses it again.
    await driveAdmin('untrash', { account: ACCOUNT, fileId: c.target.folderId });
    await page.locator('#detail-problem-action').click();
    await expectFocus('picker-heading');
    await page.locator('#picker-list').getByRole('button', { name: 'Factures eFactori' }).click();
    await expectText(page.locator('#breadcrumb'), /Mon Drive.*Factures eFactori/);
    await page.getByRole('button', { name: 'Sélectionner le dossier actuel' }).click();
    await expectText(page.locator('#detail-status'), /^Active : les documents sont copiés automatiquement$/);
    await expectText(page.locator('#notice'), /Dossier choisi : Mon Drive \/ Factures eFactori/);
    assert.equal(page.url().includes('/folder'), false, 'the picker is not left in the history');
    assert.equal((await onlyConnection()).status, 'active');
    await expectCopyDone();
  }, 240_000);

  step('revoked grant: the next Drive call shows the reconnect message', async () => {
    await revokeGrant(ACCOUNT);
    await page.getByRole('button', { name: 'Choisir un autre dossier' }).click();
    await expectText(page.locator('#detail-status'), /^Accès Google perdu : reconnexion nécessaire$/);
    await expectText(page.locator('#detail-problem-text'), /Google n'accepte plus l'accès d'eFactori à ce Drive.*Reconnecter/);
    await expectNoEnglish(page.locator('#view-detail')); // the API problem's English title stays off the screen
    await expectNoEnglish(page.locator('#alert'));
    await expectFocus('detail-heading');
    assert.equal((await onlyConnection()).status, 'needs_reauthorization');
    await shot('needs-reauthorization');
  });

  step('Reconnecter, consent again: active again', async () => {
    await page.getByRole('button', { name: 'Reconnecter' }).click();
    await consent(true);
    await expectText(page.locator('#notice'), /Google Drive connecté avec le compte/);
    await expectFocus('detail-heading');
    await expectText(page.locator('#detail-status'), /^Active : les documents sont copiés automatiquement$/);
    await expectText(page.locator('#detail-folder'), /Factures eFactori/);
    assert.equal((await onlyConnection()).status, 'active');
    await shot('active-again');
  });

  step('Tout recopier starts a new copy', async () => {
    await page.getByRole('button', { name: 'Tout recopier' }).click();
    await expectText(page.locator('#notice'), /Tous les documents vont être vérifiés/);
    await expectText(page.locator('#detail-copy'), /Sur le point de commencer|documents copiés/);
    await shot('resync');
  });

  step("an expired consent link: the callback's page is in French, with a way back", async () => {
    const c = await onlyConnection();
    await page.goto(`${stack.urls.callback}?state=expired-or-forged-state&code=x`);
    await expectText(page.getByRole('heading', { level: 1 }), /^Lien expiré$/);
    await expectText(page.locator('main'), /Ce lien d'autorisation a expiré ou a déjà été utilisé\. Retournez dans eFactori/);
    assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
    await expectNoEnglish(page.locator('main'));
    await shot('callback-link-expired');
    await page.getByRole('link', { name: 'Retour à eFactori' }).click();
    await page.locator('body[data-ready=true]').waitFor({ timeout: WAIT });
    await page.goto(`${stack.urls.frontend}#/connections/${c.id}`); // a bookmark of the connection
    await page.locator('body[data-ready=true]').waitFor({ timeout: WAIT });
    await expectText(page.locator('#detail-heading'), /^Comptabilité Acme$/);
  });

  step('Déconnecter asks first (Escape keeps it), then deletes', async () => {
    await page.getByRole('button', { name: 'Déconnecter' }).click();
    const dialog = page.getByRole('dialog', { name: 'Déconnecter ce Google Drive ?' });
    await expectText(dialog, /Les fichiers déjà copiés restent dans Google Drive/);
    await expectFocus('delete-title');
    await shot('disconnect-dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', timeout: WAIT });
    assert.equal((await apiGet('/v1/connections')).connections.length, 1, 'Escape deleted nothing');
    await page.getByRole('button', { name: 'Déconnecter' }).click();
    await dialog.getByRole('button', { name: 'Déconnecter' }).click();
    await expectText(page.locator('#notice'), /« Comptabilité Acme » est déconnecté/);
    await expectFocus('connections-heading');
    await expectText(page.locator('#connections-empty'), /Aucun Google Drive/);
    assert.equal((await apiGet('/v1/connections')).connections.length, 0);
    await shot('disconnected');
  });
});

// drive.file mode: drivesync sees only the folder the customer picks in the Google Picker (the
// Google emulator's stand-in, which grants the picked folder to the app as Google does).
describe('settings page in drive.file mode, with the Google Picker', () => {
  before(() => setUp('drive.file'), { timeout: 240_000 });
  after(tearDown, { timeout: 60_000 });

  const PICKED = 'Archives eFactori';

  step('drive.file: add a Drive and consent: the connection asks for its folder, no folder browser', async () => {
    await userFolder(ACCOUNT, PICKED);
    await page.goto(stack.urls.frontend);
    await page.locator('body[data-ready=true]').waitFor({ timeout: WAIT });
    await page.getByRole('button', { name: 'Activer' }).click();
    await expectText(page.locator('#integration-state'), /^Activée$/);
    assert.equal((await apiGet('/v1/integration')).folderSelection, 'picker');
    await page.getByRole('button', { name: 'Configurer' }).click();
    await page.getByRole('button', { name: 'Ajouter Google Drive' }).click();
    await page.getByLabel('Nom de la connexion').fill('Archives');
    await page.locator('#layout-year').check();
    await page.getByRole('button', { name: 'Continuer avec Google' }).click();
    await consent(true);
    await expectText(page.locator('#notice'), /Google Drive connecté avec le compte .*Choisissez maintenant le dossier de destination/);
    const c = await onlyConnection();
    assert.equal(c.status, 'awaiting_folder');
    await expectRoute(new RegExp(`^#/connections/${c.id}$`)); // the connection, not the folder browser
    await expectFocus('detail-heading');
    await expectText(page.locator('#detail-problem-text'), /^Choisissez le dossier Google Drive qui recevra les documents\.$/);
    await expectText(page.locator('#detail-problem-action'), /^Choisir le dossier$/);
    await shot('picker-mode-awaiting-folder');
    // A bookmark of the folder browser leads to the connection: there is nothing to browse.
    await page.goto(`${stack.urls.frontend}#/connections/${c.id}/folder`);
    await page.locator('body[data-ready=true]').waitFor({ timeout: WAIT });
    await expectRoute(new RegExp(`^#/connections/${c.id}$`));
    await expectText(page.locator('#detail-problem-action'), /^Choisir le dossier$/);
  });

  step('drive.file: Choisir le dossier opens the Google Picker; picking the folder makes the connection active', async () => {
    await page.locator('#detail-problem-action').click();
    const dialog = page.frameLocator('iframe');
    await expectText(dialog.locator('#picker-title'), /^Sélectionner un dossier$/);
    const folder = dialog.locator('#picker-items button.item', { hasText: PICKED });
    await folder.waitFor({ timeout: WAIT });
    await folder.click();
    await shot('picker-mode-google-picker');
    await dialog.getByRole('button', { name: 'Sélectionner' }).click();
    await expectText(page.locator('#notice'), new RegExp(`^Dossier choisi : .*${PICKED}\\. La copie des documents commence`));
    await expectFocus('detail-heading');
    await expectText(page.locator('#detail-status'), /^Active : les documents sont copiés automatiquement$/);
    await expectText(page.locator('#detail-folder'), new RegExp(PICKED));
    assert.equal(await page.locator('iframe').count(), 0, 'the Picker is gone');
    const c = await onlyConnection();
    assert.equal(c.status, 'active');
    await shot('picker-mode-active');
  });

  step('drive.file: the initial copy fills the picked folder; the banner follows it', async () => {
    await expectCopyDone();
    const c = await onlyConnection();
    assert.equal(c.initialCopy.state, 'done');
    assert.ok(c.initialCopy.synced > 0, 'documents were copied');
    await expectText(page.locator('#notice'), new RegExp(`^Copie terminée : ${c.initialCopy.synced} documents copiés dans Google Drive\\.$`));
    const tree = await (await fetch(`${stack.urls.google}/emulator/drive/tree?account=${encodeURIComponent(ACCOUNT)}&format=text`)).text();
    assert.match(tree, new RegExp(`${PICKED}[\\s\\S]*\\.pdf`), 'PDFs under the picked folder');
    await shot('picker-mode-copy-done');
  }, 120_000);

  step('drive.file: Choisir un autre dossier, then Annuler in the Picker, changes nothing', async () => {
    const before = await onlyConnection();
    await page.getByRole('button', { name: 'Choisir un autre dossier' }).click();
    const dialog = page.frameLocator('iframe');
    await expectText(dialog.locator('#picker-title'), /^Sélectionner un dossier$/);
    await dialog.getByRole('button', { name: 'Annuler' }).click();
    await expectText(page.locator('#notice'), /^Aucun dossier n'a été choisi\.$/);
    const after = await onlyConnection();
    assert.equal(after.status, 'active');
    assert.deepEqual(after.target, before.target);
  });
});
