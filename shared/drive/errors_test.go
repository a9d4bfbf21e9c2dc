package drive

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/shared/drivesync"
)

// assertNoToken fails when err's message shows either token of tok.
func assertNoToken(t *testing.T, err error, tok *oauth2.Token) {
	t.Helper()
	if err == nil {
		return
	}
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken} {
		if secret != "" && strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains a token", err)
		}
	}
}

func TestClassifiesDriveFailures(t *testing.T) {
	t.Parallel()
	about := func(ctx context.Context, c *Client) error { _, err := c.About(ctx); return err }
	create := func(ctx context.Context, c *Client) error {
		_, err := c.CreateFolder(ctx, RootID, "New", nil)
		return err
	}
	fail := func(method string, n int, kind driveemu.FaultKind) func(t *testing.T, s *stack) {
		return func(t *testing.T, s *stack) {
			if err := s.emu.Drive.FailNext(method, n, driveemu.Fault{Kind: kind, Delay: time.Minute}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name    string
		arrange func(t *testing.T, s *stack)
		timeout time.Duration // for the call; 0 = none
		call    func(ctx context.Context, c *Client) error
		want    class
	}{
		{"500 backendError", fail("about.get", 1, driveemu.FaultBackendError500), 0, about,
			class{drivesync.Retryable, "backendError"}},
		{"503 backendError", fail("about.get", 1, driveemu.FaultBackendError503), 0, about,
			class{drivesync.Retryable, "backendError"}},
		{"500 internalError", fail("about.get", 1, driveemu.FaultInternalError), 0, about,
			class{drivesync.Retryable, "internalError"}},
		{"429 rateLimitExceeded", fail("files.list", 1, driveemu.FaultRateLimit429), 0,
			func(ctx context.Context, c *Client) error {
				_, err := c.ListFolders(ctx, "", RootID, "", 10)
				return err
			},
			class{drivesync.Retryable, "rateLimitExceeded"}},
		{"403 rateLimitExceeded", fail("files.get", 1, driveemu.FaultRateLimit403), 0,
			func(ctx context.Context, c *Client) error { _, err := c.CheckTarget(ctx, RootID); return err },
			class{drivesync.Retryable, "rateLimitExceeded"}},
		{"403 userRateLimitExceeded", fail("files.create", 1, driveemu.FaultUserRateLimit), 0, create,
			class{drivesync.Retryable, "userRateLimitExceeded"}},
		{"403 storageQuotaExceeded", fail("files.create", 1, driveemu.FaultStorageQuotaExceeded), 0, create,
			class{drivesync.NeedsCustomer, "storageQuotaExceeded"}},
		// What only the customer can fix (a folder or shared drive full, an administrator who
		// disabled Drive apps), and the project's daily quota, which is waited out.
		{"403 numChildrenInNonRootLimitExceeded", fail("files.create", 1, driveemu.FaultFolderChildLimit), 0, create,
			class{drivesync.NeedsCustomer, "numChildrenInNonRootLimitExceeded"}},
		{"403 teamDriveFileLimitExceeded", fail("files.create", 1, driveemu.FaultSharedDriveFileLimit), 0, create,
			class{drivesync.NeedsCustomer, "teamDriveFileLimitExceeded"}},
		{"403 domainPolicy", fail("files.list", 1, driveemu.FaultDomainPolicy), 0,
			func(ctx context.Context, c *Client) error { _, err := c.FolderTree(ctx, "", RootID); return err },
			class{drivesync.NeedsCustomer, "domainPolicy"}},
		{"403 dailyLimitExceeded", fail("files.create", 1, driveemu.FaultDailyLimit), 0, create,
			class{drivesync.Retryable, "dailyLimitExceeded"}},
		// Go's transport resends an idempotent request once on a reused connection that was
		// reset, so the fault has to outlast that.
		{"connection reset", fail("drives.list", 5, driveemu.FaultConnectionReset), 0,
			func(ctx context.Context, c *Client) error { _, err := c.SharedDrives(ctx, ""); return err },
			class{drivesync.Retryable, CodeNetwork}},
		{"timeout", fail("files.generateIds", 1, driveemu.FaultSlow), 100 * time.Millisecond,
			func(ctx context.Context, c *Client) error { _, err := c.GenerateIDs(ctx, 3); return err },
			class{drivesync.Retryable, CodeTimeout}},
		{
			name: "write rate exceeded",
			arrange: func(t *testing.T, s *stack) {
				if err := s.emu.Drive.SetWriteRate(alice, 0.001, 1); err != nil {
					t.Fatal(err)
				}
			},
			call: func(ctx context.Context, c *Client) error {
				if err := create(ctx, c); err != nil {
					return errors.New("the first create should pass")
				}
				return create(ctx, c)
			},
			want: class{drivesync.Retryable, "userRateLimitExceeded"},
		},
		{
			name:    "folder full",
			arrange: func(t *testing.T, s *stack) { s.emu.Drive.SetFolderChildLimit(1) },
			call: func(ctx context.Context, c *Client) error {
				f, err := c.CreateFolder(ctx, RootID, "Full", nil)
				if err != nil {
					return errors.New("the parent should be created")
				}
				if _, err := c.CreateFolder(ctx, f.ID, "one", nil); err != nil {
					return errors.New("the first child should be created")
				}
				_, err = c.CreateFolder(ctx, f.ID, "two", nil)
				return err
			},
			want: class{drivesync.NeedsCustomer, "numChildrenInNonRootLimitExceeded"},
		},
		{
			name: "bad page token",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.ListFolders(ctx, "", RootID, "not-a-token", 10)
				return err
			},
			want: class{drivesync.Permanent, "invalid"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			c, tok := s.client(t)
			if tt.arrange != nil {
				tt.arrange(t, s)
			}
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			err := tt.call(ctx, c)
			if got := classOf(err); got != tt.want {
				t.Errorf("error %v is %+v, want %+v", err, got, tt.want)
			}
			assertNoToken(t, err, tok)
		})
	}
}

func TestNarrowScopeNeedsReauthorization(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	// drive.file cannot list shared drives; the customer must grant more.
	tok := s.login(t, driveemu.ScopeDriveFile)
	c := s.clientFor(t, s.config(driveemu.ScopeDriveFile).TokenSource(s.ctx, tok))
	_, err := c.SharedDrives(t.Context(), "")
	if got, want := classOf(err), (class{drivesync.NeedsReauthorization, "insufficientPermissions"}); got != want {
		t.Errorf("error %v is %+v, want %+v", err, got, want)
	}
}

// tokenFunc adapts a function to oauth2.TokenSource.
type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }

func TestRevokedGrantNeedsReauthorization(t *testing.T) {
	t.Parallel()
	deadGrant := drivesync.Classify(errors.New("refresh access token of connection c1: no refresh token stored"),
		drivesync.NeedsReauthorization, "no_refresh_token")
	tests := []struct {
		name string
		// source returns the token source the client uses after the grant was revoked.
		source func(s *stack, tok *oauth2.Token) oauth2.TokenSource
		want   class
		is     error // must stay reachable with errors.Is
	}{
		{
			name: "access token still held",
			source: func(s *stack, tok *oauth2.Token) oauth2.TokenSource {
				return s.config(driveemu.ScopeDrive).TokenSource(s.ctx, tok)
			},
			want: class{drivesync.NeedsReauthorization, "authError"},
		},
		{
			name: "refresh refused",
			source: func(s *stack, tok *oauth2.Token) oauth2.TokenSource {
				return s.config(driveemu.ScopeDrive).TokenSource(s.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken})
			},
			want: class{drivesync.NeedsReauthorization, "invalid_grant"},
		},
		{
			name: "token source classified it",
			source: func(*stack, *oauth2.Token) oauth2.TokenSource {
				return tokenFunc(func() (*oauth2.Token, error) { return nil, deadGrant })
			},
			want: class{drivesync.NeedsReauthorization, "no_refresh_token"},
			is:   deadGrant,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			_, tok := s.client(t)
			s.emu.OAuth.RevokeAll(alice, clientID)
			c := s.clientFor(t, tt.source(s, tok))
			_, err := c.ListFolders(t.Context(), "", RootID, "", 10)
			if got := classOf(err); got != tt.want {
				t.Errorf("error %v is %+v, want %+v", err, got, tt.want)
			}
			if got := drivesync.ClassOf(err); got != drivesync.NeedsReauthorization {
				t.Errorf("ClassOf(%v) = %v, want %v", err, got, drivesync.NeedsReauthorization)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			assertNoToken(t, err, tok)
		})
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	c := &Client{now: func() time.Time { return now }}
	apiErr := func(code int, reason string, header http.Header) error {
		e := &googleapi.Error{Code: code, Message: "m", Header: header}
		if reason != "" {
			e.Errors = []googleapi.ErrorItem{{Reason: reason, Message: "m"}}
		}
		return e
	}
	refreshErr := func(status int, code string) error {
		return &url.Error{Op: "Get", URL: "https://www.googleapis.com/drive/v3/files", Err: &oauth2.RetrieveError{
			Response: &http.Response{StatusCode: status}, Body: []byte(`{"error":"` + code + `"}`), ErrorCode: code}}
	}
	already := drivesync.Classify(errors.New("load token"), drivesync.Retryable, "firestore_unavailable")

	type result struct {
		Class      drivesync.Class
		Code       string
		RetryAfter time.Duration
		NotFound   bool
	}
	tests := []struct {
		name string
		err  error
		want result
	}{
		{"429 with Retry-After seconds", apiErr(429, "rateLimitExceeded", http.Header{"Retry-After": {"7"}}),
			result{drivesync.Retryable, "rateLimitExceeded", 7 * time.Second, false}},
		{"503 with Retry-After date", apiErr(503, "backendError", http.Header{"Retry-After": {now.Add(30 * time.Second).Format(http.TimeFormat)}}),
			result{drivesync.Retryable, "backendError", 30 * time.Second, false}},
		{"Retry-After in the past", apiErr(503, "backendError", http.Header{"Retry-After": {now.Add(-time.Hour).Format(http.TimeFormat)}}),
			result{drivesync.Retryable, "backendError", 0, false}},
		{"Retry-After absurd", apiErr(429, "", http.Header{"Retry-After": {"9227000000"}}),
			result{drivesync.Retryable, "http_429", maxRetryAfter, false}},
		{"Retry-After garbage", apiErr(429, "", http.Header{"Retry-After": {"soon"}}),
			result{drivesync.Retryable, "http_429", 0, false}},
		{"502 without a body", apiErr(502, "", nil), result{drivesync.Retryable, "http_502", 0, false}},
		{"403 userRateLimitExceeded", apiErr(403, "userRateLimitExceeded", nil),
			result{drivesync.Retryable, "userRateLimitExceeded", 0, false}},
		{"401", apiErr(401, "authError", nil), result{drivesync.NeedsReauthorization, "authError", 0, false}},
		{"403 insufficientFilePermissions", apiErr(403, "insufficientFilePermissions", nil),
			result{drivesync.NeedsCustomer, "insufficientFilePermissions", 0, false}},
		{"403 storageQuotaExceeded", apiErr(403, "storageQuotaExceeded", nil),
			result{drivesync.NeedsCustomer, "storageQuotaExceeded", 0, false}},
		{"403 numChildrenInNonRootLimitExceeded", apiErr(403, "numChildrenInNonRootLimitExceeded", nil),
			result{drivesync.NeedsCustomer, "numChildrenInNonRootLimitExceeded", 0, false}},
		{"404", apiErr(404, "notFound", nil), result{drivesync.Permanent, "notFound", 0, true}},
		{"400", apiErr(400, "invalid", nil), result{drivesync.Permanent, "invalid", 0, false}},
		{"409", apiErr(409, "fileIdInUse", nil), result{drivesync.Permanent, "fileIdInUse", 0, false}},
		{"refresh invalid_grant", refreshErr(400, "invalid_grant"),
			result{drivesync.NeedsReauthorization, "invalid_grant", 0, false}},
		{"refresh 503", refreshErr(503, ""), result{drivesync.Retryable, "http_503", 0, false}},
		{"refresh invalid_client", refreshErr(401, "invalid_client"),
			result{drivesync.Permanent, "invalid_client", 0, false}},
		{"connection reset", &url.Error{Op: "Get", URL: "https://x", Err: syscall.ECONNRESET},
			result{drivesync.Retryable, CodeNetwork, 0, false}},
		{"cut body", io.ErrUnexpectedEOF, result{drivesync.Retryable, CodeNetwork, 0, false}},
		{"deadline", context.DeadlineExceeded, result{drivesync.Retryable, CodeTimeout, 0, false}},
		{"canceled", context.Canceled, result{drivesync.Retryable, CodeCanceled, 0, false}},
		{"unknown", errors.New("json: cannot unmarshal"), result{drivesync.Permanent, CodeUnexpected, 0, false}},
		{"already classified", &url.Error{Op: "Get", URL: "https://x", Err: already},
			result{drivesync.Retryable, "firestore_unavailable", 0, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := c.classify("op", tt.err)
			var ce *drivesync.ClassifiedError
			if !errors.As(err, &ce) {
				t.Fatalf("classify(%v) = %v, not classified", tt.err, err)
			}
			got := result{ce.Class, ce.Code, ce.RetryAfter, errors.Is(err, ErrNotFound)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("classify(%v) (-want +got):\n%s", tt.err, diff)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("classify(%v) = %v, which does not wrap the original", tt.err, err)
			}
			if !strings.HasPrefix(err.Error(), "op: ") {
				t.Errorf("message %q does not start with the operation", err)
			}
		})
	}
	if err := c.classify("op", nil); err != nil {
		t.Errorf("classify(nil) = %v, want nil", err)
	}
}

// FuzzRetryAfter feeds Retry-After values as a server could send them: the wait must never be
// negative, and a plain number of seconds must be taken as is.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "0", "7", "-3", "soon", "Fri, 27 Nov 2026 12:00:30 GMT", " 12 ", "99999999999999999999"} {
		f.Add(s)
	}
	c := &Client{now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, v string) {
		d := c.retryAfter(http.Header{"Retry-After": {v}})
		if d < 0 {
			t.Fatalf("retryAfter(%q) = %v, want >= 0", v, d)
		}
	})
}
