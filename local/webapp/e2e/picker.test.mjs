// Browser test of local/webapp/static/picker.js with the Google emulator's Picker stand-in, in
// Chromium against the local stack in drive.file mode (devstack -drive-scope drive.file): the
// module fetches the Picker's settings from the API, loads the emulator's api.js, opens the
// dialog; a click on a folder and Select resolve pickFolder with it, and the folder (granted by
// the Picker) becomes the target. Cancel resolves null; a wrong app ID shows the dialog's error
// and grants nothing. Screenshots go to results/browser-picker/.
//
// Run: cd local/webapp/e2e && npm ci && node --test picker.test.mjs
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SHOTS = path.join(ROOT, 'results', 'browser-picker');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ACCOUNT = 'marie.dupont@example.com';
const FOLDER = 'Comptabilité';
const WAIT = 20_000;

let stack; // {proc, dir, log, urls}
let context;
let profile;
let page;
let cfg; // the page's /config.json
let shotNo = 0;

async function startStack() {
  mkdirSync(path.join(ROOT, '.dev'), { recursive: true });
  const bin = path.join(ROOT, '.dev', 'devstack-picker');
  const build = spawnSync('go', ['build', '-o', bin, './local/cmd/devstack'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('go build ./local/cmd/devstack failed');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'drivesync-picker-e2e-'));
  const args = ['-dir', dir, '-drive-scope', 'drive.file', '-frontend-port', '0', '-connections-port', '0',
    '-callback-port', '0', '-google-port', '0', '-efactori-port', '0', '-companies', 'default'];
  const proc = spawn(bin, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  proc.stdout.on('data', (b) => { log += b; });
  proc.stderr.on('data', (b) => { log += b; });
  stack = { proc, dir, get log() { return log; } };
  const deadline = Date.now() + 180_000;
  while (!log.includes('Press Ctrl-C')) {
    if (proc.exitCode !== null) throw new Error(`devstack exited (${proc.exitCode}):\n${log}`);
    if (Date.now() > deadline) throw new Error(`devstack did not come up in 180 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const url = (label) => {
    const m = log.match(new RegExp(`${label}\\s+(http://\\S+)`));
    if (!m) throw new Error(`no "${label}" URL in the devstack output:\n${log}`);
    return m[1];
  };
  stack.urls = { frontend: url('Settings page'), google: url('Google OAuth \\+ Drive') };
  assert.match(log, /DRIVE_SCOPE drive\.file/, 'the stack runs in drive.file mode');
}

async function stopStack() {
  if (!stack) return;
  const { proc } = stack;
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill('SIGINT');
    const exited = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 30_000);
      proc.once('exit', () => { clearTimeout(timer); resolve(true); });
    });
    if (!exited) {
      try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  rmSync(stack.dir, { recursive: true, force: true });
}

async function shot(name) {
  shotNo += 1;
  await page.screenshot({ path: path.join(SHOTS, `${String(shotNo).padStart(2, '0')}-${name}.png`), fullPage: true });
}

// api calls the connection API as the page does.
async function api(method, p, body) {
  const r = await fetch(cfg.apiUrl + p, {
    method,
    headers: { Authorization: `Bearer ${cfg.token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function emulator(p, body) {
  const r = await fetch(`${stack.urls.google}/emulator/drive/${p}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await r.text();
  assert.equal(r.status, 200, `${p}: ${text}`);
  return JSON.parse(text);
}

// openPicker calls pickFolder in the page; the result lands in window.pickResult. wrongAppId
// makes the page's api() hand the Picker another project's number.
async function openPicker(connectionId, { wrongAppId = false } = {}) {
  await page.evaluate(async ({ apiUrl, token, id, scriptUrl, wrongAppId }) => {
    const { pickFolder } = await import('/picker.js');
    window.pickResult = undefined;
    const api = async (method, p) => {
      const r = await fetch(apiUrl + p, { method, headers: { Authorization: `Bearer ${token}` } });
      if (!r.ok) throw new Error(`${method} ${p}: ${r.status}`);
      const body = await r.json();
      return wrongAppId ? { ...body, appId: '999999999999' } : body;
    };
    pickFolder({ api, connectionId: id, locale: 'fr', scriptUrl, title: 'Choisir le dossier de destination' })
      .then((v) => { window.pickResult = { value: v }; }, (e) => { window.pickResult = { error: String(e) }; });
  }, { apiUrl: cfg.apiUrl, token: cfg.token, id: connectionId, scriptUrl: cfg.pickerScriptUrl, wrongAppId });
  const frame = page.frameLocator('iframe[name="picker-frame"]');
  await frame.getByRole('heading', { name: 'Choisir le dossier de destination' }).waitFor({ timeout: WAIT });
  return frame;
}

async function pickResult() {
  await page.waitForFunction(() => window.pickResult !== undefined, null, { timeout: WAIT });
  return page.evaluate(() => window.pickResult);
}

describe('picker.js with the emulator Picker, stack in drive.file mode', () => {
  let conn;
  let folderId;

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    await startStack();
    cfg = await (await fetch(`${stack.urls.frontend}config.json`)).json();
    ({ id: folderId } = await emulator('folders', { account: ACCOUNT, name: FOLDER }));
    await emulator('folders', { account: ACCOUNT, name: 'Privé' });
    profile = mkdtempSync(path.join(os.tmpdir(), 'drivesync-picker-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1100, height: 800 }, locale: 'fr-BE',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
  }, { timeout: 240_000 });

  after(async () => {
    if (context) await context.close().catch(() => {});
    if (profile) rmSync(profile, { recursive: true, force: true });
    await stopStack();
  }, { timeout: 60_000 });

  it('the integration says the deployment picks, and the page knows the Picker script', async () => {
    const integ = await api('GET', '/v1/integration');
    assert.equal(integ.folderSelection, 'picker');
    assert.equal(cfg.pickerScriptUrl, `${stack.urls.google}/js/api.js`);
  });

  it('consent on the Google emulator leaves the connection awaiting its folder', { timeout: 60_000 }, async () => {
    await api('PUT', '/v1/integration', { enabled: true });
    const created = await api('POST', '/v1/connections', { name: 'Compta', folderLayout: 'year', locale: 'fr' });
    conn = created.connection;
    await page.goto(created.authorizationUrl);
    await page.getByLabel(ACCOUNT).check({ timeout: WAIT });
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((u) => u.href.startsWith(stack.urls.frontend), { timeout: WAIT });
    assert.equal((await api('GET', `/v1/connections/${conn.id}`)).status, 'awaiting_folder');
  });

  it('Cancel resolves null and closes the dialog', { timeout: 60_000 }, async () => {
    const frame = await openPicker(conn.id);
    await shot('picker-open');
    await frame.getByRole('button', { name: 'Annuler' }).click();
    assert.deepEqual(await pickResult(), { value: null });
    assert.equal(await page.locator('iframe[name="picker-frame"]').count(), 0, 'the dialog is disposed');
  });

  it('a wrong app ID: the dialog shows Google\'s error, nothing can be selected', { timeout: 60_000 }, async () => {
    const frame = await openPicker(conn.id, { wrongAppId: true });
    const alert = frame.getByRole('alert');
    await alert.waitFor({ timeout: WAIT });
    assert.match(await alert.innerText(), /app ID/);
    assert.equal(await frame.getByRole('button', { name: 'Sélectionner' }).isDisabled(), true);
    await shot('picker-wrong-app-id');
    await frame.getByRole('button', { name: 'Annuler' }).click();
    assert.deepEqual(await pickResult(), { value: null });
    const put = await fetch(`${cfg.apiUrl}/v1/connections/${conn.id}/target`, {
      method: 'PUT', headers: { Authorization: `Bearer ${cfg.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ folderId }),
    });
    assert.equal(put.status, 400, 'the folder was not granted, so drivesync cannot see it');
  });

  it('click the folder, Select: pickFolder resolves with it and it becomes the target', { timeout: 90_000 }, async () => {
    const frame = await openPicker(conn.id);
    await frame.getByRole('button', { name: 'Privé', exact: true }).waitFor({ timeout: WAIT });
    await frame.getByRole('button', { name: FOLDER, exact: true }).click();
    assert.equal(await frame.getByRole('button', { name: FOLDER, exact: true }).getAttribute('aria-pressed'), 'true');
    await shot('picker-folder-selected');
    await frame.getByRole('button', { name: 'Sélectionner' }).click();
    const res = await pickResult();
    assert.equal(res.error, undefined, res.error);
    assert.equal(res.value.id, folderId);
    assert.equal(res.value.name, FOLDER);
    const active = await api('PUT', `/v1/connections/${conn.id}/target`, { folderId: res.value.id });
    assert.equal(active.status, 'active');
    assert.deepEqual(active.target.path.slice(-1), [FOLDER]);
  });
});
