package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/local/apispec"
	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/api"
	"github.com/efactori/drivesync/shared/auth"
	"github.com/efactori/drivesync/shared/drivesync"
)

func TestNewRejectsMissingDependencies(t *testing.T) {
	t.Parallel()
	if _, err := api.New(api.Options{}); err == nil {
		t.Fatal("api.New with no dependencies succeeded")
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	tok := s.manager(t)
	tests := []struct {
		route    routeCase
		status   int
		method   string // of the service
		location string
	}{
		{route: allRoutes[0], status: 200, method: "Integration"},
		{route: allRoutes[1], status: 200, method: "SetIntegration"},
		{route: allRoutes[2], status: 200, method: "List"},
		{route: allRoutes[3], status: 201, method: "Create", location: "/v1/connections/c3"},
		{route: allRoutes[4], status: 200, method: "Get"},
		{route: allRoutes[5], status: 200, method: "Update"},
		{route: allRoutes[6], status: 204, method: "Delete"},
		{route: allRoutes[7], status: 200, method: "Authorize"},
		{route: allRoutes[8], status: 200, method: "Folders"},
		{route: allRoutes[9], status: 201, method: "CreateFolder"},
		{route: allRoutes[10], status: 200, method: "SetTarget"},
		{route: allRoutes[11], status: 202, method: "Resync"},
		{route: allRoutes[12], status: 200, method: "ListDocuments"},
		{route: allRoutes[13], status: 200, method: "Document"},
		{route: allRoutes[14], status: 202, method: "RetryDocument"},
		{route: allRoutes[15], status: 202, method: "RetryFailed"},
		{route: allRoutes[16], status: 200, method: "PickerToken"},
	}
	if got, want := len(tests), len(allRoutes); got != want {
		t.Fatalf("%d cases for %d routes", got, want)
	}
	for _, tt := range tests {
		before := len(s.svc.Calls())
		r := do(t, tt.route.method, s.url+tt.route.path, tok, "application/json", tt.route.reader())
		if r.status != tt.status {
			t.Errorf("%s %s: status = %d, want %d; body %s", tt.route.method, tt.route.path, r.status, tt.status, r.body)
			continue
		}
		if calls := s.svc.Calls(); len(calls) != before+1 || calls[before] != tt.method {
			t.Errorf("%s %s: service calls %v, want one call of %s", tt.route.method, tt.route.path, calls[before:], tt.method)
		}
		if got, want := r.header.Get("Location"), tt.location; got != want {
			t.Errorf("%s %s: Location = %q, want %q", tt.route.method, tt.route.path, got, want)
		}
		if tt.status == http.StatusNoContent {
			if len(r.body) != 0 {
				t.Errorf("%s %s: body %q on 204", tt.route.method, tt.route.path, r.body)
			}
			continue
		}
		if got, want := r.header.Get("Content-Type"), "application/json"; got != want {
			t.Errorf("%s %s: Content-Type = %q, want %q", tt.route.method, tt.route.path, got, want)
		}
		if !json.Valid(r.body) {
			t.Errorf("%s %s: body is not JSON: %s", tt.route.method, tt.route.path, r.body)
		}
	}
}

func TestConnectionJSON(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	tok := s.token(t, company, nil)
	r := do(t, "GET", s.url+"/v1/connections", tok, "", nil)
	if got, want := r.status, 200; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	at := stubTime.Format(time.RFC3339)
	want := map[string]any{"connections": []any{
		map[string]any{
			"id": "c1", "name": "Compta", "folderLayout": "year", "locale": "fr", "onDelete": "keep", "status": "active",
			"googleAccountEmail": "alice@example.com",
			"target":             map[string]any{"folderId": "1folder", "driveId": nil, "path": []any{"My Drive", "Compta"}},
			"initialCopy": map[string]any{"state": "running", "listed": 3.0, "synced": 1.0, "failed": 0.0,
				"startedAt": at, "finishedAt": nil},
			"lastSyncAt": nil,
			"lastError":  map[string]any{"code": "storageQuotaExceeded", "message": "Drive is full", "at": at},
			"createdAt":  at, "updatedAt": at,
		},
		map[string]any{
			"id": "c2", "name": "New", "folderLayout": "year_kind", "locale": "nl", "onDelete": "trash", "status": "awaiting_authorization",
			"googleAccountEmail": nil, "target": nil,
			"initialCopy": map[string]any{"state": "none", "listed": 0.0, "synced": 0.0, "failed": 0.0,
				"startedAt": nil, "finishedAt": nil},
			"lastSyncAt": nil, "lastError": nil, "createdAt": nil, "updatedAt": nil,
		},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("connections (-want +got):\n%s", diff)
	}
}

func TestFolderListingJSON(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	r := do(t, "GET", s.url+"/v1/connections/c1/folders?parent=drives&pageToken=p1", s.token(t, company, nil), "", nil)
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	want := map[string]any{
		"folder":        map[string]any{"id": "drives", "name": "My Drive", "path": []any{}},
		"folders":       []any{map[string]any{"id": "1a", "name": "A"}},
		"nextPageToken": "next",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listing (-want +got):\n%s", diff)
	}
}

func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	claims := efactori.Claims{Subject: "u", CompanyID: company, Roles: []string{"integrations:manage"}}
	mint := func(opts ...efactori.MintOption) string {
		tok, err := s.iss.MintToken(claims, opts...)
		if err != nil {
			t.Fatalf("MintToken: %v", err)
		}
		return tok
	}
	tokens := map[string]string{
		"none":           "",
		"garbage":        "not-a-jwt",
		"expired":        mint(efactori.Expired()),
		"wrong issuer":   mint(efactori.WithIssuer("https://evil.example")),
		"wrong audience": mint(efactori.WithAudience("someone-else")),
		"alg none":       mint(efactori.AlgNone()),
		"bad signature":  mint(efactori.SignedByOtherKey()),
	}
	// Signed by the right issuer, but the company_id would reach outside the company's subtree
	// in Firestore, or is a path Firestore refuses.
	for name, id := range map[string]string{
		"company_id path": "acme/connections/c1", "company_id ..": "..", "company_id .": ".",
		"company_id reserved": "__x__", "company_id 2,000 characters": strings.Repeat("a", 2000),
		"company_id non-ASCII": "société",
	} {
		c := claims
		c.CompanyID = id
		tok, err := s.iss.MintToken(c)
		if err != nil {
			t.Fatalf("MintToken: %v", err)
		}
		tokens[name] = tok
	}
	for name, tok := range tokens {
		for _, rc := range allRoutes {
			r := do(t, rc.method, s.url+rc.path, tok, "application/json", rc.reader())
			if r.status != http.StatusUnauthorized {
				t.Errorf("%s token, %s %s: status = %d, want 401", name, rc.method, rc.path, r.status)
				continue
			}
			mustProblem(t, r, 401, "unauthorized")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s token, %s %s: WWW-Authenticate = %q", name, rc.method, rc.path, r.header.Get("WWW-Authenticate"))
			}
		}
	}
	if calls := s.svc.Calls(); len(calls) != 0 {
		t.Errorf("service called without a valid token: %v", calls)
	}
	logs := s.logs.String()
	for name, tok := range tokens {
		if tok != "" && strings.Contains(logs, tok) {
			t.Errorf("logs hold the %s token", name)
		}
		if parts := strings.Split(tok, "."); len(parts) == 3 && len(parts[2]) > 8 && strings.Contains(logs, parts[2]) {
			t.Errorf("logs hold the signature of the %s token", name)
		}
	}
}

func TestForbiddenWithoutManageRole(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	for _, roles := range [][]string{nil, {"documents:read", "integrations:read"}} {
		tok := s.token(t, company, roles)
		for _, rc := range allRoutes {
			r := do(t, rc.method, s.url+rc.path, tok, "application/json", rc.reader())
			if !rc.mutates {
				if r.status != http.StatusOK {
					t.Errorf("roles %v, %s %s: status = %d, want 200", roles, rc.method, rc.path, r.status)
				}
				continue
			}
			mustProblem(t, r, http.StatusForbidden, "forbidden")
		}
	}
	for _, c := range s.svc.Calls() {
		switch c {
		case "Integration", "List", "Get", "Folders", "ListDocuments", "Document":
		default:
			t.Errorf("service method %s called without the manage role", c)
		}
	}
}

func TestBadIDs(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	tok := s.manager(t)
	ids := []string{"a.b", "%2e%2e", "a%20b", "a'b", "%C3%A9t%C3%A9", "a%2Fb", strings.Repeat("x", 129), "a;b", "%00"}
	for _, rc := range allRoutes {
		if !rc.withID {
			continue
		}
		for _, id := range ids {
			path := strings.Replace(rc.path, "/c1", "/"+id, 1)
			r := do(t, rc.method, s.url+path, tok, "application/json", rc.reader())
			mustProblem(t, r, http.StatusNotFound, "not-found")
		}
	}
	if calls := s.svc.Calls(); len(calls) != 0 {
		t.Errorf("service called with a malformed ID: %v", calls)
	}
}

func TestBadBodies(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	tok := s.manager(t)
	huge := `{"name":"` + strings.Repeat("a", api.MaxBodyBytes) + `"}`
	bodies := []struct {
		name, contentType, body string
		status                  int
		slug                    string
	}{
		{"malformed", "application/json", `{"enabled":`, 400, "validation"},
		{"not an object", "application/json", `"hello"`, 400, "validation"},
		{"wrong types", "application/json", `{"enabled":"yes","name":1,"folderLayout":[],"parentId":{},"folderId":2}`, 400, "validation"},
		{"unknown field", "application/json", `{"admin":true}`, 400, "validation"},
		{"empty", "application/json", ``, 400, "validation"},
		{"two values", "application/json", `{} {}`, 400, "validation"},
		{"oversize", "application/json", huge, 413, "request-too-large"},
		{"form", "application/x-www-form-urlencoded", `enabled=true`, 415, "unsupported-media-type"},
	}
	for _, rc := range allRoutes {
		if rc.body == "" {
			continue
		}
		for _, b := range bodies {
			r := do(t, rc.method, s.url+rc.path, tok, b.contentType, strings.NewReader(b.body))
			if r.status != b.status {
				t.Errorf("%s body, %s %s: status = %d, want %d; %s", b.name, rc.method, rc.path, r.status, b.status, r.body)
				continue
			}
			mustProblem(t, r, b.status, b.slug)
		}
	}
	if calls := s.svc.Calls(); len(calls) != 0 {
		t.Errorf("service called with a bad body: %v", calls)
	}
}

func TestValidationListsFields(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	r := do(t, "POST", s.url+"/v1/connections", s.manager(t), "application/json",
		strings.NewReader(`{"name":"","folderLayout":"flat","locale":"de"}`))
	p := mustProblem(t, r, 400, "validation")
	var got []string
	for _, f := range p.Errors {
		got = append(got, f.Pointer)
	}
	if diff := cmp.Diff([]string{"/name", "/folderLayout", "/locale"}, got); diff != "" {
		t.Errorf("pointers (-want +got):\n%s", diff)
	}
}

func TestServiceErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		status int
		slug   string
	}{
		{"not found", fmt.Errorf("get: %w", drivesync.ErrNotFound), 404, "not-found"},
		{"conflict", drivesync.ErrConflict, 409, "conflict"},
		{"reauthorize", drivesync.Classify(errors.New("invalid_grant"), drivesync.NeedsReauthorization, "invalid_grant"), 409, "needs-reauthorization"},
		{"internal", errors.New("firestore: secret detail"), 500, "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newAPI(t)
			s.svc.err = tt.err
			r := do(t, "GET", s.url+"/v1/connections/c1", s.manager(t), "", nil)
			p := mustProblem(t, r, tt.status, tt.slug)
			if strings.Contains(string(r.body), "secret detail") {
				t.Errorf("problem %+v leaks the error", p)
			}
		})
	}
}

// TestTargetInUse checks the 409 a folder already used by another connection gets: its own
// type, a detail naming that connection, its ID as connectionId, as the OpenAPI document says.
func TestTargetInUse(t *testing.T) {
	t.Parallel()
	spec, err := apispec.Load(openapiPath)
	if err != nil {
		t.Fatal(err)
	}
	s := newAPI(t)
	s.svc.err = fmt.Errorf("set target of connection c1: %w",
		&drivesync.TargetInUseError{FolderID: "1f", ConnectionID: "c2", ConnectionName: "Comptabilité"})
	r := do(t, "PUT", s.url+"/v1/connections/c1/target", s.manager(t), "application/json", strings.NewReader(`{"folderId":"1f"}`))
	p := mustProblem(t, r, 409, "target-in-use")
	if got, want := p.ConnectionID, "c2"; got != want {
		t.Errorf("connectionId = %q, want %q", got, want)
	}
	if want := `Google Drive connection "Comptabilité" (id c2) already copies into this folder`; !strings.Contains(p.Detail, want) {
		t.Errorf("detail = %q, want it to contain %q", p.Detail, want)
	}
	for _, err := range spec.Check("PUT /v1/connections/{id}/target", r.status, r.header, r.body) {
		t.Error(err)
	}
	if strings.Contains(s.logs.String(), `"severity":"ERROR"`) {
		t.Errorf("a refused target was logged as an error:\n%s", s.logs.String())
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	tok := s.manager(t)
	mustProblem(t, do(t, "GET", s.url+"/v2/things", tok, "", nil), 404, "not-found")
	mustProblem(t, do(t, "GET", s.url+"/v1/connections/c1/folders/extra", tok, "", nil), 404, "not-found")
	r := do(t, "DELETE", s.url+"/v1/connections", tok, "", nil)
	mustProblem(t, r, 405, "method-not-allowed")
	if got, want := r.header.Get("Allow"), "GET, POST"; got != want {
		t.Errorf("Allow = %q, want %q", got, want)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	preflight := func(from string) response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, s.url+"/v1/connections", nil)
		req.Header.Set("Origin", from)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("preflight: %v", err)
		}
		resp.Body.Close()
		return response{status: resp.StatusCode, header: resp.Header}
	}
	ok := preflight(origin)
	if got, want := ok.status, http.StatusNoContent; got != want {
		t.Errorf("allowed preflight status = %d, want %d", got, want)
	}
	if got, want := ok.header.Get("Access-Control-Allow-Origin"), origin; got != want {
		t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, want)
	}
	if !strings.Contains(ok.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("Access-Control-Allow-Headers = %q lacks Authorization", ok.header.Get("Access-Control-Allow-Headers"))
	}
	bad := preflight("https://evil.example")
	if got := bad.header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("foreign origin allowed: %q", got)
	}
}

// fixedVerifier accepts any token as caller.
type fixedVerifier struct{ caller auth.Caller }

func (v fixedVerifier) Verify(context.Context, string) (auth.Caller, error) { return v.caller, nil }

// TestBadCompanyIDFromAnyVerifier checks that the API itself refuses a caller whose company ID
// could not be one, whichever TokenVerifier let it through.
func TestBadCompanyIDFromAnyVerifier(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"", "acme/connections/c1", "..", "__x__", strings.Repeat("a", 2000)} {
		svc := &stubService{}
		srv, err := api.New(api.Options{
			Verifier: fixedVerifier{auth.Caller{Subject: "u", CompanyID: id, Roles: []string{auth.RoleManage}}},
			Service:  svc, Documents: svc, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, rc := range allRoutes {
			req := httptest.NewRequestWithContext(t.Context(), rc.method, rc.path, rc.reader())
			req.Header.Set("Authorization", "Bearer x")
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			mustProblem(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, 401, "unauthorized")
		}
		if calls := svc.Calls(); len(calls) != 0 {
			t.Errorf("company %.20q: service called: %v", id, calls)
		}
	}
}

// TestOpenAPIServed checks GET /v1/openapi.yaml: docs/api/openapi.yaml as it is on disk, as
// YAML, without a token, with the CORS of the other routes, revalidated by its ETag.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile(openapiPath)
	if err != nil {
		t.Fatal(err)
	}
	s := newAPI(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+"/v1/openapi.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
		t.Fatalf("GET /v1/openapi.yaml: %d, %d bytes; want 200 and the %d bytes of %s", resp.StatusCode, len(body), len(want), openapiPath)
	}
	for h, v := range map[string]string{
		"Content-Type": "application/yaml", "X-Content-Type-Options": "nosniff", "Access-Control-Allow-Origin": origin,
	} {
		if got := resp.Header.Get(h); got != v {
			t.Errorf("%s = %q, want %q", h, got, v)
		}
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if r := do(t, "GET", s.url+"/v1/openapi.yaml", "not-a-token", "", nil); r.status != http.StatusOK {
		t.Errorf("with a bad token: %d, want 200 (the document needs none)", r.status)
	}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+"/v1/openapi.yaml", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", resp.StatusCode)
	}
	r := do(t, "POST", s.url+"/v1/openapi.yaml", "", "", nil)
	mustProblem(t, r, http.StatusMethodNotAllowed, "method-not-allowed")
	if got, want := r.header.Get("Allow"), "GET"; got != want {
		t.Errorf("Allow = %q, want %q", got, want)
	}
	if calls := s.svc.Calls(); len(calls) != 0 {
		t.Errorf("service called: %v", calls)
	}
}
