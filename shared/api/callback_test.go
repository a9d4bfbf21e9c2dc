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

	"github.com/efactori/drivesync/shared/api"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/logging"
	"github.com/efactori/drivesync/shared/problem"
)

// stubCallbacks answers Callback with res and err and counts the calls.
type stubCallbacks struct {
	res connection.CallbackResult
	err error

	mu    sync.Mutex
	calls int
}

func (s *stubCallbacks) Callback(_ context.Context, _, _, _ string) (connection.CallbackResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.res, s.err
}

const frontendURL = "https://app.efactori.example/settings/drive?tab=google"

func TestNewCallbackRejectsMissingDependencies(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	for _, opts := range []api.CallbackOptions{
		{},
		{Callbacks: &stubCallbacks{}, Logger: log},
		{Callbacks: &stubCallbacks{}, Logger: log, FrontendURL: "/relative"},
		{Callbacks: nil, Logger: log, FrontendURL: frontendURL},
		{Callbacks: &stubCallbacks{}, FrontendURL: frontendURL},
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
		html     bool
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
			err:    fmt.Errorf("consume: %w", drivesync.ErrInvalidState), status: 400, html: true, calls: 1},
		{name: "invalid state, no accept", query: "state=" + state + "&code=" + code,
			err: drivesync.ErrInvalidState, status: 400, html: true, calls: 1},
		{name: "invalid state, API client", query: "state=" + state + "&code=" + code, accept: "application/problem+json",
			err: drivesync.ErrInvalidState, status: 400, slug: "invalid-authorization-state", calls: 1},
		{name: "missing state", query: "code=" + code, accept: "application/json", status: 400, slug: "invalid-authorization-state"},
		{name: "missing code and error", query: "state=" + state, accept: "application/json", status: 400, slug: "invalid-authorization-state"},
		{name: "oversized state", query: "state=" + strings.Repeat("s", 3000) + "&code=c", status: 400, html: true},
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
				Callbacks: cbs, FrontendURL: frontendURL,
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
			case tt.html:
				if got, want := rec.Header().Get("Content-Type"), "text/html; charset=utf-8"; got != want {
					t.Errorf("Content-Type = %q, want %q", got, want)
				}
				if !strings.Contains(rec.Body.String(), "Go back to eFactori") {
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
		cb, err := api.NewCallback(api.CallbackOptions{Callbacks: cbs, Logger: slog.New(slog.DiscardHandler), FrontendURL: frontendURL})
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
