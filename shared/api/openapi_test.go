package api_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/local/apispec"
	"github.com/efactori/drivesync/shared/api"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/problem"
)

// openapiPath is the API's contract, relative to this package.
const openapiPath = "../../docs/api/openapi.yaml"

// TestOpenAPI keeps docs/api/openapi.yaml and the handlers in step: every documented operation
// is served, every served route is documented, and what the handlers answer (success, and each
// kind of failure a client can cause) is documented with its status, media type and shape.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	spec, err := apispec.Load(openapiPath)
	if err != nil {
		t.Fatal(err)
	}
	s := newAPI(t)

	// Served routes ⇔ documented operations. "/" and "/start" are the OAuthCallback function.
	var served, documented []string
	for _, r := range s.srv.Routes() {
		for _, m := range r.Methods {
			served = append(served, m+" "+r.Path)
		}
	}
	for _, op := range spec.Operations() {
		if op != "GET /" && op != "GET /start" {
			documented = append(documented, op)
		}
	}
	slices.Sort(served)
	if diff := cmp.Diff(served, documented); diff != "" {
		t.Errorf("routes served (-) vs documented (+):\n%s", diff)
	}

	bodies := map[string]routeCase{}
	for _, rc := range allRoutes {
		path, _, _ := strings.Cut(rc.path, "?")
		path = strings.Replace(strings.Replace(path, "/c1", "/{id}", 1), "/documents/d1", "/documents/{documentId}", 1)
		bodies[rc.method+" "+path] = rc
	}
	manager, reader := s.manager(t), s.token(t, company, nil)
	check := func(op, what string, rec *httptest.ResponseRecorder) {
		t.Helper()
		for _, err := range spec.Check(op, rec.Code, rec.Header(), rec.Body.Bytes()) {
			t.Errorf("%s: %v", what, err)
		}
		ct := rec.Header().Get("Content-Type")
		if rec.Code >= 400 && ct != problem.ContentType && !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s %s: error %d as %q, not problem+json", op, what, rec.Code, ct)
		}
	}
	call := func(method, path, token, contentType, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(t.Context(), method, path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		s.srv.ServeHTTP(rec, req)
		return rec
	}
	for _, op := range documented {
		method, pattern, _ := strings.Cut(op, " ")
		if op == "GET /v1/openapi.yaml" { // public: the document itself (TestOpenAPIServed)
			check(op, "ok", call(method, pattern, "", "", ""))
			req := httptest.NewRequestWithContext(t.Context(), method, pattern, nil)
			req.Header.Set("If-None-Match", call(method, pattern, "", "", "").Header().Get("ETag"))
			rec := httptest.NewRecorder()
			s.srv.ServeHTTP(rec, req)
			check(op, "revalidated", rec)
			continue
		}
		rc, ok := bodies[op]
		if !ok {
			t.Errorf("no test request for %s", op)
			continue
		}
		if got, want := spec.HasRequestBody(op), rc.body != ""; got != want {
			t.Errorf("%s: request body documented %v, sent by the handler tests %v", op, got, want)
		}
		path := strings.ReplaceAll(strings.ReplaceAll(pattern, "{id}", "c1"), "{documentId}", "d1")
		check(op, "ok", call(method, path, manager, "application/json", rc.body))
		check(op, "no token", call(method, path, "", "application/json", rc.body))
		if rc.mutates {
			check(op, "reader", call(method, path, reader, "application/json", rc.body))
		}
		if strings.Contains(pattern, "{id}") {
			check(op, "bad id", call(method, strings.ReplaceAll(strings.ReplaceAll(pattern, "{id}", "a.b"), "{documentId}", "d1"), manager, "application/json", rc.body))
		}
		if rc.body != "" {
			check(op, "malformed", call(method, path, manager, "application/json", `{"x":`))
			check(op, "invalid", call(method, path, manager, "application/json", `{"name":"","folderLayout":"flat","folderId":"../x"}`))
			check(op, "oversize", call(method, path, manager, "application/json", `"`+strings.Repeat("a", api.MaxBodyBytes)+`"`))
			check(op, "form", call(method, path, manager, "text/plain", rc.body))
		}
	}

	// The OAuthCallback function: the start link's redirect and its expired-link page, the
	// callback's redirect, its expired-link and other-browser pages, in both media types.
	start := connection.ConsentStart{GoogleURL: "https://accounts.google.com/o/oauth2/auth?state=s", Browser: "b", Lifetime: time.Minute}
	for _, tt := range []struct {
		op, path string
		startErr error
		res      connection.CallbackResult
		err      error
		accept   string
	}{
		{op: "GET /start", path: "/start?state=s"},
		{op: "GET /start", path: "/start?state=s", startErr: errInvalidState(), accept: "text/html"},
		{op: "GET /start", path: "/start?state=s", startErr: errInvalidState(), accept: "application/problem+json"},
		{op: "GET /", path: "/?state=s&code=c", res: connection.CallbackResult{ConnectionID: "c1", Result: connection.ResultOK}},
		{op: "GET /", path: "/?state=s&code=c", err: errInvalidState(), accept: "text/html"},
		{op: "GET /", path: "/?state=s&code=c", err: errInvalidState(), accept: "application/problem+json"},
		{op: "GET /", path: "/?state=s&code=c", err: drivesync.ErrWrongBrowser, accept: "text/html"},
		{op: "GET /", path: "/?state=s&code=c", err: drivesync.ErrWrongBrowser, accept: "application/problem+json"},
	} {
		cb, err := api.NewCallback(api.CallbackOptions{
			Callbacks: &stubCallbacks{start: start, startErr: tt.startErr, res: tt.res, err: tt.err},
			Logger:    slog.New(slog.DiscardHandler), FrontendURL: frontendURL, RedirectURL: redirectURL})
		if err != nil {
			t.Fatalf("NewCallback: %v", err)
		}
		req := httptest.NewRequest(http.MethodGet, tt.path, nil)
		req.Header.Set("Accept", tt.accept)
		rec := httptest.NewRecorder()
		cb.ServeHTTP(rec, req)
		check(tt.op, fmt.Sprintf("%s %d %s", tt.path, rec.Code, tt.accept), rec)
	}
}
