package oauth

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/efactori/drivesync/shared/drivesync"
)

func TestTokenSourceRefreshesAfterTTL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.connect(t, alice)
	p := &recordingPersister{}
	ts := e.cfg.TokenSource(e.ctx, "conn-1", g.Token(), p)

	// The stored access token is still good: no refresh.
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok.AccessToken != g.AccessToken {
		t.Error("a valid stored access token was replaced")
	}
	if got := e.refreshes.Load(); got != 0 {
		t.Errorf("refreshes = %d before expiry, want 0", got)
	}

	// Just inside the safety margin before expiry the token is replaced already.
	e.clock.Advance(testTTL - expiryMargin + time.Second)
	tok, err = ts.Token()
	if err != nil {
		t.Fatalf("Token after the TTL: %v", err)
	}
	if tok.AccessToken == g.AccessToken {
		t.Fatal("access token not refreshed near its expiry")
	}
	if got, want := e.refreshes.Load(), int64(1); got != want {
		t.Errorf("refreshes = %d, want %d", got, want)
	}
	if got, want := tok.Expiry, e.clock.Now().Add(testTTL); !got.Equal(want) {
		t.Errorf("expiry = %v, want %v (by the injected clock)", got, want)
	}
	if got, want := tok.RefreshToken, g.RefreshToken; got != want {
		t.Error("refresh token changed although Google did not rotate it")
	}

	// The new token works; once the old one's hour is up it does not.
	e.clock.Advance(expiryMargin)
	eg, err := e.emu.Authenticate(e.ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("Authenticate(refreshed token): %v", err)
	}
	if got, want := eg.Account, alice; got != want {
		t.Errorf("refreshed token account = %q, want %q", got, want)
	}
	if _, err := e.emu.Authenticate(e.ctx, g.AccessToken); err == nil {
		t.Error("the expired access token still authenticates")
	}

	// Nothing was rotated, so nothing was saved.
	if got := p.Saved(); len(got) != 0 {
		t.Errorf("saved %d tokens without a rotation", len(got))
	}
}

func TestTokenSourceRefreshesOnceForManyCallers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.connect(t, alice)
	ts := e.cfg.TokenSource(e.ctx, "conn-1", &oauth2.Token{RefreshToken: g.RefreshToken}, &recordingPersister{})

	const callers = 32
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		tokens = make([]string, callers)
		errs   = make([]error, callers)
	)
	for i := range callers {
		wg.Go(func() {
			<-start
			tok, err := ts.Token()
			errs[i] = err
			if err == nil {
				tokens[i] = tok.AccessToken
			}
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Token: %v", err)
	}
	for i, tok := range tokens {
		if tok != tokens[0] {
			t.Errorf("caller %d got another access token", i)
		}
	}
	if got, want := e.refreshes.Load(), int64(1); got != want {
		t.Errorf("refreshes = %d, want %d", got, want)
	}
}

func TestTokenSourceGrantGone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.connect(t, alice)
	ts := e.cfg.TokenSource(e.ctx, "conn-1", g.Token(), &recordingPersister{})

	e.emu.RevokeAll(alice, testClientID) // the customer removed drivesync from their account
	e.clock.Advance(testTTL)
	_, err := ts.Token()
	classified(t, err, drivesync.NeedsReauthorization, CodeInvalidGrant)
	noSecrets(t, err, g.RefreshToken, g.AccessToken)
	if !strings.Contains(err.Error(), "conn-1") {
		t.Errorf("error %q does not name the connection", err)
	}

	// A dead grant is not asked about again.
	_, err2 := ts.Token()
	classified(t, err2, drivesync.NeedsReauthorization, CodeInvalidGrant)
	if got, want := e.refreshes.Load(), int64(1); got != want {
		t.Errorf("refreshes = %d, want %d", got, want)
	}
}

func TestTokenSourceTransientFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.connect(t, alice)
	ts := e.cfg.TokenSource(e.ctx, "conn-1", &oauth2.Token{RefreshToken: g.RefreshToken}, &recordingPersister{})

	for _, status := range []int32{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		e.failToken.Store(status)
		_, err := ts.Token()
		classified(t, err, drivesync.Retryable, "internal_failure")
		noSecrets(t, err, g.RefreshToken)
	}

	// Google recovers; so does the source.
	e.failToken.Store(0)
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("Token after recovery: %v", err)
	}
	if _, err := e.emu.Authenticate(e.ctx, tok.AccessToken); err != nil {
		t.Errorf("Authenticate: %v", err)
	}

	// No answer at all is retryable too.
	p := e.provider()
	p.Endpoint.TokenURL = "http://127.0.0.1:1/token"
	cfg, err := New(Options{ClientID: testClientID, ClientSecret: testClientSecret, RedirectURL: testRedirect, Provider: p, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.TokenSource(e.ctx, "conn-1", &oauth2.Token{RefreshToken: g.RefreshToken}, &recordingPersister{}).Token()
	classified(t, err, drivesync.Retryable, CodeNetwork)
	noSecrets(t, err, g.RefreshToken)
}

func TestTokenSourceWithoutRefreshToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for name, stored := range map[string]*oauth2.Token{
		"nil":               nil,
		"access token only": {AccessToken: "ya29.only", Expiry: e.clock.Now().Add(time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := e.cfg.TokenSource(e.ctx, "conn-1", stored, &recordingPersister{}).Token()
			classified(t, err, drivesync.NeedsReauthorization, CodeNoRefreshToken)
		})
	}
}

func TestTokenSourcePersistsRotatedRefreshToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.connect(t, alice)
	e.rotate.Store(true)
	p := &recordingPersister{failFirst: 1}
	ts := e.cfg.TokenSource(e.ctx, "conn-7", &oauth2.Token{RefreshToken: g.RefreshToken}, p)

	// The first save fails: the caller hears of it, in the store's own class.
	_, err := ts.Token()
	if got, want := drivesync.ClassOf(err), drivesync.Retryable; got != want {
		t.Fatalf("Token with the store down: class %s (%v), want %s", got, err, want)
	}
	if !errors.Is(err, errStoreDown) {
		t.Errorf("error %q does not wrap the store's error", err)
	}
	noSecrets(t, err, g.RefreshToken, "1//rotated")

	// The next call saves the token it kept, without asking Google again.
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if got, want := e.refreshes.Load(), int64(1); got != want {
		t.Errorf("refreshes = %d, want %d", got, want)
	}
	if !strings.HasPrefix(tok.RefreshToken, "1//rotated-1-") {
		t.Errorf("token carries refresh token %q..., want the rotated one", tok.RefreshToken[:8])
	}
	want := []savedToken{{ConnectionID: "conn-7", RefreshToken: tok.RefreshToken, AccessToken: tok.AccessToken}}
	if diff := cmp.Diff(want, p.Saved()); diff != "" {
		t.Errorf("saved (-want +got):\n%s", diff)
	}

	// The next refresh presents the rotated token, and saves the next one.
	e.clock.Advance(testTTL)
	tok2, err := ts.Token()
	if err != nil {
		t.Fatalf("Token with the rotated refresh token: %v", err)
	}
	if !strings.HasPrefix(tok2.RefreshToken, "1//rotated-2-") {
		t.Error("second rotation not picked up")
	}
	if got, want := len(p.Saved()), 2; got != want {
		t.Fatalf("saves = %d, want %d", got, want)
	}
	if _, err := e.emu.Authenticate(e.ctx, tok2.AccessToken); err != nil {
		t.Errorf("Authenticate: %v", err)
	}
}

func TestTokenSourceReturnsCopies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.connect(t, alice)
	stored := g.Token()
	ts := e.cfg.TokenSource(e.ctx, "conn-1", stored, &recordingPersister{})
	stored.AccessToken = "changed by the caller after the fact"
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	tok.AccessToken = "changed by a caller"
	again, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := again.AccessToken, g.AccessToken; got != want {
		t.Error("the source's cached token was changed through a caller's copy")
	}
}

func TestTokenSourceRejectsNilPersister(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	defer func() {
		if recover() == nil {
			t.Error("TokenSource with a nil Persister did not panic")
		}
	}()
	e.cfg.TokenSource(e.ctx, "conn-1", &oauth2.Token{RefreshToken: "1//x"}, nil)
}

// drive stands in for the Drive API: it accepts requests whose bearer token the emulator knows.
func (e *env) drive(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "no bearer token", http.StatusUnauthorized)
			return
		}
		g, err := e.emu.Authenticate(r.Context(), tok)
		if err != nil {
			http.Error(w, "invalid credentials", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, g.Account)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestDriveClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	drive := e.drive(t)
	g := e.connect(t, alice)
	c := DriveClient(e.cfg.TokenSource(e.ctx, "conn-1", &oauth2.Token{RefreshToken: g.RefreshToken}, &recordingPersister{}), nil)

	get := func() (string, error) {
		req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, drive.URL+"/drive/v3/about", nil)
		if err != nil {
			return "", err
		}
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
		}
		return string(b), err
	}

	for range 3 {
		got, err := get()
		if err != nil {
			t.Fatalf("Drive call: %v", err)
		}
		if got != alice {
			t.Errorf("Drive saw account %q, want %q", got, alice)
		}
	}
	if got, want := e.refreshes.Load(), int64(1); got != want {
		t.Errorf("refreshes = %d over three calls, want %d", got, want)
	}

	// After expiry the client refreshes on its own.
	e.clock.Advance(testTTL)
	if _, err := get(); err != nil {
		t.Fatalf("Drive call after expiry: %v", err)
	}
	if got, want := e.refreshes.Load(), int64(2); got != want {
		t.Errorf("refreshes = %d, want %d", got, want)
	}

	// A dead grant reaches the caller classified, through net/http's *url.Error.
	e.emu.RevokeAll(alice, testClientID)
	e.clock.Advance(testTTL)
	_, err := get()
	classified(t, err, drivesync.NeedsReauthorization, CodeInvalidGrant)
	noSecrets(t, err, g.RefreshToken, g.AccessToken)
}
