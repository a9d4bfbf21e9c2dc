package driveemu

import (
	"github.com/efactori/drivesync/local/testclock"

	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

const (
	alice     = "alice@example.com"
	bob       = "bob@example.com"
	appClient = "app-client"
	other     = "other-client"
)

// Tokens known to the static authenticator of every test emulator.
const (
	tokAliceDrive    = "tok-alice-drive"
	tokAliceDriveUI  = "tok-alice-drive-ui"
	tokAliceFile     = "tok-alice-file"
	tokAliceOtherApp = "tok-alice-file-other-client"
	tokAliceReadonly = "tok-alice-readonly"
	tokAliceNoDrive  = "tok-alice-email-only"
	tokBobDrive      = "tok-bob-drive"
)

type staticAuth map[string]Principal

func (s staticAuth) Authenticate(_ context.Context, token string) (Principal, error) {
	p, ok := s[token]
	if !ok {
		return Principal{}, errors.New("unknown token")
	}
	return p, nil
}

var testAuth = staticAuth{
	tokAliceDrive:    {Account: alice, ClientID: appClient, Scopes: []string{ScopeDrive}},
	tokAliceDriveUI:  {Account: alice, ClientID: "drive-web-ui", Scopes: []string{ScopeDrive}},
	tokAliceFile:     {Account: alice, ClientID: appClient, Scopes: []string{ScopeDriveFile, "openid"}},
	tokAliceOtherApp: {Account: alice, ClientID: other, Scopes: []string{ScopeDriveFile}},
	tokAliceReadonly: {Account: alice, ClientID: appClient, Scopes: []string{ScopeDriveReadonly}},
	tokAliceNoDrive:  {Account: alice, ClientID: appClient, Scopes: []string{"email"}},
	tokBobDrive:      {Account: bob, ClientID: appClient, Scopes: []string{ScopeDrive}},
}

func newFakeClock() *testclock.Clock {
	return testclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
}

type env struct {
	emu   *Emulator
	srv   *httptest.Server
	clock *testclock.Clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, Options{})
}

func newEnvWith(t *testing.T, opts Options) *env {
	t.Helper()
	clock := newFakeClock()
	if opts.Accounts == nil {
		opts.Accounts = []Account{{Email: alice, DisplayName: "Alice"}, {Email: bob, DisplayName: "Bob"}}
	}
	opts.Auth = testAuth
	opts.Now = clock.Now
	emu, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	emu.SetBaseURL(srv.URL)
	return &env{emu: emu, srv: srv, clock: clock}
}

// service returns a real Drive client that sends token.
func (v *env) service(t *testing.T, token string) *drive.Service {
	t.Helper()
	svc, err := drive.NewService(context.Background(),
		option.WithEndpoint(v.srv.URL+"/drive/v3/"),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})))
	if err != nil {
		t.Fatalf("drive.NewService: %v", err)
	}
	return svc
}

// raw sends a request without the client library, for what it cannot express or hides.
func (v *env) raw(t *testing.T, method, path, token string, body io.Reader, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, v.srv.URL+path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, val := range header {
		req.Header.Set(k, val)
	}
	res, err := v.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return res, b
}

func (v *env) mkdir(t *testing.T, svc *drive.Service, name, parent string) *drive.File {
	t.Helper()
	f, err := svc.Files.Create(&drive.File{Name: name, MimeType: FolderMimeType, Parents: []string{parent}}).
		Fields("id,name,parents").Do()
	if err != nil {
		t.Fatalf("create folder %s: %v", name, err)
	}
	return f
}

func (v *env) upload(t *testing.T, svc *drive.Service, meta *drive.File, content []byte) *drive.File {
	t.Helper()
	f, err := svc.Files.Create(meta).Media(bytes.NewReader(content)).
		Fields("id,name,parents,size,md5Checksum,version,mimeType").Do()
	if err != nil {
		t.Fatalf("upload %s: %v", meta.Name, err)
	}
	return f
}

// apiReason returns the HTTP code and first reason of a Drive error.
func apiReason(t *testing.T, err error) (int, string) {
	t.Helper()
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v (%T) is not a *googleapi.Error", err, err)
	}
	if len(ge.Errors) == 0 {
		t.Fatalf("googleapi.Error without items: %v", ge)
	}
	return ge.Code, ge.Errors[0].Reason
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// pattern returns n deterministic, non-repeating-looking bytes.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return m
}

func names(files []*drive.File) []string {
	out := []string{}
	for _, f := range files {
		out = append(out, f.Name)
	}
	return out
}

func keys(m map[string]any) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}
