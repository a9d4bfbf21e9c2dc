package connections_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/efactori/drivesync/functions/connections"
	"github.com/efactori/drivesync/shared/problem"
)

func TestNewReportsEveryMissingVariable(t *testing.T) {
	t.Parallel()
	_, err := connections.New(t.Context(), func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatal("New without configuration succeeded")
	}
	for _, name := range []string{"GOOGLE_CLOUD_PROJECT", "EFACTORI_ISSUER", "FRONTEND_ORIGINS", "OAUTH_CLIENT_SECRET", "TOKEN_KEYSET"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

// TestHandleUnconfigured checks the entry point of an instance whose configuration is broken:
// every request is a 503 problem (and is retried), never a panic or a half-built API.
func TestHandleUnconfigured(t *testing.T) {
	t.Parallel()
	for range 2 {
		rec := httptest.NewRecorder()
		connections.Handle(rec, httptest.NewRequest(http.MethodGet, "/v1/integration", nil))
		if got, want := rec.Code, http.StatusServiceUnavailable; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if got, want := rec.Header().Get("Content-Type"), problem.ContentType; got != want {
			t.Errorf("Content-Type = %q, want %q", got, want)
		}
	}
}
