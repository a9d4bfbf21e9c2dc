package connection

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/oauth"
	"github.com/efactori/drivesync/shared/store"
)

// Folder is a Drive folder, or a shared drive's root, or one of the two pseudo-folders the
// browser starts from: ParentRoot (My Drive) and ParentDrives (the list of shared drives).
type Folder struct {
	ID   string
	Name string
}

// FolderListing is one page of the folders directly under Folder, sorted by name. Path runs
// from the top (My Drive, or "Shared drives" then the shared drive) down to Folder itself.
type FolderListing struct {
	Folder        Folder
	Path          []Folder
	Children      []Folder
	NextPageToken string
}

// The pseudo-parents Folders accepts besides a folder ID.
const (
	ParentRoot   = "root"
	ParentDrives = "drives"
)

// folderPageSize is how many folders a listing page holds.
const folderPageSize = 100

var drivesFolder = Folder{ID: ParentDrives, Name: "Shared drives"}

// ungranted is the error for connection id in status, which holds no usable grant:
// drivesync.ErrGrantLost when Google refused it, drivesync.ErrConsentRequired otherwise.
func ungranted(id string, status drivesync.Status) error {
	if status == drivesync.StatusNeedsReauthorization {
		return fmt.Errorf("%w: connection %s is %s; authorize it again", drivesync.ErrGrantLost, id, status)
	}
	return fmt.Errorf("%w: connection %s is %s; finish Google's consent first", drivesync.ErrConsentRequired, id, status)
}

// granted returns a connection that holds a grant and a Drive client acting with it. A
// connection without one is drivesync.ErrConsentRequired or drivesync.ErrGrantLost.
func (s *Service) granted(ctx context.Context, companyID, id string) (store.ConnectionRecord, *drive.Client, error) {
	rec, ts, err := s.tokenSource(ctx, companyID, id)
	if err != nil {
		return store.ConnectionRecord{}, nil, err
	}
	dc, err := drive.New(ctx, oauth.DriveClient(ts, s.transport), s.drive)
	if err != nil {
		return store.ConnectionRecord{}, nil, err
	}
	return rec, dc, nil
}

// tokenSource returns a connection that holds a grant and the source of its access tokens, for
// the length of ctx. A connection without one is drivesync.ErrConsentRequired or
// drivesync.ErrGrantLost.
func (s *Service) tokenSource(ctx context.Context, companyID, id string) (store.ConnectionRecord, oauth2.TokenSource, error) {
	rec, err := s.store.Connection(ctx, companyID, id)
	if err != nil {
		return store.ConnectionRecord{}, nil, err
	}
	switch rec.Status {
	case drivesync.StatusAwaitingFolder, drivesync.StatusActive, drivesync.StatusError:
	default:
		return store.ConnectionRecord{}, nil, ungranted(id, rec.Status)
	}
	if !rec.HasGrant() {
		return store.ConnectionRecord{}, nil, ungranted(id, drivesync.StatusAwaitingAuthorization)
	}
	rt, err := s.cipher.Decrypt(rec.RefreshToken, []byte(rec.ID))
	if err != nil {
		return store.ConnectionRecord{}, nil, fmt.Errorf("refresh token of connection %s: %w", id, err)
	}
	return rec, s.oauth.TokenSource(ctx, rec.ID, &oauth2.Token{RefreshToken: string(rt)}, companyPersister{s: s, companyID: companyID}), nil
}

// driveFailed passes on err, from a Drive or OAuth call for rec, with op as context. When Google
// no longer accepts the grant it first marks the connection needs_reauthorization, and the error
// also matches drivesync.ErrGrantLost (the connection must be authorized again).
func (s *Service) driveFailed(ctx context.Context, rec store.ConnectionRecord, op string, err error) error {
	if drivesync.ClassOf(err) != drivesync.NeedsReauthorization {
		return fmt.Errorf("%s: %w", op, err)
	}
	if uerr := s.MarkNeedsReauthorization(ctx, rec, err); uerr != nil {
		return fmt.Errorf("%s: %w (and marking the connection: %w)", op, err, uerr)
	}
	return fmt.Errorf("%s: %w: %w", op, drivesync.ErrGrantLost, err)
}

// folderError turns a Drive error about a folder the customer named in field into a FieldError
// they can act on; other errors go to driveFailed.
func (s *Service) folderError(ctx context.Context, rec store.ConnectionRecord, op, field string, err error) error {
	var ce *drivesync.ClassifiedError
	errors.As(err, &ce)
	switch {
	case errors.Is(err, drive.ErrNotFound):
		return fieldErr(field, "does not exist, or this Google account cannot see it")
	case ce == nil:
	case ce.Code == drive.CodeNotFolder || ce.Code == drive.CodeTargetNotFolder:
		return fieldErr(field, "is a file, not a folder")
	case ce.Code == drive.CodeTargetTrashed:
		return fieldErr(field, "is in the trash; choose another folder or restore it")
	case ce.Code == drive.CodeTargetReadOnly, ce.Code == "insufficientFilePermissions":
		return fieldErr(field, "cannot be written to with this Google account; choose a folder it can edit")
	case ce.Code == drive.CodeInvalidArgument:
		return fieldErr(field, "is not a valid folder ID")
	}
	return s.driveFailed(ctx, rec, op, err)
}

// Folders lists one page of the folders under parent: ParentRoot (My Drive), ParentDrives (the
// shared drives, as folders) or a folder ID. Trashed folders never appear. It needs a grant
// (drivesync.ErrConsentRequired or ErrGrantLost otherwise) and the drive scope
// (ErrFolderBrowsingUnavailable).
func (s *Service) Folders(ctx context.Context, companyID, id, parent, pageToken string) (FolderListing, error) {
	if !s.browse {
		return FolderListing{}, ErrFolderBrowsingUnavailable
	}
	rec, dc, err := s.granted(ctx, companyID, id)
	if err != nil {
		return FolderListing{}, err
	}
	op := "list folders of connection " + id
	if parent == ParentDrives {
		page, err := dc.SharedDrives(ctx, pageToken)
		if err != nil {
			return FolderListing{}, s.driveFailed(ctx, rec, op, err)
		}
		l := FolderListing{Folder: drivesFolder, Path: []Folder{drivesFolder}, NextPageToken: page.NextPageToken,
			Children: make([]Folder, 0, len(page.Drives))}
		for _, d := range page.Drives {
			l.Children = append(l.Children, Folder{ID: d.ID, Name: d.Name})
		}
		// Drive does not sort shared drives; this sorts each page, which is all there is for
		// nearly every account (a page holds 100).
		slices.SortFunc(l.Children, func(a, b Folder) int {
			return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		})
		return l, nil
	}
	if parent == "" {
		parent = ParentRoot
	}
	info, err := dc.Folder(ctx, parent)
	if err != nil {
		return FolderListing{}, s.folderError(ctx, rec, op, "parent", err)
	}
	if info.Trashed {
		return FolderListing{}, fieldErr("parent", "is in the trash")
	}
	path, err := s.path(ctx, dc, info)
	if err != nil {
		return FolderListing{}, s.driveFailed(ctx, rec, op, err)
	}
	page, err := dc.ListFolders(ctx, info.DriveID, info.ID, pageToken, folderPageSize)
	if err != nil {
		return FolderListing{}, s.driveFailed(ctx, rec, op, err)
	}
	l := FolderListing{Folder: path[len(path)-1], Path: path, NextPageToken: page.NextPageToken,
		Children: make([]Folder, 0, len(page.Folders))}
	for _, f := range page.Folders {
		l.Children = append(l.Children, Folder{ID: f.ID, Name: f.Name})
	}
	return l, nil
}

// path returns the folders from the top down to info, with "Shared drives" first for a folder
// in a shared drive.
func (s *Service) path(ctx context.Context, dc *drive.Client, info drive.FolderInfo) ([]Folder, error) {
	p, err := dc.Path(ctx, info.ID)
	if err != nil && !s.browse && errors.Is(err, drive.ErrNotFound) {
		// With drive.file, drivesync sees the folder the customer picked but none of the
		// customer's folders above it: the path starts at the picked folder.
		return []Folder{{ID: info.ID, Name: info.Name}}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]Folder, 0, len(p)+1)
	if info.DriveID != "" {
		out = append(out, drivesFolder)
	}
	for _, f := range p {
		out = append(out, Folder{ID: f.ID, Name: f.Name})
	}
	return out, nil
}

// CreateFolder creates a folder named name under parentID (ParentRoot, a shared drive's ID or a
// folder ID) and returns it, for the customer to pick as target.
func (s *Service) CreateFolder(ctx context.Context, companyID, id, parentID, name string) (Folder, error) {
	var errs []error
	name, err := checkName("name", name, drivesync.MaxFolderNameLength)
	errs = append(errs, err)
	switch parentID {
	case "":
		errs = append(errs, fieldErr("parentId", "is required"))
	case ParentDrives:
		errs = append(errs, fieldErr("parentId", "cannot hold folders; choose My Drive, a shared drive or a folder"))
	}
	if err := errors.Join(errs...); err != nil {
		return Folder{}, err
	}
	rec, dc, err := s.granted(ctx, companyID, id)
	if err != nil {
		return Folder{}, err
	}
	op := "create folder for connection " + id
	info, err := dc.Folder(ctx, parentID)
	if err != nil {
		return Folder{}, s.folderError(ctx, rec, op, "parentId", err)
	}
	if info.Trashed {
		return Folder{}, fieldErr("parentId", "is in the trash")
	}
	if err := s.paceWrite(ctx, rec); err != nil {
		return Folder{}, err
	}
	f, err := dc.CreateFolder(ctx, info.ID, name, nil)
	if err != nil {
		return Folder{}, s.folderError(ctx, rec, op, "parentId", err)
	}
	s.log.InfoContext(ctx, "folder created", "companyId", companyID, "connectionId", id, "folderId", f.ID)
	return Folder{ID: f.ID, Name: f.Name}, nil
}

// paceWrite waits for rec's Google account to take one more Drive write.
func (s *Service) paceWrite(ctx context.Context, rec store.ConnectionRecord) error {
	if s.budget == nil {
		return nil
	}
	return s.budget.Wait(ctx, rec)
}

// companyFolderKey marks the company folder drivesync makes inside a target, so choosing the same
// target again (from this connection, or from a new one after this one was removed) finds it
// instead of making a second one, even after the customer renamed it.
func companyFolderKey(companyID string) string { return "company:" + companyID }

// SetTarget makes folderID the connection's target: it checks the folder can take files, finds
// or creates the company's folder inside it, makes the connection active with a new initial copy
// pending, and requests that copy. It needs a grant (drivesync.ErrConsentRequired or
// ErrGrantLost otherwise); a folder
// that is missing, a file, trashed or read-only is a FieldError on folderId and changes nothing.
// A folder that another connection of the company already has as its target, whatever that
// connection's status, is refused with a *drivesync.TargetInUseError naming it (it also matches
// drivesync.ErrConflict); choosing the connection's own target again is fine. From active it
// re-targets.
func (s *Service) SetTarget(ctx context.Context, companyID, id, folderID string) (drivesync.Connection, error) {
	if folderID == "" || folderID == ParentDrives {
		return drivesync.Connection{}, fieldErr("folderId", "must be a folder, My Drive or a shared drive")
	}
	rec, dc, err := s.granted(ctx, companyID, id)
	if err != nil {
		return drivesync.Connection{}, err
	}
	op := "set target of connection " + id
	info, err := dc.CheckTarget(ctx, folderID)
	if err != nil {
		return drivesync.Connection{}, s.folderError(ctx, rec, op, "folderId", err)
	}
	path, err := s.path(ctx, dc, info)
	if err != nil {
		return drivesync.Connection{}, s.driveFailed(ctx, rec, op, err)
	}
	companyName, err := s.store.CompanyName(ctx, companyID)
	if err != nil {
		return drivesync.Connection{}, err
	}
	names := make([]string, 0, len(path))
	for _, f := range path {
		names = append(names, f.Name)
	}
	runID := s.newID()
	var updated store.ConnectionRecord
	var cf drive.Folder
	// The company lease makes "is the folder free" and "take it" one step for every SetTarget of
	// the company: the store's transaction cannot query other connections, and a target is only
	// ever set here. The one gap left: a holder stalled for longer than leaseTTL (30 s, against
	// well under a second normally) loses the lease, and the next SetTarget could then overlap it.
	err = s.withCompanyLease(ctx, companyID, func() error {
		if err := s.targetFree(ctx, companyID, id, info.ID); err != nil {
			return err
		}
		var err error
		created := false // EnsureFolder found the company folder of an earlier connection, or made one
		cf, err = dc.EnsureFolderPaced(ctx, info.DriveID, info.ID, folderName(companyName, companyID), companyFolderKey(companyID),
			func(ctx context.Context) error { created = true; return s.paceWrite(ctx, rec) })
		if err != nil {
			return s.folderError(ctx, rec, op, "folderId", err)
		}
		updated, err = s.store.UpdateConnection(ctx, companyID, id, func(r *store.ConnectionRecord) error {
			switch r.Status {
			case drivesync.StatusAwaitingFolder, drivesync.StatusActive, drivesync.StatusError:
			default: // the grant was lost while Drive was being asked
				return ungranted(id, r.Status)
			}
			r.Target = drivesync.Target{FolderID: info.ID, DriveID: info.DriveID, Path: names, CompanyFolderID: cf.ID}
			r.TargetReused = !created
			r.Status, r.PreviousStatus, r.LastError = drivesync.StatusActive, "", nil
			r.InitialCopy = drivesync.InitialCopy{State: drivesync.CopyPending, RunID: runID, Kind: drivesync.RunFirstCopy}
			return nil
		})
		return err
	})
	if err != nil {
		return drivesync.Connection{}, err
	}
	s.log.InfoContext(ctx, "target set", "companyId", companyID, "connectionId", id,
		"folderId", info.ID, "companyFolderId", cf.ID, "runId", runID)
	return s.startCopy(ctx, updated.Connection)
}

// targetFree returns a *drivesync.TargetInUseError when a connection of companyID other than id
// has folderID as its target. Folder IDs are global in Drive: the same ID is the same folder,
// whichever Google account each connection uses.
func (s *Service) targetFree(ctx context.Context, companyID, id, folderID string) error {
	recs, err := s.store.Connections(ctx, companyID)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.ID != id && r.Target.FolderID == folderID {
			s.log.InfoContext(ctx, "target refused: another connection uses it", "companyId", companyID,
				"connectionId", id, "folderId", folderID, "otherConnectionId", r.ID)
			return &drivesync.TargetInUseError{FolderID: folderID, ConnectionID: r.ID, ConnectionName: r.Name}
		}
	}
	return nil
}

// startCopy requests the initial copy. It runs after the run is stored, never before: the copy
// engine drops requests whose run is not the connection's current one. Should the request fail,
// the connection stays pending and Resync (or SetTarget again) requests it anew.
func (s *Service) startCopy(ctx context.Context, conn drivesync.Connection) (drivesync.Connection, error) {
	if err := s.copies.StartCopy(ctx, conn); err != nil {
		return drivesync.Connection{}, fmt.Errorf("start initial copy of connection %s: %w", conn.ID, err)
	}
	return conn, nil
}

// The lease around target changes (withCompanyLease). Its name predates the target check it
// now also covers; it is kept so that instances of the previous release exclude this one.
const (
	companyFolderLease = "companyFolder"
	leaseTTL           = 30 * time.Second // far above its holder's work; a dead holder's lease expires
	leaseWait          = 20 * time.Second // how long a caller waits for another to finish
	leasePoll          = 100 * time.Millisecond
)

// withCompanyLease runs fn while holding companyID's lease on target changes. SetTarget holds it
// around finding or creating the company folder, since Drive's lookup-then-create is not atomic
// and two concurrent calls (a double click landing on two instances) could both create one, and
// around checking that the folder is no other connection's target then taking it. Calls for one
// company are serialised, within the instance by a mutex and across instances by a lease in
// Firestore.
func (s *Service) withCompanyLease(ctx context.Context, companyID string, fn func() error) error {
	mu, _ := s.targets.LoadOrStore(companyID, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	holder := s.newID()
	if err := s.acquire(ctx, companyID, holder); err != nil {
		return err
	}
	defer func() {
		// Released even when ctx is done; a lease left behind only delays the next call.
		if err := s.store.ReleaseLease(context.WithoutCancel(ctx), companyID, companyFolderLease, holder); err != nil {
			s.log.WarnContext(ctx, "lease not released", "companyId", companyID, "err", err)
		}
	}()
	return fn()
}

// acquire waits for the company-folder lease of companyID.
func (s *Service) acquire(ctx context.Context, companyID, holder string) error {
	deadline := time.Now().Add(leaseWait)
	for {
		ok, err := s.store.AcquireLease(ctx, companyID, companyFolderLease, holder, leaseTTL)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return drivesync.Classify(fmt.Errorf("company folder of %s: another request is still creating it", companyID),
				drivesync.Retryable, "busy")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the company folder lease: %w", ctx.Err())
		case <-time.After(leasePoll):
		}
	}
}

// folderName makes a company name fit for a Drive folder name.
func folderName(companyName, companyID string) string {
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(companyName))
	if name == "" {
		name = companyID
	}
	if r := []rune(name); len(r) > drivesync.MaxFolderNameLength {
		name = string(r[:drivesync.MaxFolderNameLength])
	}
	return name
}

// Resync starts the initial copy over, as a new run superseding the current one. The copy
// engine carries every run out as a reconcile: files that already match are not uploaded again,
// what is missing or stale in Drive is fixed, and stray duplicates drivesync made are trashed.
// Only an active connection can be resynced: one without a grant is drivesync.ErrConsentRequired
// or ErrGrantLost, one without a usable target drivesync.ErrNoTarget. When the target
// can no longer take files, the connection goes to error, telling the customer to choose a
// folder again, and the error returned is classified drivesync.NeedsCustomer.
func (s *Service) Resync(ctx context.Context, companyID, id string) (drivesync.Connection, error) {
	rec, err := s.store.Connection(ctx, companyID, id)
	if err != nil {
		return drivesync.Connection{}, err
	}
	if rec.Status != drivesync.StatusActive {
		return drivesync.Connection{}, notActive(id, rec.Status)
	}
	rec, dc, err := s.granted(ctx, companyID, id)
	if err != nil {
		return drivesync.Connection{}, err
	}
	op := "resync connection " + id
	if _, err := dc.CheckTarget(ctx, rec.Target.FolderID); err != nil {
		if drivesync.ClassOf(err) == drivesync.NeedsCustomer {
			return drivesync.Connection{}, s.targetLost(ctx, rec, op, err)
		}
		return drivesync.Connection{}, s.driveFailed(ctx, rec, op, err)
	}
	runID := s.newID()
	updated, err := s.store.UpdateConnection(ctx, companyID, id, func(r *store.ConnectionRecord) error {
		if r.Status != drivesync.StatusActive {
			return notActive(id, r.Status)
		}
		r.InitialCopy = drivesync.InitialCopy{State: drivesync.CopyPending, RunID: runID, Kind: drivesync.RunResync}
		if r.LastError != nil && r.LastError.Code == drivesync.CodeCopyFailed {
			r.LastError = nil
		}
		return nil
	})
	if err != nil {
		return drivesync.Connection{}, err
	}
	s.log.InfoContext(ctx, "resync requested", "companyId", companyID, "connectionId", id, "runId", runID)
	return s.startCopy(ctx, updated.Connection)
}

// targetLost puts a connection whose target cannot take files any more in error, and returns
// the Drive error, classified drivesync.NeedsCustomer, so the caller can say what to fix.
func (s *Service) targetLost(ctx context.Context, rec store.ConnectionRecord, op string, err error) error {
	code := "target_unusable"
	var ce *drivesync.ClassifiedError
	if errors.As(err, &ce) {
		code = ce.Code
	}
	_, uerr := s.store.UpdateConnection(ctx, rec.CompanyID, rec.ID, func(r *store.ConnectionRecord) error {
		r.Status = drivesync.StatusError
		r.LastError = &drivesync.LastError{Code: code, Message: msgChooseFolder, At: s.now()}
		return nil
	})
	if uerr != nil {
		return fmt.Errorf("%s: %w (and marking the connection: %w)", op, err, uerr)
	}
	s.log.WarnContext(ctx, "target unusable", "companyId", rec.CompanyID, "connectionId", rec.ID, "err", err)
	return fmt.Errorf("%s: %w", op, err)
}

// companyPersister saves rotated refresh tokens of one company's connections.
type companyPersister struct {
	s         *Service
	companyID string
}

func (p companyPersister) SaveToken(ctx context.Context, connectionID string, tok *oauth2.Token) error {
	return p.s.saveToken(ctx, p.companyID, connectionID, tok)
}

// SaveToken implements oauth.Persister for token sources built outside this service (the copy
// engine): it stores tok's refresh token, encrypted, on the connection, wherever its company.
func (s *Service) SaveToken(ctx context.Context, connectionID string, tok *oauth2.Token) error {
	rec, err := s.store.ConnectionByID(ctx, connectionID)
	if err != nil {
		return err
	}
	return s.saveToken(ctx, rec.CompanyID, connectionID, tok)
}

func (s *Service) saveToken(ctx context.Context, companyID, id string, tok *oauth2.Token) error {
	if tok == nil || tok.RefreshToken == "" {
		return nil
	}
	ct, err := s.cipher.Encrypt([]byte(tok.RefreshToken), []byte(id))
	if err != nil {
		return fmt.Errorf("save token of connection %s: %w", id, err)
	}
	_, err = s.store.UpdateConnection(ctx, companyID, id, func(r *store.ConnectionRecord) error {
		r.RefreshToken, r.TokenExpiry = ct, tok.Expiry
		return nil
	})
	return err
}

// notActive is the error for resyncing connection id in status, which is not active: it says
// what the connection lacks, a grant or a target.
func notActive(id string, status drivesync.Status) error {
	switch status {
	case drivesync.StatusAwaitingAuthorization, drivesync.StatusNeedsReauthorization:
		return ungranted(id, status)
	case drivesync.StatusAwaitingFolder, drivesync.StatusError:
		return fmt.Errorf("%w: connection %s is %s; choose its folder first", drivesync.ErrNoTarget, id, status)
	}
	return fmt.Errorf("%w: connection %s is %s, not active", drivesync.ErrConflict, id, status)
}
