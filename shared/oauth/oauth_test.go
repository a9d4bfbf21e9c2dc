package oauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/efactori/drivesync/shared/drivesync"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	good := Options{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURL:  "https://drivesync.example.com/oauth/callback",
		Provider:     Google(),
	}
	tests := []struct {
		name   string
		modify func(*Options)
		want   []string // each must appear in the error; none means no error
	}{
		{name: "google defaults", modify: func(*Options) {}},
		{
			name:   "everything missing",
			modify: func(o *Options) { *o = Options{} },
			want: []string{"client ID is empty", "client secret is empty", "redirect URL is empty",
				"authorization URL is empty", "token URL is empty", "revoke URL is empty", "issuer is empty", "JWKS URL is empty"},
		},
		{name: "relative redirect", modify: func(o *Options) { o.RedirectURL = "/oauth/callback" }, want: []string{"redirect URL"}},
		{name: "scopes without email", modify: func(o *Options) { o.Scopes = []string{ScopeOpenID, ScopeDrive} }, want: []string{`"email"`}},
		{name: "scopes without openid", modify: func(o *Options) { o.Scopes = []string{ScopeEmail, ScopeDrive} }, want: []string{`"openid"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := good
			tc.modify(&opts)
			_, err := New(opts)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testClientSecret) {
				t.Errorf("error %q contains the client secret", err)
			}
		})
	}
}

func TestAuthorizationURL(t *testing.T) {
	t.Parallel()
	cfg, err := New(Options{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURL:  "https://drivesync.example.com/oauth/callback",
		Provider:     Google(),
	})
	if err != nil {
		t.Fatal(err)
	}
	state, verifier := NewState(), NewVerifier()
	u, err := url.Parse(cfg.AuthorizationURL(state, verifier))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Scheme+"://"+u.Host+u.Path, "https://accounts.google.com/o/oauth2/auth"; got != want {
		t.Errorf("authorization endpoint = %s, want %s", got, want)
	}
	sum := sha256.Sum256([]byte(verifier))
	want := map[string]string{
		"client_id":              testClientID,
		"redirect_uri":           "https://drivesync.example.com/oauth/callback",
		"response_type":          "code",
		"scope":                  "openid email https://www.googleapis.com/auth/drive",
		"state":                  state,
		"access_type":            "offline",
		"prompt":                 "consent",
		"include_granted_scopes": "true",
		"code_challenge_method":  "S256",
		"code_challenge":         base64.RawURLEncoding.EncodeToString(sum[:]),
	}
	got := map[string]string{}
	for k := range u.Query() {
		got[k] = u.Query().Get(k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	if strings.Contains(u.String(), verifier) {
		t.Error("authorization URL carries the verifier itself")
	}
}

func TestNewStateAndVerifier(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		s := NewState()
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("state %q is not base64url: %v", s, err)
		}
		if got, want := len(b), 32; got != want {
			t.Errorf("state has %d random bytes, want %d", got, want)
		}
		v := NewVerifier()
		if n := len(v); n < 43 || n > 128 {
			t.Errorf("verifier length = %d, want 43..128 (RFC 7636)", n)
		}
		if seen[s] || seen[v] {
			t.Fatal("state or verifier repeated")
		}
		seen[s], seen[v] = true, true
	}
}

func TestFullFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	state, verifier := NewState(), NewVerifier()
	q := e.consent(t, e.cfg.AuthorizationURL(state, verifier), alice, true)
	if got := q.Get("state"); got != state {
		t.Errorf("callback state = %q, want the one sent, %q", got, state)
	}
	code := q.Get("code")
	if code == "" {
		t.Fatalf("callback has no code: %v", q)
	}

	g, err := e.cfg.Exchange(e.ctx, code, verifier)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if g.RefreshToken == "" || g.AccessToken == "" {
		t.Fatalf("grant lacks tokens: refresh %t, access %t", g.RefreshToken != "", g.AccessToken != "")
	}
	if g.Subject == "" {
		t.Error("grant has no subject")
	}
	want := Grant{
		RefreshToken: g.RefreshToken,
		AccessToken:  g.AccessToken,
		Expiry:       e.clock.Now().Add(testTTL),
		Email:        alice,
		Subject:      g.Subject,
		Scopes:       []string{ScopeDrive, "https://www.googleapis.com/auth/userinfo.email", "openid"},
	}
	// cmp compares fields (and times with Equal); it reports a diff through the redacting String.
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("grant (-want +got):\n%s", diff)
	}

	// The access token speaks for alice, to drivesync's client, with Drive.
	eg, err := e.emu.Authenticate(e.ctx, g.AccessToken)
	if err != nil {
		t.Fatalf("Authenticate(access token): %v", err)
	}
	if got, want := eg.Account, alice; got != want {
		t.Errorf("access token account = %q, want %q", got, want)
	}
	if got, want := eg.ClientID, testClientID; got != want {
		t.Errorf("access token client = %q, want %q", got, want)
	}

	// The code is single use.
	_, err = e.cfg.Exchange(e.ctx, code, verifier)
	classified(t, err, drivesync.Permanent, CodeInvalidGrant)
	noSecrets(t, err, code, verifier, g.RefreshToken, g.AccessToken)
}

func TestConsentCancelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	state := NewState()
	q := e.consent(t, e.cfg.AuthorizationURL(state, NewVerifier()), alice, false)
	want := url.Values{"error": {"access_denied"}, "state": {state}}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("callback query (-want +got):\n%s", diff)
	}
}

func TestExchangeFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		authURL   func(e *env, state, verifier string) string
		setup     func(e *env)
		verifier  func(right string) string
		config    func(t *testing.T, e *env) *Config
		wantClass drivesync.Class
		wantCode  string
	}{
		{
			name:      "wrong verifier",
			verifier:  func(string) string { return NewVerifier() },
			wantClass: drivesync.Permanent,
			wantCode:  CodeInvalidGrant,
		},
		{
			name: "no offline access, so no refresh token",
			authURL: func(e *env, state, verifier string) string {
				return e.cfg.oauth2.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
			},
			wantClass: drivesync.Permanent,
			wantCode:  CodeNoRefreshToken,
		},
		{
			name: "customer unticked Drive",
			authURL: func(e *env, state, verifier string) string {
				u, _ := url.Parse(e.cfg.AuthorizationURL(state, verifier))
				q := u.Query()
				q.Set("scope", "openid email")
				u.RawQuery = q.Encode()
				return u.String()
			},
			wantClass: drivesync.NeedsCustomer,
			wantCode:  CodeScopeNotGranted,
		},
		{
			name: "wrong client secret",
			config: func(t *testing.T, e *env) *Config {
				cfg, err := New(Options{ClientID: testClientID, ClientSecret: "GOCSPX-wrong", RedirectURL: testRedirect, Provider: e.provider(), Now: e.clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				return cfg
			},
			wantClass: drivesync.Permanent,
			wantCode:  "invalid_client",
		},
		{
			name:      "google down",
			setup:     func(e *env) { e.failToken.Store(http.StatusServiceUnavailable) },
			wantClass: drivesync.Retryable,
			wantCode:  "internal_failure",
		},
		{
			name:      "google rate limit",
			setup:     func(e *env) { e.failToken.Store(http.StatusTooManyRequests) },
			wantClass: drivesync.Retryable,
			wantCode:  "internal_failure",
		},
		{
			name: "network",
			config: func(t *testing.T, e *env) *Config {
				p := e.provider()
				p.Endpoint.TokenURL = "http://127.0.0.1:1/token" // nothing listens on port 1
				cfg, err := New(Options{ClientID: testClientID, ClientSecret: testClientSecret, RedirectURL: testRedirect, Provider: p, Now: e.clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				return cfg
			},
			wantClass: drivesync.Retryable,
			wantCode:  CodeNetwork,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			state, verifier := NewState(), NewVerifier()
			authURL := e.cfg.AuthorizationURL(state, verifier)
			if tc.authURL != nil {
				authURL = tc.authURL(e, state, verifier)
			}
			q := e.consent(t, authURL, alice, true)
			if tc.setup != nil {
				tc.setup(e)
			}
			cfg := e.cfg
			if tc.config != nil {
				cfg = tc.config(t, e)
			}
			sent := verifier
			if tc.verifier != nil {
				sent = tc.verifier(verifier)
			}
			g, err := cfg.Exchange(e.ctx, q.Get("code"), sent)
			classified(t, err, tc.wantClass, tc.wantCode)
			noSecrets(t, err, q.Get("code"), verifier, sent)
			if g.RefreshToken != "" || g.AccessToken != "" || g.Email != "" {
				t.Errorf("Exchange returned a grant with its error: %v", g)
			}
		})
	}
}

func TestExchangeRejectsEmptyInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, in := range [][2]string{{"", "v"}, {"c", ""}} {
		_, err := e.cfg.Exchange(e.ctx, in[0], in[1])
		classified(t, err, drivesync.Permanent, CodeInvalidRequest)
	}
}

func TestGrantPrintsNoTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.connect(t, alice)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("connected", "grant", g)
	outputs := []string{logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outputs = append(outputs, fmt.Sprintf(verb, g), fmt.Sprintf(verb, &g), fmt.Sprintf(verb, []Grant{g}))
	}
	for _, out := range outputs {
		if strings.Contains(out, g.RefreshToken) || strings.Contains(out, g.AccessToken) {
			t.Errorf("output %q contains a token", out)
		}
		if !strings.Contains(out, alice) {
			t.Errorf("output %q lacks the account, which is useful and not secret", out)
		}
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.connect(t, alice)

	if err := e.cfg.Revoke(e.ctx, g.RefreshToken); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	// The whole grant ends: its access token too, and the refresh token no longer refreshes.
	if _, err := e.emu.Authenticate(e.ctx, g.AccessToken); err == nil {
		t.Error("access token still authenticates after the grant was revoked")
	}
	_, err := e.cfg.TokenSource(e.ctx, "conn-1", &oauth2.Token{RefreshToken: g.RefreshToken}, &recordingPersister{}).Token()
	classified(t, err, drivesync.NeedsReauthorization, CodeInvalidGrant)

	// Revoking what is already revoked is not an error for us.
	if err := e.cfg.Revoke(e.ctx, g.RefreshToken); err != nil {
		t.Errorf("Revoke(already revoked): %v", err)
	}
	if got, want := e.revokes.Load(), int64(2); got != want {
		t.Errorf("revocation requests = %d, want %d", got, want)
	}
}

func TestRevokeFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int32
		token     string
		wantClass drivesync.Class
		wantCode  string
	}{
		{name: "google down", status: http.StatusServiceUnavailable, token: "1//some-token", wantClass: drivesync.Retryable, wantCode: "internal_failure"},
		{name: "rate limited", status: http.StatusTooManyRequests, token: "1//some-token", wantClass: drivesync.Retryable, wantCode: "internal_failure"},
		{name: "refused", status: http.StatusForbidden, token: "1//some-token", wantClass: drivesync.Permanent, wantCode: "internal_failure"},
		{name: "empty token", token: "", wantClass: drivesync.Permanent, wantCode: CodeInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.failRevoke.Store(tc.status)
			err := e.cfg.Revoke(e.ctx, tc.token)
			classified(t, err, tc.wantClass, tc.wantCode)
			noSecrets(t, err, tc.token)
		})
	}

	t.Run("network", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		g := e.connect(t, alice)
		p := e.provider()
		p.RevokeURL = "http://127.0.0.1:1/revoke"
		cfg, err := New(Options{ClientID: testClientID, ClientSecret: testClientSecret, RedirectURL: testRedirect, Provider: p})
		if err != nil {
			t.Fatal(err)
		}
		err = cfg.Revoke(e.ctx, g.RefreshToken)
		classified(t, err, drivesync.Retryable, CodeNetwork)
		noSecrets(t, err, g.RefreshToken, g.AccessToken)
	})
}

func TestClassifyToken(t *testing.T) {
	t.Parallel()
	answer := func(status int, code string) error {
		return &oauth2.RetrieveError{
			Response:  &http.Response{StatusCode: status},
			Body:      []byte(`{"error":"` + code + `","refresh_token_echo":"1//secret"}`),
			ErrorCode: code,
		}
	}
	tests := []struct {
		name      string
		err       error
		deadGrant drivesync.Class
		wantClass drivesync.Class
		wantCode  string
	}{
		{"invalid_grant at refresh", answer(400, "invalid_grant"), drivesync.NeedsReauthorization, drivesync.NeedsReauthorization, "invalid_grant"},
		{"invalid_grant at exchange", answer(400, "invalid_grant"), drivesync.Permanent, drivesync.Permanent, "invalid_grant"},
		{"invalid_client", answer(401, "invalid_client"), drivesync.NeedsReauthorization, drivesync.Permanent, "invalid_client"},
		{"server error", answer(500, ""), drivesync.NeedsReauthorization, drivesync.Retryable, "http_500"},
		{"bad gateway with code", answer(502, "backend_error"), drivesync.Permanent, drivesync.Retryable, "backend_error"},
		{"rate limited", answer(429, "rate_limit_exceeded"), drivesync.Permanent, drivesync.Retryable, "rate_limit_exceeded"},
		{"transport", errors.New("dial tcp: connection refused"), drivesync.Permanent, drivesync.Retryable, CodeNetwork},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := classifyToken("op", tc.err, tc.deadGrant)
			classified(t, err, tc.wantClass, tc.wantCode)
			if !errors.Is(err, tc.err) {
				t.Error("classified error does not wrap the original")
			}
			noSecrets(t, err, "1//secret")
		})
	}
}

func TestGoogleProvider(t *testing.T) {
	t.Parallel()
	p := Google()
	for name, u := range map[string]string{"auth": p.Endpoint.AuthURL, "token": p.Endpoint.TokenURL, "revoke": p.RevokeURL, "issuer": p.Issuer, "jwks": p.JWKSURL} {
		if !strings.HasPrefix(u, "https://") || !strings.Contains(u, "google") {
			t.Errorf("%s URL %q is not a Google https URL", name, u)
		}
	}
	if got, want := p.Endpoint.AuthStyle, oauth2.AuthStyleInParams; got != want {
		t.Errorf("auth style = %v, want %v", got, want)
	}
}

func TestHTTPClientTimeouts(t *testing.T) {
	t.Parallel()
	c := NewHTTPClient()
	if c.Timeout <= 0 || c.Timeout > time.Minute {
		t.Errorf("OAuth client timeout = %v, want (0, 1m]", c.Timeout)
	}
	tr := NewTransport()
	for name, d := range map[string]time.Duration{"TLS handshake": tr.TLSHandshakeTimeout, "response header": tr.ResponseHeaderTimeout, "idle": tr.IdleConnTimeout} {
		if d <= 0 {
			t.Errorf("%s timeout is unbounded", name)
		}
	}
}

func TestEmulatorProvider(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, base := range []string{e.ts.URL, e.ts.URL + "/"} {
		if diff := cmp.Diff(e.provider(), EmulatorProvider(base)); diff != "" {
			t.Errorf("EmulatorProvider(%q) (-emulator's own +got):\n%s", base, diff)
		}
	}
}
