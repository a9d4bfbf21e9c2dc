package connections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/local/apispec"
	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/local/googleemu"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/local/googleemu/oauthemu"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/logging"
	"github.com/efactori/drivesync/shared/problem"
	"github.com/efactori/drivesync/shared/store"
	"github.com/efactori/drivesync/shared/tokencrypt"
	"github.com/efactori/drivesync/shared/wiring"
)

func TestMain(m *testing.M) { emulators.Main(m) }

const (
	module       = "github.com/efactori/drivesync"
	audience     = "drivesync-e2e"
	clientID     = "123-drivesync.apps.googleusercontent.com"
	clientSecret = "GOCSPX-e2e-client-secret"
	alice        = "alice@example.com"
	origin       = "https://app.efactori.example"
	frontendURL  = "https://app.efactori.example/integrations/google-drive"
	acme         = "acme"
	acmeName     = "ACME SA"
	globex       = "globex"
	manageRole   = "integrations:manage"
)

// stack is drivesync's two HTTP functions with everything they talk to, on loopback: the
// Firestore and Pub/Sub emulators, the eFactori token issuer, and the Google OAuth + Drive
// emulator.
type stack struct {
	api      string // base URL of the Connections function
	redirect string // the OAuth redirect URI, which reaches the OAuthCallback function
	iss      *efactori.Server
	google   *googleemu.Emulator
	fs       *firestore.Client
	copies   *pubsub.Subscriber // on the copy-request topic
	spec     *apispec.Spec      // every answer is checked against it
	// browser is the customer's browser: it keeps cookies and follows no redirect. The API's
	// calls go through it too, as the frontend's do.
	browser *http.Client
	// logs holds what the functions logged.
	logs *syncBuffer

	mu      sync.Mutex
	secrets map[string]string // every credential the test saw, by kind, which no log line may hold
}

// syncBuffer is a log sink the test reads while handlers write.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// loggingTB is the test, keeping what is logged through it.
type loggingTB struct {
	testing.TB
	logs *syncBuffer
}

func (l *loggingTB) Log(args ...any) {
	l.TB.Helper()
	_, _ = l.logs.Write([]byte(fmt.Sprintln(args...)))
	l.TB.Log(args...)
}

// secret remembers v, a credential of the given kind, and returns it.
func (s *stack) secret(kind, v string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets == nil {
		s.secrets = map[string]string{}
	}
	s.secrets[fmt.Sprintf("%s #%d", kind, len(s.secrets))] = v
	return v
}

// newStack starts everything. With inProcess false the functions run behind the real functions
// framework, each in its own process (emulators.ServeFunction); with inProcess true they are
// built by shared/wiring in this process, which lets the test read their logs. extraEnv holds
// more environment variables for both functions, as name, value pairs.
func newStack(t *testing.T, inProcess bool, extraEnv ...string) *stack {
	t.Helper()
	ctx := t.Context()
	// The emulators package logs a function process's output through the testing.TB it is
	// given: this one also keeps it for the test to read. It is the key of the test's project
	// too, so every emulators call below gets it.
	logs := &syncBuffer{}
	tb := &loggingTB{TB: t, logs: logs}
	spec, err := apispec.Load("../../docs/api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{fs: emulators.Firestore(tb), logs: logs, spec: spec, browser: newBrowser()}
	project := emulators.ProjectID(tb)

	// The copy-request topic the service publishes to, with a subscription to read it.
	ps := emulators.PubSub(tb)
	topic := "projects/" + project + "/topics/" + config.TopicCopyRequests
	if _, err := ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	// The status-event topic the functions' store publishes to (a deletion waits for it).
	if _, err := ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/" + project + "/topics/" + config.TopicStatusEvents}); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	sub := "projects/" + project + "/subscriptions/copies"
	if _, err := ps.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: sub, Topic: topic}); err != nil {
		t.Fatalf("create subscription: %v", err)
	}
	s.copies = ps.Subscriber(sub)

	iss, err := efactori.New(efactori.Options{DevToken: "dev", Audience: audience, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("efactori.New: %v", err)
	}
	issTS := httptest.NewServer(iss)
	t.Cleanup(issTS.Close)
	if err := iss.SetBaseURL(issTS.URL); err != nil {
		t.Fatalf("SetBaseURL: %v", err)
	}
	s.iss = iss

	// Google redirects to the callback function, whose URL is known only once it listens, and
	// both functions need that URL in their configuration: a proxy with a URL of its own stands
	// in front of it.
	var callback atomic.Pointer[url.URL]
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := callback.Load()
		if u == nil {
			http.Error(w, "callback not started", http.StatusServiceUnavailable)
			return
		}
		httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	s.redirect = proxy.URL + "/oauth/callback"

	google, err := googleemu.New(googleemu.Options{
		Accounts: []googleemu.Account{{Email: alice, DisplayName: "Alice"}},
		Clients:  []oauthemu.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{s.redirect}}},
	})
	if err != nil {
		t.Fatalf("googleemu.New: %v", err)
	}
	googleTS := httptest.NewServer(google.Handler())
	t.Cleanup(googleTS.Close)
	if err := google.SetBaseURL(googleTS.URL); err != nil {
		t.Fatalf("SetBaseURL: %v", err)
	}
	s.google = google

	keyset, err := tokencrypt.NewDevKeyset()
	if err != nil {
		t.Fatalf("NewDevKeyset: %v", err)
	}
	s.secret("OAuth client secret", clientSecret)
	s.secret("token keyset", string(keyset))
	env := map[string]string{
		"EFACTORI_ISSUER":        iss.Issuer(),
		"EFACTORI_AUDIENCE":      audience,
		"FRONTEND_ORIGINS":       origin,
		"FRONTEND_URL":           frontendURL,
		"OAUTH_CLIENT_ID":        clientID,
		"OAUTH_CLIENT_SECRET":    clientSecret,
		"OAUTH_REDIRECT_URL":     s.redirect,
		"DRIVE_SCOPE":            "drive",
		"TOKEN_KEYSET":           string(keyset),
		"TOKEN_KEYSET_CLEARTEXT": "true",
		"GOOGLE_EMULATOR_URL":    googleTS.URL,
		"LOG_LEVEL":              "DEBUG",
		// The API paces its folder writes by the account's budget; the folders this test makes
		// to page through would take 84 s at Drive's 3 writes a second.
		"DRIVE_WRITES_PER_SECOND": "1000",
	}
	for i := 0; i+1 < len(extraEnv); i += 2 {
		env[extraEnv[i]] = extraEnv[i+1]
	}

	var cb string
	if inProcess {
		env["GOOGLE_CLOUD_PROJECT"] = project
		lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
		log := logging.New(s.logs, logging.Options{Level: slog.LevelDebug, ProjectID: project})
		ccfg, err := config.LoadConnections(lookup)
		if err != nil {
			t.Fatalf("LoadConnections: %v", err)
		}
		apiHandler, err := wiring.Connections(ctx, ccfg, log)
		if err != nil {
			t.Fatalf("wiring.Connections: %v", err)
		}
		ocfg, err := config.LoadOAuthCallback(lookup)
		if err != nil {
			t.Fatalf("LoadOAuthCallback: %v", err)
		}
		cbHandler, err := wiring.OAuthCallback(ctx, ocfg, log)
		if err != nil {
			t.Fatalf("wiring.OAuthCallback: %v", err)
		}
		apiTS, cbTS := httptest.NewServer(apiHandler), httptest.NewServer(cbHandler)
		t.Cleanup(apiTS.Close)
		t.Cleanup(cbTS.Close)
		s.api, cb = apiTS.URL, cbTS.URL
	} else {
		var list []string
		for k, v := range env {
			list = append(list, k+"="+v)
		}
		s.api = emulators.ServeFunction(tb, module, config.FunctionConnections, list...)
		cb = emulators.ServeFunction(tb, module, config.FunctionOAuthCallback, list...)
	}
	u, err := url.Parse(cb)
	if err != nil {
		t.Fatalf("callback URL: %v", err)
	}
	callback.Store(u)
	return s
}

func (s *stack) token(t *testing.T, companyID, companyName string, roles []string, opts ...efactori.MintOption) string {
	t.Helper()
	tok, err := s.iss.MintToken(efactori.Claims{Subject: "user-" + companyID, Email: "boss@" + companyID + ".example",
		CompanyID: companyID, CompanyName: companyName, Roles: roles}, opts...)
	if err != nil {
		t.Fatalf("MintToken: %v", err)
	}
	return s.secret("eFactori token", tok)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// noRedirects is a browser without cookies that stops at the first redirect, so the test sees
// where it leads.
var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// newBrowser returns a browser of its own: it keeps cookies and stops at the first redirect.
func newBrowser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err) // cookiejar.New with nil options never fails
	}
	return &http.Client{Jar: jar, Timeout: noRedirects.Timeout, CheckRedirect: noRedirects.CheckRedirect}
}

// send makes one request in the customer's browser (no redirects followed) and checks the
// answer against the OpenAPI document.
func (s *stack) send(t *testing.T, method, target, token, accept string, body any) response {
	t.Helper()
	return s.sendFrom(t, s.browser, method, target, token, accept, body)
}

// sendFrom is send from browser.
func (s *stack) sendFrom(t *testing.T, browser *http.Client, method, target, token, accept string, body any) response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		r = strings.NewReader(string(j))
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, r)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	op := "GET /" // the callback function answers on every path but the start link's
	if strings.HasSuffix(req.URL.Path, "/start") {
		op = "GET /start"
	}
	if strings.HasPrefix(target, s.api) {
		var ok bool
		if op, ok = s.spec.Match(method, req.URL.Path); !ok {
			t.Errorf("%s %s is not in the OpenAPI document", method, req.URL.Path)
		}
	}
	for _, err := range s.spec.Check(op, resp.StatusCode, resp.Header, b) {
		t.Errorf("%s %s: %v", method, req.URL.Path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// call sends a request to the API and decodes a JSON answer with the wanted status into out.
func (s *stack) call(t *testing.T, method, path, token string, body any, status int, out any) response {
	t.Helper()
	r := s.send(t, method, s.api+path, token, "", body)
	if r.status != status {
		t.Fatalf("%s %s: status = %d, want %d; body %s", method, path, r.status, status, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, r.body, err)
		}
	}
	return r
}

// wantProblem checks that r is a problem+json of status and type slug.
func wantProblem(t *testing.T, what string, r response, status int, slug string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status = %d, want %d; body %s", what, r.status, status, r.body)
		return
	}
	if got := r.header.Get("Content-Type"); got != problem.ContentType {
		t.Errorf("%s: Content-Type = %q, want %q", what, got, problem.ContentType)
		return
	}
	var p problem.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Errorf("%s: decode problem: %v", what, err)
		return
	}
	if slug != "" && p.Type != problem.TypeBase+slug {
		t.Errorf("%s: type = %q, want %q", what, p.Type, problem.TypeBase+slug)
	}
}

// The JSON the API answers with, as a client reads it.
type connectionJSON struct {
	ID                 string  `json:"id"`
	Name               string  `json:"name"`
	FolderLayout       string  `json:"folderLayout"`
	Locale             string  `json:"locale"`
	OnDelete           string  `json:"onDelete"`
	Status             string  `json:"status"`
	GoogleAccountEmail *string `json:"googleAccountEmail"`
	Target             *struct {
		FolderID string   `json:"folderId"`
		DriveID  *string  `json:"driveId"`
		Path     []string `json:"path"`
	} `json:"target"`
	InitialCopy struct {
		State string `json:"state"`
	} `json:"initialCopy"`
	LastError *struct {
		Code string `json:"code"`
	} `json:"lastError"`
	CreatedAt *time.Time `json:"createdAt"`
}

type folderJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type listingJSON struct {
	Folder struct {
		ID   string       `json:"id"`
		Name string       `json:"name"`
		Path []folderJSON `json:"path"`
	} `json:"folder"`
	Folders       []folderJSON `json:"folders"`
	NextPageToken *string      `json:"nextPageToken"`
}

// consent does what the customer's browser does with an authorization URL: drivesync's start
// link (which sets the browser's cookie and sends it on to Google), Google's consent page
// (allow or cancel), then the redirect to our callback, which it returns unfollowed.
func (s *stack) consent(t *testing.T, authURL string, allow bool) *url.URL {
	t.Helper()
	return s.consentIn(t, s.browser, authURL, allow)
}

// consentIn is consent in browser.
func (s *stack) consentIn(t *testing.T, browser *http.Client, authURL string, allow bool) *url.URL {
	t.Helper()
	if want := s.redirect + "/start?"; !strings.HasPrefix(authURL, want) {
		t.Fatalf("authorization URL %s is not drivesync's start link %s…", authURL, want)
	}
	r := s.sendFrom(t, browser, "GET", authURL, "", "text/html", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("start link: status %d, want 303; body %s", r.status, r.body)
	}
	for _, c := range browser.Jar.Cookies(mustParse(t, s.redirect)) {
		s.secret("browser secret", c.Value)
	}
	return s.consentAt(t, r.header.Get("Location"), allow)
}

// consentAt consents (or cancels) on Google's page at googleURL, as the browser that is there.
func (s *stack) consentAt(t *testing.T, googleURL string, allow bool) *url.URL {
	t.Helper()
	loc, err := s.google.OAuth.Consent(t.Context(), googleURL, alice, allow)
	if err != nil {
		t.Fatalf("consent: %v", err)
	}
	if got, want := loc.Scheme+"://"+loc.Host+loc.Path, s.redirect; got != want {
		t.Fatalf("Google redirected to %s, want %s", got, want)
	}
	s.secret("OAuth state", loc.Query().Get("state"))
	if c := loc.Query().Get("code"); c != "" {
		s.secret("authorization code", c)
	}
	return loc
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// wantFrontend checks that r sends the browser back to the frontend with connection and result.
func wantFrontend(t *testing.T, r response, connectionID, result string) {
	t.Helper()
	if r.status != http.StatusSeeOther {
		t.Fatalf("callback status = %d, want 303; body %s", r.status, r.body)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatalf("Location: %v", err)
	}
	if got, want := loc.Scheme+"://"+loc.Host+loc.Path, frontendURL; got != want {
		t.Errorf("callback redirects to %s, want %s", got, want)
	}
	if got, want := loc.Query().Get("connection"), connectionID; got != want {
		t.Errorf("connection = %q, want %q", got, want)
	}
	if got, want := loc.Query().Get("result"), result; got != want {
		t.Errorf("result = %q, want %q", got, want)
	}
}

// companyFolders counts the folders named name anywhere in alice's Drive.
func (s *stack) companyFolders(t *testing.T, name string) int {
	t.Helper()
	tree, err := s.google.Drive.Tree(alice)
	if err != nil {
		t.Fatalf("Tree: %v", err)
	}
	n := 0
	var walk func(driveemu.Node)
	walk = func(nd driveemu.Node) {
		if nd.Folder && nd.Name == name && !nd.Trashed {
			n++
		}
		for _, c := range nd.Children {
			walk(c)
		}
	}
	walk(tree.Root)
	for _, d := range tree.SharedDrives {
		walk(d)
	}
	return n
}

// copyRequest waits for the copy request of connectionID on the copy-request topic, for run
// runID ("" means any run).
func (s *stack) copyRequest(t *testing.T, connectionID, runID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var found atomic.Bool
	err := s.copies.Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		var req struct {
			ConnectionID string `json:"connectionId"`
			CompanyID    string `json:"companyId"`
			RunID        string `json:"runId"`
		}
		if json.Unmarshal(m.Data, &req) == nil && req.ConnectionID == connectionID && req.CompanyID == acme &&
			(runID == "" || req.RunID == runID) {
			found.Store(true)
			cancel()
		}
	})
	if err != nil && ctx.Err() == nil {
		t.Fatalf("receive copy requests: %v", err)
	}
	if !found.Load() {
		t.Fatalf("no copy request for connection %s run %q", connectionID, runID)
	}
}

// runID reads the current run of acme's connection id from Firestore: the API does not show it.
func (s *stack) runID(t *testing.T, id string) string {
	t.Helper()
	snap, err := s.fs.Collection("companies").Doc(acme).Collection("connections").Doc(id).Get(t.Context())
	if err != nil {
		t.Fatalf("read connection %s: %v", id, err)
	}
	run, err := snap.DataAt("initialCopy.runId")
	if err != nil {
		t.Fatalf("connection %s: initialCopy.runId: %v", id, err)
	}
	r, _ := run.(string)
	return r
}

// TestFunctionsEndToEnd runs the customer's whole journey through the real functions framework,
// one process per function as in production.
func TestFunctionsEndToEnd(t *testing.T) {
	t.Parallel()
	s := newStack(t, false)
	journey(t, s)
	noSecretsLogged(t, s)
}

// TestInProcessEndToEnd runs the same journey on the handlers shared/wiring builds, in this
// process and under the race detector's eye.
func TestInProcessEndToEnd(t *testing.T) {
	t.Parallel()
	s := newStack(t, true)
	journey(t, s)
	noSecretsLogged(t, s)
}

// noSecretsLogged checks that no token, code, state or secret the test saw was logged.
func noSecretsLogged(t *testing.T, s *stack) {
	t.Helper()
	logs := s.logs.String()
	if !strings.Contains(logs, "oauth callback") {
		t.Fatalf("the functions logged nothing recognisable:\n%s", logs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for kind, secret := range s.secrets {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("logs hold the %s", kind) // never the value: test output is a log too
		}
	}
}

func journey(t *testing.T, s *stack) {
	// The API's contract, as the function serves it: the document in docs/api, no token needed.
	contract := s.send(t, "GET", s.api+"/v1/openapi.yaml", "", "", nil)
	want, err := os.ReadFile("../../docs/api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if contract.status != 200 || contract.header.Get("Content-Type") != "application/yaml" || string(contract.body) != string(want) {
		t.Errorf("GET /v1/openapi.yaml: %d %q, %d bytes; want 200 application/yaml and docs/api/openapi.yaml",
			contract.status, contract.header.Get("Content-Type"), len(contract.body))
	}

	boss := s.token(t, acme, acmeName, []string{manageRole})
	clerk := s.token(t, acme, acmeName, []string{"documents:read"})
	rival := s.token(t, globex, "Globex", []string{manageRole})

	// The switch, then a connection waiting for Google's consent.
	var integ struct {
		Enabled         bool `json:"enabled"`
		ConnectionCount int  `json:"connectionCount"`
	}
	s.call(t, "PUT", "/v1/integration", boss, map[string]any{"enabled": true}, 200, &integ)
	if !integ.Enabled {
		t.Fatal("integration not enabled")
	}
	var created struct {
		Connection       connectionJSON `json:"connection"`
		AuthorizationURL string         `json:"authorizationUrl"`
	}
	r := s.call(t, "POST", "/v1/connections", boss, map[string]any{"name": "Compta", "folderLayout": "year_month"}, 201, &created)
	id := created.Connection.ID
	if got, want := r.header.Get("Location"), "/v1/connections/"+id; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if got, want := created.Connection.Status, "awaiting_authorization"; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	s.call(t, "GET", "/v1/integration", clerk, nil, 200, &integ)
	if got, want := integ.ConnectionCount, 1; got != want {
		t.Errorf("connectionCount = %d, want %d", got, want)
	}

	// Consent. A tampered state changes nothing; the real one completes the consent once.
	loc := s.consent(t, created.AuthorizationURL, true)
	tampered := *loc
	q := tampered.Query()
	q.Set("state", q.Get("state")+"x")
	tampered.RawQuery = q.Encode()
	wantProblem(t, "tampered state", s.send(t, "GET", tampered.String(), "", "application/json", nil), 400, "invalid-authorization-state")
	var conn connectionJSON
	s.call(t, "GET", "/v1/connections/"+id, boss, nil, 200, &conn)
	if got, want := conn.Status, "awaiting_authorization"; got != want {
		t.Fatalf("after a tampered state, status = %q, want %q", got, want)
	}
	wantFrontend(t, s.send(t, "GET", loc.String(), "", "text/html", nil), id, "ok")
	replay := s.send(t, "GET", loc.String(), "", "text/html", nil)
	if replay.status != 400 || !strings.HasPrefix(replay.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(replay.body), "eFactori") {
		t.Errorf("replayed callback: %d %s %s", replay.status, replay.header.Get("Content-Type"), replay.body)
	}
	s.call(t, "GET", "/v1/connections/"+id, boss, nil, 200, &conn)
	if got, want := conn.Status, "awaiting_folder"; got != want {
		t.Fatalf("status = %q, want %q", got, want)
	}
	if conn.GoogleAccountEmail == nil || *conn.GoogleAccountEmail != alice {
		t.Errorf("googleAccountEmail = %v, want %s", conn.GoogleAccountEmail, alice)
	}

	// Browse: My Drive, a new folder with more subfolders than a page holds, the shared drives.
	var l listingJSON
	s.call(t, "GET", "/v1/connections/"+id+"/folders", clerk, nil, 200, &l)
	if len(l.Folder.Path) == 0 || l.Folder.Path[len(l.Folder.Path)-1].ID != l.Folder.ID {
		t.Errorf("root listing path %+v does not end at %s", l.Folder.Path, l.Folder.ID)
	}
	var clients folderJSON
	s.call(t, "POST", "/v1/connections/"+id+"/folders", boss, map[string]any{"parentId": "root", "name": "Clients"}, 201, &clients)
	const many = 251
	var wg sync.WaitGroup
	var failed atomic.Int32
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				body := fmt.Sprintf(`{"parentId":%q,"name":"Client %03d"}`, clients.ID, i)
				req, _ := http.NewRequestWithContext(t.Context(), "POST", s.api+"/v1/connections/"+id+"/folders", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+boss)
				resp, err := noRedirects.Do(req)
				if err != nil || resp.StatusCode != http.StatusCreated {
					failed.Add(1)
				}
				if err == nil {
					resp.Body.Close()
				}
			}
		})
	}
	for i := range many {
		next <- i
	}
	close(next)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d folders were not created", n, many)
	}
	var names []string
	pages, token := 0, ""
	for {
		path := "/v1/connections/" + id + "/folders?parent=" + clients.ID
		if token != "" {
			path += "&pageToken=" + url.QueryEscape(token)
		}
		s.call(t, "GET", path, clerk, nil, 200, &l)
		pages++
		if got, want := l.Folder.ID, clients.ID; got != want {
			t.Fatalf("listing of %s says folder %s", want, got)
		}
		for _, f := range l.Folders {
			names = append(names, f.Name)
		}
		if l.NextPageToken == nil {
			break
		}
		token = *l.NextPageToken
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if got, want := len(names), many; got != want {
		t.Errorf("listed %d folders, want %d", got, want)
	}
	if slices.Sort(names); len(slices.Compact(names)) != many {
		t.Errorf("listing repeats folders")
	}
	if pages < 3 {
		t.Errorf("%d folders came in %d pages", many, pages)
	}
	if got := l.Folder.Path; len(got) < 2 || got[len(got)-1].Name != "Clients" {
		t.Errorf("path = %+v, want it to end at Clients", got)
	}
	if _, err := s.google.Drive.AddSharedDrive(alice, "Équipe"); err != nil {
		t.Fatalf("AddSharedDrive: %v", err)
	}
	s.call(t, "GET", "/v1/connections/"+id+"/folders?parent=drives", clerk, nil, 200, &l)
	if len(l.Folders) != 1 || l.Folders[0].Name != "Équipe" {
		t.Errorf("shared drives = %+v, want Équipe", l.Folders)
	}

	// Google's failures reach the client classified.
	if err := s.google.Drive.FailNext("files.get", 1, driveemu.Fault{Kind: driveemu.FaultRateLimit429}); err != nil {
		t.Fatalf("FailNext: %v", err)
	}
	r = s.send(t, "GET", s.api+"/v1/connections/"+id+"/folders?parent="+clients.ID, clerk, "", nil)
	wantProblem(t, "rate limited", r, 503, "drive-unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	s.google.Drive.ClearFaults()

	// The target: the company folder is made once, even when chosen twice.
	s.call(t, "PUT", "/v1/connections/"+id+"/target", boss, map[string]any{"folderId": clients.ID}, 200, &conn)
	s.call(t, "PUT", "/v1/connections/"+id+"/target", boss, map[string]any{"folderId": clients.ID}, 200, &conn)
	s.call(t, "GET", "/v1/connections/"+id, clerk, nil, 200, &conn)
	if got, want := conn.Status, "active"; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	if conn.Target == nil || conn.Target.FolderID != clients.ID {
		t.Errorf("target = %+v, want folder %s", conn.Target, clients.ID)
	}
	if got, want := s.companyFolders(t, acmeName), 1; got != want {
		t.Errorf("%d company folders in Drive, want %d", got, want)
	}
	s.copyRequest(t, id, "")
	s.call(t, "POST", "/v1/connections/"+id+"/resync", boss, nil, 202, &conn)
	s.call(t, "PATCH", "/v1/connections/"+id, boss, map[string]any{"name": "Compta 2026", "onDelete": "trash"}, 200, &conn)
	if conn.Name != "Compta 2026" || conn.OnDelete != "trash" {
		t.Errorf("after PATCH: name %q onDelete %q", conn.Name, conn.OnDelete)
	}
	reorganise(t, s, id, boss)
	oneTargetPerFolder(t, s, id, clients.ID, boss)

	tenancy(t, s, id, clients.ID, boss, clerk, rival)
	states(t, s, id, boss)

	// A revoked grant asks for a new consent.
	s.google.OAuth.RevokeAll(alice, clientID)
	wantProblem(t, "revoked grant", s.send(t, "GET", s.api+"/v1/connections/"+id+"/folders", clerk, "", nil), 409, "needs-reauthorization")
	s.call(t, "GET", "/v1/connections/"+id, clerk, nil, 200, &conn)
	if got, want := conn.Status, "needs_reauthorization"; got != want {
		t.Errorf("after revocation, status = %q, want %q", got, want)
	}

	s.call(t, "DELETE", "/v1/connections/"+id, boss, nil, 204, nil)
	wantProblem(t, "deleted", s.send(t, "GET", s.api+"/v1/connections/"+id, boss, "", nil), 404, "not-found")
}

// reorganise checks that a new layout of the active connection id starts a run (a reconcile
// that moves what is already in Drive), and that the same layout again does not.
func reorganise(t *testing.T, s *stack, id, boss string) {
	t.Helper()
	before := s.runID(t, id)
	var conn connectionJSON
	s.call(t, "PATCH", "/v1/connections/"+id, boss, map[string]any{"folderLayout": "year_kind"}, 200, &conn)
	if conn.FolderLayout != "year_kind" || conn.InitialCopy.State != "pending" {
		t.Errorf("after a layout change: layout %q, initial copy %q; want year_kind, pending", conn.FolderLayout, conn.InitialCopy.State)
	}
	run := s.runID(t, id)
	if run == before {
		t.Fatalf("a layout change of an active connection kept run %s", run)
	}
	s.copyRequest(t, id, run)
	s.call(t, "PATCH", "/v1/connections/"+id, boss, map[string]any{"folderLayout": "year_kind", "name": "Compta 2026"}, 200, &conn)
	if got := s.runID(t, id); got != run {
		t.Errorf("the same layout again started run %s", got)
	}
}

// oneTargetPerFolder checks that a second connection of the company cannot take the folder the
// connection id copies into, and can take another one.
func oneTargetPerFolder(t *testing.T, s *stack, id, folderID, boss string) {
	t.Helper()
	var created struct {
		Connection       connectionJSON `json:"connection"`
		AuthorizationURL string         `json:"authorizationUrl"`
	}
	s.call(t, "POST", "/v1/connections", boss, map[string]any{"name": "Sauvegarde", "folderLayout": "year"}, 201, &created)
	second := created.Connection.ID
	wantFrontend(t, s.send(t, "GET", s.consent(t, created.AuthorizationURL, true).String(), "", "text/html", nil), second, "ok")

	r := s.send(t, "PUT", s.api+"/v1/connections/"+second+"/target", boss, "", map[string]any{"folderId": folderID})
	wantProblem(t, "second connection onto the same folder", r, 409, "target-in-use")
	var p struct {
		Detail       string `json:"detail"`
		ConnectionID string `json:"connectionId"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode problem: %v", err)
	}
	if got, want := p.ConnectionID, id; got != want {
		t.Errorf("connectionId = %q, want %q", got, want)
	}
	if want := fmt.Sprintf(`Google Drive connection "Compta 2026" (id %s)`, id); !strings.Contains(p.Detail, want) {
		t.Errorf("detail = %q, want it to name the other connection: %s", p.Detail, want)
	}
	var conn connectionJSON
	s.call(t, "GET", "/v1/connections/"+second, boss, nil, 200, &conn)
	if conn.Status != "awaiting_folder" || conn.Target != nil {
		t.Errorf("the refused connection: status %q, target %+v; want awaiting_folder, none", conn.Status, conn.Target)
	}

	var own folderJSON
	s.call(t, "POST", "/v1/connections/"+second+"/folders", boss, map[string]any{"parentId": "root", "name": "Sauvegarde"}, 201, &own)
	s.call(t, "PUT", "/v1/connections/"+second+"/target", boss, map[string]any{"folderId": own.ID}, 200, &conn)
	if conn.Status != "active" || conn.Target == nil || conn.Target.FolderID != own.ID {
		t.Errorf("second connection onto its own folder: status %q, target %+v", conn.Status, conn.Target)
	}
	s.call(t, "PUT", "/v1/connections/"+id+"/target", boss, map[string]any{"folderId": folderID}, 200, &conn)
	s.call(t, "DELETE", "/v1/connections/"+second, boss, nil, 204, nil)
}

// tenancy checks that another company sees nothing of acme's connection and that a token
// without the manage role cannot change anything, on every route.
func tenancy(t *testing.T, s *stack, id, folderID, boss, clerk, rival string) {
	t.Helper()
	routes := []struct {
		method, path string
		body         any
		mutates      bool
	}{
		{"GET", "/v1/connections/" + id, nil, false},
		{"PATCH", "/v1/connections/" + id, map[string]any{"name": "Mine now"}, true},
		{"DELETE", "/v1/connections/" + id, nil, true},
		{"POST", "/v1/connections/" + id + "/authorization", nil, true},
		{"GET", "/v1/connections/" + id + "/folders", nil, false},
		{"POST", "/v1/connections/" + id + "/folders", map[string]any{"parentId": folderID, "name": "x"}, true},
		{"PUT", "/v1/connections/" + id + "/target", map[string]any{"folderId": folderID}, true},
		{"POST", "/v1/connections/" + id + "/resync", nil, true},
	}
	for _, rt := range routes {
		wantProblem(t, "rival "+rt.method+" "+rt.path, s.send(t, rt.method, s.api+rt.path, rival, "", rt.body), 404, "not-found")
		if rt.mutates {
			wantProblem(t, "clerk "+rt.method+" "+rt.path, s.send(t, rt.method, s.api+rt.path, clerk, "", rt.body), 403, "forbidden")
		}
	}
	for _, rt := range []struct {
		method, path string
		body         any
	}{
		{"PUT", "/v1/integration", map[string]any{"enabled": false}},
		{"POST", "/v1/connections", map[string]any{"name": "x", "folderLayout": "year"}},
	} {
		wantProblem(t, "clerk "+rt.method+" "+rt.path, s.send(t, rt.method, s.api+rt.path, clerk, "", rt.body), 403, "forbidden")
	}
	var list struct {
		Connections []connectionJSON `json:"connections"`
	}
	s.call(t, "GET", "/v1/connections", rival, nil, 200, &list)
	if len(list.Connections) != 0 {
		t.Errorf("rival lists %d connections", len(list.Connections))
	}
	s.call(t, "GET", "/v1/connections", boss, nil, 200, &list)
	if len(list.Connections) != 1 || list.Connections[0].ID != id || list.Connections[0].Name == "Mine now" {
		t.Errorf("acme's connections after the rival's attempts: %+v", list.Connections)
	}

	claims := efactori.Claims{Subject: "user-acme", CompanyID: acme, Roles: []string{manageRole}}
	for name, opt := range map[string]efactori.MintOption{
		"expired":        efactori.Expired(),
		"wrong issuer":   efactori.WithIssuer("https://issuer.evil.example"),
		"wrong audience": efactori.WithAudience("another-service"),
		"alg none":       efactori.AlgNone(),
		"bad signature":  efactori.SignedByOtherKey(),
	} {
		tok, err := s.iss.MintToken(claims, opt)
		if err != nil {
			t.Fatalf("MintToken: %v", err)
		}
		s.secret("spoilt eFactori token", tok)
		wantProblem(t, name+" token", s.send(t, "GET", s.api+"/v1/connections/"+id, tok, "", nil), 401, "unauthorized")
		wantProblem(t, name+" token", s.send(t, "DELETE", s.api+"/v1/connections/"+id, tok, "", nil), 401, "unauthorized")
	}
	var conn connectionJSON
	s.call(t, "GET", "/v1/connections/"+id, boss, nil, 200, &conn)
	if conn.Status != "active" {
		t.Errorf("after the refused calls, status = %q", conn.Status)
	}
}

// states checks that an expired state, a state used with another connection's code, and a
// refusal on Google's screen change nothing that matters.
func states(t *testing.T, s *stack, id, boss string) {
	t.Helper()
	// Expired: the consent took longer than the state lives.
	var auth struct {
		AuthorizationURL string `json:"authorizationUrl"`
	}
	s.call(t, "POST", "/v1/connections/"+id+"/authorization", boss, nil, 200, &auth)
	loc := s.consent(t, auth.AuthorizationURL, true)
	ref := s.fs.Collection("oauthStates").Doc(store.StateID(loc.Query().Get("state")))
	if _, err := ref.Update(t.Context(), []firestore.Update{{Path: "expireAt", Value: time.Now().Add(-time.Minute)}}); err != nil {
		t.Fatalf("age the state: %v", err)
	}
	wantProblem(t, "expired state", s.send(t, "GET", loc.String(), "", "application/problem+json", nil), 400, "invalid-authorization-state")
	var conn connectionJSON
	s.call(t, "GET", "/v1/connections/"+id, boss, nil, 200, &conn)
	if conn.Status != "active" || conn.LastError != nil {
		t.Errorf("after an expired state: status %q, lastError %+v", conn.Status, conn.LastError)
	}

	// Another connection's state with this consent's code: the code's PKCE verifier is not the
	// state's, so Google refuses the exchange and the other connection gets no grant.
	var other struct {
		Connection       connectionJSON `json:"connection"`
		AuthorizationURL string         `json:"authorizationUrl"`
	}
	s.call(t, "POST", "/v1/connections", boss, map[string]any{"name": "Archives", "folderLayout": "year"}, 201, &other)
	s.call(t, "POST", "/v1/connections/"+id+"/authorization", boss, nil, 200, &auth)
	mine := s.consent(t, auth.AuthorizationURL, true)
	theirs := s.consent(t, other.AuthorizationURL, true)
	crossed := *theirs
	q := crossed.Query()
	q.Set("code", mine.Query().Get("code"))
	crossed.RawQuery = q.Encode()
	wantFrontend(t, s.send(t, "GET", crossed.String(), "", "text/html", nil), other.Connection.ID, "error")
	s.call(t, "GET", "/v1/connections/"+other.Connection.ID, boss, nil, 200, &conn)
	if conn.Status != "awaiting_authorization" || conn.GoogleAccountEmail != nil {
		t.Errorf("crossed consent changed the other connection: status %q email %v", conn.Status, conn.GoogleAccountEmail)
	}

	// Cancel on Google's screen.
	var again struct {
		AuthorizationURL string `json:"authorizationUrl"`
	}
	s.call(t, "POST", "/v1/connections/"+other.Connection.ID+"/authorization", boss, nil, 200, &again)
	denied := s.consent(t, again.AuthorizationURL, false)
	wantFrontend(t, s.send(t, "GET", denied.String(), "", "text/html", nil), other.Connection.ID, "denied")
	s.call(t, "GET", "/v1/connections/"+other.Connection.ID, boss, nil, 200, &conn)
	if conn.Status != "awaiting_authorization" {
		t.Errorf("after a refusal, status = %q", conn.Status)
	}
	s.call(t, "DELETE", "/v1/connections/"+other.Connection.ID, boss, nil, 204, nil)
}

// TestCompanyIDAttacks sends tokens that are signed by the right issuer but whose company_id
// would be a path into another document (acme/connections/<id>), a name Firestore refuses or
// reserves, or far too long, through the real handlers to Firestore: each is 401 and nothing is
// written anywhere.
func TestCompanyIDAttacks(t *testing.T) {
	t.Parallel()
	s := newStack(t, true)
	boss := s.token(t, acme, acmeName, []string{manageRole})
	s.call(t, "PUT", "/v1/integration", boss, map[string]any{"enabled": true}, 200, nil)
	var created struct {
		Connection connectionJSON `json:"connection"`
	}
	s.call(t, "POST", "/v1/connections", boss, map[string]any{"name": "Compta", "folderLayout": "year"}, 201, &created)
	id := created.Connection.ID
	connRef := s.fs.Collection("companies").Doc(acme).Collection("connections").Doc(id)
	before, err := connRef.Get(t.Context())
	if err != nil {
		t.Fatalf("read connection: %v", err)
	}
	docs := func() []string {
		t.Helper()
		var out []string
		cols, err := s.fs.Collections(t.Context()).GetAll()
		if err != nil {
			t.Fatalf("list collections: %v", err)
		}
		for _, col := range cols {
			refs, err := col.DocumentRefs(t.Context()).GetAll()
			if err != nil {
				t.Fatalf("list %s: %v", col.Path, err)
			}
			for _, r := range refs {
				out = append(out, col.ID+"/"+r.ID)
			}
		}
		slices.Sort(out)
		return out
	}
	all := docs()

	for name, companyID := range map[string]string{
		"path into acme's connection": acme + "/connections/" + id,
		"path into acme":              acme + "/connections",
		"dot dot":                     "..",
		"dot":                         ".",
		"reserved name":               "__x__",
		"2,000 characters":            strings.Repeat("a", 2000),
	} {
		tok := s.token(t, companyID, "Evil", []string{manageRole})
		for _, rt := range []struct {
			method, path string
			body         any
		}{
			{"PUT", "/v1/integration", map[string]any{"enabled": false}},
			{"GET", "/v1/integration", nil},
			{"POST", "/v1/connections", map[string]any{"name": "Mine", "folderLayout": "year"}},
			{"GET", "/v1/connections", nil},
			{"GET", "/v1/connections/" + id, nil},
			{"DELETE", "/v1/connections/" + id, nil},
		} {
			wantProblem(t, name+": "+rt.method+" "+rt.path, s.send(t, rt.method, s.api+rt.path, tok, "", rt.body), 401, "unauthorized")
		}
	}

	after, err := connRef.Get(t.Context())
	if err != nil {
		t.Fatalf("read connection: %v", err)
	}
	if !after.UpdateTime.Equal(before.UpdateTime) {
		t.Errorf("acme's connection was written: %v", after.Data())
	}
	if _, ok := after.Data()["enabled"]; ok {
		t.Errorf("acme's connection holds the integration switch: %v", after.Data())
	}
	if diff := cmp.Diff(all, docs()); diff != "" {
		t.Errorf("top-level documents changed (-before +after):\n%s", diff)
	}
	var integ struct {
		Enabled         bool `json:"enabled"`
		ConnectionCount int  `json:"connectionCount"`
	}
	s.call(t, "GET", "/v1/integration", boss, nil, 200, &integ)
	if !integ.Enabled || integ.ConnectionCount != 1 {
		t.Errorf("acme's integration after the attacks: %+v, want on with 1 connection", integ)
	}
	if logs := s.logs.String(); strings.Contains(logs, strings.Repeat("a", 200)) {
		t.Error("the logs hold the 2,000-character company_id")
	}
}

// TestConnectionLimit checks MAX_CONNECTIONS_PER_COMPANY through the real handlers: the
// connection past the cap is refused with its own problem type, even when many are created at
// once; another company is not affected, and removing a connection makes room again.
func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	const limit = 3
	s := newStack(t, true, "MAX_CONNECTIONS_PER_COMPANY", fmt.Sprint(limit))
	boss := s.token(t, acme, acmeName, []string{manageRole})
	s.call(t, "PUT", "/v1/integration", boss, map[string]any{"enabled": true}, 200, nil)

	// A burst: twice as many as the cap, at once.
	const burst = 2 * limit
	statuses := make([]response, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			statuses[i] = s.send(t, "POST", s.api+"/v1/connections", boss, "",
				map[string]any{"name": fmt.Sprintf("Drive %d", i), "folderLayout": "year"})
		})
	}
	wg.Wait()
	created := 0
	for i, r := range statuses {
		switch r.status {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			wantProblem(t, fmt.Sprintf("create %d past the cap", i), r, 409, "connection-limit-reached")
			var p struct {
				Detail string `json:"detail"`
				Limit  int    `json:"limit"`
			}
			if err := json.Unmarshal(r.body, &p); err != nil || p.Limit != limit || !strings.Contains(p.Detail, "remove one") {
				t.Errorf("create %d past the cap: problem %s", i, r.body)
			}
		default:
			t.Errorf("create %d: status %d, body %s", i, r.status, r.body)
		}
	}
	if created != limit {
		t.Fatalf("%d of %d concurrent creations succeeded, want %d", created, burst, limit)
	}
	var list struct {
		Connections []connectionJSON `json:"connections"`
	}
	s.call(t, "GET", "/v1/connections", boss, nil, 200, &list)
	if got := len(list.Connections); got != limit {
		t.Fatalf("the list holds %d connections, want %d", got, limit)
	}
	var integ struct {
		ConnectionCount int `json:"connectionCount"`
	}
	s.call(t, "GET", "/v1/integration", boss, nil, 200, &integ)
	if integ.ConnectionCount != limit {
		t.Errorf("connectionCount = %d, want %d", integ.ConnectionCount, limit)
	}

	// Another company has its own cap.
	rival := s.token(t, globex, "Globex", []string{manageRole})
	s.call(t, "POST", "/v1/connections", rival, map[string]any{"name": "Drive 0", "folderLayout": "year"}, 201, nil)

	// Room again after a removal.
	s.call(t, "DELETE", "/v1/connections/"+list.Connections[0].ID, boss, nil, 204, nil)
	s.call(t, "POST", "/v1/connections", boss, map[string]any{"name": "Replacement", "folderLayout": "year"}, 201, nil)
	wantProblem(t, "one more", s.send(t, "POST", s.api+"/v1/connections", boss, "",
		map[string]any{"name": "One more", "folderLayout": "year"}), 409, "connection-limit-reached")
}

// TestConflicts checks that each 409 a customer can meet on the way to a working connection has
// its own problem type and says what to do, and that a connection can be created while the
// integration is off (as the OpenAPI document says), which leaves the integration off.
func TestConflicts(t *testing.T) {
	t.Parallel()
	s := newStack(t, true)
	boss := s.token(t, acme, acmeName, []string{manageRole})
	var integ struct {
		Enabled         bool `json:"enabled"`
		ConnectionCount int  `json:"connectionCount"`
	}
	s.call(t, "GET", "/v1/integration", boss, nil, 200, &integ)
	if integ.Enabled {
		t.Fatal("a new company has the integration on")
	}
	var created struct {
		Connection       connectionJSON `json:"connection"`
		AuthorizationURL string         `json:"authorizationUrl"`
	}
	s.call(t, "POST", "/v1/connections", boss, map[string]any{"name": "Compta", "folderLayout": "year"}, 201, &created)
	id := created.Connection.ID
	s.call(t, "GET", "/v1/integration", boss, nil, 200, &integ)
	if integ.Enabled || integ.ConnectionCount != 1 {
		t.Errorf("after a creation while off: %+v, want off with 1 connection", integ)
	}

	detail := func(what string, r response, status int, slug, says string) {
		t.Helper()
		wantProblem(t, what, r, status, slug)
		var p problem.Problem
		if err := json.Unmarshal(r.body, &p); err != nil || !strings.Contains(p.Detail, says) {
			t.Errorf("%s: detail %q does not say %q", what, p.Detail, says)
		}
	}
	detail("same name again", s.send(t, "POST", s.api+"/v1/connections", boss, "",
		map[string]any{"name": " COMPTA ", "folderLayout": "year"}), 409, "name-taken", "choose another name")
	var other struct {
		Connection connectionJSON `json:"connection"`
	}
	s.call(t, "POST", "/v1/connections", boss, map[string]any{"name": "Archives", "folderLayout": "year"}, 201, &other)
	detail("rename to a taken name", s.send(t, "PATCH", s.api+"/v1/connections/"+other.Connection.ID, boss, "",
		map[string]any{"name": "compta"}), 409, "name-taken", "choose another name")

	for _, rt := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/connections/" + id + "/folders", nil},
		{"POST", "/v1/connections/" + id + "/folders", map[string]any{"parentId": "root", "name": "x"}},
		{"PUT", "/v1/connections/" + id + "/target", map[string]any{"folderId": "root"}},
		{"POST", "/v1/connections/" + id + "/resync", nil},
	} {
		detail("before consent: "+rt.method+" "+rt.path, s.send(t, rt.method, s.api+rt.path, boss, "", rt.body),
			409, "consent-required", "finish Google's consent screen")
	}

	wantFrontend(t, s.send(t, "GET", s.consent(t, created.AuthorizationURL, true).String(), "", "text/html", nil), id, "ok")
	detail("resync before a target", s.send(t, "POST", s.api+"/v1/connections/"+id+"/resync", boss, "", nil),
		409, "no-target", "choose one")
}

// TestConsentInAnotherBrowser checks RFC 6749 §10.12 through the real functions: the consent
// can only be finished in the browser that opened the authorization link. Google's page copied
// into another browser comes back without the cookie and changes nothing (a page says to
// connect from eFactori in that browser); the link opened again elsewhere is refused; the
// customer's own browser still finishes.
func TestConsentInAnotherBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t, true)
	boss := s.token(t, acme, acmeName, []string{manageRole})
	var created struct {
		Connection       connectionJSON `json:"connection"`
		AuthorizationURL string         `json:"authorizationUrl"`
	}
	s.call(t, "POST", "/v1/connections", boss, map[string]any{"name": "Compta", "folderLayout": "year"}, 201, &created)
	id := created.Connection.ID

	// The customer's browser opens the link: a cookie for the callback, then Google.
	start := s.send(t, "GET", created.AuthorizationURL, "", "text/html", nil)
	if start.status != http.StatusSeeOther {
		t.Fatalf("start link: %d %s", start.status, start.body)
	}
	google := start.header.Get("Location")
	cookies := s.browser.Jar.Cookies(mustParse(t, s.redirect))
	if len(cookies) != 1 || !strings.HasPrefix(cookies[0].Name, "drivesync-consent-") {
		t.Fatalf("the customer's browser holds cookies %v for the callback, want one drivesync-consent-…", cookies)
	}
	s.secret("browser secret", cookies[0].Value)
	if sc := start.header.Get("Set-Cookie"); !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") ||
		!strings.Contains(sc, "Path=/oauth/callback") || strings.Contains(sc, "Secure") {
		t.Errorf("Set-Cookie %q: want HttpOnly, SameSite=Lax, Path=/oauth/callback, not Secure on plain http", sc)
	}

	// The same link opened in another browser: already opened, no cookie there.
	other := newBrowser()
	again := s.sendFrom(t, other, "GET", created.AuthorizationURL, "", "text/html", nil)
	if again.status != http.StatusBadRequest || len(other.Jar.Cookies(mustParse(t, s.redirect))) != 0 {
		t.Errorf("the link opened a second time, elsewhere: %d, cookies %v; want 400 and none", again.status,
			other.Jar.Cookies(mustParse(t, s.redirect)))
	}

	// Google's page, copied into another browser, consented there: the callback has no cookie.
	elsewhere := s.consentAt(t, google, true)
	for _, accept := range []string{"text/html", "application/json"} {
		r := s.sendFrom(t, other, "GET", elsewhere.String(), "", accept, nil)
		if r.status != http.StatusForbidden {
			t.Fatalf("callback in another browser (%s): %d %s; want 403", accept, r.status, r.body)
		}
		// The page speaks the connection's language (French, the default locale).
		if accept == "text/html" && !strings.Contains(string(r.body), "terminez-y l&#39;autorisation") {
			t.Errorf("the other-browser page does not say, in French, what to do:\n%s", r.body)
		}
		if accept == "application/json" {
			wantProblem(t, "callback in another browser", r, 403, "authorization-other-browser")
		}
	}
	var conn connectionJSON
	s.call(t, "GET", "/v1/connections/"+id, boss, nil, 200, &conn)
	if conn.Status != "awaiting_authorization" || conn.GoogleAccountEmail != nil {
		t.Fatalf("after a callback in another browser: status %q, account %v; want unchanged", conn.Status, conn.GoogleAccountEmail)
	}
	// Another browser with a cookie of its own for the same name: still not the state's secret.
	forged := newBrowser()
	forged.Jar.SetCookies(mustParse(t, s.redirect), []*http.Cookie{{Name: cookies[0].Name, Value: "forged", Path: "/oauth/callback"}})
	if r := s.sendFrom(t, forged, "GET", elsewhere.String(), "", "application/json", nil); r.status != http.StatusForbidden {
		t.Errorf("callback with a forged cookie: %d %s; want 403", r.status, r.body)
	}

	// The customer's browser, which started it, finishes; its cookie is cleared.
	mine := s.consentAt(t, google, true)
	wantFrontend(t, s.send(t, "GET", mine.String(), "", "text/html", nil), id, "ok")
	if left := s.browser.Jar.Cookies(mustParse(t, s.redirect)); len(left) != 0 {
		t.Errorf("cookies left after the consent: %v", left)
	}
	s.call(t, "GET", "/v1/connections/"+id, boss, nil, 200, &conn)
	if conn.Status != "awaiting_folder" {
		t.Errorf("after the consent in the customer's browser: status %q", conn.Status)
	}
	// The state is spent: the other browser's callback is now an expired link.
	if r := s.sendFrom(t, other, "GET", elsewhere.String(), "", "application/json", nil); r.status != http.StatusBadRequest {
		t.Errorf("the other browser's callback after the consent: %d; want 400", r.status)
	}
	noSecretsLogged(t, s)
}
