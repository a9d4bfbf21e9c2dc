package api

import (
	"context"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// Service is what the API needs of the connection service. Every method is scoped to companyID:
// a connection of another company is drivesync.ErrNotFound. Methods return
// drivesync.ErrNotFound, drivesync.ErrConflict or one of the conflicts it names
// (ErrNameTaken, ErrConsentRequired, ErrGrantLost, ErrNoTarget), errors carrying
// *drivesync.FieldError for bad input, *drivesync.TargetInUseError (SetTarget),
// *drivesync.ConnectionLimitError (Create), connection.ErrFolderBrowsingUnavailable,
// connection.ErrPickerUnavailable, and
// Google's failures classified (drivesync.ClassifiedError); anything else is an internal error.
type Service interface {
	Integration(ctx context.Context, companyID string) (store.Integration, error)
	SetIntegration(ctx context.Context, companyID string, enabled bool) (store.Integration, error)
	List(ctx context.Context, companyID string) ([]drivesync.Connection, error)
	Create(ctx context.Context, companyID, companyName string, in connection.CreateInput) (drivesync.Connection, string, error)
	Get(ctx context.Context, companyID, id string) (drivesync.Connection, error)
	Update(ctx context.Context, companyID, id string, in connection.UpdateInput) (drivesync.Connection, error)
	Delete(ctx context.Context, companyID, id string) error
	Authorize(ctx context.Context, companyID, id string) (string, error)
	Folders(ctx context.Context, companyID, id, parent, pageToken string) (connection.FolderListing, error)
	CreateFolder(ctx context.Context, companyID, id, parentID, name string) (connection.Folder, error)
	SetTarget(ctx context.Context, companyID, id, folderID string) (drivesync.Connection, error)
	Resync(ctx context.Context, companyID, id string) (drivesync.Connection, error)
	// PickerToken also returns connection.ErrPickerUnavailable in the drive scope.
	PickerToken(ctx context.Context, companyID, id string) (connection.PickerToken, error)
}

var _ Service = (*connection.Service)(nil)

// Callbacks starts and finishes an OAuth consent in one browser. StartConsent binds a state to
// the browser that opened its authorization link; Callback finishes the consent, given that
// browser's secret. Both return drivesync.ErrInvalidState for a state that is missing, unknown,
// expired, replayed (StartConsent: already started) or tampered with, having changed nothing;
// Callback returns drivesync.ErrWrongBrowser when the secret is not the state's.
type Callbacks interface {
	StartConsent(ctx context.Context, state string) (connection.ConsentStart, error)
	Callback(ctx context.Context, state, browser, code, errParam string) (connection.CallbackResult, error)
}

var _ Callbacks = (*connection.Service)(nil)
