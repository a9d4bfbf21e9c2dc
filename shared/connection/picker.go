package connection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
)

// ErrPickerUnavailable is returned by PickerToken when drivesync holds the full drive scope: the
// customer then browses folders in the app (Folders), and no access token leaves the server.
var ErrPickerUnavailable = errors.New("the Google Picker is used only with the drive.file scope; browse the folders instead")

// PickerToken is an OAuth access token of a connection's Google account, for the Google Picker
// the customer chooses the target folder with (google.picker.PickerBuilder.setOAuthToken).
type PickerToken struct {
	AccessToken string
	Expiry      time.Time
}

// PickerToken returns an access token of the connection's grant, for the page to open the Google
// Picker as the connection's Google account: picking a folder there grants it to drivesync's
// OAuth client, which is all drive.file lets drivesync see. The token is the connection's own
// (scope drive.file), good for about an hour; it must never be logged. It needs the drive.file
// scope (ErrPickerUnavailable otherwise) and a grant, as Folders does (drivesync.ErrConsentRequired
// or ErrGrantLost); a grant Google refuses turns the connection needs_reauthorization.
func (s *Service) PickerToken(ctx context.Context, companyID, id string) (PickerToken, error) {
	if s.browse {
		return PickerToken{}, ErrPickerUnavailable
	}
	rec, ts, err := s.tokenSource(ctx, companyID, id)
	if err != nil {
		return PickerToken{}, err
	}
	tok, err := ts.Token()
	if err != nil {
		return PickerToken{}, s.driveFailed(ctx, rec, "picker token of connection "+id, err)
	}
	if tok.AccessToken == "" {
		return PickerToken{}, fmt.Errorf("picker token of connection %s: %w", id,
			drivesync.Classify(errors.New("google returned no access token"), drivesync.Retryable, "no_access_token"))
	}
	s.log.InfoContext(ctx, "picker token issued", "companyId", companyID, "connectionId", id, "expiresAt", tok.Expiry)
	return PickerToken{AccessToken: tok.AccessToken, Expiry: tok.Expiry}, nil
}
