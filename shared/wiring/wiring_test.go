package wiring_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/api"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/problem"
	"github.com/efactori/drivesync/shared/tokencrypt"
	"github.com/efactori/drivesync/shared/wiring"
)

func TestMain(m *testing.M) { emulators.Main(m) }

var discard = slog.New(slog.DiscardHandler)

func TestLazyRetriesAFailedBuild(t *testing.T) {
	t.Parallel()
	var builds atomic.Int32
	h := wiring.Lazy(func(context.Context) (http.Handler, error) {
		if builds.Add(1) == 1 {
			return nil, errors.New("firestore unreachable")
		}
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }), nil
	}, discard, http.HandlerFunc(api.WriteUnavailable))

	serve := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/integration", nil))
		return rec
	}
	first := serve()
	if got, want := first.Code, http.StatusServiceUnavailable; got != want {
		t.Fatalf("first request: status = %d, want %d", got, want)
	}
	if got, want := first.Header().Get("Content-Type"), problem.ContentType; got != want {
		t.Errorf("first request: Content-Type = %q, want %q", got, want)
	}
	if first.Header().Get("Retry-After") == "" {
		t.Error("first request: no Retry-After")
	}
	for i := range 3 {
		if got, want := serve().Code, http.StatusTeapot; got != want {
			t.Fatalf("request %d: status = %d, want %d", i+2, got, want)
		}
	}
	if got, want := builds.Load(), int32(2); got != want {
		t.Errorf("builds = %d, want %d", got, want)
	}
}

func TestLazyBuildsOnceForConcurrentRequests(t *testing.T) {
	t.Parallel()
	var builds atomic.Int32
	h := wiring.Lazy(func(context.Context) (http.Handler, error) {
		builds.Add(1)
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }), nil
	}, discard, http.HandlerFunc(api.WriteUnavailable))
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if rec.Code != http.StatusNoContent {
				t.Errorf("status = %d", rec.Code)
			}
		})
	}
	wg.Wait()
	if got, want := builds.Load(), int32(1); got != want {
		t.Errorf("builds = %d, want %d", got, want)
	}
}

// google returns a valid Google configuration for the emulated stack.
func google(t *testing.T, scope string) config.Google {
	t.Helper()
	keyset, err := tokencrypt.NewDevKeyset()
	if err != nil {
		t.Fatalf("NewDevKeyset: %v", err)
	}
	return config.Google{
		OAuthClientID: "client", OAuthClientSecret: "GOCSPX-wiring-secret", OAuthRedirectURL: "http://127.0.0.1:9/callback",
		DriveScope: scope, TokenKeyset: string(keyset), TokenKeysetCleartext: true, EmulatorURL: "http://127.0.0.1:9",
	}
}

func common(t *testing.T) config.Common {
	emulators.Firestore(t) // starts the emulators and points the client libraries at them
	return config.Common{ProjectID: emulators.ProjectID(t), FirestoreDatabase: "(default)"}
}

func TestWiringRejects(t *testing.T) {
	t.Parallel()
	c := common(t)
	good := google(t, "drive")
	badKeyset := good
	badKeyset.TokenKeyset = `{"primaryKeyId":1,"key":[{"keyData":{"value":"c2VjcmV0LWtleS1tYXRlcmlhbA=="}}]}`
	cleartextRefused := good
	cleartextRefused.TokenKeysetCleartext = false
	badScope := good
	badScope.DriveScope = "drive.readonly"
	tests := []struct {
		name string
		g    config.Google
		log  *slog.Logger
	}{
		{name: "nil logger", g: good},
		{name: "broken keyset", g: badKeyset, log: discard},
		{name: "cleartext keyset not allowed", g: cleartextRefused, log: discard},
		{name: "unknown scope", g: badScope, log: discard},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errAPI := wiring.Connections(t.Context(), config.Connections{Common: c, Google: tt.g,
				EFactoriIssuer: "http://127.0.0.1:9", EFactoriAudience: "aud"}, tt.log)
			_, errCB := wiring.OAuthCallback(t.Context(), config.OAuthCallback{Common: c, Google: tt.g,
				FrontendURL: "https://app.example"}, tt.log)
			for _, err := range []error{errAPI, errCB} {
				if err == nil {
					t.Fatal("wiring succeeded")
				}
				for _, secret := range []string{tt.g.TokenKeyset, tt.g.OAuthClientSecret, "c2VjcmV0LWtleS1tYXRlcmlhbA"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q holds a secret", err)
					}
				}
			}
		})
	}
}

// TestDriveFileScope checks that the scope reaches the service: in drive.file mode folders are
// picked with the Google Picker, and the API says so.
func TestDriveFileScope(t *testing.T) {
	t.Parallel()
	iss, err := efactori.New(efactori.Options{DevToken: "dev", Audience: "aud", Logger: discard})
	if err != nil {
		t.Fatalf("efactori.New: %v", err)
	}
	ts := httptest.NewServer(iss)
	t.Cleanup(ts.Close)
	if err := iss.SetBaseURL(ts.URL); err != nil {
		t.Fatalf("SetBaseURL: %v", err)
	}
	srv, err := wiring.Connections(t.Context(), config.Connections{Common: common(t), Google: google(t, "drive.file"),
		EFactoriIssuer: iss.Issuer(), EFactoriAudience: "aud", FrontendOrigins: []string{"https://app.example"},
		PickerAppID: "123456789012", PickerAPIKey: "AIza-test"}, discard)
	if err != nil {
		t.Fatalf("wiring.Connections: %v", err)
	}
	tok, err := iss.MintToken(efactori.Claims{Subject: "u", CompanyID: "acme"})
	if err != nil {
		t.Fatalf("MintToken: %v", err)
	}
	req := httptest.NewRequest(http.MethodGet, "/v1/connections/c1/folders", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var p problem.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	if got, want := p.Type, problem.TypeBase+"folder-browsing-unavailable"; got != want {
		t.Errorf("type = %q, want %q (status %d)", got, want, rec.Code)
	}
	if !strings.Contains(p.Detail, "Google Picker") {
		t.Errorf("detail %q does not mention the Google Picker", p.Detail)
	}
	// The Picker's settings reach the API: its picker route asks the service (which finds no
	// connection c1) instead of answering that the Picker is unavailable.
	manager, err := iss.MintToken(efactori.Claims{Subject: "u", CompanyID: "acme", Roles: []string{efactori.RoleIntegrationsManage}})
	if err != nil {
		t.Fatalf("MintToken: %v", err)
	}
	picker := httptest.NewRequest(http.MethodGet, "/v1/connections/c1/picker", nil)
	picker.Header.Set("Authorization", "Bearer "+manager)
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, picker)
	if rec.Code == http.StatusForbidden || strings.Contains(rec.Body.String(), "folder-picker-unavailable") {
		t.Errorf("picker route in drive.file mode: %d %s", rec.Code, rec.Body)
	}
}

func TestOnceRetriesAFailedBuild(t *testing.T) {
	t.Parallel()
	var builds atomic.Int32
	get := wiring.Once(func(context.Context) (string, error) {
		if builds.Add(1) == 1 {
			return "", errors.New("firestore unreachable")
		}
		return "engine", nil
	})
	if _, err := get(t.Context()); err == nil {
		t.Fatal("first call: no error")
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if v, err := get(t.Context()); err != nil || v != "engine" {
				t.Errorf("get = %q, %v", v, err)
			}
		})
	}
	wg.Wait()
	if got, want := builds.Load(), int32(2); got != want {
		t.Errorf("builds = %d, want %d", got, want)
	}
}

func TestEventFunctionWiring(t *testing.T) {
	t.Parallel()
	c := common(t)
	docs := config.Documents{URL: "http://127.0.0.1:9", DevToken: "dev"}
	t.Run("sync document", func(t *testing.T) {
		t.Parallel()
		e, err := wiring.SyncDocument(t.Context(), config.SyncDocument{Common: c, Google: google(t, "drive"), Documents: docs,
			MaxEventAge: time.Hour, WritesPerSecond: 3}, discard)
		if err != nil || e == nil {
			t.Fatalf("SyncDocument = %v, %v", e, err)
		}
	})
	initialCopy := config.InitialCopy{Common: c, Google: google(t, "drive"), Documents: docs, PageSize: 500,
		DocumentLease: time.Minute, WritesPerSecond: 3, StallTimeout: 2 * time.Minute}
	t.Run("initial copy", func(t *testing.T) {
		t.Parallel()
		e, err := wiring.InitialCopy(t.Context(), initialCopy, discard)
		if err != nil || e == nil {
			t.Fatalf("InitialCopy = %v, %v", e, err)
		}
	})
	good := config.SyncDocument{Common: c, Google: google(t, "drive"), Documents: docs, MaxEventAge: time.Hour, WritesPerSecond: 3}
	badKeyset := good
	badKeyset.TokenKeyset = `{"primaryKeyId":1,"key":[{"keyData":{"value":"c2VjcmV0LWtleS1tYXRlcmlhbA=="}}]}`
	badURL := good
	badURL.Documents.URL = "ftp://efactori"
	noRate := good
	noRate.WritesPerSecond = 0
	for name, tc := range map[string]struct {
		cfg config.SyncDocument
		log *slog.Logger
	}{
		"nil logger":    {cfg: good},
		"broken keyset": {cfg: badKeyset, log: discard},
		"bad api url":   {cfg: badURL, log: discard},
		"no write rate": {cfg: noRate, log: discard},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := wiring.SyncDocument(t.Context(), tc.cfg, tc.log)
			if err == nil {
				t.Fatal("wiring succeeded")
			}
			for _, secret := range []string{tc.cfg.TokenKeyset, tc.cfg.OAuthClientSecret, "c2VjcmV0LWtleS1tYXRlcmlhbA"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds a secret", err)
				}
			}
		})
	}
	noPage := initialCopy
	noPage.PageSize = 0
	noGoogle := initialCopy
	noGoogle.Google = config.Google{}
	icBadKeyset := initialCopy
	icBadKeyset.TokenKeyset = badKeyset.TokenKeyset
	for name, cfg := range map[string]config.InitialCopy{
		"page size of 0":     noPage,
		"no google settings": noGoogle, // it reaches Drive, so it cannot do without them
		"broken keyset":      icBadKeyset,
	} {
		t.Run("initial copy rejects "+name, func(t *testing.T) {
			t.Parallel()
			_, err := wiring.InitialCopy(t.Context(), cfg, discard)
			if err == nil {
				t.Fatal("wiring succeeded")
			}
			for _, secret := range []string{cfg.TokenKeyset, cfg.OAuthClientSecret, "c2VjcmV0LWtleS1tYXRlcmlhbA"} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds a secret", err)
				}
			}
		})
	}
}
