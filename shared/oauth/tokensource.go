package oauth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/efactori/drivesync/shared/drivesync"
)

// Persister stores a connection's token when Google rotates its refresh token.
type Persister interface {
	// SaveToken stores tok, whose RefreshToken replaces the connection's stored one. Errors
	// should be classified by the store; they are passed on from the token source unchanged
	// but for context.
	SaveToken(ctx context.Context, connectionID string, tok *oauth2.Token) error
}

// expiryMargin is how long before its expiry an access token is replaced, so that a Drive
// request started with it does not find it expired on arrival.
const expiryMargin = time.Minute

// TokenSource returns the access tokens for one connection, refreshed from the stored refresh
// token when the current access token is missing or about to expire. stored is the
// connection's token as stored; its access token is reused while valid. ctx carries the
// refreshes and saves and must live as long as the source is used.
//
// Concurrent calls share one refresh. When Google answers a refresh with a new refresh token,
// the source saves it with persist before returning the new access token; if that save fails,
// the source keeps the new token and tries the save again on the next call.
//
// Token's errors: drivesync.NeedsReauthorization with code invalid_grant when Google says the
// grant is gone (revoked, expired, or the customer removed the app), or no_refresh_token when
// stored holds none; both stick, so a dead grant is not asked about again.
// drivesync.Retryable for Google's 5xx and 429 and network failures; drivesync.Permanent for
// other refusals (a misconfigured client); the Persister's own errors from a failed save.
//
// TokenSource panics if persist is nil: that is a wiring mistake, not a runtime condition.
//
// It does not use oauth2.ReuseTokenSource, which decides validity by the wall clock: this one
// uses the Config's clock, so expiry can be tested without waiting.
func (c *Config) TokenSource(ctx context.Context, connectionID string, stored *oauth2.Token, persist Persister) oauth2.TokenSource {
	if persist == nil {
		panic("oauth: TokenSource: nil Persister")
	}
	s := &tokenSource{cfg: c, ctx: ctx, connectionID: connectionID, persist: persist}
	if stored == nil || stored.RefreshToken == "" {
		s.err = drivesync.Classify(fmt.Errorf("refresh access token of connection %s: no refresh token stored", connectionID),
			drivesync.NeedsReauthorization, CodeNoRefreshToken)
		return s
	}
	t := *stored
	s.tok = &t
	return s
}

type tokenSource struct {
	cfg          *Config
	ctx          context.Context
	connectionID string
	persist      Persister

	mu      sync.Mutex // held across refreshes, so concurrent callers wait for one
	tok     *oauth2.Token
	unsaved bool  // tok holds a rotated refresh token not yet persisted
	err     error // a grant found dead; every later call returns it
}

// Token implements oauth2.TokenSource.
func (s *tokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	if !s.valid() {
		if err := s.refresh(); err != nil {
			return nil, err
		}
	}
	if s.unsaved {
		if err := s.persist.SaveToken(s.ctx, s.connectionID, s.copy()); err != nil {
			return nil, fmt.Errorf("save rotated refresh token of connection %s: %w", s.connectionID, err)
		}
		s.unsaved = false
	}
	return s.copy(), nil
}

// copy keeps callers from changing the cached token.
func (s *tokenSource) copy() *oauth2.Token {
	t := *s.tok
	return &t
}

func (s *tokenSource) valid() bool {
	t := s.tok
	if t.AccessToken == "" {
		return false
	}
	return t.Expiry.IsZero() || s.cfg.now().Add(expiryMargin).Before(t.Expiry)
}

func (s *tokenSource) refresh() error {
	old := s.tok.RefreshToken
	// A fresh x/oauth2 source holding only the refresh token refreshes on its first call.
	tok, err := s.cfg.oauth2.TokenSource(s.cfg.httpContext(s.ctx), &oauth2.Token{RefreshToken: old}).Token()
	if err != nil {
		err = classifyToken("refresh access token of connection "+s.connectionID, err, drivesync.NeedsReauthorization)
		if drivesync.ClassOf(err) == drivesync.NeedsReauthorization {
			s.err = err
		}
		return err
	}
	if tok.RefreshToken == "" { // x/oauth2 fills it in already; do not depend on that
		tok.RefreshToken = old
	}
	tok.Expiry = s.cfg.expiry(tok)
	if tok.RefreshToken != old {
		s.unsaved = true
	}
	s.tok = tok
	return nil
}
