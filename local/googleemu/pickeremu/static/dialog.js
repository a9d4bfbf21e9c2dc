// The local Google emulator's Picker dialog: it runs in the iframe api.js opens, gets the
// page's Picker settings by postMessage (never in a URL), lists what the signed-in user sees in
// Drive, and on Select has the emulator grant the picked items to the page's app before it
// answers the page with a response shaped like Google's.
(function () {
  'use strict';

  var T = {
    en: { title: 'Select a folder', myDrive: 'My Drive', sharedDrives: 'Shared drives', select: 'Select', cancel: 'Cancel',
      open: 'Open “{name}”', openShort: 'Open', loading: 'Loading…', empty: 'No items here.', location: 'Location' },
    fr: { title: 'Sélectionner un dossier', myDrive: 'Mon Drive', sharedDrives: 'Drives partagés', select: 'Sélectionner',
      cancel: 'Annuler', open: 'Ouvrir « {name} »', openShort: 'Ouvrir', loading: 'Chargement…', empty: 'Aucun élément ici.',
      location: 'Emplacement' },
    nl: { title: 'Selecteer een map', myDrive: 'Mijn Drive', sharedDrives: 'Gedeelde drives', select: 'Selecteren',
      cancel: 'Annuleren', open: '“{name}” openen', openShort: 'Openen', loading: 'Laden…', empty: 'Hier staan geen items.',
      location: 'Locatie' }
  };
  var FOLDER = 'application/vnd.google-apps.folder';

  var origin = new URLSearchParams(window.location.search).get('origin');
  var cfg = null, view = null, t = T.en;
  var current = null, selected = [], busy = false, blocked = false;
  var $ = function (id) { return document.getElementById(id); };

  function fill(s, vars) { return s.replace(/\{(\w+)\}/g, function (_, k) { return vars[k]; }); }

  function send(msg) { window.parent.postMessage(msg, origin); }

  function done(response) {
    busy = true;
    send({ type: 'done', response: response });
  }

  function showError(msg) {
    var e = $('picker-error');
    e.textContent = msg;
    e.hidden = !msg;
  }

  function request(method, path, body) {
    var headers = { 'Authorization': 'Bearer ' + (cfg.token || ''), 'X-Goog-Api-Key': cfg.developerKey || '' };
    if (body) headers['Content-Type'] = 'application/json';
    return fetch(path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined, cache: 'no-store' })
      .then(function (resp) {
        return resp.json().then(function (data) {
          if (!resp.ok) {
            var err = new Error((data && data.error && data.error.message) || ('HTTP ' + resp.status));
            err.status = resp.status;
            throw err;
          }
          return data;
        });
      });
  }

  function selectable(it) {
    if (it.mimeType === FOLDER) return view.selectFolders;
    return view.mimeTypes.length === 0 || view.mimeTypes.indexOf(it.mimeType) >= 0;
  }

  function shown(it) {
    if (it.mimeType === FOLDER) return view.showFolders || view.viewId !== 'folders';
    return view.viewId !== 'folders' && (view.mimeTypes.length === 0 || view.mimeTypes.indexOf(it.mimeType) >= 0);
  }

  function renderNav() {
    var nav = $('picker-nav');
    nav.textContent = '';
    if (cfg.navHidden) return;
    var tops = [{ id: 'root', name: t.myDrive }];
    if (view.enableDrives) tops.push({ id: 'drives', name: t.sharedDrives });
    tops.forEach(function (top) {
      var b = document.createElement('button');
      b.type = 'button';
      b.textContent = top.name;
      var inside = current && current.path.length > 0 && (current.path[0].id === top.id || (top.id === 'root' && !current.path[0].driveId && current.path[0].id !== 'drives'));
      b.setAttribute('aria-current', inside ? 'true' : 'false');
      b.addEventListener('click', function () { load(top.id); });
      nav.appendChild(b);
    });
  }

  function label(it, i) {
    if (it.id === 'drives') return t.sharedDrives;
    if (i === 0 && !it.driveId) return t.myDrive;
    return it.name;
  }

  function render() {
    renderNav();
    var path = $('picker-path');
    path.setAttribute('aria-label', t.location);
    path.textContent = '';
    current.path.forEach(function (p, i) {
      var li = document.createElement('li');
      if (i === current.path.length - 1) {
        li.textContent = label(p, i);
        li.setAttribute('aria-current', 'location');
      } else {
        var b = document.createElement('button');
        b.type = 'button';
        b.textContent = label(p, i);
        b.addEventListener('click', function () { load(p.id); });
        li.appendChild(b);
      }
      path.appendChild(li);
    });
    var list = $('picker-items');
    list.textContent = '';
    var items = current.items.filter(shown);
    $('picker-status').textContent = items.length === 0 ? t.empty : '';
    items.forEach(function (it) {
      var li = document.createElement('li');
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'item';
      b.textContent = it.name;
      b.dataset.id = it.id;
      b.dataset.mimeType = it.mimeType;
      b.setAttribute('aria-pressed', selected.indexOf(it.id) >= 0 ? 'true' : 'false');
      b.disabled = !selectable(it) && it.mimeType !== FOLDER;
      b.addEventListener('click', function () { toggle(it); });
      b.addEventListener('dblclick', function () { if (it.mimeType === FOLDER) load(it.id); });
      li.appendChild(b);
      if (it.mimeType === FOLDER) {
        var o = document.createElement('button');
        o.type = 'button';
        o.className = 'open';
        o.textContent = t.openShort;
        o.setAttribute('aria-label', fill(t.open, { name: it.name }));
        o.addEventListener('click', function () { load(it.id); });
        li.appendChild(o);
      }
      list.appendChild(li);
    });
    updateSelect();
  }

  function toggle(it) {
    if (!selectable(it)) { // a folder the view cannot pick opens instead, as in Google's Picker
      if (it.mimeType === FOLDER) load(it.id);
      return;
    }
    var i = selected.indexOf(it.id);
    if (i >= 0) selected.splice(i, 1);
    else if (cfg.multiselect) selected.push(it.id);
    else selected = [it.id];
    render();
  }

  function updateSelect() {
    $('picker-select').disabled = busy || blocked || selected.length === 0;
  }

  function load(parent) {
    showError('');
    $('picker-status').textContent = t.loading;
    var q = '?parent=' + encodeURIComponent(parent) + '&appId=' + encodeURIComponent(cfg.appId || '');
    return request('GET', 'v1/items' + q).then(function (data) {
      current = data;
      selected = [];
      render();
    }, function (err) {
      $('picker-status').textContent = '';
      if (err.status === 401 || err.status === 403 || err.status === 400) blocked = true;
      showError(err.message);
      updateSelect();
    });
  }

  function pick() {
    if (selected.length === 0 || busy) return;
    busy = true;
    updateSelect();
    request('POST', 'v1/pick', { appId: cfg.appId || '', ids: selected, mimeTypes: view.selectFolders ? view.mimeTypes.concat(view.mimeTypes.indexOf(FOLDER) >= 0 ? [] : [FOLDER]) : view.mimeTypes })
      .then(function (data) {
        var parents = current.folder.id === 'drives' ? [] : [{ id: current.folder.id, name: current.folder.name, mimeType: FOLDER }];
        done({ action: 'picked', docs: data.docs, parents: parents, viewToken: [view.viewId, null, { parent: current.folder.id }] });
      }, function (err) {
        busy = false;
        if (err.status === 401 || err.status === 403 || err.status === 400) blocked = true;
        showError(err.message);
        updateSelect();
      });
  }

  function start(config) {
    cfg = config;
    view = cfg.views[0];
    var lang = String(cfg.locale || 'en').toLowerCase().split(/[-_]/)[0];
    t = T[lang] || T.en;
    document.documentElement.lang = lang;
    $('picker-title').textContent = cfg.title || t.title;
    document.title = cfg.title || t.title;
    $('picker-select').textContent = t.select;
    $('picker-cancel').textContent = t.cancel;
    send({ type: 'loaded' });
    load(view.parent || 'root');
  }

  window.addEventListener('message', function (ev) {
    if (ev.source !== window.parent || ev.origin !== origin || cfg) return;
    if (ev.data && ev.data.type === 'config') start(ev.data.config);
  });
  $('picker-select').addEventListener('click', pick);
  $('picker-cancel').addEventListener('click', function () { done({ action: 'cancel' }); });
  document.addEventListener('keydown', function (ev) { if (ev.key === 'Escape') done({ action: 'cancel' }); });
  if (origin) send({ type: 'ready' });
})();
