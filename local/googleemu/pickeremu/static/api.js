// Stand-in for https://apis.google.com/js/api.js, served by the local Google emulator. It
// defines gapi.load and, for the 'picker' library, the parts of Google's google.picker API that
// pages use: PickerBuilder, DocsView, the Picker object and the enums. The Picker shows the
// emulator's dialog (an iframe, as Google's) and calls the page's callback with a response
// shaped like Google's. Nothing here is drivesync's: a page written against Google's Picker
// runs unchanged.
(function () {
  'use strict';

  var script = document.currentScript;
  var base = new URL('../', script && script.src ? script.src : window.location.href);
  var dialogOrigin = base.origin;

  var Action = { CANCEL: 'cancel', PICKED: 'picked', LOADED: 'loaded', ERROR: 'error' };
  var Response = { ACTION: 'action', DOCUMENTS: 'docs', PARENTS: 'parents', VIEW: 'viewToken' };
  var Document = {
    ADDRESS_LINES: 'addressLines', AUDIENCE: 'audience', DESCRIPTION: 'description', DURATION: 'duration',
    EMBEDDABLE_URL: 'embedUrl', ICON_URL: 'iconUrl', ID: 'id', IS_NEW: 'isNew', LAST_EDITED_UTC: 'lastEditedUtc',
    LATITUDE: 'latitude', LONGITUDE: 'longitude', MIME_TYPE: 'mimeType', NAME: 'name', NUM_CHILDREN: 'numChildren',
    PARENT_ID: 'parentId', PHONE_NUMBERS: 'phoneNumbers', SERVICE_ID: 'serviceId', THUMBNAILS: 'thumbnails',
    TYPE: 'type', URL: 'url', IS_SHARED: 'isShared', DRIVE_ID: 'driveId'
  };
  var ViewId = {
    DOCS: 'all', DOCS_IMAGES: 'docs-images', DOCS_IMAGES_AND_VIDEOS: 'docs-images-and-videos', DOCS_VIDEOS: 'docs-videos',
    DOCUMENTS: 'documents', DRAWINGS: 'drawings', FOLDERS: 'folders', FORMS: 'forms', PDFS: 'pdfs',
    PRESENTATIONS: 'presentations', SPREADSHEETS: 'spreadsheets'
  };
  var Feature = {
    MINE_ONLY: 'mineOnly', MULTISELECT_ENABLED: 'multiselectEnabled', NAV_HIDDEN: 'navHidden',
    SIMPLE_UPLOAD_ENABLED: 'simpleUploadEnabled', SUPPORT_DRIVES: 'sdr'
  };
  var DocsViewMode = { GRID: 'grid', LIST: 'list' };
  var FOLDER = 'application/vnd.google-apps.folder';

  // DocsView is one view of Drive items; ViewId.FOLDERS shows folders only.
  function DocsView(viewId) {
    this.viewId_ = viewId || ViewId.DOCS;
    this.includeFolders_ = false;
    this.selectFolders_ = false;
    this.mimeTypes_ = null;
    this.parent_ = null;
    this.enableDrives_ = false;
    this.mode_ = DocsViewMode.GRID;
  }
  DocsView.prototype.getId = function () { return this.viewId_; };
  DocsView.prototype.setIncludeFolders = function (v) { this.includeFolders_ = !!v; return this; };
  DocsView.prototype.setSelectFolderEnabled = function (v) { this.selectFolders_ = !!v; return this; };
  DocsView.prototype.setMimeTypes = function (v) { this.mimeTypes_ = String(v); return this; };
  DocsView.prototype.setParent = function (v) { this.parent_ = String(v); return this; };
  DocsView.prototype.setEnableDrives = function (v) { this.enableDrives_ = !!v; return this; };
  DocsView.prototype.setMode = function (v) { this.mode_ = v; return this; };
  DocsView.prototype.setOwnedByMe = function () { return this; };
  DocsView.prototype.setStarred = function () { return this; };
  DocsView.prototype.setQuery = function () { return this; };
  DocsView.prototype.setFileIds = function () { return this; };

  function View(viewId) { DocsView.call(this, viewId); }
  View.prototype = Object.create(DocsView.prototype);

  // describe turns a view into what the dialog needs to know of it.
  function describe(view) {
    var folders = view.viewId_ === ViewId.FOLDERS;
    var mimes = view.mimeTypes_ ? view.mimeTypes_.split(',').map(function (m) { return m.trim(); }).filter(Boolean) : [];
    if (folders && mimes.length === 0) mimes = [FOLDER];
    return {
      viewId: view.viewId_,
      showFolders: folders || view.includeFolders_ || mimes.indexOf(FOLDER) >= 0,
      selectFolders: view.selectFolders_,
      mimeTypes: mimes,
      parent: view.parent_,
      enableDrives: view.enableDrives_
    };
  }

  function PickerBuilder() {
    this.views_ = [];
    this.token_ = null;
    this.key_ = null;
    this.appId_ = null;
    this.callback_ = null;
    this.locale_ = null;
    this.title_ = null;
    this.origin_ = null;
    this.features_ = {};
    this.maxItems_ = null;
    this.selectable_ = null;
  }
  PickerBuilder.prototype.addView = function (v) {
    this.views_.push(typeof v === 'string' ? new DocsView(v) : v);
    return this;
  };
  PickerBuilder.prototype.addViewGroup = function (g) { return this.addView(g); };
  PickerBuilder.prototype.setOAuthToken = function (t) { this.token_ = t; return this; };
  PickerBuilder.prototype.setDeveloperKey = function (k) { this.key_ = k; return this; };
  PickerBuilder.prototype.setAppId = function (a) { this.appId_ = String(a); return this; };
  PickerBuilder.prototype.setCallback = function (cb) { this.callback_ = cb; return this; };
  PickerBuilder.prototype.setLocale = function (l) { this.locale_ = l; return this; };
  PickerBuilder.prototype.setTitle = function (t) { this.title_ = t; return this; };
  PickerBuilder.prototype.setOrigin = function (o) { this.origin_ = o; return this; };
  PickerBuilder.prototype.setMaxItems = function (n) { this.maxItems_ = n; return this; };
  PickerBuilder.prototype.setSelectableMimeTypes = function (m) { this.selectable_ = String(m); return this; };
  PickerBuilder.prototype.setSize = function () { return this; };
  PickerBuilder.prototype.setRelayUrl = function () { return this; };
  PickerBuilder.prototype.hideTitleBar = function () { return this; };
  PickerBuilder.prototype.enableFeature = function (f) { this.features_[f] = true; return this; };
  PickerBuilder.prototype.disableFeature = function (f) { delete this.features_[f]; return this; };
  PickerBuilder.prototype.isFeatureEnabled = function (f) { return !!this.features_[f]; };
  PickerBuilder.prototype.build = function () {
    if (this.views_.length === 0) throw new Error('google.picker: addView before build');
    return new Picker(this);
  };

  // Picker is the dialog; build() makes one, setVisible(true) shows it.
  function Picker(b) {
    var views = b.views_.map(describe);
    if (b.features_[Feature.SUPPORT_DRIVES]) views.forEach(function (v) { v.enableDrives = true; });
    if (b.selectable_) {
      var sel = b.selectable_.split(',').map(function (m) { return m.trim(); });
      views.forEach(function (v) { v.mimeTypes = sel; });
    }
    this.config_ = {
      token: b.token_, developerKey: b.key_, appId: b.appId_, locale: b.locale_ || document.documentElement.lang || 'en',
      title: b.title_, views: views, multiselect: !!b.features_[Feature.MULTISELECT_ENABLED],
      maxItems: b.maxItems_, navHidden: !!b.features_[Feature.NAV_HIDDEN]
    };
    this.origin_ = b.origin_ || window.location.origin;
    this.callback_ = b.callback_;
    this.overlay_ = null;
    this.frame_ = null;
    this.onMessage_ = this.onMessage_.bind(this);
  }
  Picker.prototype.isVisible = function () { return !!this.overlay_ && this.overlay_.style.display !== 'none'; };
  Picker.prototype.setCallback = function (cb) { this.callback_ = cb; return this; };
  Picker.prototype.setVisible = function (visible) {
    if (!visible) {
      if (this.overlay_) this.overlay_.style.display = 'none';
      return this;
    }
    if (this.overlay_) {
      this.overlay_.style.display = '';
      return this;
    }
    var overlay = document.createElement('div');
    overlay.className = 'picker-dialog-bg';
    overlay.setAttribute('style', 'position:fixed;inset:0;z-index:2147483000;background:rgba(0,0,0,.5);display:flex;align-items:center;justify-content:center');
    var frame = document.createElement('iframe');
    frame.className = 'picker-frame';
    frame.name = 'picker-frame';
    frame.title = this.config_.title || 'Google Picker';
    frame.setAttribute('style', 'width:min(1051px,95vw);height:min(650px,90vh);border:0;background:#fff;border-radius:8px;box-shadow:0 4px 16px rgba(0,0,0,.4)');
    frame.src = new URL('picker/dialog?origin=' + encodeURIComponent(window.location.origin), base).href;
    overlay.appendChild(frame);
    window.addEventListener('message', this.onMessage_);
    document.body.appendChild(overlay);
    this.overlay_ = overlay;
    this.frame_ = frame;
    return this;
  };
  Picker.prototype.dispose = function () {
    window.removeEventListener('message', this.onMessage_);
    if (this.overlay_ && this.overlay_.parentNode) this.overlay_.parentNode.removeChild(this.overlay_);
    this.overlay_ = null;
    this.frame_ = null;
  };
  Picker.prototype.onMessage_ = function (ev) {
    if (!this.frame_ || ev.source !== this.frame_.contentWindow || ev.origin !== dialogOrigin) return;
    var msg = ev.data || {};
    switch (msg.type) {
      case 'ready':
        this.frame_.contentWindow.postMessage({ type: 'config', config: this.config_ }, dialogOrigin);
        break;
      case 'loaded':
        this.call_({ action: Action.LOADED });
        break;
      case 'done':
        this.setVisible(false);
        this.call_(msg.response);
        break;
    }
  };
  Picker.prototype.call_ = function (response) {
    if (typeof this.callback_ === 'function') this.callback_(response);
  };

  var picker = {
    Action: Action, Response: Response, Document: Document, ViewId: ViewId, Feature: Feature,
    DocsViewMode: DocsViewMode, DocsView: DocsView, View: View, PickerBuilder: PickerBuilder, Picker: Picker,
    Type: { DOCUMENT: 'document', FOLDER: 'folder', PHOTO: 'photo', URL: 'url', VIDEO: 'video' }
  };

  var libraries = {
    picker: function () {
      window.google = window.google || {};
      window.google.picker = picker;
    }
  };

  // gapi.load(names, callback | {callback, onerror}) loads colon-separated libraries.
  function load(names, cfg) {
    var callback = typeof cfg === 'function' ? cfg : cfg && cfg.callback;
    var onerror = cfg && typeof cfg === 'object' ? cfg.onerror : null;
    var list = String(names).split(':');
    for (var i = 0; i < list.length; i++) {
      if (!libraries[list[i]]) {
        setTimeout(function () { if (onerror) onerror(new Error('gapi.load: unknown library ' + names)); }, 0);
        return;
      }
    }
    list.forEach(function (n) { libraries[n](); });
    if (callback) setTimeout(callback, 0);
  }

  window.gapi = window.gapi || {};
  window.gapi.load = load;
})();
