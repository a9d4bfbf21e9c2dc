package oauthemu

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

func TestCodeFlowWithPKCE(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.Scopes = []string{"openid", "email", driveFile}
	const state = "csrf x/y?z=1&w=é+%"
	v := oauth2.GenerateVerifier()

	loc, err := e.srv.Consent(e.ctx, e.cfg.AuthCodeURL(state, oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(v)), bob, true)
	if err != nil {
		t.Fatalf("Consent: %v", err)
	}
	if got, want := loc.Scheme+"://"+loc.Host+loc.Path, testRedirect; got != want {
		t.Errorf("redirected to %q, want %q", got, want)
	}
	if got, want := loc.Query().Get("state"), state; got != want {
		t.Errorf("state = %q, want %q", got, want)
	}
	tok, err := e.cfg.Exchange(e.ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if !strings.HasPrefix(tok.AccessToken, "ya29.") {
		t.Errorf("access token lacks Google's ya29. prefix")
	}
	if !strings.HasPrefix(tok.RefreshToken, "1//") {
		t.Errorf("refresh token lacks Google's 1// prefix (offline access was asked)")
	}
	if got, want := tok.Type(), "Bearer"; got != want {
		t.Errorf("token type = %q, want %q", got, want)
	}
	wantScopes := []string{driveFile, scopeEmail, scopeOpenID} // sorted, as the emulator reports them
	if got, want := tok.Extra("scope"), strings.Join(wantScopes, " "); got != want {
		t.Errorf("scope = %q, want %q", got, want)
	}
	if got, want := tok.ExpiresIn, int64(3600); got != want {
		t.Errorf("expires_in = %d, want %d", got, want)
	}

	g, err := e.srv.Authenticate(t.Context(), tok.AccessToken)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	want := Grant{Account: bob, ClientID: testClientID, Scopes: wantScopes, Expiry: e.clock.Now().Add(time.Hour)}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("Authenticate grant (-want +got):\n%s", diff)
	}
}

func TestConsentCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	loc, err := e.srv.Consent(e.ctx, e.cfg.AuthCodeURL("st"), alice, false)
	if err != nil {
		t.Fatalf("Consent: %v", err)
	}
	want := url.Values{"error": {"access_denied"}, "state": {"st"}}
	if diff := cmp.Diff(want, loc.Query()); diff != "" {
		t.Errorf("redirect query (-want +got):\n%s", diff)
	}
}

func TestExchangeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		pkce       bool // the authorization request carried a challenge
		exchange   func(e *env, code, verifier string) error
		wantCode   string
		wantStatus int
	}{
		{
			name: "wrong verifier",
			pkce: true,
			exchange: func(e *env, code, _ string) error {
				_, err := e.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
				return err
			},
			wantCode: "invalid_grant", wantStatus: http.StatusBadRequest,
		},
		{
			name: "missing verifier",
			pkce: true,
			exchange: func(e *env, code, _ string) error {
				_, err := e.cfg.Exchange(e.ctx, code)
				return err
			},
			wantCode: "invalid_grant", wantStatus: http.StatusBadRequest,
		},
		{
			name: "verifier without challenge",
			exchange: func(e *env, code, _ string) error {
				_, err := e.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
				return err
			},
			wantCode: "invalid_request", wantStatus: http.StatusBadRequest,
		},
		{
			name: "code replay",
			pkce: true,
			exchange: func(e *env, code, v string) error {
				if _, err := e.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(v)); err != nil {
					return errors.New("first exchange failed: " + err.Error())
				}
				_, err := e.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(v))
				return err
			},
			wantCode: "invalid_grant", wantStatus: http.StatusBadRequest,
		},
		{
			name: "expired code",
			pkce: true,
			exchange: func(e *env, code, v string) error {
				e.clock.Advance(10*time.Minute + time.Second)
				_, err := e.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(v))
				return err
			},
			wantCode: "invalid_grant", wantStatus: http.StatusBadRequest,
		},
		{
			name: "unknown code",
			pkce: true,
			exchange: func(e *env, _, v string) error {
				_, err := e.cfg.Exchange(e.ctx, "4/0Anot-a-code", oauth2.VerifierOption(v))
				return err
			},
			wantCode: "invalid_grant", wantStatus: http.StatusBadRequest,
		},
		{
			name: "wrong secret",
			pkce: true,
			exchange: func(e *env, code, v string) error {
				cfg := *e.cfg
				cfg.ClientSecret = "wrong"
				_, err := cfg.Exchange(e.ctx, code, oauth2.VerifierOption(v))
				return err
			},
			wantCode: "invalid_client", wantStatus: http.StatusUnauthorized,
		},
		{
			name: "unknown client",
			pkce: true,
			exchange: func(e *env, code, v string) error {
				cfg := *e.cfg
				cfg.ClientID = "nobody.apps.googleusercontent.com"
				_, err := cfg.Exchange(e.ctx, code, oauth2.VerifierOption(v))
				return err
			},
			wantCode: "invalid_client", wantStatus: http.StatusUnauthorized,
		},
		{
			name: "code of another client",
			pkce: true,
			exchange: func(e *env, code, v string) error {
				cfg := *e.cfg
				cfg.ClientID, cfg.ClientSecret, cfg.RedirectURL = "other-client", "other-secret", "http://127.0.0.1:9/other"
				_, err := cfg.Exchange(e.ctx, code, oauth2.VerifierOption(v))
				return err
			},
			wantCode: "invalid_grant", wantStatus: http.StatusBadRequest,
		},
		{
			name: "redirect uri differs from the authorization request",
			pkce: true,
			exchange: func(e *env, code, v string) error {
				cfg := *e.cfg
				cfg.RedirectURL = testRedirect + "/elsewhere"
				_, err := cfg.Exchange(e.ctx, code, oauth2.VerifierOption(v))
				return err
			},
			wantCode: "redirect_uri_mismatch", wantStatus: http.StatusBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			v := oauth2.GenerateVerifier()
			var opts []oauth2.AuthCodeOption
			if tt.pkce {
				opts = append(opts, oauth2.S256ChallengeOption(v))
			}
			q := e.authorize(t, alice, opts...)
			retrieveError(t, tt.exchange(e, q.Get("code"), v), tt.wantCode, tt.wantStatus)
		})
	}
}

func TestPlainPKCEAndBasicClientAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	v := oauth2.GenerateVerifier()
	q := e.authorize(t, alice, oauth2.SetAuthURLParam("code_challenge", v), oauth2.SetAuthURLParam("code_challenge_method", "plain"))
	tok, err := e.cfg.Exchange(e.ctx, q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("Exchange with HTTP Basic client auth: %v", err)
	}
	if _, err := e.srv.Authenticate(t.Context(), tok.AccessToken); err != nil {
		t.Errorf("Authenticate: %v", err)
	}
}

func TestAuthPageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		modify     func(q url.Values)
		wantCode   string
		wantStatus int
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "nobody") }, "invalid_client", http.StatusUnauthorized},
		{"missing client", func(q url.Values) { q.Del("client_id") }, "invalid_request", http.StatusBadRequest},
		{"unregistered redirect", func(q url.Values) { q.Set("redirect_uri", testRedirect+"/") }, "redirect_uri_mismatch", http.StatusBadRequest},
		{"redirect of another client", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9/other") }, "redirect_uri_mismatch", http.StatusBadRequest},
		{"missing redirect", func(q url.Values) { q.Del("redirect_uri") }, "invalid_request", http.StatusBadRequest},
		{"implicit flow", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type", http.StatusBadRequest},
		{"missing response type", func(q url.Values) { q.Del("response_type") }, "invalid_request", http.StatusBadRequest},
		{"missing scope", func(q url.Values) { q.Del("scope") }, "invalid_request", http.StatusBadRequest},
		{"invalid scope", func(q url.Values) { q.Set("scope", "drive") }, "invalid_scope", http.StatusBadRequest},
		{"bad challenge method", func(q url.Values) { q.Set("code_challenge_method", "S512") }, "invalid_request", http.StatusBadRequest},
		{"short challenge", func(q url.Values) { q.Set("code_challenge", "abc") }, "invalid_request", http.StatusBadRequest},
		{"bad access type", func(q url.Values) { q.Set("access_type", "forever") }, "invalid_request", http.StatusBadRequest},
		{"repeated state", func(q url.Values) { q.Add("state", "again") }, "invalid_request", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u, err := url.Parse(e.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			tt.modify(q)
			u.RawQuery = q.Encode()

			// A browser must be shown the error, never sent to the redirect URI.
			resp, err := e.ts.Client().Get(u.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got, want := resp.StatusCode, tt.wantStatus; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("error page redirects to %q", loc)
			}

			_, err = e.srv.Consent(e.ctx, u.String(), alice, true)
			var pe *PageError
			if !errors.As(err, &pe) {
				t.Fatalf("Consent error = %v, want *PageError", err)
			}
			if got, want := pe.Code, tt.wantCode; got != want {
				t.Errorf("page error code = %q (%s), want %q", got, pe.Description, want)
			}
		})
	}
}

func TestPromptNoneNeedsInteraction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	loc, err := e.srv.Consent(e.ctx, e.cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("prompt", "none")), alice, true)
	if err != nil {
		t.Fatalf("Consent: %v", err)
	}
	want := url.Values{"error": {"interaction_required"}, "state": {"s"}}
	if diff := cmp.Diff(want, loc.Query()); diff != "" {
		t.Errorf("redirect query (-want +got):\n%s", diff)
	}
}

func TestRefreshOnExpiry(t *testing.T) {
	t.Parallel()
	// Below oauth2's 10 s expiry margin, so the client library treats every token as due for
	// refresh; the injected clock decides when the server stops accepting it.
	e := newEnv(t, func(o *Options) { o.AccessTokenTTL = 5 * time.Second })
	tok := e.login(t, alice, oauth2.AccessTypeOffline)
	if _, err := e.srv.Authenticate(t.Context(), tok.AccessToken); err != nil {
		t.Fatalf("Authenticate fresh token: %v", err)
	}
	e.clock.Advance(5 * time.Second)
	if _, err := e.srv.Authenticate(t.Context(), tok.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Authenticate expired token: error = %v, want ErrInvalidToken", err)
	}

	next, err := e.cfg.TokenSource(e.ctx, tok).Token()
	if err != nil {
		t.Fatalf("TokenSource.Token: %v", err)
	}
	if next.AccessToken == tok.AccessToken {
		t.Fatal("token source did not refresh")
	}
	if got, want := next.RefreshToken, tok.RefreshToken; got != want {
		t.Error("refresh token changed; Google does not rotate them")
	}
	g, err := e.srv.Authenticate(t.Context(), next.AccessToken)
	if err != nil {
		t.Fatalf("Authenticate refreshed token: %v", err)
	}
	want := Grant{Account: alice, ClientID: testClientID, Scopes: []string{driveFile}, Expiry: e.clock.Now().Add(5 * time.Second)}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("refreshed grant (-want +got):\n%s", diff)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		revoke func(t *testing.T, e *env, tok *oauth2.Token)
	}{
		{"access token in body", func(t *testing.T, e *env, tok *oauth2.Token) {
			postRevoke(t, e, url.Values{"token": {tok.AccessToken}}, "", http.StatusOK)
		}},
		{"refresh token in body", func(t *testing.T, e *env, tok *oauth2.Token) {
			postRevoke(t, e, url.Values{"token": {tok.RefreshToken}}, "", http.StatusOK)
		}},
		{"refresh token in query", func(t *testing.T, e *env, tok *oauth2.Token) {
			postRevoke(t, e, nil, "?token="+url.QueryEscape(tok.RefreshToken), http.StatusOK)
		}},
		{"user removes the app", func(_ *testing.T, e *env, _ *oauth2.Token) {
			e.srv.RevokeAll(alice, testClientID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tok := e.login(t, alice, oauth2.AccessTypeOffline)
			other := e.login(t, bob, oauth2.AccessTypeOffline)

			tt.revoke(t, e, tok)

			if _, err := e.srv.Authenticate(t.Context(), tok.AccessToken); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Authenticate after revoke: error = %v, want ErrInvalidToken", err)
			}
			expired := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
			_, err := e.cfg.TokenSource(e.ctx, expired).Token()
			retrieveError(t, err, "invalid_grant", http.StatusBadRequest)
			var re *oauth2.RetrieveError
			if errors.As(err, &re) && re.ErrorDescription != "Token has been expired or revoked." {
				t.Errorf("error_description = %q, want Google's wording", re.ErrorDescription)
			}
			postRevoke(t, e, url.Values{"token": {tok.RefreshToken}}, "", http.StatusBadRequest)

			// Another account's grant to the same client is untouched.
			if _, err := e.srv.Authenticate(t.Context(), other.AccessToken); err != nil {
				t.Errorf("Authenticate other account: %v", err)
			}
		})
	}
}

func postRevoke(t *testing.T, e *env, form url.Values, query string, wantStatus int) {
	t.Helper()
	resp, err := e.ts.Client().PostForm(e.srv.RevokeURL()+query, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.StatusCode; got != wantStatus {
		t.Errorf("revoke status = %d, want %d", got, wantStatus)
	}
}

func TestIDTokenVerifiesWithGoOIDC(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	const nonce = "n-0S6_WzA2Mj"
	tok := e.login(t, alice, oidc.Nonce(nonce))
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		t.Fatal("no id_token in the token response")
	}
	provider, err := oidc.NewProvider(e.ctx, e.srv.Issuer())
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: testClientID, Now: e.clock.Now}).Verify(e.ctx, raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		Name          string `json:"name"`
		AZP           string `json:"azp"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if got, want := claims.Email, alice; got != want {
		t.Errorf("email = %q, want %q", got, want)
	}
	if !claims.EmailVerified {
		t.Error("email_verified = false")
	}
	if got, want := claims.Name, "Alice Example"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	if got, want := idt.Nonce, nonce; got != want {
		t.Errorf("nonce = %q, want %q", got, want)
	}
	if got, want := idt.Subject, subject(alice); got != want {
		t.Errorf("sub = %q, want %q", got, want)
	}

	ui, err := provider.UserInfo(e.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("UserInfo: %v", err)
	}
	if got, want := ui.Subject, idt.Subject; got != want {
		t.Errorf("userinfo sub = %q, want the ID token's %q", got, want)
	}
	if got, want := ui.Email, alice; got != want {
		t.Errorf("userinfo email = %q, want %q", got, want)
	}

	// Another client must not accept this client's ID token.
	if _, err := provider.Verifier(&oidc.Config{ClientID: "other-client", Now: e.clock.Now}).Verify(e.ctx, raw); err == nil {
		t.Error("ID token verified for the wrong audience")
	}
}

func TestUserinfoScopesAndAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		scopes []string
		bearer func(tok *oauth2.Token) string
		status int
		want   map[string]any
	}{
		{"openid email profile", []string{"openid", "email", "profile"}, accessOf, http.StatusOK,
			map[string]any{"sub": subject(alice), "email": alice, "email_verified": true, "name": "Alice Example"}},
		{"openid only", []string{"openid"}, accessOf, http.StatusOK, map[string]any{"sub": subject(alice)}},
		{"unknown token", []string{"openid"}, func(*oauth2.Token) string { return "ya29.forged" }, http.StatusUnauthorized,
			map[string]any{"error": "invalid_request", "error_description": "Invalid Credentials"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.cfg.Scopes = tt.scopes
			tok := e.login(t, alice)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.Issuer()+UserinfoPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tt.bearer(tok))
			got := map[string]any{}
			status := getJSON(t, e, req, &got)
			if status != tt.status {
				t.Errorf("status = %d, want %d", status, tt.status)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("userinfo (-want +got):\n%s", diff)
			}
		})
	}
}

func accessOf(tok *oauth2.Token) string { return tok.AccessToken }

func TestRefreshTokenIssuance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	steps := []struct {
		name        string
		account     string
		opts        []oauth2.AuthCodeOption
		revokeFirst bool
		wantRefresh bool
	}{
		{"online access", alice, nil, false, false},
		{"first offline consent", alice, []oauth2.AuthCodeOption{oauth2.AccessTypeOffline}, false, true},
		{"repeat offline consent", alice, []oauth2.AuthCodeOption{oauth2.AccessTypeOffline}, false, false},
		{"repeat with prompt=consent", alice, []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.ApprovalForce}, false, true},
		{"first offline consent of another account", bob, []oauth2.AuthCodeOption{oauth2.AccessTypeOffline}, false, true},
		{"offline consent after revocation", alice, []oauth2.AuthCodeOption{oauth2.AccessTypeOffline}, true, true},
	}
	// The steps share one server on purpose: each depends on the grants before it.
	for _, st := range steps {
		if st.revokeFirst {
			e.srv.RevokeAll(st.account, testClientID)
		}
		tok := e.login(t, st.account, st.opts...)
		if got := tok.RefreshToken != ""; got != st.wantRefresh {
			t.Errorf("%s: refresh token issued = %v, want %v", st.name, got, st.wantRefresh)
		}
	}
}

func TestIncludeGrantedScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.login(t, alice) // grants drive.file
	e.cfg.Scopes = []string{"email"}

	incremental := e.login(t, alice, oauth2.SetAuthURLParam("include_granted_scopes", "true"))
	if got, want := incremental.Extra("scope"), driveFile+" "+scopeEmail; got != want {
		t.Errorf("scope with include_granted_scopes = %q, want %q", got, want)
	}
	only := e.login(t, alice)
	if got, want := only.Extra("scope"), scopeEmail; got != want {
		t.Errorf("scope without include_granted_scopes = %q, want %q", got, want)
	}
}

func TestAutoConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.AutoConsent = bob })
	resp, err := noRedirectClient(e).Get(e.cfg.AuthCodeURL("auto"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusFound; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.cfg.Exchange(e.ctx, loc.Query().Get("code"))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	g, err := e.srv.Authenticate(t.Context(), tok.AccessToken)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if got, want := g.Account, bob; got != want {
		t.Errorf("account = %q, want %q", got, want)
	}
}

func noRedirectClient(e *env) *http.Client {
	c := *e.ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.AccessTokenTTL = 5 * time.Second })
	tok := e.login(t, alice, oauth2.AccessTypeOffline)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 16 {
		wg.Go(func() {
			next, err := e.cfg.TokenSource(e.ctx, tok).Token()
			if err != nil {
				errs <- err
				return
			}
			if _, err := e.srv.Authenticate(e.ctx, next.AccessToken); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			v := oauth2.GenerateVerifier()
			loc, err := e.srv.Consent(e.ctx, e.cfg.AuthCodeURL("c", oauth2.S256ChallengeOption(v)), bob, true)
			if err != nil {
				errs <- err
				return
			}
			if _, err := e.cfg.Exchange(e.ctx, loc.Query().Get("code"), oauth2.VerifierOption(v)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
