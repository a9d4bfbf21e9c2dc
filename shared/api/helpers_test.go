package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/api"
	"github.com/efactori/drivesync/shared/auth"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/history"
	"github.com/efactori/drivesync/shared/logging"
	"github.com/efactori/drivesync/shared/problem"
	"github.com/efactori/drivesync/shared/store"
)

const (
	audience = "drivesync-test"
	origin   = "https://app.efactori.example"
	company  = "acme"

	pickerAppID = "424242424242"
	pickerKey   = "AIza-test-picker-key"
)

// stubService stands in for the connection service in the handler tests, which are about
// decoding, status codes and error mapping; the real service behind these handlers is covered
// end to end in functions/connections. It records which methods were called and answers every
// call with err when set.
type stubService struct {
	mu    sync.Mutex
	calls []string
	err   error
}

var _ api.Service = (*stubService)(nil)

var stubTime = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func stubConnection(companyID, id string) drivesync.Connection {
	return drivesync.Connection{
		ID: id, CompanyID: companyID, Name: "Compta", FolderLayout: drivesync.LayoutYear, Locale: drivesync.LocaleFR,
		OnDelete: drivesync.OnDeleteKeep, Status: drivesync.StatusActive, GoogleAccountEmail: "alice@example.com",
		Target:      drivesync.Target{FolderID: "1folder", Path: []string{"My Drive", "Compta"}, CompanyFolderID: "1company"},
		InitialCopy: drivesync.InitialCopy{State: drivesync.CopyRunning, RunID: "run1", Listed: 3, Synced: 1, StartedAt: stubTime},
		LastError:   &drivesync.LastError{Code: "storageQuotaExceeded", Message: "Drive is full", At: stubTime},
		CreatedAt:   stubTime, UpdatedAt: stubTime,
	}
}

func (s *stubService) call(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, name)
	return s.err
}

func (s *stubService) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *stubService) Integration(_ context.Context, _ string) (store.Integration, error) {
	return store.Integration{Enabled: true, ConnectionCount: 2}, s.call("Integration")
}

func (s *stubService) SetIntegration(_ context.Context, _ string, enabled bool) (store.Integration, error) {
	return store.Integration{Enabled: enabled, ConnectionCount: 2}, s.call("SetIntegration")
}

func (s *stubService) List(_ context.Context, companyID string) ([]drivesync.Connection, error) {
	return []drivesync.Connection{stubConnection(companyID, "c1"), {ID: "c2", Name: "New", FolderLayout: drivesync.LayoutYearKind,
		Locale: drivesync.LocaleNL, OnDelete: drivesync.OnDeleteTrash, Status: drivesync.StatusAwaitingAuthorization}}, s.call("List")
}

func (s *stubService) Create(_ context.Context, companyID, _ string, in connection.CreateInput) (drivesync.Connection, string, error) {
	c := drivesync.Connection{ID: "c3", CompanyID: companyID, Name: in.Name, FolderLayout: in.FolderLayout,
		Locale: drivesync.LocaleFR, OnDelete: drivesync.OnDeleteKeep, Status: drivesync.StatusAwaitingAuthorization, CreatedAt: stubTime}
	return c, "https://accounts.example/auth?state=s", s.call("Create")
}

func (s *stubService) Get(_ context.Context, companyID, id string) (drivesync.Connection, error) {
	return stubConnection(companyID, id), s.call("Get")
}

func (s *stubService) Update(_ context.Context, companyID, id string, _ connection.UpdateInput) (drivesync.Connection, error) {
	return stubConnection(companyID, id), s.call("Update")
}

func (s *stubService) Delete(_ context.Context, _, _ string) error { return s.call("Delete") }

func (s *stubService) Authorize(_ context.Context, _, _ string) (string, error) {
	return "https://accounts.example/auth?state=t", s.call("Authorize")
}

func (s *stubService) Folders(_ context.Context, _, _, parent, _ string) (connection.FolderListing, error) {
	return connection.FolderListing{
		Folder: connection.Folder{ID: parent, Name: "My Drive"}, Path: []connection.Folder{},
		Children: []connection.Folder{{ID: "1a", Name: "A"}}, NextPageToken: "next",
	}, s.call("Folders")
}

func (s *stubService) CreateFolder(_ context.Context, _, _, _, name string) (connection.Folder, error) {
	return connection.Folder{ID: "1new", Name: name}, s.call("CreateFolder")
}

func (s *stubService) SetTarget(_ context.Context, companyID, id, _ string) (drivesync.Connection, error) {
	return stubConnection(companyID, id), s.call("SetTarget")
}

func (s *stubService) Resync(_ context.Context, companyID, id string) (drivesync.Connection, error) {
	return stubConnection(companyID, id), s.call("Resync")
}

var _ api.Documents = (*stubService)(nil)

// stubMapping is the document every stubbed history call answers with: failed, in Drive.
func stubMapping(documentID string) store.Mapping {
	return store.Mapping{DocumentID: documentID, FileID: "1file", Created: true, Revision: 2, State: store.MappingFailed,
		Code: "content_gone", Name: "F-1.pdf", UpdatedAt: stubTime, SyncedAt: stubTime,
		Source: drivesync.Document{ID: documentID, Revision: 2, Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14",
			ContentType: "application/pdf", SHA256: strings.Repeat("ab", 32), ContentURL: "https://efactori.example/c"}}
}

func (s *stubService) ListDocuments(_ context.Context, _, _ string, q history.Query) (history.Page, error) {
	next := &store.MappingCursor{UpdatedAt: stubTime, NumberKey: store.NumberKey(q.Number), DocumentID: "d1"}
	return history.Page{Documents: []store.Mapping{stubMapping("d1")}, Next: next}, s.call("ListDocuments")
}

func (s *stubService) Document(_ context.Context, _, _, documentID string) (store.Mapping, error) {
	return stubMapping(documentID), s.call("Document")
}

func (s *stubService) RetryDocument(_ context.Context, _, _, documentID string) (store.Mapping, error) {
	return stubMapping(documentID), s.call("RetryDocument")
}

func (s *stubService) RetryFailed(_ context.Context, _, _ string) (history.Retried, error) {
	return history.Retried{Retried: 3}, s.call("RetryFailed")
}

// stubPickerToken is the access token the stub hands out for the Picker.
const stubPickerToken = "ya29.a0-stub-picker-token"

func (s *stubService) PickerToken(_ context.Context, _, _ string) (connection.PickerToken, error) {
	return connection.PickerToken{AccessToken: stubPickerToken, Expiry: stubTime.Add(time.Hour)}, s.call("PickerToken")
}

// syncBuffer is a log sink tests read while handlers write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// issuer serves an eFactori token issuer on loopback.
func issuer(t *testing.T) *efactori.Server {
	t.Helper()
	iss, err := efactori.New(efactori.Options{DevToken: "dev-token", Audience: audience, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("efactori.New: %v", err)
	}
	ts := httptest.NewServer(iss)
	t.Cleanup(ts.Close)
	if err := iss.SetBaseURL(ts.URL); err != nil {
		t.Fatalf("SetBaseURL: %v", err)
	}
	return iss
}

type apiStack struct {
	url  string
	svc  *stubService
	iss  *efactori.Server
	logs *syncBuffer
	srv  *api.Server
}

func newAPI(t *testing.T) *apiStack {
	t.Helper()
	iss := issuer(t)
	verifier, err := auth.NewVerifier(iss.Issuer(), audience, nil)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	logs := &syncBuffer{}
	svc := &stubService{}
	srv, err := api.New(api.Options{
		Verifier: verifier, Service: svc, Documents: svc, FrontendOrigins: []string{origin},
		Logger: logging.New(logs, logging.Options{Level: slog.LevelDebug}),
		Picker: &api.PickerOptions{AppID: pickerAppID, DeveloperKey: pickerKey},
	})
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &apiStack{url: ts.URL, svc: svc, iss: iss, logs: logs, srv: srv}
}

func (s *apiStack) token(t *testing.T, companyID string, roles []string, opts ...efactori.MintOption) string {
	t.Helper()
	tok, err := s.iss.MintToken(efactori.Claims{Subject: "user-1", Email: "user@acme.example", CompanyID: companyID,
		CompanyName: "ACME", Roles: roles}, opts...)
	if err != nil {
		t.Fatalf("MintToken: %v", err)
	}
	return tok
}

func (s *apiStack) manager(t *testing.T) string {
	return s.token(t, company, []string{auth.RoleManage})
}

// response is what a test reads back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url, token, contentType string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// problemBody is a problem as a client reads it.
type problemBody struct {
	problem.Problem
	Code         string `json:"code"`
	ConnectionID string `json:"connectionId"`
}

// mustProblem checks that r is a problem with status and type slug, and returns it.
func mustProblem(t *testing.T, r response, status int, slug string) problemBody {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if got, want := r.header.Get("Content-Type"), problem.ContentType; got != want {
		t.Fatalf("Content-Type = %q, want %q", got, want)
	}
	var p problemBody
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode problem %s: %v", r.body, err)
	}
	if slug != "" && p.Type != problem.TypeBase+slug {
		t.Fatalf("type = %q, want %q", p.Type, problem.TypeBase+slug)
	}
	if p.Status != status || p.Title == "" {
		t.Fatalf("problem %+v lacks status or title", p)
	}
	return p
}

// routeCase is one route with a body that passes its decoder.
type routeCase struct {
	method, path, body string
	mutates            bool
	withID             bool
}

// allRoutes lists every route of the API with a valid body.
var allRoutes = []routeCase{
	{method: "GET", path: "/v1/integration"},
	{method: "PUT", path: "/v1/integration", body: `{"enabled":true}`, mutates: true},
	{method: "GET", path: "/v1/connections"},
	{method: "POST", path: "/v1/connections", body: `{"name":"Compta","folderLayout":"year"}`, mutates: true},
	{method: "GET", path: "/v1/connections/c1", withID: true},
	{method: "PATCH", path: "/v1/connections/c1", body: `{"name":"B"}`, mutates: true, withID: true},
	{method: "DELETE", path: "/v1/connections/c1", mutates: true, withID: true},
	{method: "POST", path: "/v1/connections/c1/authorization", mutates: true, withID: true},
	{method: "GET", path: "/v1/connections/c1/folders?parent=root", withID: true},
	{method: "POST", path: "/v1/connections/c1/folders", body: `{"parentId":"root","name":"F"}`, mutates: true, withID: true},
	{method: "PUT", path: "/v1/connections/c1/target", body: `{"folderId":"1f"}`, mutates: true, withID: true},
	{method: "POST", path: "/v1/connections/c1/resync", mutates: true, withID: true},
	{method: "GET", path: "/v1/connections/c1/documents?state=failed&pageSize=5", withID: true},
	{method: "GET", path: "/v1/connections/c1/documents/d1", withID: true},
	{method: "POST", path: "/v1/connections/c1/documents/d1/retry", mutates: true, withID: true},
	{method: "POST", path: "/v1/connections/c1/documents:retryFailed", mutates: true, withID: true},
	// Not a change, but it hands out a token that can write in the customer's Drive: managers only.
	{method: "GET", path: "/v1/connections/c1/picker", mutates: true, withID: true},
}

func (rc routeCase) reader() io.Reader {
	if rc.body == "" {
		return nil
	}
	return strings.NewReader(rc.body)
}
