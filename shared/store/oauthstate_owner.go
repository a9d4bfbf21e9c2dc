package store

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/efactori/drivesync/shared/drivesync"
)

// OAuthStateOwner returns the company and connection an unexpired OAuth state was issued for,
// without using or changing it. It is only for choosing the language of the page a refused
// consent shows; it proves nothing about the browser asking. An unknown, used or expired state
// is an error wrapping drivesync.ErrInvalidState.
func (s *Store) OAuthStateOwner(ctx context.Context, state string) (companyID, connectionID string, err error) {
	if state == "" {
		return "", "", fmt.Errorf("oauth state owner: empty: %w", drivesync.ErrInvalidState)
	}
	snap, err := s.fs.Collection(colOAuthStates).Doc(StateID(state)).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return "", "", fmt.Errorf("oauth state owner: unknown or used: %w", drivesync.ErrInvalidState)
	}
	if err != nil {
		return "", "", fmt.Errorf("oauth state owner: %w", err)
	}
	var doc oauthStateDoc
	if err := snap.DataTo(&doc); err != nil {
		return "", "", fmt.Errorf("oauth state owner: decode: %w", err)
	}
	if s.now().After(doc.ExpireAt) {
		return "", "", fmt.Errorf("oauth state owner: expired: %w", drivesync.ErrInvalidState)
	}
	return doc.CompanyID, doc.ConnectionID, nil
}
