package connection

import (
	"context"
	"fmt"

	"github.com/efactori/drivesync/shared/drivesync"
)

// ConsentLocale returns the locale of the connection an OAuth state was issued for, so the
// OAuth callback can word a refused consent's page in the customer's language. It reads the
// state without using it: the state stays as it was. An unknown, used or expired state, or one
// whose connection is gone, is an error wrapping drivesync.ErrInvalidState.
func (s *Service) ConsentLocale(ctx context.Context, state string) (drivesync.Locale, error) {
	companyID, id, err := s.store.OAuthStateOwner(ctx, state)
	if err != nil {
		return "", fmt.Errorf("consent locale: %w", err)
	}
	rec, err := s.store.Connection(ctx, companyID, id)
	if err != nil {
		return "", fmt.Errorf("consent locale of connection %s: %w", id, err)
	}
	return rec.Locale, nil
}
