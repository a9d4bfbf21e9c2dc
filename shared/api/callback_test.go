package api_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/efactori/drivesync/shared/api"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/logging"
	"github.com/efactori/drivesync/shared/problem"
)

// stubCallbacks answers StartConsent with start and startErr, Callback with res and err, and
// counts the calls and remembers the browser secret Callback was given.
type stubCallbacks struct {
	start    connection.ConsentStart
	startErr error
	res      connection.CallbackResult
	err      error

	mu      sync.Mutex
	starts  int
	calls   int
	browser string
}

func (s *stubCallbacks) StartConsent(_ context.Context, _ string) (connection.ConsentStart, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts++
	return s.start, s.startErr
}

func (s *stubCallbacks) Callback(_ context.Context, _, browser, _, _ string) (connection.CallbackResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.browser = browser
	return s.res, s.err
}

const (
	frontendURL = "https://app.efactori.example/settings/drive?tab=google"
	// redirectURL is the OAuth redirect URI as Cloud Functions serves it: the function's name in
	// the path, which the function itself does not see.
	redirectURL = "https://europe-west1-p.cloudfunctions.net/drivesync-oauth-callback"
)

func TestNewCallbackRejectsMissingDependencies(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	for _, opts := range []api.CallbackOptions{
		{},
		{Callbacks: &stubCallbacks{}, Logger: log, RedirectURL: redirectURL},
		{Callbacks: &stubCallbacks{}, Logger: log, FrontendURL: "/relative", RedirectURL: redirectURL},
		{Callbacks: nil, Logger: log, FrontendURL: frontendURL, RedirectURL: redirectURL},
		{Callbacks: &stubCallbacks{}, FrontendURL: frontendURL, RedirectURL: redirectURL},
		{Callbacks: &stubCallbacks{}, Logger: log, FrontendURL: frontendURL},
		{Callbacks: &stubCallbacks{}, Logger: log, FrontendURL: frontendURL, RedirectURL: "/oauth/callback"},
		{Callbacks: &stubCallbacks{}, Logger: log, FrontendURL: frontendURL, RedirectURL: "https://x.example/oauth/start"},
	} {
		if _, err := api.NewCallback(opts); err == nil {
			t.Errorf("NewCallback(%+v) succeeded", opts)
		}
	}
}

func TestCallback(t *testing.T) {
	t.Parallel()
	const (
		state = "st4te-value-that-must-not-be-logged"
		code  = "4/0AX4XfWcode-that-must-not-be-logged"
	)
	tests := []struct {
		name     string
		method   string
		query    string
		accept   string
		res      connection.CallbackResult
		err      error
		status   int
		location string // for 303
		html     string // for a page: what it must say
		slug     string // for a problem
		calls    int
	}{
		{name: "consented", query: "state=" + state + "&code=" + code + "&scope=openid",
			res: connection.CallbackResult{ConnectionID: "c1", Result: connection.ResultOK}, status: 303, calls: 1,
			location: "https://app.efactori.example/settings/drive?connection=c1&result=ok&tab=google"},
		{name: "denied", query: "state=" + state + "&error=access_denied",
			res: connection.CallbackResult{ConnectionID: "c1", Result: connection.ResultDenied}, status: 303, calls: 1,
			location: "https://app.efactori.example/settings/drive?connection=c1&result=denied&tab=google"},
		{name: "exchange failed", query: "state=" + state + "&code=" + code,
			res: connection.CallbackResult{ConnectionID: "c1", Result: connection.ResultError}, status: 303, calls: 1,
			location: "https://app.efactori.example/settings/drive?connection=c1&result=error&tab=google"},
		{name: "store failed after the state named a connection", query: "state=" + state + "&code=" + code,
			res: connection.CallbackResult{ConnectionID: "c1"}, err: errors.New("firestore unavailable"), status: 303, calls: 1,
			location: "https://app.efactori.example/settings/drive?connection=c1&result=error&tab=google"},
		{name: "invalid state, browser", query: "state=" + state + "&code=" + code,
			accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
			err:    fmt.Errorf("consume: %w", drivesync.ErrInvalidState), status: 400, html: "Retournez dans eFactori", calls: 1},
		{name: "invalid state, no accept", query: "state=" + state + "&code=" + code,
			err: drivesync.ErrInvalidState, status: 400, html: "Retournez dans eFactori", calls: 1},
		{name: "another browser", query: "state=" + state + "&code=" + code,
			err: fmt.Errorf("consume: %w", drivesync.ErrWrongBrowser), status: 403, html: "dans ce navigateur", calls: 1},
		{name: "another browser, API client", query: "state=" + state + "&code=" + code, accept: "application/json",
			err: drivesync.ErrWrongBrowser, status: 403, slug: "authorization-other-browser", calls: 1},
		{name: "invalid state, API client", query: "state=" + state + "&code=" + code, accept: "application/problem+json",
			err: drivesync.ErrInvalidState, status: 400, slug: "invalid-authorization-state", calls: 1},
		{name: "missing state", query: "code=" + code, accept: "application/json", status: 400, slug: "invalid-authorization-state"},
		{name: "missing code and error", query: "state=" + state, accept: "application/json", status: 400, slug: "invalid-authorization-state"},
		{name: "oversized state", query: "state=" + strings.Repeat("s", 3000) + "&code=c", status: 400, html: "Retournez dans eFactori"},
		{name: "internal before a connection is known", query: "state=" + state + "&code=" + code, accept: "application/json",
			err: errors.New("firestore unavailable"), status: 500, slug: "internal", calls: 1},
		{name: "post", method: http.MethodPost, query: "state=" + state + "&code=" + code, accept: "application/json",
			status: 405, slug: "method-not-allowed"},
		{name: "head spends nothing", method: http.MethodHead, query: "state=" + state + "&code=" + code, status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logs := &syncBuffer{}
			cbs := &stubCallbacks{res: tt.res, err: tt.err}
			cb, err := api.NewCallback(api.CallbackOptions{
				Callbacks: cbs, FrontendURL: frontendURL, RedirectURL: redirectURL,
				Logger: logging.New(logs, logging.Options{Level: slog.LevelDebug}),
			})
			if err != nil {
				t.Fatalf("NewCallback: %v", err)
			}
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			req := httptest.NewRequest(method, "/?"+tt.query, nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			rec := httptest.NewRecorder()
			cb.ServeHTTP(rec, req)

			if got, want := rec.Code, tt.status; got != want {
				t.Fatalf("status = %d, want %d; body %s", got, want, rec.Body)
			}
			if got, want := cbs.calls, tt.calls; got != want {
				t.Errorf("service calls = %d, want %d", got, want)
			}
			if got, want := rec.Header().Get("Referrer-Policy"), "no-referrer"; got != want {
				t.Errorf("Referrer-Policy = %q, want %q", got, want)
			}
			if got, want := rec.Header().Get("Cache-Control"), "no-store"; got != want {
				t.Errorf("Cache-Control = %q, want %q", got, want)
			}
			switch {
			case tt.location != "":
				loc, err := url.Parse(rec.Header().Get("Location"))
				if err != nil {
					t.Fatalf("Location: %v", err)
				}
				loc.RawQuery = loc.Query().Encode() // sorted, to compare
				if got, want := loc.String(), tt.location; got != want {
					t.Errorf("Location = %q, want %q", got, want)
				}
			case tt.html != "":
				if got, want := rec.Header().Get("Content-Type"), "text/html; charset=utf-8"; got != want {
					t.Errorf("Content-Type = %q, want %q", got, want)
				}
				if !strings.Contains(rec.Body.String(), tt.html) {
					t.Errorf("page does not say what to do:\n%s", rec.Body)
				}
				if rec.Header().Get("Content-Security-Policy") == "" {
					t.Error("page has no Content-Security-Policy")
				}
			case tt.slug != "":
				if got, want := rec.Header().Get("Content-Type"), problem.ContentType; got != want {
					t.Errorf("Content-Type = %q, want %q", got, want)
				}
				if !strings.Contains(rec.Body.String(), problem.TypeBase+tt.slug) {
					t.Errorf("body %s lacks type %s", rec.Body, tt.slug)
				}
			}
			for _, secret := range []string{state, code} {
				if strings.Contains(logs.String(), secret) || strings.Contains(rec.Body.String(), secret) {
					t.Errorf("state or code appears in logs or body:\n%s\n%s", logs, rec.Body)
				}
			}
		})
	}
}

// TestConsentStart checks the start link: it binds the state to the browser with a cookie the
// callback then reads, and sends the browser on to Google.
func TestConsentStart(t *testing.T) {
	t.Parallel()
	const (
		state   = "st4te-value-that-must-not-be-logged"
		browser = "br0wser-secret-that-must-not-be-logged"
		google  = "https://accounts.google.com/o/oauth2/auth?client_id=x&state=" + state
	)
	newCallback := func(t *testing.T, redirect string, cbs *stubCallbacks) (*api.Callback, *syncBuffer) {
		t.Helper()
		logs := &syncBuffer{}
		cb, err := api.NewCallback(api.CallbackOptions{Callbacks: cbs, FrontendURL: frontendURL, RedirectURL: redirect,
			Logger: logging.New(logs, logging.Options{Level: slog.LevelDebug})})
		if err != nil {
			t.Fatalf("NewCallback: %v", err)
		}
		return cb, logs
	}
	get := func(cb http.Handler, target, accept string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		cb.ServeHTTP(rec, req)
		return rec
	}
	cookieOf := func(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
		t.Helper()
		cs := rec.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("%d cookies set, want 1: %v", len(cs), rec.Header()["Set-Cookie"])
		}
		return cs[0]
	}

	for _, tc := range []struct {
		name, redirect, path string
		secure               bool
		cookiePath           string
	}{
		// Cloud Functions strips the function's name from the path the function sees.
		{"production", redirectURL, "/start", true, "/drivesync-oauth-callback"},
		{"production, name kept", redirectURL, "/drivesync-oauth-callback/start", true, "/drivesync-oauth-callback"},
		{"local", "http://127.0.0.1:8082", "/start", false, "/"},
		{"local with a path", "http://127.0.0.1:9/oauth/callback/", "/oauth/callback/start", false, "/oauth/callback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cbs := &stubCallbacks{
				start: connection.ConsentStart{GoogleURL: google, Browser: browser, Lifetime: 599500 * time.Millisecond},
				res:   connection.CallbackResult{ConnectionID: "c1", Result: connection.ResultOK},
			}
			cb, logs := newCallback(t, tc.redirect, cbs)
			rec := get(cb, tc.path+"?state="+state, "")
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != google {
				t.Fatalf("start: %d to %q, want 303 to Google; body %s", rec.Code, rec.Header().Get("Location"), rec.Body)
			}
			if got, want := rec.Header().Get("Cache-Control"), "no-store"; got != want {
				t.Errorf("Cache-Control = %q, want %q", got, want)
			}
			if got, want := rec.Header().Get("Referrer-Policy"), "no-referrer"; got != want {
				t.Errorf("Referrer-Policy = %q, want %q", got, want)
			}
			c := cookieOf(t, rec)
			wantName := "drivesync-consent-"
			if tc.secure {
				wantName = "__Secure-" + wantName
			}
			if !strings.HasPrefix(c.Name, wantName) || len(c.Name) != len(wantName)+16 {
				t.Errorf("cookie name %q, want %s and 16 hex digits", c.Name, wantName)
			}
			if c.Value != browser || !c.HttpOnly || c.Secure != tc.secure || c.SameSite != http.SameSiteLaxMode ||
				c.Path != tc.cookiePath || c.MaxAge != 600 || c.Domain != "" {
				t.Errorf("cookie %+v: want the browser secret, HttpOnly, Secure %v, SameSite=Lax, Path %s, Max-Age 600, no Domain",
					c, tc.secure, tc.cookiePath)
			}
			if strings.Contains(c.Name, state) {
				t.Errorf("cookie name %q holds the state", c.Name)
			}

			// Google sends the same browser back: the callback reads the cookie and clears it.
			back := get(cb, strings.TrimSuffix(tc.path, "start")+"?state="+state+"&code=x", "text/html", c)
			if back.Code != http.StatusSeeOther || !strings.HasPrefix(back.Header().Get("Location"), "https://app.efactori.example/") {
				t.Fatalf("callback: %d to %q", back.Code, back.Header().Get("Location"))
			}
			if cbs.browser != browser {
				t.Errorf("the service got browser secret %q, want the cookie's", cbs.browser)
			}
			if cleared := cookieOf(t, back); cleared.Name != c.Name || cleared.MaxAge >= 0 || cleared.Path != c.Path {
				t.Errorf("the callback did not clear the cookie: %+v", cleared)
			}
			// Another cookie of another state is not this state's.
			other := &http.Cookie{Name: wantName + "0123456789abcdef", Value: browser}
			get(cb, strings.TrimSuffix(tc.path, "start")+"?state="+state+"&code=x", "text/html", other)
			if cbs.browser != "" {
				t.Errorf("a cookie of another state reached the service as the browser secret")
			}
			for _, secret := range []string{state, browser} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("logs hold a secret:\n%s", logs)
				}
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name, query string
			err         error
			status      int
			starts      int
		}{
			{"no state", "", nil, 400, 0},
			{"oversized state", "state=" + strings.Repeat("s", 3000), nil, 400, 0},
			{"unknown, expired or already opened", "state=" + state, fmt.Errorf("bind: %w", drivesync.ErrInvalidState), 400, 1},
			{"store down", "state=" + state, errors.New("firestore unavailable"), 500, 1},
		} {
			cbs := &stubCallbacks{startErr: tc.err}
			cb, _ := newCallback(t, redirectURL, cbs)
			rec := get(cb, "/start?"+tc.query, "text/html")
			if rec.Code != tc.status || len(rec.Result().Cookies()) != 0 || cbs.starts != tc.starts {
				t.Errorf("%s: status %d, cookies %v, starts %d; want %d, none, %d", tc.name, rec.Code,
					rec.Header()["Set-Cookie"], cbs.starts, tc.status, tc.starts)
			}
			if tc.status == 400 && !strings.Contains(rec.Body.String(), "Retournez dans eFactori") {
				t.Errorf("%s: page does not say what to do:\n%s", tc.name, rec.Body)
			}
		}
		cbs := &stubCallbacks{}
		cb, _ := newCallback(t, redirectURL, cbs)
		req := httptest.NewRequest(http.MethodHead, "/start?state="+state, nil)
		rec := httptest.NewRecorder()
		cb.ServeHTTP(rec, req)
		if rec.Code != http.StatusMethodNotAllowed || cbs.starts != 0 {
			t.Errorf("HEAD of the start link: %d, %d starts; want 405 and none (it would spend the link)", rec.Code, cbs.starts)
		}
	})
}

func errInvalidState() error { return fmt.Errorf("consume state: %w", drivesync.ErrInvalidState) }

// FuzzCallback feeds the callback whatever query and Accept header a browser (or an attacker)
// could send: the answer is a redirect to the frontend or a 4xx/5xx page, and the service is
// only asked about a state that is present.
func FuzzCallback(f *testing.F) {
	f.Add("state=abc&code=4/xyz", "text/html")
	f.Add("state=&error=access_denied", "application/json;q=0.5, text/html;q=0.4")
	f.Add("state=%ZZ&code=1", "*/*;q=abc")
	f.Add(strings.Repeat("state=a&", 100), "")
	f.Fuzz(func(t *testing.T, query, accept string) {
		cbs := &stubCallbacks{res: connection.CallbackResult{ConnectionID: "c1", Result: connection.ResultOK}}
		cb, err := api.NewCallback(api.CallbackOptions{Callbacks: cbs, Logger: slog.New(slog.DiscardHandler),
			FrontendURL: frontendURL, RedirectURL: redirectURL})
		if err != nil {
			t.Fatalf("NewCallback: %v", err)
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.RawQuery = query
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		cb.ServeHTTP(rec, req)
		q, _ := url.ParseQuery(query)
		switch rec.Code {
		case http.StatusSeeOther:
			if q.Get("state") == "" || cbs.calls != 1 {
				t.Fatalf("redirected without a state (calls %d)", cbs.calls)
			}
			if !strings.HasPrefix(rec.Header().Get("Location"), "https://app.efactori.example/settings/drive?") {
				t.Fatalf("redirected to %q", rec.Header().Get("Location"))
			}
		case http.StatusBadRequest:
			if cbs.calls != 0 {
				t.Fatalf("refused after calling the service")
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}
