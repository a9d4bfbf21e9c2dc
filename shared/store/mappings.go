package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/efactori/drivesync/shared/drivesync"
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
	// Mismatches counts the deliveries in a row of MismatchRevision whose content was not the
	// size or SHA-256 eFactori announced; past a few, the revision is recorded failed.
	Mismatches       int
	MismatchRevision int64
	// Source is the newest revision of the document a delivery took up for this connection, as
	// eFactori described it: what lists the document by number and kind, and what a retry copies
	// again without asking eFactori (which has no endpoint for one document). Zero in mappings
	// written before it existed. Set it with Saw.
	Source drivesync.Document
	// SyncedAt is when Drive was last brought in line with the document (created, updated,
	// moved, trashed for a deletion, or found right by a reconcile); zero until then.
	SyncedAt time.Time

	// version is the update time of the stored document this mapping was read from or written
	// as: every change is a single write conditional on it, instead of a transaction, and a
	// change that finds another write came first reads the mapping again. Zero when the mapping
	// is not known to be stored.
	version     time.Time
	leaseHolder string
	leaseUntil  time.Time
}

// Stored reports whether m was read from, or written to, Firestore.
func (m Mapping) Stored() bool { return !m.version.IsZero() }

// Saw records doc as the mapping's Source unless Source already holds a newer revision: a late
// delivery of an older revision must not make a retry copy it.
func (m *Mapping) Saw(doc drivesync.Document) {
	if doc.ID == m.DocumentID && doc.Revision >= m.Source.Revision {
		m.Source = doc
	}
}

// NumberKey is the form of a document number that number searches compare, on both sides:
// trimmed and lower-cased, so "f2026" finds "F2026-0001".
func NumberKey(number string) string { return strings.ToLower(strings.TrimSpace(number)) }

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
	// Absent from mappings written before they existed, which read them as zero.
	Mismatches       int   `firestore:"mismatches"`
	MismatchRevision int64 `firestore:"mismatchRevision"`
	// The document's kind and number at the top level, for the history's display and its
	// number search (numberKey, see NumberKey); the rest of its Source in source. syncedAt is
	// Mapping.SyncedAt.
	Kind      string     `firestore:"kind"`
	Number    string     `firestore:"number"`
	NumberKey string     `firestore:"numberKey"`
	Source    *sourceDoc `firestore:"source"`
	SyncedAt  time.Time  `firestore:"syncedAt"`
}

// sourceDoc is Mapping.Source but for its ID, kind and number, which live elsewhere.
type sourceDoc struct {
	Revision    int64  `firestore:"revision"`
	Date        string `firestore:"date"`
	Title       string `firestore:"title"`
	FileName    string `firestore:"fileName"`
	ContentType string `firestore:"contentType"`
	Size        int64  `firestore:"size"`
	SHA256      string `firestore:"sha256"`
	ContentURL  string `firestore:"contentUrl"`
}

// source rebuilds Mapping.Source; a mapping without one gives the zero Document.
func (d mappingDoc) source() drivesync.Document {
	if d.Source == nil || d.Source.Revision == 0 {
		return drivesync.Document{}
	}
	s := d.Source
	return drivesync.Document{ID: d.DocumentID, Revision: s.Revision, Kind: drivesync.Kind(d.Kind), Number: d.Number,
		Date: s.Date, Title: s.Title, FileName: s.FileName, ContentType: s.ContentType, Size: s.Size, SHA256: s.SHA256,
		ContentURL: s.ContentURL}
}

func (d mappingDoc) mapping(version time.Time) Mapping {
	return Mapping{DocumentID: d.DocumentID, FileID: d.FileID, Created: d.Created, Revision: d.Revision,
		SHA256: d.SHA256, FolderID: d.FolderID, Name: d.Name, State: MappingState(d.State), Code: d.Code,
		Deleted: d.Deleted, RunID: d.RunID, UpdatedAt: d.UpdatedAt,
		Mismatches: d.Mismatches, MismatchRevision: d.MismatchRevision, Source: d.source(), SyncedAt: d.SyncedAt,
		version: version, leaseHolder: d.LeaseHolder, leaseUntil: d.LeaseUntil}
}

func docOf(m Mapping) mappingDoc {
	d := mappingDoc{DocumentID: m.DocumentID, FileID: m.FileID, Created: m.Created, Revision: m.Revision,
		SHA256: m.SHA256, FolderID: m.FolderID, Name: m.Name, State: string(m.State), Code: m.Code,
		Deleted: m.Deleted, RunID: m.RunID, UpdatedAt: m.UpdatedAt, LeaseHolder: m.leaseHolder, LeaseUntil: m.leaseUntil,
		Mismatches: m.Mismatches, MismatchRevision: m.MismatchRevision, SyncedAt: m.SyncedAt}
	if src := m.Source; src.Revision != 0 {
		d.Kind, d.Number, d.NumberKey = string(src.Kind), src.Number, NumberKey(src.Number)
		d.Source = &sourceDoc{Revision: src.Revision, Date: src.Date, Title: src.Title, FileName: src.FileName,
			ContentType: src.ContentType, Size: src.Size, SHA256: src.SHA256, ContentURL: src.ContentURL}
	}
	return d
}

// updates lists every field of d, for an Update: unlike Set, it takes a precondition.
func (d mappingDoc) updates() []firestore.Update {
	return []firestore.Update{
		{Path: "documentId", Value: d.DocumentID}, {Path: "fileId", Value: d.FileID}, {Path: "created", Value: d.Created},
		{Path: "revision", Value: d.Revision}, {Path: "sha256", Value: d.SHA256}, {Path: "folderId", Value: d.FolderID},
		{Path: "name", Value: d.Name}, {Path: "state", Value: d.State}, {Path: "code", Value: d.Code},
		{Path: "deleted", Value: d.Deleted}, {Path: "runId", Value: d.RunID}, {Path: "updatedAt", Value: d.UpdatedAt},
		{Path: "leaseHolder", Value: d.LeaseHolder}, {Path: "leaseUntil", Value: d.LeaseUntil},
		{Path: "mismatches", Value: d.Mismatches}, {Path: "mismatchRevision", Value: d.MismatchRevision},
		{Path: "kind", Value: d.Kind}, {Path: "number", Value: d.Number}, {Path: "numberKey", Value: d.NumberKey},
		{Path: "source", Value: d.Source}, {Path: "syncedAt", Value: d.SyncedAt},
	}
}

// ErrLeaseLost is returned by UpdateMapping and FinishMapping when holder no longer holds the
// document's lease (it expired and another delivery took it): the caller must stop writing for
// that document.
var ErrLeaseLost = errors.New("mapping lease lost")

// mappingAttempts bounds how often one change reads the mapping again after losing a race; each
// lost race means another write went through, so a few are plenty.
const mappingAttempts = 8

func (s *Store) mappingRef(k ConnectionKey, documentID string) *firestore.DocumentRef {
	return s.connections(k.CompanyID).Doc(k.ID).Collection(ColMappings).Doc(documentID)
}

// decodeMapping turns a snapshot into a mapping; a snapshot of a missing document gives an
// unstored mapping of documentID.
func decodeMapping(snap *firestore.DocumentSnapshot, documentID string) (Mapping, error) {
	if snap == nil || !snap.Exists() {
		return Mapping{DocumentID: documentID}, nil
	}
	var d mappingDoc
	if err := snap.DataTo(&d); err != nil {
		return Mapping{}, fmt.Errorf("decode mapping %s: %w", snap.Ref.Path, err)
	}
	d.DocumentID = documentID
	return d.mapping(snap.UpdateTime), nil
}

// Mapping returns the mapping of documentID in connection k, and whether there is one.
func (s *Store) Mapping(ctx context.Context, k ConnectionKey, documentID string) (Mapping, bool, error) {
	if err := checkIDs(k.CompanyID, k.ID, documentID); err != nil {
		return Mapping{}, false, fmt.Errorf("get mapping: %w", err)
	}
	m, err := s.readMapping(ctx, k, documentID)
	if err != nil {
		return Mapping{}, false, err
	}
	return m, m.Stored(), nil
}

func (s *Store) readMapping(ctx context.Context, k ConnectionKey, documentID string) (Mapping, error) {
	snap, err := s.mappingRef(k, documentID).Get(ctx)
	if err != nil && status.Code(err) != codes.NotFound {
		return Mapping{}, fmt.Errorf("get mapping %s of connection %s: %w", documentID, k.ID, err)
	}
	return decodeMapping(snap, documentID)
}

// errNoChange ends a change that decided to write nothing.
var errNoChange = errors.New("no change")

// change applies decide to the mapping as seen and writes the result in one write conditional on
// seen's version (a create when seen is not stored). When another write came first, it reads the
// mapping again and decides again. decide returns errNoChange to write nothing; the mapping it
// then returns is the one decide was given.
func (s *Store) change(ctx context.Context, k ConnectionKey, seen Mapping, decide func(*Mapping) error) (Mapping, error) {
	ref := s.mappingRef(k, seen.DocumentID)
	m := seen
	for attempt := 1; ; attempt++ {
		next := m
		if err := decide(&next); err != nil {
			if errors.Is(err, errNoChange) {
				return m, nil
			}
			return m, err
		}
		next.DocumentID = seen.DocumentID
		next.UpdatedAt = s.now()
		d := docOf(next)
		var wr *firestore.WriteResult
		var err error
		if m.Stored() {
			wr, err = ref.Update(ctx, d.updates(), firestore.LastUpdateTime(m.version))
		} else {
			wr, err = ref.Create(ctx, d)
		}
		if err == nil {
			next.version = wr.UpdateTime
			return next, nil
		}
		switch status.Code(err) {
		case codes.AlreadyExists, codes.FailedPrecondition, codes.NotFound, codes.Aborted:
		default:
			return m, fmt.Errorf("write mapping %s of connection %s: %w", seen.DocumentID, k.ID, err)
		}
		if attempt == mappingAttempts {
			return m, fmt.Errorf("write mapping %s of connection %s: still contended after %d attempts: %w",
				seen.DocumentID, k.ID, attempt, err)
		}
		if m, err = s.readMapping(ctx, k, seen.DocumentID); err != nil {
			return Mapping{}, err
		}
	}
}

// LockMapping takes the lease on the mapping of seen.DocumentID for holder until ttl from now,
// applies change (nil for none) and returns the mapping as stored. ok is false, and nothing
// changes, while another holder's lease runs. The lease serialises the work on one document in
// one connection, so an older revision's upload can never land after a newer one's; a holder
// that died lets its lease expire.
//
// seen is the mapping as last read (Mapping, ReadDocument) or Mapping{DocumentID: id}: when it is
// still current, taking the lease is one write.
func (s *Store) LockMapping(ctx context.Context, k ConnectionKey, seen Mapping, holder string, ttl time.Duration, change func(*Mapping)) (m Mapping, ok bool, err error) {
	if err := checkIDs(k.CompanyID, k.ID, seen.DocumentID); err != nil {
		return Mapping{}, false, fmt.Errorf("lock mapping: %w", err)
	}
	m, err = s.change(ctx, k, seen, func(m *Mapping) error {
		now := s.now()
		if m.leaseHolder != "" && m.leaseHolder != holder && now.Before(m.leaseUntil) {
			ok = false
			return errNoChange
		}
		ok = true
		if !m.Stored() {
			m.State = MappingPending
		}
		m.leaseHolder, m.leaseUntil = holder, now.Add(ttl)
		if change != nil {
			change(m)
		}
		return nil
	})
	if err != nil {
		return Mapping{}, false, fmt.Errorf("lock mapping: %w", err)
	}
	return m, ok, nil
}

// UpdateMapping changes the mapping of held.DocumentID as holder of its lease: change gets the
// stored mapping and modifies it. It returns ErrLeaseLost, writing nothing, when holder does not
// hold the lease; the lease is kept (ReleaseMapping ends it). held is the mapping holder last
// got from the store; change may run more than once.
func (s *Store) UpdateMapping(ctx context.Context, k ConnectionKey, held Mapping, holder string, change func(*Mapping) error) (Mapping, error) {
	return s.updateMapping(ctx, k, held, holder, change, false)
}

// FinishMapping is UpdateMapping that also ends holder's lease, in the same write.
func (s *Store) FinishMapping(ctx context.Context, k ConnectionKey, held Mapping, holder string, change func(*Mapping) error) (Mapping, error) {
	return s.updateMapping(ctx, k, held, holder, change, true)
}

// ExtendMapping moves holder's lease on held.DocumentID to ttl from now, for work that outlasts
// the lease it took (a large upload).
func (s *Store) ExtendMapping(ctx context.Context, k ConnectionKey, held Mapping, holder string, ttl time.Duration) (Mapping, error) {
	return s.updateMapping(ctx, k, held, holder, func(m *Mapping) error {
		m.leaseUntil = s.now().Add(ttl)
		return nil
	}, false)
}

func (s *Store) updateMapping(ctx context.Context, k ConnectionKey, held Mapping, holder string, change func(*Mapping) error, release bool) (Mapping, error) {
	if err := checkIDs(k.CompanyID, k.ID, held.DocumentID); err != nil {
		return Mapping{}, fmt.Errorf("update mapping: %w", err)
	}
	if !held.Stored() {
		var err error
		if held, err = s.readMapping(ctx, k, held.DocumentID); err != nil {
			return Mapping{}, err
		}
	}
	out, err := s.change(ctx, k, held, func(m *Mapping) error {
		if !m.Stored() || m.leaseHolder != holder {
			return ErrLeaseLost
		}
		if err := change(m); err != nil {
			return err
		}
		if release {
			m.leaseHolder, m.leaseUntil = "", time.Time{}
		}
		return nil
	})
	if err != nil {
		return Mapping{}, fmt.Errorf("update mapping %s of connection %s: %w", held.DocumentID, k.ID, err)
	}
	return out, nil
}

// ReleaseMapping ends holder's lease on held.DocumentID, if holder still holds it.
func (s *Store) ReleaseMapping(ctx context.Context, k ConnectionKey, held Mapping, holder string) error {
	_, err := s.updateMapping(ctx, k, held, holder, func(*Mapping) error { return nil }, true)
	if errors.Is(err, ErrLeaseLost) {
		return nil
	}
	return err
}

// MarkMappingRun records that run visited seen.DocumentID and found it already done at revision
// (synced or failed), without taking the lease: a document Drive already holds needs no Drive
// call, only this count. It changes nothing when the mapping went past revision meanwhile (its
// holder then records the run itself), is no longer final, or is gone. seen is the mapping as
// last read; when it is current, this is one write.
func (s *Store) MarkMappingRun(ctx context.Context, k ConnectionKey, seen Mapping, runID string, revision int64) error {
	if err := checkIDs(k.CompanyID, k.ID, seen.DocumentID); err != nil {
		return fmt.Errorf("mark mapping run: %w", err)
	}
	if !seen.Stored() {
		var err error
		if seen, err = s.readMapping(ctx, k, seen.DocumentID); err != nil {
			return err
		}
	}
	_, err := s.change(ctx, k, seen, func(m *Mapping) error {
		if !m.Stored() || m.RunID == runID || m.Revision < revision || (m.State != MappingSynced && m.State != MappingFailed) {
			return errNoChange
		}
		m.RunID = runID
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark mapping %s of connection %s for run %s: %w", seen.DocumentID, k.ID, runID, err)
	}
	return nil
}
