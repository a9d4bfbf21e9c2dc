// picker.js — choosing a connection's target folder with the Google Picker, for deployments in
// drive.file mode (GET /v1/integration answers folderSelection: "picker"). An ES module with no
// dependencies; the settings page imports it.
//
// Contract
//
//   import { pickFolder, GOOGLE_API_SCRIPT } from './picker.js';
//
//   const folder = await pickFolder({ api, connectionId, locale, scriptUrl, title });
//   // folder: { id, name, parentId, driveId } of the picked folder, or null when the customer
//   // closed the Picker without picking. Then the page sets the target as usual:
//   //   await api('PUT', `/v1/connections/${connectionId}/target`, { folderId: folder.id });
//
//   api          async (method, path, body?) => parsed JSON: the page's own caller of the
//                connection API (base URL, bearer token, problem+json errors thrown as the page
//                likes). pickFolder calls api('GET', `/v1/connections/${id}/picker`) once per
//                opening and passes on whatever it throws (e.g. 409 needs-reauthorization).
//   connectionId the connection: awaiting_folder, active (to change folder) or error.
//   locale       'fr', 'nl' or 'en': the Picker's language (default: the page's <html lang>).
//   scriptUrl    where Google's Picker loader is: GOOGLE_API_SCRIPT in production; the local dev
//                stack gives the Google emulator's stand-in in /config.json (pickerScriptUrl).
//   title        optional: the Picker dialog's title.
//
//   It rejects with an Error whose code is 'picker-unavailable' when the loader cannot be loaded
//   (network, blocked script) or the API's answer is not usable; the page should say that the
//   Google Picker could not open and offer to try again. One Picker is open at a time: a second
//   call while one is open returns the same promise.
//
// How the Picker is built follows Google's documentation: a DocsView of ViewId.FOLDERS that
// includes folders and lets them be selected (folder MIME type only, shared drives shown), the
// connection's OAuth access token (setOAuthToken), drivesync's browser API key
// (setDeveloperKey) and drivesync's Cloud project number as app ID (setAppId) — the app ID is
// what makes Google grant the picked folder to drivesync, which sees nothing else of the Drive
// with the drive.file scope. The API's answer holds the access token: it is used for this
// Picker only, never stored or logged.

export const GOOGLE_API_SCRIPT = 'https://apis.google.com/js/api.js';

const FOLDER_MIME = 'application/vnd.google-apps.folder';

// pickerError is the Error pickFolder rejects with when the Picker cannot open.
function pickerError(message, cause) {
  const err = new Error(message, cause ? { cause } : undefined);
  err.code = 'picker-unavailable';
  return err;
}

const scripts = new Map(); // script URL → Promise that resolves once window.gapi is there

// loadScript adds Google's loader to the page once per URL.
function loadScript(url) {
  if (!scripts.has(url)) {
    const p = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = url;
      s.async = true;
      s.onload = () => (window.gapi && typeof window.gapi.load === 'function'
        ? resolve()
        : reject(pickerError(`${url} did not define gapi.load`)));
      s.onerror = () => reject(pickerError(`could not load ${url}`));
      document.head.appendChild(s);
    });
    p.catch(() => scripts.delete(url)); // a failed load is tried again next time
    scripts.set(url, p);
  }
  return scripts.get(url);
}

// loadPicker loads the loader, then the 'picker' library, as Google documents it.
async function loadPicker(url) {
  await loadScript(url);
  if (window.google && window.google.picker) return window.google.picker;
  await new Promise((resolve, reject) => {
    window.gapi.load('picker', {
      callback: resolve,
      onerror: (e) => reject(pickerError('could not load the Google Picker library', e)),
      timeout: 15000,
      ontimeout: () => reject(pickerError('loading the Google Picker library timed out')),
    });
  });
  if (!window.google || !window.google.picker) throw pickerError('the Google Picker library is missing');
  return window.google.picker;
}

// checkSettings refuses an answer of GET /v1/connections/{id}/picker that cannot open a Picker.
function checkSettings(s) {
  const ok = s && typeof s.oauthToken === 'string' && s.oauthToken !== ''
    && typeof s.appId === 'string' && /^[0-9]+$/.test(s.appId)
    && typeof s.developerKey === 'string' && s.developerKey !== '';
  if (!ok) throw pickerError('the picker settings from the API are incomplete');
}

let open = null; // the promise of the Picker on screen

/**
 * Opens the Google Picker on the connection's Google Drive and resolves with the folder the
 * customer picks ({id, name, parentId, driveId}), or null if they cancel. See the contract at
 * the top of this file.
 */
export function pickFolder({ api, connectionId, locale, scriptUrl = GOOGLE_API_SCRIPT, title } = {}) {
  if (typeof api !== 'function' || typeof connectionId !== 'string' || connectionId === '') {
    return Promise.reject(new TypeError('pickFolder needs api and connectionId'));
  }
  if (open) return open;
  open = run({ api, connectionId, locale, scriptUrl, title }).finally(() => { open = null; });
  return open;
}

async function run({ api, connectionId, locale, scriptUrl, title }) {
  // Both at once: the script is cached after the first opening, the token is fresh every time.
  const [settings, picker] = await Promise.all([
    api('GET', `/v1/connections/${encodeURIComponent(connectionId)}/picker`),
    loadPicker(scriptUrl),
  ]);
  checkSettings(settings);
  const lang = locale || document.documentElement.lang || 'fr';

  return new Promise((resolve, reject) => {
    let dialog = null;
    const finish = (value) => {
      if (dialog) dialog.dispose();
      resolve(value);
    };
    const callback = (data) => {
      const action = data && data[picker.Response.ACTION];
      if (action === picker.Action.PICKED) {
        const doc = (data[picker.Response.DOCUMENTS] || [])[0];
        if (!doc || !doc[picker.Document.ID]) {
          finish(null);
          return;
        }
        finish({
          id: doc[picker.Document.ID],
          name: doc[picker.Document.NAME] || '',
          parentId: doc[picker.Document.PARENT_ID] || null,
          driveId: doc.driveId || null,
        });
      } else if (action === picker.Action.CANCEL) {
        finish(null);
      }
      // Action.LOADED (the dialog is on screen) needs nothing.
    };
    try {
      const view = new picker.DocsView(picker.ViewId.FOLDERS)
        .setIncludeFolders(true)
        .setSelectFolderEnabled(true)
        .setMimeTypes(FOLDER_MIME)
        .setEnableDrives(true);
      let builder = new picker.PickerBuilder()
        .addView(view)
        .enableFeature(picker.Feature.SUPPORT_DRIVES)
        .setOAuthToken(settings.oauthToken)
        .setDeveloperKey(settings.developerKey)
        .setAppId(settings.appId)
        .setLocale(lang)
        .setCallback(callback);
      if (title) builder = builder.setTitle(title);
      dialog = builder.build();
      dialog.setVisible(true);
    } catch (e) {
      if (dialog) dialog.dispose();
      reject(pickerError('could not open the Google Picker', e));
    }
  });
}
