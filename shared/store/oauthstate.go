package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/efactori/drivesync/shared/drivesync"
)

// OAuthStateTTL is how long a consent may take: an OAuth state older than this is refused.
const OAuthStateTTL = 10 * time.Minute

// OAuthStartWindow is how long after it was issued a consent's authorization link may be opened
// (BindOAuthState). The frontend opens it as soon as the API returns it; a link kept unopened,
// perhaps to be forwarded to someone else's browser, stops working soon.
const OAuthStartWindow = 2 * time.Minute

// OAuthState is what drivesync remembers between sending a browser to Google's consent page and
// Google sending it back: which connection the consent is for, the PKCE verifier, encrypted
// (tokencrypt, associated data = StateID of the state), and which browser opened the consent's
// authorization link.
type OAuthState struct {
	CompanyID    string
	ConnectionID string
	Verifier     []byte
	// Started says the authorization link was opened (BindOAuthState): the state is bound to
	// the secret that browser keeps, whose hash alone is stored.
	Started   bool
	CreatedAt time.Time
	// ExpireAt is CreatedAt + OAuthStateTTL. Firestore's TTL policy on this field deletes the
	// document eventually (within a day or so), so expiry is also checked on use.
	ExpireAt time.Time
}

type oauthStateDoc struct {
	CompanyID    string `firestore:"companyId"`
	ConnectionID string `firestore:"connectionId"`
	Verifier     []byte `firestore:"verifier"`
	// BrowserHash is the SHA-256 of the browser's secret (hex), set once by BindOAuthState.
	BrowserHash string    `firestore:"browserHash"`
	CreatedAt   time.Time `firestore:"createdAt"`
	ExpireAt    time.Time `firestore:"expireAt"`
}

func (d oauthStateDoc) state() OAuthState {
	return OAuthState{CompanyID: d.CompanyID, ConnectionID: d.ConnectionID, Verifier: d.Verifier,
		Started: d.BrowserHash != "", CreatedAt: d.CreatedAt, ExpireAt: d.ExpireAt}
}

// browserHash is what is stored of a browser's secret: like the state, it is a bearer secret.
func browserHash(browser string) string {
	sum := sha256.Sum256([]byte("browser:" + browser))
	return hex.EncodeToString(sum[:])
}

// StateID is the document ID an OAuth state is kept under: its SHA-256, in hex. The state itself
// is a bearer secret for the callback, so it is never stored; a read of the database does not
// let anyone complete someone else's consent.
func StateID(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// SaveOAuthState remembers st under state, for ConsumeOAuthState. CreatedAt and ExpireAt are set
// from the store's clock.
func (s *Store) SaveOAuthState(ctx context.Context, state string, st OAuthState) (OAuthState, error) {
	if state == "" {
		return OAuthState{}, errors.New("save oauth state: empty state")
	}
	if err := checkIDs(st.CompanyID, st.ConnectionID); err != nil {
		return OAuthState{}, fmt.Errorf("save oauth state: %w", err)
	}
	st.CreatedAt = s.now()
	st.ExpireAt = st.CreatedAt.Add(OAuthStateTTL)
	_, err := s.fs.Collection(colOAuthStates).Doc(StateID(state)).Create(ctx, oauthStateDoc{
		CompanyID: st.CompanyID, ConnectionID: st.ConnectionID, Verifier: st.Verifier,
		CreatedAt: st.CreatedAt, ExpireAt: st.ExpireAt,
	})
	if err != nil {
		return OAuthState{}, fmt.Errorf("save oauth state for connection %s: %w", st.ConnectionID, err)
	}
	return st, nil
}

// BindOAuthState ties the state to the browser that opened the consent's authorization link:
// it stores the hash of browser, a secret that browser keeps (in a cookie), which
// ConsumeOAuthState will require. A state is bound once, within OAuthStartWindow of its
// creation: an unknown, expired, already bound or late state is an error wrapping
// drivesync.ErrInvalidState, and an expired or late one is deleted.
func (s *Store) BindOAuthState(ctx context.Context, state, browser string) (OAuthState, error) {
	if state == "" || browser == "" {
		return OAuthState{}, fmt.Errorf("bind oauth state: empty state or browser: %w", drivesync.ErrInvalidState)
	}
	ref := s.fs.Collection(colOAuthStates).Doc(StateID(state))
	var doc oauthStateDoc
	var expired bool
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		expired = false
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return fmt.Errorf("unknown or used: %w", drivesync.ErrInvalidState)
		}
		if err != nil {
			return err
		}
		if err := snap.DataTo(&doc); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if now := s.now(); now.After(doc.ExpireAt) || now.After(doc.CreatedAt.Add(OAuthStartWindow)) {
			expired = true
			return tx.Delete(ref)
		}
		if doc.BrowserHash != "" {
			return fmt.Errorf("already opened: %w", drivesync.ErrInvalidState)
		}
		doc.BrowserHash = browserHash(browser)
		return tx.Update(ref, []firestore.Update{{Path: "browserHash", Value: doc.BrowserHash}})
	}, firestore.MaxAttempts(txAttempts))
	if err != nil {
		return OAuthState{}, fmt.Errorf("bind oauth state: %w", err)
	}
	if expired {
		return OAuthState{}, fmt.Errorf("bind oauth state: issued at %s, too long ago: %w", doc.CreatedAt.Format(time.RFC3339), drivesync.ErrInvalidState)
	}
	return doc.state(), nil
}

// ConsumeOAuthState returns what was saved under state and deletes it, in one transaction, so a
// state is used at most once even by concurrent callbacks. browser must be the secret the state
// was bound to (BindOAuthState): otherwise, or when it was never bound, the error wraps
// drivesync.ErrWrongBrowser and the state is kept for the browser that holds it. An unknown,
// already used or expired state is an error wrapping drivesync.ErrInvalidState; an expired one
// is deleted too.
func (s *Store) ConsumeOAuthState(ctx context.Context, state, browser string) (OAuthState, error) {
	if state == "" {
		return OAuthState{}, fmt.Errorf("consume oauth state: empty: %w", drivesync.ErrInvalidState)
	}
	ref := s.fs.Collection(colOAuthStates).Doc(StateID(state))
	var doc oauthStateDoc
	var expired bool
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		expired = false
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return fmt.Errorf("unknown or used: %w", drivesync.ErrInvalidState)
		}
		if err != nil {
			return err
		}
		if err := snap.DataTo(&doc); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if s.now().After(doc.ExpireAt) {
			expired = true
			return tx.Delete(ref)
		}
		if doc.BrowserHash == "" || browser == "" ||
			subtle.ConstantTimeCompare([]byte(browserHash(browser)), []byte(doc.BrowserHash)) != 1 {
			return drivesync.ErrWrongBrowser
		}
		return tx.Delete(ref)
	}, firestore.MaxAttempts(txAttempts))
	if err != nil {
		return OAuthState{}, fmt.Errorf("consume oauth state: %w", err)
	}
	if expired {
		return OAuthState{}, fmt.Errorf("consume oauth state: expired at %s: %w", doc.ExpireAt.Format(time.RFC3339), drivesync.ErrInvalidState)
	}
	return doc.state(), nil
}
