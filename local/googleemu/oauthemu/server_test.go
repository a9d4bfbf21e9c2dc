package oauthemu

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"
)

func getJSON(t *testing.T, e *env, req *http.Request, v any) int {
	t.Helper()
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got, want := resp.Header.Get("Content-Type"), "application/json; charset=utf-8"; got != want {
		t.Errorf("content type = %q, want %q", got, want)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s response: %v", req.URL.Path, err)
	}
	return resp.StatusCode
}

func TestConsentPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.Scopes = []string{"openid", "email", driveFile}
	resp, err := e.ts.Client().Get(e.cfg.AuthCodeURL("st<script>", oauth2.SetAuthURLParam("login_hint", bob)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	if got, want := resp.Header.Get("X-Frame-Options"), "DENY"; got != want {
		t.Errorf("X-Frame-Options = %q, want %q", got, want)
	}
	page := string(body)
	for _, want := range []string{
		alice, "Alice Example", bob, "Bob Example", testClientID,
		scopeWords[driveFile], scopeWords[scopeEmail], scopeWords[scopeOpenID],
	} {
		if !strings.Contains(page, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Error("consent page echoes the state unescaped")
	}

	form, err := parseConsentForm(body)
	if err != nil {
		t.Fatalf("parse form: %v", err)
	}
	if diff := cmp.Diff(map[string]bool{alice: true, bob: true}, form.accounts); diff != "" {
		t.Errorf("labelled account radios (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]bool{"allow": true, "deny": true}, form.actions); diff != "" {
		t.Errorf("buttons (-want +got):\n%s", diff)
	}
	if got, want := form.hidden.Get("state"), "st<script>"; got != want {
		t.Errorf("hidden state = %q, want %q", got, want)
	}

	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var checked, buttons []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if n.Data == "input" && attr(n, "type") == "radio" {
			for _, a := range n.Attr {
				if a.Key == "checked" {
					checked = append(checked, attr(n, "value"))
				}
			}
		}
		if n.Data == "button" {
			buttons = append(buttons, text(n))
		}
	}
	if diff := cmp.Diff([]string{bob}, checked); diff != "" {
		t.Errorf("preselected account follows login_hint (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Cancel", "Allow"}, buttons); diff != "" {
		t.Errorf("button labels (-want +got):\n%s", diff)
	}
}

func TestConsentRejectsTamperedForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		form     url.Values
		wantCode string
	}{
		{"redirect swapped", url.Values{"redirect_uri": {"http://127.0.0.1:9/evil"}, "account": {alice}, "action": {"allow"}}, "redirect_uri_mismatch"},
		{"unknown account", url.Values{"account": {"mallory@example.com"}, "action": {"allow"}}, "invalid_request"},
		{"no action", url.Values{"account": {alice}}, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			base := url.Values{
				"client_id": {testClientID}, "redirect_uri": {testRedirect}, "response_type": {"code"},
				"scope": {driveFile}, "state": {"s"},
			}
			for k, v := range tt.form {
				base[k] = v
			}
			resp, err := noRedirectClient(e).PostForm(e.srv.Issuer()+ConsentPath, base)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusFound {
				t.Fatalf("tampered form redirected to %q", resp.Header.Get("Location"))
			}
			err = pageErrorFrom(resp.StatusCode, body)
			pe, ok := err.(*PageError)
			if !ok {
				t.Fatalf("response is not an error page: %v", err)
			}
			if got, want := pe.Code, tt.wantCode; got != want {
				t.Errorf("code = %q, want %q", got, want)
			}
		})
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	creds := url.Values{"client_id": {testClientID}, "client_secret": {testClientSecret}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range creds {
			v[k] = vs
		}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name        string
		method      string
		contentType string
		form        url.Values
		wantStatus  int
		wantCode    string
	}{
		{"unsupported grant type", http.MethodPost, "", with("grant_type", "password"), http.StatusBadRequest, "unsupported_grant_type"},
		{"missing grant type", http.MethodPost, "", with(), http.StatusBadRequest, "unsupported_grant_type"},
		{"missing code", http.MethodPost, "", with("grant_type", "authorization_code", "redirect_uri", testRedirect), http.StatusBadRequest, "invalid_request"},
		{"missing redirect uri", http.MethodPost, "", with("grant_type", "authorization_code", "code", "4/0Ax"), http.StatusBadRequest, "invalid_request"},
		{"missing refresh token", http.MethodPost, "", with("grant_type", "refresh_token"), http.StatusBadRequest, "invalid_request"},
		{"unknown refresh token", http.MethodPost, "", with("grant_type", "refresh_token", "refresh_token", "1//nope"), http.StatusBadRequest, "invalid_grant"},
		{"no client", http.MethodPost, "", url.Values{"grant_type": {"refresh_token"}}, http.StatusBadRequest, "invalid_request"},
		{"json body", http.MethodPost, "application/json", with("grant_type", "refresh_token"), http.StatusBadRequest, "invalid_request"},
		{"get", http.MethodGet, "", nil, http.StatusMethodNotAllowed, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			req, err := http.NewRequestWithContext(t.Context(), tt.method, e.srv.Endpoint().TokenURL, strings.NewReader(tt.form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			ct := tt.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			req.Header.Set("Content-Type", ct)
			var got tokenError
			if status := getJSON(t, e, req, &got); status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if got.Code != tt.wantCode || got.Description == "" {
				t.Errorf("error = %q (%q), want %q with a description", got.Code, got.Description, tt.wantCode)
			}
		})
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.Issuer()+DiscoveryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got discovery
	if status := getJSON(t, e, req, &got); status != http.StatusOK {
		t.Fatalf("status = %d", status)
	}
	iss := e.srv.Issuer()
	for name, pair := range map[string][2]string{
		"issuer":     {got.Issuer, iss},
		"auth":       {got.AuthorizationEndpoint, iss + "/o/oauth2/v2/auth"},
		"token":      {got.TokenEndpoint, iss + "/token"},
		"revocation": {got.RevocationEndpoint, iss + "/revoke"},
		"userinfo":   {got.UserinfoEndpoint, iss + "/oauth2/v3/userinfo"},
		"jwks":       {got.JWKSURI, iss + "/oauth2/v3/certs"},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s = %q, want %q", name, pair[0], pair[1])
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	good := func() Options {
		return Options{
			Accounts: []Account{{Email: alice}},
			Clients:  []Client{{ID: "c", Secret: "s", RedirectURIs: []string{testRedirect}}},
		}
	}
	tests := []struct {
		name    string
		modify  func(*Options)
		wantErr []string // every problem is reported at once
	}{
		{"valid", func(*Options) {}, nil},
		{"nothing", func(o *Options) { *o = Options{} }, []string{"no accounts", "no clients"}},
		{"bad email and duplicate", func(o *Options) {
			o.Accounts = []Account{{Email: "not an email"}, {Email: alice}, {Email: alice}}
		}, []string{"is not an address", "duplicate email"}},
		{"relative redirect", func(o *Options) { o.Clients[0].RedirectURIs = []string{"/cb"} }, []string{"must be absolute"}},
		{"auto consent stranger", func(o *Options) { o.AutoConsent = bob }, []string{"auto-consent account"}},
		{"bad issuer and ttl", func(o *Options) { o.Issuer, o.AccessTokenTTL = "ftp://x", -time.Second }, []string{"issuer", "negative access token TTL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := good()
			tt.modify(&opts)
			_, err := New(opts)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New accepted bad options")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestAuthenticateErrorsNeverLeakTheToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.login(t, alice)
	e.clock.Advance(time.Hour)
	for _, at := range []string{tok.AccessToken, "ya29.unknown-token-value"} {
		_, err := e.srv.Authenticate(t.Context(), at)
		if err == nil {
			t.Fatal("Authenticate accepted an expired or unknown token")
		}
		if strings.Contains(err.Error(), at) {
			t.Errorf("error %q contains the token", err)
		}
	}
}

func FuzzParseAuthRequest(f *testing.F) {
	f.Add("client_id=" + testClientID + "&redirect_uri=" + url.QueryEscape(testRedirect) + "&response_type=code&scope=openid+email")
	f.Add("client_id=x&redirect_uri=&scope=%20&prompt=none+consent&code_challenge=abc")
	srv, err := New(Options{
		Accounts: []Account{{Email: alice}},
		Clients:  []Client{{ID: testClientID, Secret: "s", RedirectURIs: []string{testRedirect}}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		req, perr := srv.parseAuthRequest(q)
		if perr != nil {
			if perr.Code == "" || perr.Status < 400 {
				t.Fatalf("page error without code or status: %+v", perr)
			}
			return
		}
		// Nothing unregistered may ever be redirected to.
		if req.redirectURI != testRedirect || req.client.ID != testClientID || len(req.scopes) == 0 {
			t.Fatalf("accepted %+v", req)
		}
	})
}
