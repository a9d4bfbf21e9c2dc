package oauthemu

import (
	"github.com/efactori/drivesync/local/testclock"

	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

const (
	testClientID     = "1234-web.apps.googleusercontent.com"
	testClientSecret = "GOCSPX-s3cr3t:/+%="
	testRedirect     = "http://127.0.0.1:9/oauth/callback" // never contacted: Consent stops at the redirect
	alice            = "alice@example.com"
	bob              = "bob@example.com"
	driveFile        = "https://www.googleapis.com/auth/drive.file"
)

// testKey is shared so that each test does not pay for RSA key generation under -race.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

type env struct {
	srv   *Server
	ts    *httptest.Server
	clock *testclock.Clock
	cfg   *oauth2.Config
	ctx   context.Context // carries the test server's HTTP client for oauth2 and go-oidc
}

func newEnv(t *testing.T, modify ...func(*Options)) *env {
	t.Helper()
	clock := testclock.New(time.Now().Truncate(time.Second))
	opts := Options{
		Accounts: []Account{{Email: alice, DisplayName: "Alice Example"}, {Email: bob, DisplayName: "Bob Example"}},
		Clients: []Client{
			{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirect}},
			{ID: "other-client", Secret: "other-secret", RedirectURIs: []string{"http://127.0.0.1:9/other"}},
		},
		Now:        clock.Now,
		SigningKey: testKey(),
	}
	for _, m := range modify {
		m(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	if err := srv.SetIssuer(ts.URL); err != nil {
		t.Fatalf("SetIssuer: %v", err)
	}
	return &env{
		srv:   srv,
		ts:    ts,
		clock: clock,
		cfg: &oauth2.Config{
			ClientID:     testClientID,
			ClientSecret: testClientSecret,
			Endpoint:     srv.Endpoint(),
			RedirectURL:  testRedirect,
			Scopes:       []string{driveFile},
		},
		ctx: context.WithValue(t.Context(), oauth2.HTTPClient, ts.Client()),
	}
}

// authorize runs the consent page as account, allowing, and returns the redirect's query.
func (e *env) authorize(t *testing.T, account string, opts ...oauth2.AuthCodeOption) url.Values {
	t.Helper()
	loc, err := e.srv.Consent(e.ctx, e.cfg.AuthCodeURL("state-1", opts...), account, true)
	if err != nil {
		t.Fatalf("Consent: %v", err)
	}
	q := loc.Query()
	if q.Get("code") == "" {
		t.Fatalf("redirect %s carries no code", loc.Redacted())
	}
	return q
}

// login runs the whole code flow with PKCE and returns the token.
func (e *env) login(t *testing.T, account string, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	t.Helper()
	v := oauth2.GenerateVerifier()
	q := e.authorize(t, account, append(opts, oauth2.S256ChallengeOption(v))...)
	tok, err := e.cfg.Exchange(e.ctx, q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok
}

// retrieveError asserts err is an OAuth error response with the given code and status.
func retrieveError(t *testing.T, err error, wantCode string, wantStatus int) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want *oauth2.RetrieveError %s", err, wantCode)
	}
	if got := re.ErrorCode; got != wantCode {
		t.Errorf("ErrorCode = %q (%s), want %q", got, re.ErrorDescription, wantCode)
	}
	if got := re.Response.StatusCode; got != wantStatus {
		t.Errorf("status = %d, want %d", got, wantStatus)
	}
}
