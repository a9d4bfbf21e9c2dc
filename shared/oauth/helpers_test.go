package oauth

import (
	"github.com/efactori/drivesync/local/testclock"

	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/efactori/drivesync/local/googleemu/oauthemu"
	"github.com/efactori/drivesync/shared/drivesync"
)

const (
	testClientID     = "1234-drivesync.apps.googleusercontent.com"
	testClientSecret = "GOCSPX-drivesync-test-secret"
	testRedirect     = "http://127.0.0.1:9/oauth/callback" // never contacted: Consent stops at the redirect
	alice            = "alice@example.com"
	bob              = "bob@example.com"
	testTTL          = time.Hour
)

// testKey is shared so that each test does not pay for RSA key generation under -race.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// env is the emulator behind a thin proxy that counts calls, injects failures and, when asked,
// rotates refresh tokens (which Google, and so the emulator, does not do on its own).
type env struct {
	emu   *oauthemu.Server
	ts    *httptest.Server
	clock *testclock.Clock
	cfg   *Config

	refreshes  atomic.Int64 // refresh_token grants seen
	revokes    atomic.Int64 // revocation requests seen
	failToken  atomic.Int32 // answer /token with this status when set
	failRevoke atomic.Int32 // answer /revoke with this status when set
	rotate     atomic.Bool  // add a new refresh token to every refresh answer
	mu         sync.Mutex
	aliases    map[string]string // rotated refresh token → the emulator's token
	rotations  int
	emuHandler http.Handler
	ctx        context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := testclock.New(time.Now().Truncate(time.Second))
	emu, err := oauthemu.New(oauthemu.Options{
		Accounts:       []oauthemu.Account{{Email: alice, DisplayName: "Alice Example"}, {Email: bob, DisplayName: "Bob Example"}},
		Clients:        []oauthemu.Client{{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirect}}},
		AccessTokenTTL: testTTL,
		Now:            clock.Now,
		SigningKey:     testKey(),
	})
	if err != nil {
		t.Fatalf("oauthemu.New: %v", err)
	}
	e := &env{emu: emu, clock: clock, aliases: map[string]string{}, emuHandler: emu.Handler(), ctx: t.Context()}
	e.ts = httptest.NewServer(e)
	t.Cleanup(e.ts.Close)
	if err := emu.SetIssuer(e.ts.URL); err != nil {
		t.Fatalf("SetIssuer: %v", err)
	}
	e.cfg = e.newConfig(t, nil)
	return e
}

func (e *env) provider() Provider {
	return Provider{
		Endpoint:  e.emu.Endpoint(),
		RevokeURL: e.emu.RevokeURL(),
		Issuer:    e.emu.Issuer(),
		JWKSURL:   e.emu.Issuer() + oauthemu.CertsPath,
	}
}

func (e *env) newConfig(t *testing.T, scopes []string) *Config {
	t.Helper()
	cfg, err := New(Options{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURL:  testRedirect,
		Scopes:       scopes,
		Provider:     e.provider(),
		Now:          e.clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return cfg
}

func writeOAuthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error": %q, "error_description": "injected by the test"}`, code)
}

func (e *env) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case oauthemu.RevokePath:
		e.revokes.Add(1)
		if s := e.failRevoke.Load(); s != 0 {
			writeOAuthError(w, int(s), "internal_failure")
			return
		}
	case oauthemu.TokenPath:
		// ParseForm is idempotent, so the emulator reads the form as we leave it.
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request")
			return
		}
		if s := e.failToken.Load(); s != 0 {
			writeOAuthError(w, int(s), "internal_failure")
			return
		}
		if r.PostForm.Get("grant_type") == "refresh_token" {
			e.refreshes.Add(1)
			e.mu.Lock()
			if orig, ok := e.aliases[r.PostForm.Get("refresh_token")]; ok {
				r.PostForm.Set("refresh_token", orig)
				r.Form.Set("refresh_token", orig)
			}
			e.mu.Unlock()
			if e.rotate.Load() {
				e.serveRotated(w, r)
				return
			}
		}
	}
	e.emuHandler.ServeHTTP(w, r)
}

// serveRotated answers a refresh as a rotating server would: with a new refresh token, which the
// proxy maps back to the emulator's own on later requests.
func (e *env) serveRotated(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	e.emuHandler.ServeHTTP(rec, r)
	var body map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	e.mu.Lock()
	e.rotations++
	rotated := fmt.Sprintf("1//rotated-%d-%s", e.rotations, strings.Repeat("x", 20))
	e.aliases[rotated] = r.PostForm.Get("refresh_token")
	e.mu.Unlock()
	body["refresh_token"] = rotated
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// consent opens the authorization URL as account and clicks Allow or Cancel.
func (e *env) consent(t *testing.T, authURL, account string, allow bool) url.Values {
	t.Helper()
	loc, err := e.emu.Consent(e.ctx, authURL, account, allow)
	if err != nil {
		t.Fatalf("Consent: %v", err)
	}
	if got, want := loc.Scheme+"://"+loc.Host+loc.Path, testRedirect; got != want {
		t.Fatalf("redirected to %s, want %s", got, want)
	}
	return loc.Query()
}

// connect runs the whole flow as account and returns the grant.
func (e *env) connect(t *testing.T, account string) Grant {
	t.Helper()
	state, verifier := NewState(), NewVerifier()
	q := e.consent(t, e.cfg.AuthorizationURL(state, verifier), account, true)
	g, err := e.cfg.Exchange(e.ctx, q.Get("code"), verifier)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return g
}

// classified asserts err's class and code.
func classified(t *testing.T, err error, wantClass drivesync.Class, wantCode string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want %s %s", wantClass, wantCode)
	}
	var ce *drivesync.ClassifiedError
	if !errors.As(err, &ce) {
		t.Fatalf("error %q is not classified, want %s %s", err, wantClass, wantCode)
	}
	if got := drivesync.ClassOf(err); got != wantClass {
		t.Errorf("class of %q = %s, want %s", err, got, wantClass)
	}
	if got := ce.Code; got != wantCode {
		t.Errorf("code of %q = %q, want %q", err, got, wantCode)
	}
}

// noSecrets asserts that err's text holds none of the secrets (tokens, codes, verifiers).
func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	text := err.Error() + fmt.Sprintf(" %v %+v", err, err)
	for _, s := range append(secrets, testClientSecret) {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("error %q contains a secret", text)
		}
	}
}

// recordingPersister records saves and fails the first failFirst of them.
type recordingPersister struct {
	mu        sync.Mutex
	saved     []savedToken
	failFirst int
	attempts  int
}

type savedToken struct {
	ConnectionID string
	RefreshToken string
	AccessToken  string
}

var errStoreDown = drivesync.Classify(errors.New("firestore unavailable"), drivesync.Retryable, "store_unavailable")

func (p *recordingPersister) SaveToken(_ context.Context, connectionID string, tok *oauth2.Token) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.attempts++
	if p.attempts <= p.failFirst {
		return errStoreDown
	}
	p.saved = append(p.saved, savedToken{ConnectionID: connectionID, RefreshToken: tok.RefreshToken, AccessToken: tok.AccessToken})
	return nil
}

func (p *recordingPersister) Saved() []savedToken {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]savedToken(nil), p.saved...)
}
