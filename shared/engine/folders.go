package engine

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/layout"
	"github.com/efactori/drivesync/shared/store"
)

// codeBusy marks a folder another delivery is still creating.
const codeBusy = "folder_busy"

// folderFor returns the folders doc belongs in, from the company folder down (the last is its
// parent), creating those missing. A company folder the customer deleted or trashed is
// drivesync.NeedsCustomer (only they can choose a folder again); a layout folder they deleted or
// trashed is made again.
func (e *Engine) folderFor(ctx context.Context, rec store.ConnectionRecord, dc *drive.Client, doc drivesync.Document) ([]string, error) {
	parent := rec.Target.CompanyFolderID
	if parent == "" {
		return nil, drivesync.Classify(fmt.Errorf("connection %s has no company folder", rec.ID), drivesync.NeedsCustomer, drive.CodeTargetNotFound)
	}
	if !e.fresh(parent) {
		if _, err := dc.CheckTarget(ctx, parent); err != nil {
			return nil, err
		}
		e.verified.Store(parent, e.now())
	}
	path := []string{parent}
	for _, f := range layout.Path(doc, rec.FolderLayout, rec.Locale) {
		id, err := e.folder(ctx, rec, dc, parent, f)
		if err != nil {
			return nil, err
		}
		path = append(path, id)
		parent = id
	}
	return path, nil
}

// fresh reports whether folder id was seen alive in Drive recently enough to trust the cache.
func (e *Engine) fresh(id string) bool {
	v, ok := e.verified.Load(id)
	return ok && e.now().Sub(v.(time.Time)) < folderVerifyTTL
}

// distrust makes the next document look folders up in Drive again, after Drive refused one.
func (e *Engine) distrust(ids []string) {
	for _, id := range ids {
		e.verified.Delete(id)
	}
}

// folder returns the folder f under parent: from the cache, or created under a claim on the
// cache entry so that concurrent documents make one folder. EnsureFolder finds a folder an
// earlier holder created before it could record it (it looks the key up first).
func (e *Engine) folder(ctx context.Context, rec store.ConnectionRecord, dc *drive.Client, parent string, f layout.Folder) (string, error) {
	// This instance's own memory answers first: a folder it found or made and saw alive in
	// Drive recently costs no Firestore read.
	memo := folderMemo(rec.ID, parent, f.Key)
	if v, ok := e.folders.Load(memo); ok {
		id := v.(string)
		if e.fresh(id) {
			return id, nil
		}
		// Known but not seen alive lately: Drive says whether it still is, without reading the
		// Firestore cache again (which would give the same ID).
		info, err := dc.Folder(ctx, id)
		if err == nil && !info.Trashed {
			e.verified.Store(id, e.now())
			return id, nil
		}
		if err != nil && !errors.Is(err, drive.ErrNotFound) {
			return "", err
		}
		e.folders.Delete(memo) // gone: the lookup below finds it gone too and makes it again
	}
	id, err := e.lookUpFolder(ctx, rec, dc, parent, f)
	if err == nil {
		e.folders.Store(memo, id)
	}
	return id, err
}

// folderMemo is the key of folder key under parent, for connection connectionID, in the
// instance's memory of folders (e.folders).
func folderMemo(connectionID, parent, key string) string {
	return connectionID + "\x00" + parent + "\x00" + key
}

// lookUpFolder is folder past this instance's memory: the Firestore cache, checked in Drive.
func (e *Engine) lookUpFolder(ctx context.Context, rec store.ConnectionRecord, dc *drive.Client, parent string, f layout.Folder) (string, error) {
	k := keyOf(rec)
	holder := newHolder()
	deadline := time.Now().Add(folderWait)
	poll := folderPoll
	seen, read := seenFolder(ctx, store.FolderKey{ConnectionID: rec.ID, ParentID: parent, Key: f.Key})
	for {
		var id string
		var claimed bool
		var err error
		if read {
			// The entry came with the document's read: the first ask costs no call.
			id, claimed, err = e.store.ClaimFolderSeen(ctx, k, parent, f.Key, holder, folderLeaseTTL, seen)
			read = false
		} else {
			id, claimed, err = e.store.ClaimFolder(ctx, k, parent, f.Key, holder, folderLeaseTTL)
		}
		if err != nil {
			return "", drivesync.Classify(err, drivesync.Retryable, "firestore")
		}
		switch {
		case id != "":
			if e.fresh(id) {
				return id, nil
			}
			info, err := dc.Folder(ctx, id)
			if errors.Is(err, drive.ErrNotFound) || (err == nil && info.Trashed) {
				e.log.InfoContext(ctx, "cached folder gone from drive; making it again",
					"companyId", rec.CompanyID, "connectionId", rec.ID, "folderId", id)
				if err := e.store.ForgetFolder(ctx, k, parent, f.Key, id); err != nil {
					return "", drivesync.Classify(err, drivesync.Retryable, "firestore")
				}
				continue
			}
			if err != nil {
				return "", err
			}
			e.verified.Store(id, e.now())
			return id, nil
		case claimed:
			made, err := dc.EnsureFolderPaced(ctx, rec.Target.DriveID, parent, f.Name, f.Key,
				func(ctx context.Context) error { return e.pace(ctx, rec) })
			if err != nil {
				// Let the next delivery claim it at once rather than after the lease.
				if ferr := e.store.ForgetFolder(context.WithoutCancel(ctx), k, parent, f.Key, ""); ferr != nil {
					e.log.WarnContext(ctx, "folder claim not released", "connectionId", rec.ID, "err", ferr)
				}
				return "", err
			}
			if err := e.store.PutFolder(ctx, k, parent, f.Key, made.ID); err != nil {
				return "", drivesync.Classify(err, drivesync.Retryable, "firestore")
			}
			e.verified.Store(made.ID, e.now())
			return made.ID, nil
		}
		if time.Now().After(deadline) {
			return "", drivesync.Classify(fmt.Errorf("folder %s of connection %s: another delivery is still creating it", f.Key, rec.ID),
				drivesync.Retryable, codeBusy)
		}
		select {
		case <-ctx.Done():
			return "", drivesync.Classify(fmt.Errorf("wait for folder %s: %w", f.Key, ctx.Err()), drivesync.Retryable, "canceled")
		case <-time.After(poll + time.Duration(mrand.Int64N(int64(poll)))):
		}
		// The creator waits for its account's write slot, which may take seconds: polling
		// less often as the wait goes on costs a read per poll less.
		poll = min(2*poll, maxFolderPoll)
	}
}

// folderHint is what an instance last saw of a connection's folders.
type folderHint struct {
	companyFolder string
	layout        drivesync.FolderLayout
	locale        drivesync.Locale
}

// prefetchFolders returns the folder cache entry a copy task of doc for connectionID will look
// up first, if this instance knows the connection's folders: the first layout folder of doc's
// path it has not found or made itself (deeper ones hang from its ID, unknown yet). Read with
// the document, it costs no RPC of its own.
func (e *Engine) prefetchFolders(connectionID string, doc drivesync.Document) []store.FolderKey {
	v, ok := e.folderHints.Load(connectionID)
	if !ok {
		return nil
	}
	h := v.(folderHint)
	parent := h.companyFolder
	if parent == "" {
		return nil
	}
	for _, f := range layout.Path(doc, h.layout, h.locale) {
		id, known := e.folders.Load(folderMemo(connectionID, parent, f.Key))
		if !known {
			return []store.FolderKey{{ConnectionID: connectionID, ParentID: parent, Key: f.Key}}
		}
		parent = id.(string)
	}
	return nil
}

type seenFoldersKey struct{}

// withSeenFolders carries the folder cache entries read with a delivery's document to its
// folder lookups.
func withSeenFolders(ctx context.Context, seen map[store.FolderKey]store.SeenFolder) context.Context {
	if len(seen) == 0 {
		return ctx
	}
	return context.WithValue(ctx, seenFoldersKey{}, seen)
}

func seenFolder(ctx context.Context, k store.FolderKey) (store.SeenFolder, bool) {
	seen, _ := ctx.Value(seenFoldersKey{}).(map[store.FolderKey]store.SeenFolder)
	f, ok := seen[k]
	return f, ok
}
