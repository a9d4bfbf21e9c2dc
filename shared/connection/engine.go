package connection

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/oauth"
	"github.com/efactori/drivesync/shared/store"
)

// What the copy engine needs from the service: a Drive client per connection, and the marking of
// connections whose grant or target Google no longer accepts.

// Messages for the customer-side failures the copy engine meets.
const (
	msgQuota       = "The Google Drive of this connection is full; free some space or buy more storage, and the copy resumes."
	msgPermissions = "The Google account of this connection can no longer write to the chosen folder; choose a folder again or restore its access."
	msgFolderFull  = "A folder of this connection holds too many items for Google Drive; choose a folder again."
	// Drive's reasons teamDriveFileLimitExceeded and domainPolicy.
	msgSharedDriveFull = "The shared drive of this connection holds as many files as Google Drive allows; delete files from it or choose a folder in another drive."
	msgDomainPolicy    = "The Google Workspace administrator of this Google account has blocked apps from using Google Drive; ask them to allow this app, then sync again."
)

// driveEntry is a cached Drive client, valid while the connection keeps the same stored grant.
type driveEntry struct {
	grant [sha256.Size]byte
	dc    *drive.Client
}

// DriveClient returns a Drive client acting with rec's grant, for the copy engine. Clients are
// cached per connection and grant, so their access token (and its refreshes) are shared by
// every document of the connection on this instance; a re-consent stores a new grant and gets a
// new client. A connection without a grant is classified drivesync.NeedsReauthorization.
func (s *Service) DriveClient(ctx context.Context, rec store.ConnectionRecord) (*drive.Client, error) {
	if !rec.HasGrant() {
		return nil, drivesync.Classify(fmt.Errorf("drive client of connection %s: no grant", rec.ID),
			drivesync.NeedsReauthorization, oauth.CodeNoRefreshToken)
	}
	grant := sha256.Sum256(rec.RefreshToken)
	if v, ok := s.clients.Load(rec.ID); ok && v.(driveEntry).grant == grant {
		return v.(driveEntry).dc, nil
	}
	rt, err := s.cipher.Decrypt(rec.RefreshToken, []byte(rec.ID))
	if err != nil {
		return nil, drivesync.Classify(fmt.Errorf("refresh token of connection %s: %w", rec.ID, err),
			drivesync.NeedsReauthorization, codeReauthorization)
	}
	// The source outlives this request: it must not end with the request's context.
	ts := s.oauth.TokenSource(context.WithoutCancel(ctx), rec.ID, &oauth2.Token{RefreshToken: string(rt)},
		companyPersister{s: s, companyID: rec.CompanyID})
	dc, err := drive.New(ctx, oauth.DriveClient(ts, s.transport), s.drive)
	if err != nil {
		return nil, err
	}
	s.clients.Store(rec.ID, driveEntry{grant: grant, dc: dc})
	return dc, nil
}

// MarkNeedsReauthorization records that Google refused the grant rec holds (cause, classified
// drivesync.NeedsReauthorization): the connection needs a new consent, after which it copies
// again on its own (Callback starts a new run). Nothing changes when the connection holds
// another grant by now: a delivery that started before the customer consented again must not
// undo the new consent.
func (s *Service) MarkNeedsReauthorization(ctx context.Context, rec store.ConnectionRecord, cause error) error {
	s.clients.Delete(rec.ID)
	_, err := s.store.UpdateConnection(ctx, rec.CompanyID, rec.ID, func(r *store.ConnectionRecord) error {
		if !bytes.Equal(r.RefreshToken, rec.RefreshToken) {
			return errGrantReplaced
		}
		if r.Status != drivesync.StatusNeedsReauthorization {
			r.PreviousStatus = r.Status
		}
		r.Status = drivesync.StatusNeedsReauthorization
		r.LastError = &drivesync.LastError{Code: codeReauthorization, Message: msgReauthorize, At: s.now()}
		return nil
	})
	switch {
	case errors.Is(err, errGrantReplaced):
		s.log.InfoContext(ctx, "google refused a grant the connection no longer holds", "companyId", rec.CompanyID, "connectionId", rec.ID)
		return nil
	case errors.Is(err, drivesync.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("mark connection %s needs reauthorization: %w", rec.ID, err)
	}
	s.log.WarnContext(ctx, "google refused the grant", "companyId", rec.CompanyID, "connectionId", rec.ID, "err", cause)
	return nil
}

// errGrantReplaced ends a status change meant for a grant the connection no longer holds.
var errGrantReplaced = errors.New("the connection holds another grant")

// MarkNeedsCustomer puts connection id in error with a message saying what the customer must do
// in Drive, picked from the code of cause (classified drivesync.NeedsCustomer): a lost target
// (drive.CodeTarget*) asks to choose a folder again, a full Drive to free space. Choosing a
// folder again (SetTarget) makes it active and starts a new copy run.
func (s *Service) MarkNeedsCustomer(ctx context.Context, companyID, id string, cause error) error {
	code := "needs_customer"
	var ce *drivesync.ClassifiedError
	if errors.As(cause, &ce) && ce.Code != "" {
		code = ce.Code
	}
	msg := msgChooseFolder
	switch code {
	case "storageQuotaExceeded":
		msg = msgQuota
	case "insufficientFilePermissions":
		msg = msgPermissions
	case "numChildrenInNonRootLimitExceeded":
		msg = msgFolderFull
	case "teamDriveFileLimitExceeded":
		msg = msgSharedDriveFull
	case "domainPolicy":
		msg = msgDomainPolicy
	}
	s.log.WarnContext(ctx, "connection needs the customer", "companyId", companyID, "connectionId", id, "errorCode", code, "err", cause)
	_, err := s.store.UpdateConnection(ctx, companyID, id, func(r *store.ConnectionRecord) error {
		if r.Status != drivesync.StatusActive && r.Status != drivesync.StatusError {
			return nil // the grant went first; that is what the customer must fix now
		}
		r.Status = drivesync.StatusError
		r.LastError = &drivesync.LastError{Code: code, Message: msg, At: s.now()}
		return nil
	})
	if err != nil && !errors.Is(err, drivesync.ErrNotFound) {
		return fmt.Errorf("mark connection %s in error: %w", id, err)
	}
	return nil
}

// withProgress fills in the progress of a running initial copy, derived from its pages and
// mappings (store.CopyProgress); a finished run keeps the figures stored when it ended.
func (s *Service) withProgress(ctx context.Context, c drivesync.Connection) (drivesync.Connection, error) {
	if c.InitialCopy.RunID == "" || c.InitialCopy.State == drivesync.CopyDone || c.InitialCopy.State == drivesync.CopyFailed ||
		c.InitialCopy.State == drivesync.CopyNone {
		return c, nil
	}
	p, err := s.store.CopyProgress(ctx, store.ConnectionKey{CompanyID: c.CompanyID, ID: c.ID}, c.InitialCopy.RunID)
	if err != nil {
		return drivesync.Connection{}, err
	}
	c.InitialCopy.Listed, c.InitialCopy.Synced, c.InitialCopy.Failed = p.Listed, p.Synced, p.Failed
	return c, nil
}
