package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/efactori/drivesync/shared/drivesync"
)

// A shared drive or folder that is full, and an administrator who blocked Drive apps, are the
// customer's to fix: 422 drive-action-required with a sentence saying what to do, not the
// generic one. The project's daily quota is drivesync's: 503, retry later.
func TestDriveReasonsTheCustomerCanFix(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		code   string
		class  drivesync.Class
		status int
		detail string // a part of the detail
	}{
		{"teamDriveFileLimitExceeded", drivesync.NeedsCustomer, http.StatusUnprocessableEntity, "shared drive holds as many files"},
		{"numChildrenInNonRootLimitExceeded", drivesync.NeedsCustomer, http.StatusUnprocessableEntity, "folder holds as many items"},
		{"domainPolicy", drivesync.NeedsCustomer, http.StatusUnprocessableEntity, "administrator"},
		{"dailyLimitExceeded", drivesync.Retryable, http.StatusServiceUnavailable, ""},
	} {
		res, _ := problemFor(&drivesync.ClassifiedError{Class: tt.class, Code: tt.code, Err: errors.New("google said no")})
		rec := httptest.NewRecorder()
		res.write(rec, httptest.NewRequest(http.MethodGet, "/v1/connections/abc/folders", nil))
		if rec.Code != tt.status {
			t.Errorf("%s: status %d, want %d", tt.code, rec.Code, tt.status)
			continue
		}
		body := decodeProblem(t, rec.Body.Bytes())
		if !strings.Contains(body.Detail, tt.detail) {
			t.Errorf("%s: detail %q, want it to say %q", tt.code, body.Detail, tt.detail)
		}
		if tt.class == drivesync.NeedsCustomer && body.Code != tt.code {
			t.Errorf("%s: code member %q", tt.code, body.Code)
		}
	}
}
