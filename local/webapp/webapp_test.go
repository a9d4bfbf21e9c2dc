package webapp_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/webapp"
)

type fakeMinter struct {
	claims efactori.Claims
	err    error
}

func (f *fakeMinter) MintToken(c efactori.Claims, _ ...efactori.MintOption) (string, error) {
	f.claims = c
	return "token-for-" + c.CompanyID, f.err
}

func TestNewRejectsMissingOptions(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]webapp.Options{
		"no API URL": {Tokens: &fakeMinter{}},
		"no minter":  {APIURL: "http://127.0.0.1:1"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := webapp.New(opts); err == nil {
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestServesPageAndConfig(t *testing.T) {
	t.Parallel()
	minter := &fakeMinter{}
	h, err := webapp.New(webapp.Options{APIURL: "http://127.0.0.1:8081", Tokens: minter})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/":        "Applications et connexions",
		"/app.js":  "/v1/connections",
		"/app.css": "--brand",
	} {
		res, body := get(t, h, path)
		if got, want := res.StatusCode, http.StatusOK; got != want {
			t.Errorf("GET %s: status %d, want %d", path, got, want)
		}
		if !strings.Contains(body, want) {
			t.Errorf("GET %s: body lacks %q", path, want)
		}
	}

	res, body := get(t, h, "/config.json")
	if got, want := res.Header.Get("Cache-Control"), "no-store"; got != want {
		t.Errorf("config.json Cache-Control = %q, want %q", got, want)
	}
	var cfg struct{ APIURL, Token string }
	if err := json.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatalf("config.json: %v\n%s", err, body)
	}
	if got, want := cfg.APIURL, "http://127.0.0.1:8081"; got != want {
		t.Errorf("apiUrl = %q, want %q", got, want)
	}
	if got, want := cfg.Token, "token-for-"+efactori.Acme.ID; got != want {
		t.Errorf("token = %q, want %q", got, want)
	}
	if got, want := minter.claims.Roles, []string{efactori.RoleIntegrationsManage}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("token roles = %v, want %v", got, want)
	}
}

func TestConfigFailsWhenMintingFails(t *testing.T) {
	t.Parallel()
	h, err := webapp.New(webapp.Options{APIURL: "http://127.0.0.1:8081", Tokens: &fakeMinter{err: errors.New("no key")}})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := get(t, h, "/config.json")
	if got, want := res.StatusCode, http.StatusInternalServerError; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
}
