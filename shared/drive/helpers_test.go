package drive

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"
	drivev3 "google.golang.org/api/drive/v3"
	"google.golang.org/api/option"

	"github.com/efactori/drivesync/local/googleemu"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/local/googleemu/oauthemu"
	"github.com/efactori/drivesync/shared/drivesync"
)

const (
	clientID     = "42-drivesync.apps.googleusercontent.com"
	clientSecret = "GOCSPX-test"
	redirectURL  = "http://127.0.0.1:9/oauth/callback" // never contacted
	alice        = "alice@example.com"
	aliceName    = "Alice Example"
	aliceQuota   = 15 << 30
	userAgent    = "drivesync-test/1"
)

// stack is Google (OAuth and Drive emulators) on a loopback server, for one test.
type stack struct {
	emu *googleemu.Emulator
	ts  *httptest.Server
	ctx context.Context // carries the loopback HTTP client for oauth2

	mu         sync.Mutex
	userAgents []string
	// hook, when set, sees every request before the emulator does, e.g. to arm a fault for the
	// n-th chunk of an upload.
	hook func(r *http.Request)

	// chunkBytes counts the body bytes the emulator has read from resumable upload chunks.
	chunkBytes atomic.Int64
}

// setHook installs fn as the stack's request hook.
func (s *stack) setHook(fn func(r *http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = fn
}

// countingBody counts what is read from a request body.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func newStack(t testing.TB) *stack {
	t.Helper()
	emu, err := googleemu.New(googleemu.Options{
		Accounts: []googleemu.Account{{Email: alice, DisplayName: aliceName, QuotaBytes: aliceQuota}},
		Clients:  []oauthemu.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
	})
	if err != nil {
		t.Fatalf("googleemu.New: %v", err)
	}
	s := &stack{emu: emu}
	h := emu.Handler()
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.userAgents = append(s.userAgents, r.UserAgent())
		hook := s.hook
		s.mu.Unlock()
		if hook != nil {
			hook(r)
		}
		if r.URL.Query().Get("upload_id") != "" {
			r.Body = countingBody{r.Body, &s.chunkBytes}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.ts.Close)
	if err := emu.SetBaseURL(s.ts.URL); err != nil {
		t.Fatalf("SetBaseURL: %v", err)
	}
	s.ctx = context.WithValue(t.Context(), oauth2.HTTPClient, s.ts.Client())
	return s
}

func (s *stack) config(scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
		Endpoint: s.emu.OAuth.Endpoint(), Scopes: scopes,
	}
}

// login runs the real code flow with PKCE through the emulator's consent page.
func (s *stack) login(t testing.TB, scopes ...string) *oauth2.Token {
	t.Helper()
	cfg := s.config(scopes...)
	v := oauth2.GenerateVerifier()
	loc, err := s.emu.OAuth.Consent(s.ctx, cfg.AuthCodeURL("st", oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(v)), alice, true)
	if err != nil {
		t.Fatalf("Consent: %v", err)
	}
	tok, err := cfg.Exchange(s.ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok
}

// clientFor builds a Client whose requests carry tokens from ts.
func (s *stack) clientFor(t testing.TB, ts oauth2.TokenSource) *Client {
	t.Helper()
	c, err := New(s.ctx, oauth2.NewClient(s.ctx, ts), Options{Endpoint: s.emu.DriveEndpoint(), UserAgent: userAgent})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// client logs in with the full Drive scope and returns a Client and the token it holds.
func (s *stack) client(t testing.TB) (*Client, *oauth2.Token) {
	t.Helper()
	tok := s.login(t, driveemu.ScopeDrive)
	return s.clientFor(t, s.config(driveemu.ScopeDrive).TokenSource(s.ctx, tok)), tok
}

// raw is the generated Drive client under the same grant, to arrange fixtures the adapter does
// not offer (plain files).
func (s *stack) raw(t *testing.T, tok *oauth2.Token) *drivev3.Service {
	t.Helper()
	svc, err := drivev3.NewService(s.ctx,
		option.WithHTTPClient(oauth2.NewClient(s.ctx, s.config(driveemu.ScopeDrive).TokenSource(s.ctx, tok))),
		option.WithEndpoint(s.emu.DriveEndpoint()))
	if err != nil {
		t.Fatalf("drive.NewService: %v", err)
	}
	return svc
}

func (s *stack) rootID(t *testing.T) string {
	t.Helper()
	id, err := s.emu.Drive.RootID(alice)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// mkdir creates a folder through the adapter and fails the test on error.
func mkdir(t *testing.T, c *Client, parent, name string) Folder {
	t.Helper()
	f, err := c.CreateFolder(t.Context(), parent, name, nil)
	if err != nil {
		t.Fatalf("CreateFolder(%s, %q): %v", parent, name, err)
	}
	return f
}

// findNode returns the node with id in the tree under n.
func findNode(n driveemu.Node, id string) (driveemu.Node, bool) {
	if n.ID == id {
		return n, true
	}
	for _, c := range n.Children {
		if got, ok := findNode(c, id); ok {
			return got, true
		}
	}
	return driveemu.Node{}, false
}

// countFolders counts folders under n (n excluded) named name.
func countFolders(n driveemu.Node, name string) int {
	count := 0
	for _, c := range n.Children {
		if c.Folder && c.Name == name {
			count++
		}
		count += countFolders(c, name)
	}
	return count
}

// class is what a caller reads off an error: its class and code.
type class struct {
	Class drivesync.Class
	Code  string
}

func classOf(err error) class {
	var ce *drivesync.ClassifiedError
	if !errors.As(err, &ce) {
		return class{Class: drivesync.ClassOf(err)}
	}
	return class{Class: ce.Class, Code: ce.Code}
}
