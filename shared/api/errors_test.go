package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/problem"
)

func TestProblemFor(t *testing.T) {
	t.Parallel()
	classified := func(c drivesync.Class, code string, after time.Duration) error {
		return fmt.Errorf("list folders: %w", &drivesync.ClassifiedError{Class: c, Code: code, RetryAfter: after, Err: errors.New("google said no")})
	}
	tests := []struct {
		name       string
		err        error
		status     int
		typ        string
		code       string
		connection string // the connectionId member
		limit      int    // the limit member
		retryAfter string
		pointers   []string
		logged     logAs
	}{
		{name: "not found", err: fmt.Errorf("get: %w", drivesync.ErrNotFound), status: 404, typ: "not-found"},
		{name: "conflict", err: fmt.Errorf("create: %w", drivesync.ErrConflict), status: 409, typ: "conflict"},
		{name: "name taken", err: fmt.Errorf("create: %w: a connection named \"x\" exists", drivesync.ErrNameTaken), status: 409, typ: "name-taken"},
		{name: "consent required", err: fmt.Errorf("folders: %w", drivesync.ErrConsentRequired), status: 409, typ: "consent-required"},
		{name: "grant lost", err: fmt.Errorf("folders: %w", drivesync.ErrGrantLost), status: 409, typ: "needs-reauthorization"},
		{name: "no target", err: fmt.Errorf("resync: %w", drivesync.ErrNoTarget), status: 409, typ: "no-target"},
		{name: "folder browsing", err: connection.ErrFolderBrowsingUnavailable, status: 409, typ: "folder-browsing-unavailable"},
		{name: "target in use", err: fmt.Errorf("set target: %w", &drivesync.TargetInUseError{FolderID: "1f", ConnectionID: "c9", ConnectionName: "Comptabilité"}),
			status: 409, typ: "target-in-use", connection: "c9"},
		{name: "connection limit", err: fmt.Errorf("create: %w", &drivesync.ConnectionLimitError{Limit: 20}),
			status: 409, typ: "connection-limit-reached", limit: 20},
		{name: "field errors", err: fmt.Errorf("update: %w: %w", drivesync.ErrConflict, errors.Join(
			&drivesync.FieldError{Field: "name", Reason: "is taken"},
			&drivesync.FieldError{Field: "target.folderId", Reason: "is gone"})),
			status: 400, typ: "validation", pointers: []string{"/name", "/target/folderId"}},
		{name: "needs reauthorization", err: classified(drivesync.NeedsReauthorization, "invalid_grant", 0), status: 409, typ: "needs-reauthorization"},
		{name: "needs reauthorization and conflict", err: fmt.Errorf("list: %w: %w", drivesync.ErrConflict,
			classified(drivesync.NeedsReauthorization, "invalid_grant", 0)), status: 409, typ: "needs-reauthorization"},
		{name: "needs customer", err: classified(drivesync.NeedsCustomer, "storageQuotaExceeded", 0), status: 422,
			typ: "drive-action-required", code: "storageQuotaExceeded"},
		{name: "needs customer unknown code", err: classified(drivesync.NeedsCustomer, "somethingNew", 0), status: 422,
			typ: "drive-action-required", code: "somethingNew"},
		{name: "retryable with delay", err: classified(drivesync.Retryable, "rateLimitExceeded", 1500*time.Millisecond), status: 503,
			typ: "drive-unavailable", retryAfter: "2", logged: logWarn},
		{name: "retryable without delay", err: classified(drivesync.Retryable, "backendError", 0), status: 503,
			typ: "drive-unavailable", retryAfter: "30", logged: logWarn},
		{name: "drive not found", err: fmt.Errorf("folder: %w", drivesync.Classify(drive.ErrNotFound, drivesync.Permanent, "notFound")),
			status: 404, typ: "not-found"},
		{name: "permanent", err: classified(drivesync.Permanent, "invalid_argument", 0), status: 500, typ: "internal", logged: logError},
		{name: "unknown", err: errors.New("firestore: deadline exceeded"), status: 500, typ: "internal", logged: logError},
		{name: "problem", err: problem.Forbidden, status: 403, typ: "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, logged := problemFor(tt.err)
			if got, want := logged, tt.logged; got != want {
				t.Errorf("logged as %d, want %d", got, want)
			}
			rec := httptest.NewRecorder()
			res.write(rec, httptest.NewRequest(http.MethodGet, "/v1/connections/abc", nil))
			if got, want := rec.Code, tt.status; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if got, want := rec.Header().Get("Content-Type"), problem.ContentType; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			if got, want := rec.Header().Get("Retry-After"), tt.retryAfter; got != want {
				t.Errorf("Retry-After = %q, want %q", got, want)
			}
			body := decodeProblem(t, rec.Body.Bytes())
			if got, want := body.Type, problem.TypeBase+tt.typ; got != want {
				t.Errorf("type = %q, want %q", got, want)
			}
			if got, want := body.Code, tt.code; got != want {
				t.Errorf("code = %q, want %q", got, want)
			}
			if got, want := body.ConnectionID, tt.connection; got != want {
				t.Errorf("connectionId = %q, want %q", got, want)
			}
			if got, want := body.Limit, tt.limit; got != want {
				t.Errorf("limit = %d, want %d", got, want)
			}
			if got, want := body.Instance, "/v1/connections/abc"; got != want {
				t.Errorf("instance = %q, want %q", got, want)
			}
			var ptrs []string
			for _, f := range body.Errors {
				ptrs = append(ptrs, f.Pointer)
			}
			if diff := cmp.Diff(tt.pointers, ptrs); diff != "" {
				t.Errorf("pointers (-want +got):\n%s", diff)
			}
			if body.Status != tt.status || body.Title == "" || body.Detail == "" {
				t.Errorf("problem %+v lacks status, title or detail", body)
			}
		})
	}
}
