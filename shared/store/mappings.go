package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// Claim is the key (a layout.NameKey) of the name claim this mapping holds: ClaimName in
	// the layout folder ClaimFolder is the document's, and no other document of the connection
	// takes it. Empty before the document had a name to claim.
	Claim       string
	ClaimName   string
	ClaimFolder string
	// Releases are claims the document still holds but no longer wants (it was renamed or
	// moved): they are deleted by the write that records the file under its new name, not
	// before, so that no other document takes the old name while Drive still shows it.
	Releases []string
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
	Mismatches       int      `firestore:"mismatches"`
	MismatchRevision int64    `firestore:"mismatchRevision"`
	Claim            string   `firestore:"claim"`
	ClaimName        string   `firestore:"claimName"`
	ClaimFolder      string   `firestore:"claimFolder"`
	Releases         []string `firestore:"releases"`
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
		Mismatches: d.Mismatches, MismatchRevision: d.MismatchRevision,
		Claim: d.Claim, ClaimName: d.ClaimName, ClaimFolder: d.ClaimFolder, Releases: d.Releases, Source: d.source(), SyncedAt: d.SyncedAt,
		version: version, leaseHolder: d.LeaseHolder, leaseUntil: d.LeaseUntil}
}

func docOf(m Mapping) mappingDoc {
	d := mappingDoc{DocumentID: m.DocumentID, FileID: m.FileID, Created: m.Created, Revision: m.Revision,
		SHA256: m.SHA256, FolderID: m.FolderID, Name: m.Name, State: string(m.State), Code: m.Code,
		Deleted: m.Deleted, RunID: m.RunID, UpdatedAt: m.UpdatedAt, LeaseHolder: m.leaseHolder, LeaseUntil: m.leaseUntil,
		Mismatches: m.Mismatches, MismatchRevision: m.MismatchRevision,
		Claim: m.Claim, ClaimName: m.ClaimName, ClaimFolder: m.ClaimFolder, Releases: m.Releases, SyncedAt: m.SyncedAt}
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
		{Path: "claim", Value: d.Claim}, {Path: "claimName", Value: d.ClaimName}, {Path: "claimFolder", Value: d.ClaimFolder},
		{Path: "releases", Value: d.Releases},
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
	return s.changeNamed(ctx, k, seen, func(m *Mapping, _ map[string]string) error { return decide(m) })
}

// changeNamed is change that also keeps the mapping's name claims in step, in the same commit: a
// claim the mapping comes to hold (Claim, Releases) is created, which fails when another
// document holds it, and one it lets go of is deleted. A change that moves no claim is the
// single write it always was. When the commit fails, the claims it tried to create are read
// again with the mapping, in one call, and decide gets taken: claim key → the document that
// holds it, for every claim found held, so that it can pick another name.
func (s *Store) changeNamed(ctx context.Context, k ConnectionKey, seen Mapping, decide func(m *Mapping, taken map[string]string) error) (Mapping, error) {
	ref := s.mappingRef(k, seen.DocumentID)
	m := seen
	taken := map[string]string{}
	for attempt := 1; ; attempt++ {
		next := m
		next.Releases = slices.Clone(m.Releases)
		if err := decide(&next, taken); err != nil {
			if errors.Is(err, errNoChange) {
				return m, nil
			}
			return m, err
		}
		next.DocumentID = seen.DocumentID
		next.UpdatedAt = s.now()
		creates, deletes := claimDiff(m, next)
		d := docOf(next)
		var updated time.Time
		var err error
		if len(creates) == 0 && len(deletes) == 0 {
			var wr *firestore.WriteResult
			if m.Stored() {
				wr, err = ref.Update(ctx, d.updates(), firestore.LastUpdateTime(m.version))
			} else {
				wr, err = ref.Create(ctx, d)
			}
			if err == nil {
				updated = wr.UpdateTime
			}
		} else {
			updated, err = s.commitClaims(ctx, k, ref, m, d, next, creates, deletes)
		}
		if err == nil {
			next.version = updated
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
		if m, err = s.readWithClaims(ctx, k, seen.DocumentID, creates, taken); err != nil {
			return Mapping{}, err
		}
	}
}

// ColNames holds, under a connection, its name claims: one document per file name a document
// holds in a layout folder, keyed by layout.NameKey. The claims are what keep two documents from
// taking the same name in one folder, even when two deliveries name them at the same moment.
const ColNames = "names"

// claimDoc is one name claim.
type claimDoc struct {
	DocumentID string    `firestore:"documentId"`
	Name       string    `firestore:"name"`
	Folder     string    `firestore:"folder"`
	CreatedAt  time.Time `firestore:"createdAt"`
}

func (s *Store) claimRef(k ConnectionKey, key string) *firestore.DocumentRef {
	return s.connections(k.CompanyID).Doc(k.ID).Collection(ColNames).Doc(key)
}

// heldClaims returns the claims m holds: the one it wants and those it has yet to release.
func heldClaims(m Mapping) []string {
	var out []string
	for _, c := range append([]string{m.Claim}, m.Releases...) {
		if c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// claimDiff returns the claims next holds that stored does not (to create) and the other way
// round (to delete).
func claimDiff(stored, next Mapping) (creates, deletes []string) {
	before, after := heldClaims(stored), heldClaims(next)
	for _, c := range after {
		if !slices.Contains(before, c) {
			creates = append(creates, c)
		}
	}
	for _, c := range before {
		if !slices.Contains(after, c) {
			deletes = append(deletes, c)
		}
	}
	return creates, deletes
}

// commitClaims writes mapping d (conditional on stored's version, or a create) together with
// the claims to create and delete, in one Commit: all of it lands or none.
func (s *Store) commitClaims(ctx context.Context, k ConnectionKey, ref *firestore.DocumentRef, stored Mapping, d mappingDoc,
	next Mapping, creates, deletes []string) (time.Time, error) {
	// A WriteBatch is one Commit call, atomic, with each write's precondition; a transaction
	// would cost a BeginTransaction call more, on the path of every new document.
	//lint:ignore SA1019 the replacements cost an extra call (Transaction) or are not atomic (BulkWriter).
	b := s.fs.Batch()
	if stored.Stored() {
		b.Update(ref, d.updates(), firestore.LastUpdateTime(stored.version))
	} else {
		b.Create(ref, d)
	}
	for _, c := range creates {
		cd := claimDoc{DocumentID: next.DocumentID, CreatedAt: s.now()}
		if c == next.Claim {
			cd.Name, cd.Folder = next.ClaimName, next.ClaimFolder
		}
		b.Create(s.claimRef(k, c), cd)
	}
	for _, c := range deletes {
		b.Delete(s.claimRef(k, c))
	}
	res, err := b.Commit(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return res[0].UpdateTime, nil
}

// readWithClaims reads the mapping of documentID and the claims keys in one call, recording in
// taken who holds each claim that exists. A claim this document holds without its mapping saying
// so (not expected, but cheap to heal) is counted among the mapping's Releases, so that it is
// neither created again nor kept for ever.
func (s *Store) readWithClaims(ctx context.Context, k ConnectionKey, documentID string, keys []string, taken map[string]string) (Mapping, error) {
	if len(keys) == 0 {
		return s.readMapping(ctx, k, documentID)
	}
	refs := []*firestore.DocumentRef{s.mappingRef(k, documentID)}
	for _, c := range keys {
		refs = append(refs, s.claimRef(k, c))
	}
	snaps, err := s.fs.GetAll(ctx, refs)
	if err != nil {
		return Mapping{}, fmt.Errorf("get mapping %s of connection %s and its name claims: %w", documentID, k.ID, err)
	}
	m, err := decodeMapping(snaps[0], documentID)
	if err != nil {
		return Mapping{}, err
	}
	for i, snap := range snaps[1:] {
		if !snap.Exists() {
			delete(taken, keys[i])
			continue
		}
		var c claimDoc
		if err := snap.DataTo(&c); err != nil {
			return Mapping{}, fmt.Errorf("decode name claim %s: %w", snap.Ref.Path, err)
		}
		taken[keys[i]] = c.DocumentID
		if c.DocumentID == documentID && !slices.Contains(heldClaims(m), keys[i]) {
			m.Releases = append(m.Releases, keys[i])
		}
	}
	return m, nil
}

// NameOption is one name a document may take, with its claim key (layout.NameKey).
type NameOption struct {
	Name string
	Key  string
}

// NameWant is the name a document should hold: one of Names, in order of preference, in the
// layout folder Folder (a layout.Folder key).
type NameWant struct {
	Folder string
	Names  []NameOption
}

// ErrNoName is returned when every name of a NameWant is held by another document.
var ErrNoName = errors.New("every name the document may take is held by another document")

// claimName makes m hold one of want's names: the one it holds, when it is still among them (a
// document keeps its name while its file name and folder stay), else the first one no other
// document holds. The claim it held before is released once Drive shows the new name.
func claimName(m *Mapping, want NameWant, taken map[string]string) error {
	if m.Claim != "" && m.ClaimFolder == want.Folder {
		for _, o := range want.Names {
			if o.Key == m.Claim {
				m.ClaimName = o.Name
				return nil
			}
		}
	}
	names := slices.Clone(want.Names)
	// Within the same folder (or with no claim known: a file adopted from Drive) the name the
	// file already has comes first, so that a file suffixed earlier keeps its suffix instead of
	// swapping names with another. A document moved to another folder starts afresh.
	if m.Claim == "" || m.ClaimFolder == want.Folder {
		if i := slices.IndexFunc(names, func(o NameOption) bool { return o.Name == m.Name }); i > 0 {
			o := names[i]
			names = append([]NameOption{o}, slices.Delete(names, i, i+1)...)
		}
	}
	for _, o := range names {
		if h, ok := taken[o.Key]; ok && h != m.DocumentID {
			continue
		}
		if m.Claim != "" && m.Claim != o.Key && !slices.Contains(m.Releases, m.Claim) {
			m.Releases = append(m.Releases, m.Claim)
		}
		m.Releases = slices.DeleteFunc(m.Releases, func(r string) bool { return r == o.Key })
		m.Claim, m.ClaimName, m.ClaimFolder = o.Key, o.Name, want.Folder
		return nil
	}
	return ErrNoName
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
	return s.LockMappingNamed(ctx, k, seen, holder, ttl, nil, change)
}

// LockMappingNamed is LockMapping that also makes the mapping hold one of want's names (nil for
// none), claimed in the same write: a document that keeps its name, or takes a name no other
// holds, costs no extra call. It returns ErrNoName when others hold every name of want.
func (s *Store) LockMappingNamed(ctx context.Context, k ConnectionKey, seen Mapping, holder string, ttl time.Duration,
	want *NameWant, change func(*Mapping)) (m Mapping, ok bool, err error) {
	if err := checkIDs(k.CompanyID, k.ID, seen.DocumentID); err != nil {
		return Mapping{}, false, fmt.Errorf("lock mapping: %w", err)
	}
	m, err = s.changeNamed(ctx, k, seen, func(m *Mapping, taken map[string]string) error {
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
		if want != nil {
			return claimName(m, *want, taken)
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
