package connection_test

import (
	"github.com/efactori/drivesync/local/testclock"

	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"golang.org/x/oauth2"
	drivev3 "google.golang.org/api/drive/v3"
	"google.golang.org/api/option"

	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/local/googleemu"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/local/googleemu/oauthemu"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/oauth"
	"github.com/efactori/drivesync/shared/store"
	"github.com/efactori/drivesync/shared/tokencrypt"
)

func TestMain(m *testing.M) { emulators.Main(m) }

const (
	clientID      = "42-drivesync.apps.googleusercontent.com"
	clientSecret  = "GOCSPX-drivesync-test"
	redirectURL   = "http://127.0.0.1:9/oauth/callback" // never contacted: Consent stops at the redirect
	fixtureClient = "99-fixtures.apps.googleusercontent.com"
	alice         = "alice@example.com"
	bob           = "bob@example.com"
	acme          = "acme"
	globex        = "globex"
	acmeName      = "ACME SRL"
)

// starter records the copies the service asks for.
type starter struct {
	mu    sync.Mutex
	conns []drivesync.Connection
	err   error
}

func (s *starter) StartCopy(_ context.Context, conn drivesync.Connection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns = append(s.conns, conn)
	return s.err
}

func (s *starter) calls() []drivesync.Connection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]drivesync.Connection(nil), s.conns...)
}

// tokenRecorder sees every answer of Google's token endpoint, to check later that no token
// reached Firestore.
type tokenRecorder struct {
	base http.RoundTripper

	mu     sync.Mutex
	tokens []string
}

func (r *tokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/token") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if json.Unmarshal(body, &tok) == nil {
		r.mu.Lock()
		for _, t := range []string{tok.AccessToken, tok.RefreshToken} {
			if t != "" {
				r.tokens = append(r.tokens, t)
			}
		}
		r.mu.Unlock()
	}
	return resp, nil
}

func (r *tokenRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

// refreshTokens returns the refresh tokens Google issued, in order; access tokens start ya29.
func (r *tokenRecorder) refreshTokens() []string {
	var out []string
	for _, t := range r.all() {
		if !strings.HasPrefix(t, "ya29.") {
			out = append(out, t)
		}
	}
	return out
}

// env is one test's world: Google's emulator on loopback, Firestore on the emulator, and the
// service wired to both.
type env struct {
	emu     *googleemu.Emulator
	srv     *httptest.Server
	clock   *testclock.Clock
	fs      *firestore.Client
	store   *store.Store
	svc     *connection.Service
	copies  *starter
	tokens  *tokenRecorder
	cfg     *oauth.Config
	ctx     context.Context
	fixture *drivev3.Service // a separate OAuth client's view of alice's Drive, for fixtures
	opts    connection.Options

	mu       sync.Mutex
	browsers map[string]string // state → the secret of the browser that opened its link
}

// instance returns another Service on the same dependencies, as a second function instance.
func (e *env) instance(t *testing.T) *connection.Service {
	t.Helper()
	svc, err := connection.New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func newEnv(t *testing.T, driveScope string) *env {
	t.Helper()
	return newEnvWith(t, driveScope, nil)
}

// newEnvWith is newEnv with copies as the service's CopyStarter; nil means the recorder.
func newEnvWith(t *testing.T, driveScope string, copies connection.CopyStarter) *env {
	t.Helper()
	c := testclock.New(time.Now().UTC().Truncate(time.Millisecond))
	emu, err := googleemu.New(googleemu.Options{
		Accounts: []googleemu.Account{{Email: alice, DisplayName: "Alice"}, {Email: bob, DisplayName: "Bob"}},
		Clients: []oauthemu.Client{
			{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}},
			{ID: fixtureClient, Secret: clientSecret, RedirectURIs: []string{redirectURL}},
		},
		Now: c.Now,
	})
	if err != nil {
		t.Fatalf("googleemu.New: %v", err)
	}
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	if err := emu.SetBaseURL(srv.URL); err != nil {
		t.Fatal(err)
	}
	e := &env{emu: emu, srv: srv, clock: c, copies: &starter{}, ctx: t.Context(),
		tokens: &tokenRecorder{base: srv.Client().Transport}}
	var scopes []string             // the default: drive
	if driveScope == "drive.file" { // as wiring asks for it
		scopes = []string{oauth.ScopeOpenID, oauth.ScopeEmail, driveemu.ScopeDriveFile}
	}
	e.cfg, err = oauth.New(oauth.Options{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL, Scopes: scopes,
		Provider:   oauth.EmulatorProvider(srv.URL),
		HTTPClient: &http.Client{Transport: e.tokens, Timeout: 30 * time.Second},
		Now:        c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.fs = emulators.Firestore(t)
	if e.store, err = store.New(e.fs, c.Now); err != nil {
		t.Fatal(err)
	}
	keyset, err := tokencrypt.NewDevKeyset()
	if err != nil {
		t.Fatal(err)
	}
	cipher, err := tokencrypt.Open(keyset, tokencrypt.Options{AllowCleartext: true})
	if err != nil {
		t.Fatal(err)
	}
	e.opts = connection.Options{
		Store: e.store, OAuth: e.cfg, Cipher: cipher,
		Drive:      driveOptions(emu),
		DriveScope: driveScope,
		Copies:     cmp.Or[connection.CopyStarter](copies, e.copies),
		Logger:     slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Now:        c.Now,
	}
	e.svc, err = connection.New(e.opts)
	if err != nil {
		t.Fatalf("connection.New: %v", err)
	}
	return e
}

func driveOptions(emu *googleemu.Emulator) drive.Options {
	return drive.Options{Endpoint: emu.DriveEndpoint(), UserAgent: "drivesync-test/1"}
}

// testWriter sends the service's logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// linkState returns the state of an authorization link (connection.StartPath?state=).
func linkState(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || !strings.HasSuffix(u.Path, connection.StartPath) || u.Query().Get("state") == "" {
		t.Fatalf("authorization link %q is not a start link with a state (%v)", link, err)
	}
	return u.Query().Get("state")
}

// start plays the browser that opens the authorization link link: the start link binds the
// state to it, and e remembers the browser's secret for callback. It returns Google's URL.
func (e *env) start(t *testing.T, link string) string {
	t.Helper()
	state := linkState(t, link)
	st, err := e.svc.StartConsent(e.ctx, state)
	if err != nil {
		t.Fatalf("StartConsent: %v", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.browsers == nil {
		e.browsers = map[string]string{}
	}
	e.browsers[state] = st.Browser
	return st.GoogleURL
}

// consent plays the browser that opens the authorization link and consents on Google's page,
// and returns what Google sends back.
func (e *env) consent(t *testing.T, link, account string, allow bool) (state, code, errParam string) {
	t.Helper()
	loc, err := e.emu.OAuth.Consent(e.ctx, e.start(t, link), account, allow)
	if err != nil {
		t.Fatalf("Consent: %v", err)
	}
	q := loc.Query()
	return q.Get("state"), q.Get("code"), q.Get("error")
}

// callback plays Google's redirect to the callback in the browser that opened the state's link.
func (e *env) callback(state, code, errParam string) (connection.CallbackResult, error) {
	e.mu.Lock()
	browser := e.browsers[state]
	e.mu.Unlock()
	return e.svc.Callback(e.ctx, state, browser, code, errParam)
}

// connect creates a connection for company and completes its consent as account.
func (e *env) connect(t *testing.T, company, name, account string) drivesync.Connection {
	t.Helper()
	conn, authURL, err := e.svc.Create(e.ctx, company, acmeName, connection.CreateInput{Name: name, FolderLayout: drivesync.LayoutYear})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	state, code, _ := e.consent(t, authURL, account, true)
	res, err := e.callback(state, code, "")
	if err != nil || res.Result != connection.ResultOK {
		t.Fatalf("Callback = %+v, %v; want ok", res, err)
	}
	got, err := e.svc.Get(e.ctx, company, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// fixtures returns a Drive client of alice through another OAuth client, whose grant the
// service's revocations do not touch.
func (e *env) fixtures(t *testing.T) *drivev3.Service {
	t.Helper()
	if e.fixture != nil {
		return e.fixture
	}
	cfg := &oauth2.Config{ClientID: fixtureClient, ClientSecret: clientSecret, RedirectURL: redirectURL,
		Endpoint: e.emu.OAuth.Endpoint(), Scopes: []string{driveemu.ScopeDrive}}
	ctx := context.WithValue(e.ctx, oauth2.HTTPClient, e.srv.Client())
	v := oauth2.GenerateVerifier()
	loc, err := e.emu.OAuth.Consent(ctx, cfg.AuthCodeURL("fixtures", oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(v)), alice, true)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := drivev3.NewService(ctx, option.WithHTTPClient(cfg.Client(ctx, tok)), option.WithEndpoint(e.emu.DriveEndpoint()))
	if err != nil {
		t.Fatal(err)
	}
	e.fixture = svc
	return svc
}

// mkfile creates a plain file in parent and returns its ID.
func (e *env) mkfile(t *testing.T, parent, name string) string {
	t.Helper()
	f, err := e.fixtures(t).Files.Create(&drivev3.File{Name: name, MimeType: "text/plain", Parents: []string{parent}}).
		Media(strings.NewReader("hello")).SupportsAllDrives(true).Do()
	if err != nil {
		t.Fatalf("create file: %v", err)
	}
	return f.Id
}

// mkdir creates a folder in parent and returns its ID.
func (e *env) mkdir(t *testing.T, parent, name string) string {
	t.Helper()
	f, err := e.fixtures(t).Files.Create(&drivev3.File{Name: name, MimeType: "application/vnd.google-apps.folder", Parents: []string{parent}}).
		SupportsAllDrives(true).Do()
	if err != nil {
		t.Fatalf("create folder: %v", err)
	}
	return f.Id
}

func (e *env) rootID(t *testing.T) string {
	t.Helper()
	id, err := e.emu.Drive.RootID(alice)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// countNamed counts, in alice's Drive, the untrashed folders named name directly under parent.
func (e *env) countNamed(t *testing.T, parent, name string) int {
	t.Helper()
	tree, err := e.emu.Drive.Tree(alice)
	if err != nil {
		t.Fatal(err)
	}
	var find func(n driveemu.Node) *driveemu.Node
	find = func(n driveemu.Node) *driveemu.Node {
		if n.ID == parent {
			return &n
		}
		for _, c := range n.Children {
			if got := find(c); got != nil {
				return got
			}
		}
		return nil
	}
	roots := append([]driveemu.Node{tree.Root}, tree.SharedDrives...)
	for _, r := range roots {
		if p := find(r); p != nil {
			n := 0
			for _, c := range p.Children {
				if c.Folder && !c.Trashed && c.Name == name {
					n++
				}
			}
			return n
		}
	}
	t.Fatalf("folder %s not in alice's Drive:\n%s", parent, tree)
	return 0
}

func fieldErrors(err error) map[string]string {
	out := map[string]string{}
	for _, fe := range drivesync.FieldErrors(err) {
		out[fe.Field] = fe.Reason
	}
	return out
}
