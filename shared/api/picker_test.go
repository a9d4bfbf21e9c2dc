package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/efactori/drivesync/shared/api"
	"github.com/efactori/drivesync/shared/auth"
	"github.com/efactori/drivesync/shared/connection"
)

// TestPicker: a manager gets the Picker's settings (the connection's token, the app ID and the
// developer key) uncached and unlogged; the integration says the deployment picks.
func TestPicker(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	r := do(t, http.MethodGet, s.url+"/v1/connections/c1/picker", s.manager(t), "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", r.status, r.body)
	}
	if got, want := r.header.Get("Cache-Control"), "no-store"; got != want {
		t.Errorf("Cache-Control = %q, want %q", got, want)
	}
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"oauthToken": stubPickerToken, "expiresAt": stubTime.Add(time.Hour).Format(time.RFC3339),
		"appId": pickerAppID, "developerKey": pickerKey}
	if len(got) != len(want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if strings.Contains(s.logs.String(), stubPickerToken) {
		t.Error("the access token reached the logs")
	}

	reader := do(t, http.MethodGet, s.url+"/v1/connections/c1/picker", s.token(t, company, nil), "", nil)
	mustProblem(t, reader, http.StatusForbidden, "forbidden")

	integ := do(t, http.MethodGet, s.url+"/v1/integration", s.manager(t), "", nil)
	var in struct {
		FolderSelection string `json:"folderSelection"`
	}
	if err := json.Unmarshal(integ.body, &in); err != nil || in.FolderSelection != "picker" {
		t.Errorf("integration folderSelection = %q (%v), want picker", in.FolderSelection, err)
	}

	s.svc.err = connection.ErrPickerUnavailable // a service in drive mode behind a picker API
	mustProblem(t, do(t, http.MethodGet, s.url+"/v1/connections/c1/picker", s.manager(t), "", nil),
		http.StatusConflict, "folder-picker-unavailable")
}

// TestPickerUnavailableInBrowseMode: without Picker settings (the drive scope) the route answers
// 409 without asking the service, and the integration says the deployment browses.
func TestPickerUnavailableInBrowseMode(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	iss := s.iss
	verifier, err := auth.NewVerifier(iss.Issuer(), audience, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := &stubService{}
	srv, err := api.New(api.Options{Verifier: verifier, Service: svc, Documents: svc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	mustProblem(t, do(t, http.MethodGet, ts.URL+"/v1/connections/c1/picker", s.manager(t), "", nil),
		http.StatusConflict, "folder-picker-unavailable")
	if calls := svc.Calls(); len(calls) != 0 {
		t.Errorf("service calls %v, want none", calls)
	}
	integ := do(t, http.MethodGet, ts.URL+"/v1/integration", s.manager(t), "", nil)
	var in struct {
		FolderSelection string `json:"folderSelection"`
	}
	if err := json.Unmarshal(integ.body, &in); err != nil || in.FolderSelection != "browse" {
		t.Errorf("integration folderSelection = %q (%v), want browse", in.FolderSelection, err)
	}
}

func TestNewRejectsBadPickerOptions(t *testing.T) {
	t.Parallel()
	for _, p := range []api.PickerOptions{{AppID: "", DeveloperKey: "k"}, {AppID: "drivesync-prod", DeveloperKey: "k"}, {AppID: "123", DeveloperKey: ""}} {
		_, err := api.New(api.Options{Verifier: fixedVerifier{}, Service: &stubService{}, Logger: slog.New(slog.DiscardHandler), Picker: &p})
		if err == nil {
			t.Errorf("api.New with picker %+v succeeded", p)
		}
	}
}
