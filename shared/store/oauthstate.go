package store

import (
	"context"
	"crypto/sha256"
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

// OAuthState is what drivesync remembers between sending a browser to Google's consent page and
// Google sending it back: which connection the consent is for, and the PKCE verifier, encrypted
// (tokencrypt, associated data = StateID of the state).
type OAuthState struct {
	CompanyID    string
	ConnectionID string
	Verifier     []byte
	CreatedAt    time.Time
	// ExpireAt is CreatedAt + OAuthStateTTL. Firestore's TTL policy on this field deletes the
	// document eventually (within a day or so), so expiry is also checked on use.
	ExpireAt time.Time
}

type oauthStateDoc struct {
	CompanyID    string    `firestore:"companyId"`
	ConnectionID string    `firestore:"connectionId"`
	Verifier     []byte    `firestore:"verifier"`
	CreatedAt    time.Time `firestore:"createdAt"`
	ExpireAt     time.Time `firestore:"expireAt"`
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

// ConsumeOAuthState returns what was saved under state and deletes it, in one transaction, so a
// state is used at most once even by concurrent callbacks. An unknown, already used or expired
// state is an error wrapping drivesync.ErrInvalidState; an expired one is deleted too.
func (s *Store) ConsumeOAuthState(ctx context.Context, state string) (OAuthState, error) {
	if state == "" {
		return OAuthState{}, fmt.Errorf("consume oauth state: empty: %w", drivesync.ErrInvalidState)
	}
	ref := s.fs.Collection(colOAuthStates).Doc(StateID(state))
	var doc oauthStateDoc
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
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
		return tx.Delete(ref)
	}, firestore.MaxAttempts(txAttempts))
	if err != nil {
		return OAuthState{}, fmt.Errorf("consume oauth state: %w", err)
	}
	if s.now().After(doc.ExpireAt) {
		return OAuthState{}, fmt.Errorf("consume oauth state: expired at %s: %w", doc.ExpireAt.Format(time.RFC3339), drivesync.ErrInvalidState)
	}
	return OAuthState{CompanyID: doc.CompanyID, ConnectionID: doc.ConnectionID, Verifier: doc.Verifier,
		CreatedAt: doc.CreatedAt, ExpireAt: doc.ExpireAt}, nil
}
