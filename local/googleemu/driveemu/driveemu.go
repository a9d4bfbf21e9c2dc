// Package driveemu is a stand-in for the Google Drive v3 API, good enough for the real
// google.golang.org/api/drive/v3 client to run against it in tests and in the local dev stack.
//
// It keeps one separate Drive per Google account, authenticates bearer tokens through an
// Authenticator the caller supplies, speaks Drive's error JSON, and implements the three upload
// protocols (media, multipart, resumable). Limits (write rate, storage quota, children per folder)
// and faults (scripted or random errors, dropped connections, interrupted chunks, slow replies)
// can be set from Go or through admin endpoints under /emulator/drive/. README.md lists what is
// emulated and where it knowingly differs from the real service.
package driveemu

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// OAuth scopes the emulator understands.
const (
	ScopeDrive                 = "https://www.googleapis.com/auth/drive"
	ScopeDriveFile             = "https://www.googleapis.com/auth/drive.file"
	ScopeDriveReadonly         = "https://www.googleapis.com/auth/drive.readonly"
	ScopeDriveMetadataReadonly = "https://www.googleapis.com/auth/drive.metadata.readonly"
)

// FolderMimeType is the MIME type Drive gives folders.
const FolderMimeType = "application/vnd.google-apps.folder"

// DefaultFolderChildLimit is Drive's documented cap on items directly inside one folder (other
// than the root).
const DefaultFolderChildLimit = 500_000

// Principal is who an access token speaks for.
type Principal struct {
	Account  string   // Google account email; each account has its own separate Drive
	ClientID string   // OAuth client the token was issued to
	Scopes   []string // e.g. ScopeDrive or ScopeDriveFile
}

// Authenticator resolves a bearer access token.
type Authenticator interface {
	// Authenticate returns the principal of accessToken, or an error for an unknown, expired or
	// revoked token.
	Authenticate(ctx context.Context, accessToken string) (Principal, error)
}

// Account is a Google account whose Drive the emulator holds.
type Account struct {
	Email       string
	DisplayName string
	QuotaBytes  int64 // 0 = unlimited
}

// Options configure an Emulator.
type Options struct {
	Accounts []Account
	Auth     Authenticator
	Now      func() time.Time // injectable clock; nil = time.Now
	DataDir  string           // optional persistence directory ("" = memory only)
	BaseURL  string           // used to build webViewLink; may be set later with SetBaseURL
}

// Emulator is an in-process Google Drive. All its methods are safe for concurrent use.
type Emulator struct {
	auth    Authenticator
	now     func() time.Time
	dataDir string

	mu               sync.Mutex
	baseURL          string
	accounts         map[string]*account // by email
	sessions         map[string]*uploadSession
	folderChildLimit int
	faults           faultState
}

// New returns an Emulator holding opts.Accounts. With opts.DataDir set it loads any state saved
// there and saves every change back.
func New(opts Options) (*Emulator, error) {
	if opts.Auth == nil {
		return nil, errors.New("new drive emulator: nil Authenticator")
	}
	e := &Emulator{
		auth:             opts.Auth,
		now:              opts.Now,
		dataDir:          opts.DataDir,
		baseURL:          strings.TrimRight(opts.BaseURL, "/"),
		accounts:         map[string]*account{},
		sessions:         map[string]*uploadSession{},
		folderChildLimit: DefaultFolderChildLimit,
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.faults.rnd = rand.New(rand.NewPCG(1, 1))
	if e.dataDir != "" {
		if err := e.load(); err != nil {
			return nil, fmt.Errorf("new drive emulator: %w", err)
		}
	}
	for _, a := range opts.Accounts {
		if err := e.AddAccount(a); err != nil {
			return nil, fmt.Errorf("new drive emulator: %w", err)
		}
	}
	return e, nil
}

// SetBaseURL sets the public URL of the emulator, used to build webViewLink.
func (e *Emulator) SetBaseURL(u string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.baseURL = strings.TrimRight(u, "/")
}

// AddAccount adds a Google account with an empty Drive. Adding an existing account updates its
// display name and quota and keeps its files.
func (e *Emulator) AddAccount(a Account) error {
	if a.Email == "" {
		return errors.New("add account: empty email")
	}
	if a.QuotaBytes < 0 {
		return fmt.Errorf("add account %s: negative quota", a.Email)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if acc, ok := e.accounts[a.Email]; ok {
		if a.DisplayName != "" {
			acc.displayName = a.DisplayName
		}
		acc.quota = a.QuotaBytes
	} else {
		e.accounts[a.Email] = newAccount(a, e.now())
	}
	e.changedLocked()
	return nil
}

// Handler returns the HTTP handler serving /drive/v3/..., /upload/drive/v3/... and the admin
// endpoints under /emulator/drive/.
func (e *Emulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/drive/v3/", e.serveAPI)
	mux.HandleFunc("/upload/drive/v3/", e.serveAPI)
	mux.Handle("/emulator/drive/", e.adminHandler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errNotFoundPath(r.URL.Path))
	})
	return mux
}

// call is one API request being served.
type call struct {
	method    string // e.g. "files.create"
	principal Principal
	acct      *account
}

// route names the API method of a request and the file ID in its path, if any.
func route(r *http.Request) (method, fileID string, upload bool) {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/upload/drive/v3/files"); ok {
		if r.URL.Query().Get("upload_id") != "" {
			return "upload:chunk", "", true
		}
		id := strings.TrimPrefix(rest, "/")
		switch {
		case rest == "" && r.Method == http.MethodPost:
			return "files.create", "", true
		case id != "" && !strings.Contains(id, "/") && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
			return "files.update", id, true
		}
		return "", "", true
	}
	rest, ok := strings.CutPrefix(p, "/drive/v3/")
	if !ok {
		return "", "", false
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "files":
		switch r.Method {
		case http.MethodGet:
			return "files.list", "", false
		case http.MethodPost:
			return "files.create", "", false
		}
	case len(parts) == 2 && parts[0] == "files" && parts[1] == "generateIds" && r.Method == http.MethodGet:
		return "files.generateIds", "", false
	case len(parts) == 2 && parts[0] == "files":
		switch r.Method {
		case http.MethodGet:
			return "files.get", parts[1], false
		case http.MethodPatch:
			return "files.update", parts[1], false
		case http.MethodDelete:
			return "files.delete", parts[1], false
		}
	case len(parts) == 1 && parts[0] == "about" && r.Method == http.MethodGet:
		return "about.get", "", false
	case len(parts) == 1 && parts[0] == "drives" && r.Method == http.MethodGet:
		return "drives.list", "", false
	case len(parts) == 2 && parts[0] == "drives" && r.Method == http.MethodGet:
		return "drives.get", parts[1], false
	}
	return "", "", false
}

func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	method, fileID, upload := route(r)
	if method == "" {
		writeError(w, errNotFoundPath(r.URL.Path))
		return
	}
	if method == "upload:chunk" {
		// The upload URL is the credential of a resumable session, as with real Drive.
		e.serveChunk(w, r)
		return
	}
	c, apiErr := e.authenticate(r)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	c.method = method
	e.count(c.acct, method)
	if upload {
		e.count(c.acct, "upload:"+uploadType(r))
	}
	if e.injectFault(w, r, method) || (upload && e.injectUploadFault(w, r, "upload:"+uploadType(r))) {
		return
	}
	if isWrite(method) {
		if err := e.takeWriteToken(c.acct); err != nil {
			writeError(w, err)
			return
		}
	}
	var err *apiError
	switch method {
	case "files.create":
		err = e.filesCreate(w, r, c, upload)
	case "files.update":
		err = e.filesUpdate(w, r, c, fileID, upload)
	case "files.get":
		err = e.filesGet(w, r, c, fileID)
	case "files.list":
		err = e.filesList(w, r, c)
	case "files.delete":
		err = e.filesDelete(w, r, c, fileID)
	case "files.generateIds":
		err = e.filesGenerateIDs(w, r, c)
	case "about.get":
		err = e.aboutGet(w, r, c)
	case "drives.list":
		err = e.drivesList(w, r, c)
	case "drives.get":
		err = e.drivesGet(w, r, c, fileID)
	}
	if err != nil {
		writeError(w, err)
	}
}

// isWrite reports whether method counts against the per-account write rate. generateIds does
// not: it changes nothing the user can see.
func isWrite(method string) bool {
	switch method {
	case "files.create", "files.update", "files.delete":
		return true
	}
	return false
}

func uploadType(r *http.Request) string {
	if t := r.URL.Query().Get("uploadType"); t != "" {
		return t
	}
	return "media"
}

func (e *Emulator) authenticate(r *http.Request) (*call, *apiError) {
	token := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			token = strings.TrimSpace(rest)
		}
	} else {
		token = r.URL.Query().Get("access_token")
	}
	if token == "" {
		return nil, errLoginRequired()
	}
	p, err := e.auth.Authenticate(r.Context(), token)
	if err != nil {
		return nil, errAuth()
	}
	if !hasAnyScope(p, ScopeDrive, ScopeDriveFile, ScopeDriveReadonly, ScopeDriveMetadataReadonly) {
		return nil, errInsufficientScopes()
	}
	e.mu.Lock()
	acct := e.accounts[p.Account]
	e.mu.Unlock()
	if acct == nil {
		// A valid token for an account with no Drive is a configuration mistake in the test or
		// dev stack; Drive itself would never say this.
		return nil, errAuth()
	}
	return &call{principal: p, acct: acct}, nil
}

func hasAnyScope(p Principal, scopes ...string) bool {
	for _, s := range p.Scopes {
		if slices.Contains(scopes, s) {
			return true
		}
	}
	return false
}

// canWrite reports whether the principal's scopes allow changes.
func canWrite(p Principal) bool { return hasAnyScope(p, ScopeDrive, ScopeDriveFile) }

// fullAccess reports whether the principal sees every file of the account.
func fullAccess(p Principal) bool {
	return hasAnyScope(p, ScopeDrive, ScopeDriveReadonly, ScopeDriveMetadataReadonly)
}

func (e *Emulator) takeWriteToken(acct *account) *apiError {
	e.mu.Lock()
	lim := acct.limiter
	e.mu.Unlock()
	if lim != nil && !lim.AllowN(e.now(), 1) {
		e.mu.Lock()
		acct.refused++
		e.mu.Unlock()
		return errUserRateLimit()
	}
	return nil
}

// RefusedWrites returns how many writes of account SetWriteRate's limit refused with 403
// userRateLimitExceeded since the emulator started (Counters counts them as requests too).
func (e *Emulator) RefusedWrites(accountEmail string) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if acct := e.accounts[accountEmail]; acct != nil {
		return acct.refused
	}
	return 0
}

// SetWriteRate limits account to perSecond sustained writes (files.create, files.update,
// files.delete) with bursts of burst; over it Drive answers 403 userRateLimitExceeded.
// perSecond <= 0 removes the limit.
func (e *Emulator) SetWriteRate(accountEmail string, perSecond float64, burst int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	acct := e.accounts[accountEmail]
	if acct == nil {
		return fmt.Errorf("set write rate: unknown account %s", accountEmail)
	}
	if perSecond <= 0 {
		acct.limiter = nil
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	acct.limiter = rate.NewLimiter(rate.Limit(perSecond), burst)
	// Start full at the emulator's clock, which may not be the wall clock.
	acct.limiter.SetLimitAt(e.now(), rate.Limit(perSecond))
	return nil
}

// SetQuota sets the storage quota of account in bytes (0 = unlimited).
func (e *Emulator) SetQuota(accountEmail string, bytes int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	acct := e.accounts[accountEmail]
	if acct == nil {
		return fmt.Errorf("set quota: unknown account %s", accountEmail)
	}
	if bytes < 0 {
		return fmt.Errorf("set quota %s: negative quota", accountEmail)
	}
	acct.quota = bytes
	e.changedLocked()
	return nil
}

// SetIncompleteSearch makes files.list searches of account over every drive (corpora=allDrives)
// answer as Drive may when it could not search every corpus: incompleteSearch true, with the
// items of every shared drive left out. Searches of one drive (corpora=user or drive) stay
// complete, as Drive recommends them.
func (e *Emulator) SetIncompleteSearch(accountEmail string, on bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	acct := e.accounts[accountEmail]
	if acct == nil {
		return fmt.Errorf("set incomplete search: unknown account %s", accountEmail)
	}
	acct.incompleteSearch = on
	return nil
}

// SetFolderChildLimit sets how many items a folder other than a root may hold directly.
func (e *Emulator) SetFolderChildLimit(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.folderChildLimit = n
}

func (e *Emulator) count(acct *account, method string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	acct.counters[method]++
}

// Counters returns how many requests account made per method since the last reset. Keys are
// API method names ("files.create", "files.list", ...), "upload:<uploadType>" for every upload
// request started, and "upload:chunk" for every request to a resumable session URL.
func (e *Emulator) Counters(accountEmail string) map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	acct := e.accounts[accountEmail]
	if acct == nil {
		return map[string]int64{}
	}
	out := make(map[string]int64, len(acct.counters))
	for k, v := range acct.counters {
		out[k] = v
	}
	return out
}

// ResetCounters sets the counters of account to zero; an empty account resets every account.
func (e *Emulator) ResetCounters(accountEmail string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for email, acct := range e.accounts {
		if accountEmail == "" || email == accountEmail {
			acct.counters = map[string]int64{}
		}
	}
}
