package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MappingState is where one document stands in one connection's Drive.
type MappingState string

// The states of a mapping. Only synced and failed are final for an initial-copy run: the run's
// progress counts them.
const (
	MappingPending MappingState = "pending" // not (yet) in Drive at its revision; work will resume
	MappingSynced  MappingState = "synced"  // Drive holds Revision (or, when Deleted, the deletion was applied)
	MappingFailed  MappingState = "failed"  // this revision can never be copied; Code says why
)

// Mapping ties one eFactori document to its file in one connection's Drive. It is the record that
// makes copies exactly-once: FileID is reserved (from files.generateIds) and stored here before
// the file is created with it, so every retry creates the same file or finds it made.
type Mapping struct {
	DocumentID string
	// FileID is the Drive file of the document, reserved before the create.
	FileID string
	// Created is set once Drive is known to hold FileID; until then a create with FileID is due.
	Created bool
	// Revision and SHA256 are what Drive holds (synced) or what was last attempted.
	Revision int64
	SHA256   string
	// FolderID and Name are where and how the file was last written.
	FolderID string
	Name     string
	State    MappingState
	Code     string // the failure code of a failed or pending document
	Deleted  bool   // the document is deleted in eFactori
	// RunID is the last initial-copy run that visited the document; progress counts by it.
	RunID     string
	UpdatedAt time.Time
}

type mappingDoc struct {
	DocumentID  string    `firestore:"documentId"`
	FileID      string    `firestore:"fileId"`
	Created     bool      `firestore:"created"`
	Revision    int64     `firestore:"revision"`
	SHA256      string    `firestore:"sha256"`
	FolderID    string    `firestore:"folderId"`
	Name        string    `firestore:"name"`
	State       string    `firestore:"state"`
	Code        string    `firestore:"code"`
	Deleted     bool      `firestore:"deleted"`
	RunID       string    `firestore:"runId"`
	UpdatedAt   time.Time `firestore:"updatedAt"`
	LeaseHolder string    `firestore:"leaseHolder"`
	LeaseUntil  time.Time `firestore:"leaseUntil"`
}

func (d mappingDoc) mapping() Mapping {
	return Mapping{DocumentID: d.DocumentID, FileID: d.FileID, Created: d.Created, Revision: d.Revision,
		SHA256: d.SHA256, FolderID: d.FolderID, Name: d.Name, State: MappingState(d.State), Code: d.Code,
		Deleted: d.Deleted, RunID: d.RunID, UpdatedAt: d.UpdatedAt}
}

func (d *mappingDoc) set(m Mapping) {
	d.DocumentID, d.FileID, d.Created, d.Revision, d.SHA256 = m.DocumentID, m.FileID, m.Created, m.Revision, m.SHA256
	d.FolderID, d.Name, d.State, d.Code, d.Deleted, d.RunID = m.FolderID, m.Name, string(m.State), m.Code, m.Deleted, m.RunID
}

// ErrLeaseLost is returned by UpdateMapping when holder no longer holds the document's lease
// (it expired and another delivery took it): the caller must stop writing for that document.
var ErrLeaseLost = errors.New("mapping lease lost")

func (s *Store) mappingRef(k ConnectionKey, documentID string) *firestore.DocumentRef {
	return s.connections(k.CompanyID).Doc(k.ID).Collection(ColMappings).Doc(documentID)
}

func readMapping(snap *firestore.DocumentSnapshot) (mappingDoc, error) {
	var d mappingDoc
	if err := snap.DataTo(&d); err != nil {
		return mappingDoc{}, fmt.Errorf("decode mapping %s: %w", snap.Ref.Path, err)
	}
	return d, nil
}

// Mapping returns the mapping of documentID in connection k, and whether there is one.
func (s *Store) Mapping(ctx context.Context, k ConnectionKey, documentID string) (Mapping, bool, error) {
	if err := checkIDs(k.CompanyID, k.ID, documentID); err != nil {
		return Mapping{}, false, fmt.Errorf("get mapping: %w", err)
	}
	snap, err := s.mappingRef(k, documentID).Get(ctx)
	switch {
	case status.Code(err) == codes.NotFound:
		return Mapping{DocumentID: documentID}, false, nil
	case err != nil:
		return Mapping{}, false, fmt.Errorf("get mapping %s of connection %s: %w", documentID, k.ID, err)
	}
	d, err := readMapping(snap)
	if err != nil {
		return Mapping{}, false, err
	}
	return d.mapping(), true, nil
}

// LockMapping takes the lease on documentID's mapping for holder until ttl from now and returns
// the mapping as it is (a new one when none is stored). ok is false, and nothing changes, while
// another holder's lease runs. The lease serialises the work on one document in one connection,
// so an older revision's upload can never land after a newer one's; a holder that died lets its
// lease expire.
func (s *Store) LockMapping(ctx context.Context, k ConnectionKey, documentID, holder string, ttl time.Duration) (m Mapping, ok bool, err error) {
	if err := checkIDs(k.CompanyID, k.ID, documentID); err != nil {
		return Mapping{}, false, fmt.Errorf("lock mapping: %w", err)
	}
	ref := s.mappingRef(k, documentID)
	// A plain read turns away a delivery while the lease runs, without a transaction that would
	// contend with the holder's own writes.
	if snap, err := ref.Get(ctx); err == nil {
		d, err := readMapping(snap)
		if err != nil {
			return Mapping{}, false, err
		}
		if d.LeaseHolder != "" && d.LeaseHolder != holder && s.now().Before(d.LeaseUntil) {
			return d.mapping(), false, nil
		}
	} else if status.Code(err) == codes.NotFound {
		// A new document: creating its mapping is the lock, and of racing deliveries exactly
		// one succeeds.
		now := s.now()
		d := mappingDoc{DocumentID: documentID, State: string(MappingPending), LeaseHolder: holder, LeaseUntil: now.Add(ttl), UpdatedAt: now}
		_, err := ref.Create(ctx, d)
		switch {
		case err == nil:
			return d.mapping(), true, nil
		case status.Code(err) == codes.AlreadyExists:
			return Mapping{DocumentID: documentID, State: MappingPending}, false, nil
		default:
			return Mapping{}, false, fmt.Errorf("lock mapping %s of connection %s: %w", documentID, k.ID, err)
		}
	} else {
		return Mapping{}, false, fmt.Errorf("lock mapping %s of connection %s: %w", documentID, k.ID, err)
	}
	err = s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		ok = false
		d := mappingDoc{DocumentID: documentID, State: string(MappingPending)}
		snap, err := tx.Get(ref)
		switch {
		case status.Code(err) == codes.NotFound:
		case err != nil:
			return err
		default:
			if d, err = readMapping(snap); err != nil {
				return err
			}
		}
		now := s.now()
		m = d.mapping()
		if d.LeaseHolder != "" && d.LeaseHolder != holder && now.Before(d.LeaseUntil) {
			return nil
		}
		ok = true
		d.LeaseHolder, d.LeaseUntil = holder, now.Add(ttl)
		if d.UpdatedAt.IsZero() {
			d.UpdatedAt = now
		}
		return tx.Set(ref, d)
	}, firestore.MaxAttempts(txAttempts))
	if err != nil {
		return Mapping{}, false, fmt.Errorf("lock mapping %s of connection %s: %w", documentID, k.ID, err)
	}
	return m, ok, nil
}

// UpdateMapping changes documentID's mapping in a transaction, as holder of its lease: change gets
// the stored mapping and modifies it. It returns ErrLeaseLost, writing nothing, when holder does
// not hold the lease; the lease is kept (ReleaseMapping ends it). change may run more than once.
func (s *Store) UpdateMapping(ctx context.Context, k ConnectionKey, documentID, holder string, change func(*Mapping) error) (Mapping, error) {
	return s.updateMapping(ctx, k, documentID, holder, change, false)
}

// FinishMapping is UpdateMapping that also ends holder's lease, in the same write: the last
// change of a delivery costs one transaction instead of two.
func (s *Store) FinishMapping(ctx context.Context, k ConnectionKey, documentID, holder string, change func(*Mapping) error) (Mapping, error) {
	return s.updateMapping(ctx, k, documentID, holder, change, true)
}

func (s *Store) updateMapping(ctx context.Context, k ConnectionKey, documentID, holder string, change func(*Mapping) error, release bool) (Mapping, error) {
	if err := checkIDs(k.CompanyID, k.ID, documentID); err != nil {
		return Mapping{}, fmt.Errorf("update mapping: %w", err)
	}
	ref := s.mappingRef(k, documentID)
	var out Mapping
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return ErrLeaseLost
		}
		if err != nil {
			return err
		}
		d, err := readMapping(snap)
		if err != nil {
			return err
		}
		if d.LeaseHolder != holder {
			return ErrLeaseLost
		}
		m := d.mapping()
		if err := change(&m); err != nil {
			return err
		}
		m.DocumentID = documentID
		d.set(m)
		d.UpdatedAt = s.now()
		if release {
			d.LeaseHolder, d.LeaseUntil = "", time.Time{}
		}
		out = d.mapping()
		return tx.Set(ref, d)
	}, firestore.MaxAttempts(txAttempts))
	if err != nil {
		return Mapping{}, fmt.Errorf("update mapping %s of connection %s: %w", documentID, k.ID, err)
	}
	return out, nil
}

// ReleaseMapping ends holder's lease on documentID's mapping, if holder still holds it.
func (s *Store) ReleaseMapping(ctx context.Context, k ConnectionKey, documentID, holder string) error {
	if err := checkIDs(k.CompanyID, k.ID, documentID); err != nil {
		return fmt.Errorf("release mapping: %w", err)
	}
	ref := s.mappingRef(k, documentID)
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		d, err := readMapping(snap)
		if err != nil || d.LeaseHolder != holder {
			return err
		}
		return tx.Update(ref, []firestore.Update{{Path: "leaseHolder", Value: ""}, {Path: "leaseUntil", Value: time.Time{}}})
	}, firestore.MaxAttempts(txAttempts))
	if err != nil {
		return fmt.Errorf("release mapping %s of connection %s: %w", documentID, k.ID, err)
	}
	return nil
}

// MarkMappingRun records that run visited documentID and found it already done, in state (synced
// or failed), without taking the lease: a document Drive already holds needs no Drive call, only
// this count. It changes nothing when the mapping went past revision meanwhile (its holder then
// records the run itself) or is gone.
func (s *Store) MarkMappingRun(ctx context.Context, k ConnectionKey, documentID, runID string, revision int64) error {
	if err := checkIDs(k.CompanyID, k.ID, documentID); err != nil {
		return fmt.Errorf("mark mapping run: %w", err)
	}
	ref := s.mappingRef(k, documentID)
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		d, err := readMapping(snap)
		if err != nil {
			return err
		}
		if d.RunID == runID || d.Revision < revision || (d.State != string(MappingSynced) && d.State != string(MappingFailed)) {
			return nil
		}
		return tx.Update(ref, []firestore.Update{{Path: "runId", Value: runID}})
	}, firestore.MaxAttempts(txAttempts))
	if err != nil {
		return fmt.Errorf("mark mapping %s of connection %s for run %s: %w", documentID, k.ID, runID, err)
	}
	return nil
}
