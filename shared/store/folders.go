package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// folderDoc is one cached Drive folder of a connection: the folder with key (layout.Folder.Key)
// under ParentID. While FolderID is empty a holder may be creating it under a lease.
type folderDoc struct {
	ParentID    string    `firestore:"parentId"`
	Key         string    `firestore:"key"`
	FolderID    string    `firestore:"folderId"`
	LeaseHolder string    `firestore:"leaseHolder"`
	LeaseUntil  time.Time `firestore:"leaseUntil"`
	UpdatedAt   time.Time `firestore:"updatedAt"`
}

// folderRef names the cache entry of key under parentID. Keys hold slashes, which Firestore reads
// as path separators, and the parent is part of the identity (a re-created year folder has new
// month folders), so the document ID is a hash of both.
func (s *Store) folderRef(k ConnectionKey, parentID, key string) *firestore.DocumentRef {
	sum := sha256.Sum256([]byte(parentID + "\x00" + key))
	return s.connections(k.CompanyID).Doc(k.ID).Collection(ColFolders).Doc(hex.EncodeToString(sum[:16]))
}

// ClaimFolder returns the cached folder with key under parentID when there is one. Otherwise it
// lets holder create it: claimed is true when holder now holds the entry's lease for ttl, false
// while another holder's lease runs (the caller waits and asks again). Two documents racing for
// a new folder so create it once.
func (s *Store) ClaimFolder(ctx context.Context, k ConnectionKey, parentID, key, holder string, ttl time.Duration) (folderID string, claimed bool, err error) {
	return s.claimFolder(ctx, k, parentID, key, holder, ttl, nil)
}

// ClaimFolderSeen is ClaimFolder from the entry as seen by ReadDocument, instead of reading it
// again: what was cached stays cached, and what was missing or claimed is claimed as usual (a
// claim made since then makes the create fail, and the caller asks again).
func (s *Store) ClaimFolderSeen(ctx context.Context, k ConnectionKey, parentID, key, holder string, ttl time.Duration, seen SeenFolder) (folderID string, claimed bool, err error) {
	return s.claimFolder(ctx, k, parentID, key, holder, ttl, &seen)
}

func (s *Store) claimFolder(ctx context.Context, k ConnectionKey, parentID, key, holder string, ttl time.Duration, seen *SeenFolder) (folderID string, claimed bool, err error) {
	if err := checkIDs(k.CompanyID, k.ID); err != nil {
		return "", false, fmt.Errorf("claim folder: %w", err)
	}
	ref := s.folderRef(k, parentID, key)
	// A plain read answers the common cases (cached, or being created by another holder)
	// without a transaction: many deliveries polling one entry in transactions would hold its
	// lock in turn and starve the holder's PutFolder.
	if seen == nil {
		seen = &SeenFolder{}
		snap, err := ref.Get(ctx)
		switch {
		case err == nil:
			seen.exists = true
			if err := snap.DataTo(&seen.d); err != nil {
				return "", false, fmt.Errorf("decode folder %s: %w", ref.Path, err)
			}
		case status.Code(err) != codes.NotFound:
			return "", false, fmt.Errorf("claim folder %s under %s: %w", key, parentID, err)
		}
	}
	if seen.exists {
		d := seen.d
		if d.FolderID != "" {
			return d.FolderID, false, nil
		}
		if d.LeaseHolder != "" && d.LeaseHolder != holder && s.now().Before(d.LeaseUntil) {
			return "", false, nil
		}
	} else {
		// Creating the entry is the claim: of racing holders exactly one succeeds, without
		// the lock waits of transactions on a missing document.
		now := s.now()
		_, err := ref.Create(ctx, folderDoc{ParentID: parentID, Key: key, LeaseHolder: holder, LeaseUntil: now.Add(ttl), UpdatedAt: now})
		switch {
		case err == nil:
			return "", true, nil
		case status.Code(err) == codes.AlreadyExists:
			return "", false, nil
		default:
			return "", false, fmt.Errorf("claim folder %s under %s: %w", key, parentID, err)
		}
	}
	err = s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		folderID, claimed = "", false
		var d folderDoc
		snap, err := tx.Get(ref)
		switch {
		case status.Code(err) == codes.NotFound:
		case err != nil:
			return err
		default:
			if err := snap.DataTo(&d); err != nil {
				return fmt.Errorf("decode folder %s: %w", ref.Path, err)
			}
		}
		if d.FolderID != "" {
			folderID = d.FolderID
			return nil
		}
		now := s.now()
		if d.LeaseHolder != "" && d.LeaseHolder != holder && now.Before(d.LeaseUntil) {
			return nil
		}
		claimed = true
		return tx.Set(ref, folderDoc{ParentID: parentID, Key: key, LeaseHolder: holder, LeaseUntil: now.Add(ttl), UpdatedAt: now})
	}, firestore.MaxAttempts(txAttempts))
	if err != nil {
		return "", false, fmt.Errorf("claim folder %s under %s: %w", key, parentID, err)
	}
	return folderID, claimed, nil
}

// PutFolder caches folderID as the folder with key under parentID and ends the creation lease.
func (s *Store) PutFolder(ctx context.Context, k ConnectionKey, parentID, key, folderID string) error {
	if err := checkIDs(k.CompanyID, k.ID); err != nil {
		return fmt.Errorf("put folder: %w", err)
	}
	_, err := s.folderRef(k, parentID, key).Set(ctx, folderDoc{ParentID: parentID, Key: key, FolderID: folderID, UpdatedAt: s.now()})
	if err != nil {
		return fmt.Errorf("put folder %s under %s: %w", key, parentID, err)
	}
	return nil
}

// ForgetFolder drops the cached folder with key under parentID if it is still folderID: the
// customer deleted or trashed it, and the next document re-creates it.
func (s *Store) ForgetFolder(ctx context.Context, k ConnectionKey, parentID, key, folderID string) error {
	if err := checkIDs(k.CompanyID, k.ID); err != nil {
		return fmt.Errorf("forget folder: %w", err)
	}
	ref := s.folderRef(k, parentID, key)
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		var d folderDoc
		if err := snap.DataTo(&d); err != nil {
			return err
		}
		if d.FolderID != folderID {
			return nil
		}
		return tx.Delete(ref)
	}, firestore.MaxAttempts(txAttempts))
	if err != nil {
		return fmt.Errorf("forget folder %s under %s: %w", key, parentID, err)
	}
	return nil
}
