package googleemu

import (
	"github.com/efactori/drivesync/local/testclock"

	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/local/googleemu/oauthemu"
	"golang.org/x/oauth2"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

const (
	clientID     = "42-drivesync.apps.googleusercontent.com"
	clientSecret = "GOCSPX-test"
	redirectURL  = "http://127.0.0.1:9/oauth/callback" // never contacted
	alice        = "alice@example.com"
)

type stack struct {
	emu *Emulator
	ts  *httptest.Server
	cfg *oauth2.Config
	ctx context.Context
}

func newStack(t *testing.T) *stack {
	t.Helper()
	clock := testclock.New(time.Now().Truncate(time.Second))
	emu, err := New(Options{
		Accounts: []Account{{Email: alice, DisplayName: "Alice Example"}},
		Clients:  []oauthemu.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
		Now:      clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(emu.Handler())
	t.Cleanup(ts.Close)
	if err := emu.SetBaseURL(ts.URL); err != nil {
		t.Fatalf("SetBaseURL: %v", err)
	}
	return &stack{
		emu: emu,
		ts:  ts,
		cfg: &oauth2.Config{
			ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
			Endpoint: emu.OAuth.Endpoint(),
		},
		ctx: context.WithValue(t.Context(), oauth2.HTTPClient, ts.Client()),
	}
}

// login runs the real code flow with PKCE through the consent page.
func (s *stack) login(t *testing.T, scopes ...string) *oauth2.Token {
	t.Helper()
	s.cfg.Scopes = scopes
	v := oauth2.GenerateVerifier()
	loc, err := s.emu.OAuth.Consent(s.ctx, s.cfg.AuthCodeURL("st", oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(v)), alice, true)
	if err != nil {
		t.Fatalf("Consent: %v", err)
	}
	tok, err := s.cfg.Exchange(s.ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok
}

func (s *stack) drive(t *testing.T, tok *oauth2.Token) *drive.Service {
	t.Helper()
	svc, err := drive.NewService(s.ctx,
		option.WithHTTPClient(oauth2.NewClient(s.ctx, s.cfg.TokenSource(s.ctx, tok))),
		option.WithEndpoint(s.emu.DriveEndpoint()))
	if err != nil {
		t.Fatalf("drive.NewService: %v", err)
	}
	return svc
}

func apiCode(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

func TestOAuthFlowThenDriveThenRevoke(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tok := s.login(t, driveemu.ScopeDriveFile)
	svc := s.drive(t, tok)

	const content = "%PDF-1.7 invoice 2026-0001"
	f, err := svc.Files.Create(&drive.File{Name: "F-2026-0001.pdf", MimeType: "application/pdf"}).
		Media(strings.NewReader(content)).Fields("id", "name").Context(s.ctx).Do()
	if err != nil {
		t.Fatalf("files.create: %v", err)
	}
	got, err := s.emu.Drive.Content(alice, f.Id)
	if err != nil {
		t.Fatalf("Content: %v", err)
	}
	if string(got) != content {
		t.Errorf("stored content = %q, want %q", got, content)
	}
	if _, err := svc.Files.Get(f.Id).Context(s.ctx).Do(); err != nil {
		t.Fatalf("files.get before revocation: %v", err)
	}

	resp, err := s.ts.Client().PostForm(s.emu.OAuth.RevokeURL(), url.Values{"token": {tok.RefreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("revoke status = %d, want %d", got, want)
	}

	// The client still holds an access token it thinks is valid; Drive must refuse it.
	_, err = svc.Files.Get(f.Id).Context(s.ctx).Do()
	if got, want := apiCode(err), http.StatusUnauthorized; got != want {
		t.Errorf("files.get after revocation: error %v, want HTTP %d", err, want)
	}
	_, err = s.cfg.TokenSource(s.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("refresh after revocation: error %v, want invalid_grant", err)
	}
}

func TestDriveSeesGrantedScopes(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tok := s.login(t, "email") // no Drive scope
	_, err := s.drive(t, tok).Files.List().Context(s.ctx).Do()
	if got, want := apiCode(err), http.StatusForbidden; got != want {
		t.Errorf("files.list without a Drive scope: error %v, want HTTP %d", err, want)
	}
}

func TestHandlerRoutes(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/.well-known/openid-configuration", http.StatusOK, `"token_endpoint"`},
		{"/oauth2/v3/certs", http.StatusOK, `"keys"`},
		{"/drive/v3/files", http.StatusUnauthorized, `"Login Required`},
		{"/oauth2/v3/userinfo", http.StatusUnauthorized, `"invalid_request"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			resp, err := s.ts.Client().Get(s.ts.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := resp.StatusCode, tt.wantStatus; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body %q lacks %q", body, tt.wantBody)
			}
		})
	}
}

func TestAuthenticatorMapsGrant(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tok := s.login(t, driveemu.ScopeDrive)
	a := Authenticator{OAuth: s.emu.OAuth}
	p, err := a.Authenticate(t.Context(), tok.AccessToken)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if p.Account != alice || p.ClientID != clientID || len(p.Scopes) != 1 || p.Scopes[0] != driveemu.ScopeDrive {
		t.Errorf("principal = %+v", p)
	}
	if _, err := a.Authenticate(t.Context(), "ya29.forged"); !errors.Is(err, oauthemu.ErrInvalidToken) {
		t.Errorf("forged token: error = %v, want ErrInvalidToken", err)
	}
}
