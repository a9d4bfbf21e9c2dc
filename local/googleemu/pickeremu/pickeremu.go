// Package pickeremu is a stand-in for the Google Picker: the script pages load from
// https://apis.google.com/js/api.js (gapi.load('picker', …) and the google.picker builder API),
// the dialog it opens, and the grant that picking a file gives the app, so that a page's Picker
// code runs unchanged against the local Google emulator.
//
// As with Google's, the dialog shows the signed-in user's whole Drive (not only what the app can
// see through a drive.file token), and picking an item grants it to the OAuth client that owns
// the token, provided the page named that client's Cloud project number as its app ID and a
// developer (API) key of the same project. The dialog and its JSON endpoints are the emulator's
// own: only the JavaScript surface (google.picker.*) and the callback's response follow Google.
package pickeremu

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/local/googleemu/oauthemu"
)

// Paths the stand-in serves. ScriptPath is where Google serves the loader, under
// https://apis.google.com; the others are the emulator's.
const (
	ScriptPath       = "/js/api.js"
	DialogPath       = "/picker/dialog"
	DialogScriptPath = "/picker/dialog.js"
	ItemsPath        = "/picker/v1/items"
	PickPath         = "/picker/v1/pick"
)

// Scopes that let a token open the Picker: Google's Picker needs a Drive scope.
const (
	scopeDrive     = "https://www.googleapis.com/auth/drive"
	scopeDriveFile = "https://www.googleapis.com/auth/drive.file"
)

//go:embed static
var static embed.FS

// Project is a Google Cloud project as the Picker knows it: its number (the app ID pages pass
// to setAppId), its OAuth clients and its API keys (the developer keys pages pass to
// setDeveloperKey).
type Project struct {
	Number    string
	ClientIDs []string
	APIKeys   []string
}

// Authenticator resolves an OAuth access token; *oauthemu.Server is one.
type Authenticator interface {
	Authenticate(ctx context.Context, accessToken string) (oauthemu.Grant, error)
}

// Drive is what the Picker needs of the Drive emulator; *driveemu.Emulator is one.
type Drive interface {
	UserItemOf(accountEmail, id string) (driveemu.UserItem, error)
	UserChildren(accountEmail, parent string) ([]driveemu.UserItem, error)
	UserSharedDrives(accountEmail string) ([]driveemu.UserItem, error)
	GrantToClient(accountEmail, clientID, fileID string) error
}

// Options configure New.
type Options struct {
	Auth     Authenticator
	Drive    Drive
	Projects []Project
	// Logger receives grants (never tokens); nil discards them.
	Logger *slog.Logger
}

// Server is the Picker stand-in. It is safe for concurrent use.
type Server struct {
	auth     Authenticator
	drive    Drive
	projects []Project
	log      *slog.Logger
}

var projectNumber = regexp.MustCompile(`^[0-9]{6,20}$`)

// New returns a Server; it reports every problem with opts at once.
func New(opts Options) (*Server, error) {
	var errs []error
	if opts.Auth == nil {
		errs = append(errs, errors.New("nil authenticator"))
	}
	if opts.Drive == nil {
		errs = append(errs, errors.New("nil drive"))
	}
	keys, clients := map[string]bool{}, map[string]bool{}
	for i, p := range opts.Projects {
		if !projectNumber.MatchString(p.Number) {
			errs = append(errs, fmt.Errorf("project %d: number %q is not a project number (digits)", i, p.Number))
		}
		for _, k := range p.APIKeys {
			if k == "" || keys[k] {
				errs = append(errs, fmt.Errorf("project %s: empty or duplicate API key", p.Number))
			}
			keys[k] = true
		}
		for _, c := range p.ClientIDs {
			if c == "" || clients[c] {
				errs = append(errs, fmt.Errorf("project %s: empty or duplicate client %q", p.Number, c))
			}
			clients[c] = true
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new picker emulator: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{auth: opts.Auth, drive: opts.Drive, projects: slices.Clone(opts.Projects), log: log}, nil
}

// Owns reports whether path is one the Picker stand-in serves.
func Owns(path string) bool {
	return path == ScriptPath || strings.HasPrefix(path, "/picker/")
}

// Handler serves the script, the dialog and the dialog's endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ScriptPath, serveStatic("static/api.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET "+DialogPath, serveStatic("static/dialog.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET "+DialogScriptPath, serveStatic("static/dialog.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET "+ItemsPath, s.handleItems)
	mux.HandleFunc("POST "+PickPath, s.handlePick)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Not found: "+r.URL.Path)
	})
	return mux
}

func serveStatic(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		b, err := static.ReadFile(name)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "INTERNAL", "missing "+name)
			return
		}
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		// The page loads the script cross-origin, as it loads apis.google.com's.
		h.Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(b)
	}
}

// apiError is an error in the JSON shape of Google's APIs.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var body struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message, body.Error.Status = status, msg, code
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the dialog went away; nothing to do
}

// session is who opened the Picker: the token's account and client, checked against the app ID
// and developer key the page gave.
type session struct {
	account  string
	clientID string
}

// authorize checks the request's bearer token, its developer key (X-Goog-Api-Key) and appID as
// Google's Picker does before it shows or grants anything.
func (s *Server) authorize(r *http.Request, appID string) (session, *apiError) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return session{}, &apiError{http.StatusUnauthorized, "UNAUTHENTICATED", "The Picker needs an OAuth token (setOAuthToken)."}
	}
	g, err := s.auth.Authenticate(r.Context(), strings.TrimSpace(tok))
	if err != nil {
		return session{}, &apiError{http.StatusUnauthorized, "UNAUTHENTICATED", "The OAuth token is invalid, expired or revoked; sign in again."}
	}
	if !slices.Contains(g.Scopes, scopeDriveFile) && !slices.Contains(g.Scopes, scopeDrive) {
		return session{}, &apiError{http.StatusForbidden, "PERMISSION_DENIED", "The OAuth token has no Google Drive scope (drive.file or drive)."}
	}
	key := r.Header.Get("X-Goog-Api-Key")
	keyProject := slices.IndexFunc(s.projects, func(p Project) bool { return slices.Contains(p.APIKeys, key) })
	if key == "" || keyProject < 0 {
		return session{}, &apiError{http.StatusBadRequest, "INVALID_ARGUMENT", "The API developer key is invalid."}
	}
	clientProject := slices.IndexFunc(s.projects, func(p Project) bool { return slices.Contains(p.ClientIDs, g.ClientID) })
	if clientProject < 0 || appID != s.projects[clientProject].Number {
		return session{}, &apiError{http.StatusForbidden, "PERMISSION_DENIED",
			"The app ID is not the Cloud project number of the OAuth client the token was issued to."}
	}
	if keyProject != clientProject {
		return session{}, &apiError{http.StatusForbidden, "PERMISSION_DENIED",
			"The API developer key belongs to another Cloud project than the app ID."}
	}
	return session{account: g.Account, clientID: g.ClientID}, nil
}

// Pseudo-parents of the items listing: My Drive and the list of shared drives.
const (
	parentRoot   = "root"
	parentDrives = "drives"
)

// itemJSON is one row of the dialog.
type itemJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	MimeType string `json:"mimeType"`
	DriveID  string `json:"driveId,omitempty"`
}

type itemsJSON struct {
	Folder itemJSON   `json:"folder"`
	Path   []itemJSON `json:"path"`
	Items  []itemJSON `json:"items"`
}

func itemOf(it driveemu.UserItem) itemJSON {
	return itemJSON{ID: it.ID, Name: it.Name, MimeType: it.MimeType, DriveID: it.DriveID}
}

// handleItems lists what the user sees in one folder: GET ?parent=root|drives|ID&appId=N.
func (s *Server) handleItems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sess, e := s.authorize(r, q.Get("appId"))
	if e != nil {
		writeError(w, e.Status, e.Code, e.Message)
		return
	}
	parent := q.Get("parent")
	if parent == "" {
		parent = parentRoot
	}
	var out itemsJSON
	if parent == parentDrives {
		drives, err := s.drive.UserSharedDrives(sess.account)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "INTERNAL", "list shared drives")
			return
		}
		out.Folder = itemJSON{ID: parentDrives, Name: "Shared drives", MimeType: driveemu.FolderMimeType}
		out.Path = []itemJSON{out.Folder}
		out.Items = make([]itemJSON, 0, len(drives))
		for _, d := range drives {
			out.Items = append(out.Items, itemOf(d))
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	folder, err := s.drive.UserItemOf(sess.account, parent)
	if err != nil || !folder.IsFolder() {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "No such folder.")
		return
	}
	children, err := s.drive.UserChildren(sess.account, folder.ID)
	if err != nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "No such folder.")
		return
	}
	out.Folder = itemOf(folder)
	path, err := s.path(sess.account, folder)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL", "folder path")
		return
	}
	out.Path = path
	out.Items = make([]itemJSON, 0, len(children))
	for _, c := range children {
		out.Items = append(out.Items, itemOf(c))
	}
	writeJSON(w, http.StatusOK, out)
}

// path runs from the top (My Drive, or "Shared drives" then the drive) down to folder.
func (s *Server) path(account string, folder driveemu.UserItem) ([]itemJSON, error) {
	var rev []itemJSON
	cur := folder
	for range 100 { // Drive nests at most 100 levels
		rev = append(rev, itemOf(cur))
		if cur.ParentID == "" {
			break
		}
		p, err := s.drive.UserItemOf(account, cur.ParentID)
		if err != nil {
			return nil, err
		}
		cur = p
	}
	if folder.DriveID != "" {
		rev = append(rev, itemJSON{ID: parentDrives, Name: "Shared drives", MimeType: driveemu.FolderMimeType})
	}
	slices.Reverse(rev)
	return rev, nil
}

// pickRequest is what the dialog posts on Select.
type pickRequest struct {
	AppID     string   `json:"appId"`
	IDs       []string `json:"ids"`
	MimeTypes []string `json:"mimeTypes"` // what the view lets the user pick; empty means anything
}

// docJSON is a picked item as the Picker's callback gets it (google.picker.Document fields).
type docJSON struct {
	ID            string `json:"id"`
	ServiceID     string `json:"serviceId"`
	MimeType      string `json:"mimeType"`
	Name          string `json:"name"`
	Description   string `json:"description"`
	Type          string `json:"type"`
	LastEditedUTC int64  `json:"lastEditedUtc"`
	IconURL       string `json:"iconUrl"`
	URL           string `json:"url"`
	ParentID      string `json:"parentId,omitempty"`
	DriveID       string `json:"driveId,omitempty"`
	IsShared      bool   `json:"isShared"`
}

type pickedJSON struct {
	Docs []docJSON `json:"docs"`
}

// maxPick bounds one selection; drivesync picks one folder, Google allows a few hundred.
const maxPick = 100

// handlePick grants the selected items to the token's OAuth client and answers them as the
// callback's docs.
func (s *Server) handlePick(w http.ResponseWriter, r *http.Request) {
	var req pickRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Malformed selection.")
		return
	}
	sess, e := s.authorize(r, req.AppID)
	if e != nil {
		writeError(w, e.Status, e.Code, e.Message)
		return
	}
	if len(req.IDs) == 0 || len(req.IDs) > maxPick {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("Select between 1 and %d items.", maxPick))
		return
	}
	docs := make([]docJSON, 0, len(req.IDs))
	for _, id := range req.IDs {
		it, err := s.drive.UserItemOf(sess.account, id)
		if err != nil || id == parentRoot || it.ParentID == "" && it.DriveID == "" {
			// My Drive itself cannot be picked, as in Google's Picker.
			writeError(w, http.StatusNotFound, "NOT_FOUND", "No such item: "+id)
			return
		}
		if len(req.MimeTypes) > 0 && !slices.Contains(req.MimeTypes, it.MimeType) {
			writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "This view cannot pick "+it.MimeType)
			return
		}
		docs = append(docs, docOf(it))
	}
	for _, d := range docs {
		if err := s.drive.GrantToClient(sess.account, sess.clientID, d.ID); err != nil {
			writeError(w, http.StatusInternalServerError, "INTERNAL", "grant failed")
			return
		}
		s.log.Info("picker granted file", "account", sess.account, "client_id", sess.clientID, "file_id", d.ID)
	}
	writeJSON(w, http.StatusOK, pickedJSON{Docs: docs})
}

func docOf(it driveemu.UserItem) docJSON {
	typ, icon := "file", "https://drive-thirdparty.googleusercontent.com/16/type/application/octet-stream"
	if it.IsFolder() {
		typ, icon = "folder", "https://drive-thirdparty.googleusercontent.com/16/type/application/vnd.google-apps.folder"
	}
	return docJSON{
		ID: it.ID, ServiceID: "DoclistBlob", MimeType: it.MimeType, Name: it.Name, Type: typ,
		LastEditedUTC: it.Modified.UnixMilli(), IconURL: icon, URL: it.URL, ParentID: it.ParentID, DriveID: it.DriveID,
	}
}
