package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/efactori/drivesync/shared/drivesync"
)

// Subcollections of a connection that later tasks fill; DeleteConnection removes them (and any
// other subcollection) with the connection.
const (
	ColMappings = "mappings"
	ColFolders  = "folders"
)

// txAttempts bounds the retries of a contended transaction. Creating connections with the same
// name at once makes every transaction but one abort and retry; Firestore's default of 5
// attempts is too few for a burst of ten.
const txAttempts = 30

// ConnectionRecord is a connection as stored: the domain connection plus what only drivesync
// itself reads. RefreshToken is ciphertext (tokencrypt, associated data = the connection ID);
// the store never sees a plaintext token and keeps no access token.
type ConnectionRecord struct {
	drivesync.Connection
	// PreviousStatus is the status to return to after a re-consent.
	PreviousStatus drivesync.Status
	// GoogleSubject is Google's stable ID of the consenting account.
	GoogleSubject string
	RefreshToken  []byte
	TokenExpiry   time.Time
	// StatusSeq counts the connection's status changes; the write that makes one increments it
	// and names the change's status event after it (statusevent.StatusEventID).
	StatusSeq int64
	// PendingEvents are the status events (statusevent.Encode) written with the changes that made
	// them and not yet known to be published: the outbox UpdateConnection and the reads relay.
	PendingEvents []string
	// TargetReused says the company folder existed when the target was chosen (an earlier
	// connection made it): it may hold files only the run's inventory finds.
	TargetReused bool
}

// HasGrant reports whether the record holds a refresh token.
func (r ConnectionRecord) HasGrant() bool { return len(r.RefreshToken) > 0 }

// ConnectionKey names one connection of one company.
type ConnectionKey struct {
	CompanyID string
	ID        string
}

// NameKey is the form of a connection name that must be unique within a company: trimmed and
// lower-cased, so "Comptabilité" and " comptabilité " clash.
func NameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

type targetDoc struct {
	FolderID        string   `firestore:"folderId"`
	DriveID         string   `firestore:"driveId"`
	Path            []string `firestore:"path"`
	CompanyFolderID string   `firestore:"companyFolderId"`
}

type initialCopyDoc struct {
	State      string    `firestore:"state"`
	RunID      string    `firestore:"runId"`
	Kind       string    `firestore:"kind"`
	Listed     int       `firestore:"listed"`
	Synced     int       `firestore:"synced"`
	Failed     int       `firestore:"failed"`
	StartedAt  time.Time `firestore:"startedAt"`
	FinishedAt time.Time `firestore:"finishedAt"`
}

type lastErrorDoc struct {
	Code    string    `firestore:"code"`
	Message string    `firestore:"message"`
	At      time.Time `firestore:"at"`
}

// connectionDoc is the Firestore form of a ConnectionRecord. id is stored as a field too, so
// that a collection-group query can find a connection from its ID alone.
type connectionDoc struct {
	ID                 string         `firestore:"id"`
	CompanyID          string         `firestore:"companyId"`
	Name               string         `firestore:"name"`
	NameKey            string         `firestore:"nameKey"`
	FolderLayout       string         `firestore:"folderLayout"`
	Locale             string         `firestore:"locale"`
	OnDelete           string         `firestore:"onDelete"`
	Status             string         `firestore:"status"`
	PreviousStatus     string         `firestore:"previousStatus"`
	GoogleAccountEmail string         `firestore:"googleAccountEmail"`
	GoogleSubject      string         `firestore:"googleSubject"`
	RefreshToken       []byte         `firestore:"refreshToken"`
	TokenExpiry        time.Time      `firestore:"tokenExpiry"`
	Target             targetDoc      `firestore:"target"`
	InitialCopy        initialCopyDoc `firestore:"initialCopy"`
	LastSyncAt         time.Time      `firestore:"lastSyncAt"`
	LastError          *lastErrorDoc  `firestore:"lastError"`
	CreatedAt          time.Time      `firestore:"createdAt"`
	UpdatedAt          time.Time      `firestore:"updatedAt"`
	StatusSeq          int64          `firestore:"statusSeq"`
	PendingEvents      []string       `firestore:"pendingEvents"`
	// DeletionEvent is the status event of the connection's deletion, once DeleteConnection
	// started: a retried deletion publishes the same event again instead of a new one.
	DeletionEvent string `firestore:"deletionEvent,omitempty"`
	TargetReused  bool   `firestore:"targetReused,omitempty"`
}

func toDoc(r ConnectionRecord) connectionDoc {
	c := r.Connection
	d := connectionDoc{
		ID: c.ID, CompanyID: c.CompanyID, Name: c.Name, NameKey: NameKey(c.Name),
		FolderLayout: string(c.FolderLayout), Locale: string(c.Locale), OnDelete: string(c.OnDelete),
		Status: string(c.Status), PreviousStatus: string(r.PreviousStatus),
		GoogleAccountEmail: c.GoogleAccountEmail, GoogleSubject: r.GoogleSubject,
		RefreshToken: r.RefreshToken, TokenExpiry: r.TokenExpiry,
		Target: targetDoc{FolderID: c.Target.FolderID, DriveID: c.Target.DriveID, Path: c.Target.Path,
			CompanyFolderID: c.Target.CompanyFolderID},
		InitialCopy: initialCopyDoc{State: string(c.InitialCopy.State), RunID: c.InitialCopy.RunID, Kind: string(c.InitialCopy.Kind),
			Listed: c.InitialCopy.Listed, Synced: c.InitialCopy.Synced, Failed: c.InitialCopy.Failed,
			StartedAt: c.InitialCopy.StartedAt, FinishedAt: c.InitialCopy.FinishedAt},
		LastSyncAt: c.LastSyncAt, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		StatusSeq: r.StatusSeq, PendingEvents: r.PendingEvents, TargetReused: r.TargetReused,
	}
	if c.LastError != nil {
		d.LastError = &lastErrorDoc{Code: c.LastError.Code, Message: c.LastError.Message, At: c.LastError.At}
	}
	return d
}

func fromDoc(d connectionDoc) ConnectionRecord {
	c := drivesync.Connection{
		ID: d.ID, CompanyID: d.CompanyID, Name: d.Name,
		FolderLayout: drivesync.FolderLayout(d.FolderLayout), Locale: drivesync.Locale(d.Locale),
		OnDelete: drivesync.OnDelete(d.OnDelete), Status: drivesync.Status(d.Status),
		GoogleAccountEmail: d.GoogleAccountEmail,
		Target: drivesync.Target{FolderID: d.Target.FolderID, DriveID: d.Target.DriveID, Path: d.Target.Path,
			CompanyFolderID: d.Target.CompanyFolderID},
		InitialCopy: drivesync.InitialCopy{State: drivesync.CopyState(d.InitialCopy.State), RunID: d.InitialCopy.RunID,
			Kind:   drivesync.RunKind(d.InitialCopy.Kind),
			Listed: d.InitialCopy.Listed, Synced: d.InitialCopy.Synced, Failed: d.InitialCopy.Failed,
			StartedAt: d.InitialCopy.StartedAt, FinishedAt: d.InitialCopy.FinishedAt},
		LastSyncAt: d.LastSyncAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
	if d.LastError != nil {
		c.LastError = &drivesync.LastError{Code: d.LastError.Code, Message: d.LastError.Message, At: d.LastError.At}
	}
	return ConnectionRecord{Connection: c, PreviousStatus: drivesync.Status(d.PreviousStatus),
		GoogleSubject: d.GoogleSubject, RefreshToken: d.RefreshToken, TokenExpiry: d.TokenExpiry,
		StatusSeq: d.StatusSeq, PendingEvents: d.PendingEvents, TargetReused: d.TargetReused}
}

func decodeConnection(snap *firestore.DocumentSnapshot) (ConnectionRecord, error) {
	var d connectionDoc
	if err := snap.DataTo(&d); err != nil {
		return ConnectionRecord{}, fmt.Errorf("decode connection %s: %w", snap.Ref.Path, err)
	}
	return fromDoc(d), nil
}

func (s *Store) connections(companyID string) *firestore.CollectionRef {
	return s.company(companyID).Collection(colConnections)
}

// checkIDs refuses IDs Firestore would read as paths or reject, so that a caller-supplied ID can
// never reach outside its company's subtree.
func checkIDs(ids ...string) error {
	for _, id := range ids {
		if id == "" || strings.Contains(id, "/") || id == "." || id == ".." ||
			(strings.HasPrefix(id, "__") && strings.HasSuffix(id, "__")) || len(id) > 1500 {
			return fmt.Errorf("id %q: %w", id, drivesync.ErrNotFound)
		}
	}
	return nil
}

// lockNames serialises the transactions that change a company's connection names: each reads the
// company document and writes it (writeNames), so of two transactions that both found a name free
// only one commits; the other is retried and then sees the name taken. A query alone would not
// guarantee that, since a new document does not conflict with a query that did not return it.
func (s *Store) lockNames(tx *firestore.Transaction, companyID string) error {
	_, err := tx.Get(s.company(companyID))
	if err != nil && status.Code(err) != codes.NotFound {
		return fmt.Errorf("lock names of company %s: %w", companyID, err)
	}
	return nil
}

func (s *Store) writeNames(tx *firestore.Transaction, companyID, companyName string) error {
	data := map[string]any{"connectionsChangedAt": s.now(), "connectionsVersion": firestore.Increment(1)}
	if companyName != "" {
		data["name"] = companyName
	}
	return tx.Set(s.company(companyID), data, firestore.MergeAll)
}

// nameTaken reports whether another connection of the company than exceptID has the name key.
func (s *Store) nameTaken(tx *firestore.Transaction, companyID, key, exceptID string) (bool, error) {
	snaps, err := tx.Documents(s.connections(companyID).Where("nameKey", "==", key).Limit(2)).GetAll()
	if err != nil {
		return false, fmt.Errorf("look up connection name in company %s: %w", companyID, err)
	}
	for _, snap := range snaps {
		if snap.Ref.ID != exceptID {
			return true, nil
		}
	}
	return false, nil
}

// CreateConnection stores a new connection of rec.CompanyID and records companyName as the
// company's name (the name of the folder drivesync creates in Drive). It returns an error
// wrapping drivesync.ErrNameTaken (an ErrConflict) when another connection of the company has
// the same name, case and surrounding spaces aside, and a *drivesync.ConnectionLimitError when the company already
// has limit connections. Both are decided in the transaction that creates the connection, which
// also writes the company document every creation writes: of concurrent creations, each sees
// the ones that committed before it, so a burst cannot go past limit.
func (s *Store) CreateConnection(ctx context.Context, companyName string, rec ConnectionRecord, limit int) error {
	if err := checkIDs(rec.CompanyID, rec.ID); err != nil {
		return fmt.Errorf("create connection: %w", err)
	}
	if limit < 1 {
		return fmt.Errorf("create connection %s: limit %d is not positive", rec.ID, limit)
	}
	ref := s.connections(rec.CompanyID).Doc(rec.ID)
	key := NameKey(rec.Name)
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		if err := s.lockNames(tx, rec.CompanyID); err != nil {
			return err
		}
		res, err := s.connections(rec.CompanyID).NewAggregationQuery().WithCount("n").Transaction(tx).Get(ctx)
		if err != nil {
			return fmt.Errorf("count connections of %s: %w", rec.CompanyID, err)
		}
		n, err := countOf(res, "n")
		if err != nil {
			return fmt.Errorf("count connections of %s: %w", rec.CompanyID, err)
		}
		if n >= limit {
			return &drivesync.ConnectionLimitError{Limit: limit}
		}
		taken, err := s.nameTaken(tx, rec.CompanyID, key, rec.ID)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("%w: a connection named %q already exists", drivesync.ErrNameTaken, rec.Name)
		}
		if err := s.writeNames(tx, rec.CompanyID, companyName); err != nil {
			return err
		}
		return tx.Create(ref, toDoc(rec))
	}, firestore.MaxAttempts(txAttempts))
	switch {
	case status.Code(err) == codes.AlreadyExists:
		return fmt.Errorf("create connection %s: %w: id in use", rec.ID, drivesync.ErrConflict)
	case err != nil:
		return fmt.Errorf("create connection %s: %w", rec.ID, err)
	}
	return nil
}

// Connection returns connection id of companyID, or an error wrapping drivesync.ErrNotFound when
// the company has no such connection.
func (s *Store) Connection(ctx context.Context, companyID, id string) (ConnectionRecord, error) {
	if err := checkIDs(companyID, id); err != nil {
		return ConnectionRecord{}, fmt.Errorf("get connection: %w", err)
	}
	snap, err := s.connections(companyID).Doc(id).Get(ctx)
	switch {
	case status.Code(err) == codes.NotFound:
		return ConnectionRecord{}, fmt.Errorf("get connection %s: %w", id, drivesync.ErrNotFound)
	case err != nil:
		return ConnectionRecord{}, fmt.Errorf("get connection %s: %w", id, err)
	}
	rec, err := decodeConnection(snap)
	if err != nil {
		return ConnectionRecord{}, err
	}
	s.relay(ctx, snap.Ref, rec.PendingEvents)
	return rec, nil
}

// Connections returns every connection of companyID, oldest first.
func (s *Store) Connections(ctx context.Context, companyID string) ([]ConnectionRecord, error) {
	if err := checkIDs(companyID); err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	snaps, err := s.connections(companyID).OrderBy("createdAt", firestore.Asc).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("list connections of %s: %w", companyID, err)
	}
	out := make([]ConnectionRecord, 0, len(snaps))
	for _, snap := range snaps {
		rec, err := decodeConnection(snap)
		if err != nil {
			return nil, err
		}
		s.relay(ctx, snap.Ref, rec.PendingEvents)
		out = append(out, rec)
	}
	return out, nil
}

// UpdateConnection changes connection id of companyID in a transaction: it reads the record,
// lets change modify it and writes it back, with UpdatedAt set. change may run more than once
// (a contended transaction is retried) and must only modify the record it is given; its error
// ends the update and is returned as is. ID and CompanyID cannot be changed. A new name must be
// free in the company (drivesync.ErrNameTaken, an ErrConflict, otherwise); a missing connection is
// drivesync.ErrNotFound.
func (s *Store) UpdateConnection(ctx context.Context, companyID, id string, change func(*ConnectionRecord) error) (ConnectionRecord, error) {
	if err := checkIDs(companyID, id); err != nil {
		return ConnectionRecord{}, fmt.Errorf("update connection: %w", err)
	}
	ref := s.connections(companyID).Doc(id)
	var out ConnectionRecord
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return fmt.Errorf("connection %s: %w", id, drivesync.ErrNotFound)
		}
		if err != nil {
			return err
		}
		rec, err := decodeConnection(snap)
		if err != nil {
			return err
		}
		oldKey := NameKey(rec.Name)
		before := rec.Connection
		if err := change(&rec); err != nil {
			return err
		}
		rec.ID, rec.CompanyID = id, companyID
		rec.UpdatedAt = s.now()
		if err := s.recordEvents(&rec, before); err != nil {
			return err
		}
		if key := NameKey(rec.Name); key != oldKey {
			if err := s.lockNames(tx, companyID); err != nil {
				return err
			}
			taken, err := s.nameTaken(tx, companyID, key, id)
			if err != nil {
				return err
			}
			if taken {
				return fmt.Errorf("%w: a connection named %q already exists", drivesync.ErrNameTaken, rec.Name)
			}
			if err := s.writeNames(tx, companyID, ""); err != nil {
				return err
			}
		}
		out = rec
		d := toDoc(rec)
		// A deletion under way keeps its event, so that its retry publishes the same one.
		if v, err := snap.DataAt("deletionEvent"); err == nil {
			d.DeletionEvent, _ = v.(string)
		}
		return tx.Set(ref, d)
	}, firestore.MaxAttempts(txAttempts))
	if err != nil {
		return ConnectionRecord{}, fmt.Errorf("update connection %s: %w", id, err)
	}
	s.relay(ctx, ref, out.PendingEvents)
	return out, nil
}

// DeleteConnection deletes connection id of companyID with every document under it (mappings,
// folder cache). It returns an error wrapping drivesync.ErrNotFound when there is no such
// connection. With status events on (WithStatusEvents), the deletion's event is first recorded
// on the connection and published, with any other pending event: should publishing fail, the
// error is returned and nothing is deleted, so a retry publishes the same event again.
func (s *Store) DeleteConnection(ctx context.Context, companyID, id string) error {
	if err := checkIDs(companyID, id); err != nil {
		return fmt.Errorf("delete connection: %w", err)
	}
	ref := s.connections(companyID).Doc(id)
	pending, err := s.recordDeletion(ctx, ref)
	if err != nil {
		return fmt.Errorf("delete connection %s: %w", id, err)
	}
	if s.events != nil {
		if err := s.events.PublishEvents(ctx, pending); err != nil {
			return fmt.Errorf("delete connection %s: publish status events: %w", id, err)
		}
	}
	// Subcollections first: should this fail half way, the connection is still there to be
	// deleted again, instead of orphaned documents no one can reach.
	if err := s.deleteTree(ctx, ref, false); err != nil {
		return fmt.Errorf("delete connection %s: %w", id, err)
	}
	if _, err := ref.Delete(ctx); err != nil {
		return fmt.Errorf("delete connection %s: %w", id, err)
	}
	return nil
}

// deleteTree deletes every document under ref's subcollections, at any depth, and ref itself when
// self is set. Listing collections (rather than naming them) catches subcollections later tasks
// add, and documents that exist only as parents of others.
func (s *Store) deleteTree(ctx context.Context, ref *firestore.DocumentRef, self bool) error {
	bw := s.fs.BulkWriter(ctx)
	var jobs []*firestore.BulkWriterJob
	var walk func(*firestore.DocumentRef) error
	walk = func(doc *firestore.DocumentRef) error {
		cols := doc.Collections(ctx)
		for {
			col, err := cols.Next()
			if errors.Is(err, iterator.Done) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("list subcollections of %s: %w", doc.Path, err)
			}
			refs := col.DocumentRefs(ctx)
			for {
				child, err := refs.Next()
				if errors.Is(err, iterator.Done) {
					break
				}
				if err != nil {
					return fmt.Errorf("list documents of %s: %w", col.Path, err)
				}
				if err := walk(child); err != nil {
					return err
				}
				job, err := bw.Delete(child)
				if err != nil {
					return fmt.Errorf("delete %s: %w", child.Path, err)
				}
				jobs = append(jobs, job)
			}
		}
	}
	err := walk(ref)
	if err == nil && self {
		var job *firestore.BulkWriterJob
		if job, err = bw.Delete(ref); err == nil {
			jobs = append(jobs, job)
		}
	}
	bw.End()
	if err != nil {
		return err
	}
	for _, job := range jobs {
		if _, err := job.Results(); err != nil {
			return fmt.Errorf("delete documents: %w", err)
		}
	}
	return nil
}

// ConnectionByID finds a connection from its ID alone, in whichever company it is, for callers
// that only know the ID (the OAuth token source's Persister). Connection IDs are random, so at
// most one company has it. It returns drivesync.ErrNotFound when none has.
func (s *Store) ConnectionByID(ctx context.Context, id string) (ConnectionRecord, error) {
	if err := checkIDs(id); err != nil {
		return ConnectionRecord{}, fmt.Errorf("find connection: %w", err)
	}
	snaps, err := s.fs.CollectionGroup(colConnections).Where("id", "==", id).Limit(2).Documents(ctx).GetAll()
	if err != nil {
		return ConnectionRecord{}, fmt.Errorf("find connection %s: %w", id, err)
	}
	for _, snap := range snaps {
		// A document elsewhere could be named "connections" too; only companies/*/connections/*
		// counts.
		if parent := snap.Ref.Parent.Parent; parent == nil || parent.Parent.ID != colCompanies {
			continue
		}
		return decodeConnection(snap)
	}
	return ConnectionRecord{}, fmt.Errorf("find connection %s: %w", id, drivesync.ErrNotFound)
}

// GrantHolders returns connections, in any company, holding a grant of the Google account
// subject, at most limit of them. It crosses tenants on purpose: Google keeps one grant per
// account and OAuth client, shared by every connection to that account, and revoking it for one
// would disconnect the others. Callers only learn whether others exist, never their data.
func (s *Store) GrantHolders(ctx context.Context, subject string, limit int) ([]ConnectionKey, error) {
	if subject == "" {
		return nil, nil
	}
	snaps, err := s.fs.CollectionGroup(colConnections).Where("googleSubject", "==", subject).
		Select("companyId", "refreshToken").Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("find connections of google account %s: %w", subject, err)
	}
	var out []ConnectionKey
	for _, snap := range snaps {
		parent := snap.Ref.Parent.Parent
		if parent == nil || parent.Parent.ID != colCompanies {
			continue
		}
		tok, _ := snap.DataAt("refreshToken")
		if b, _ := tok.([]byte); len(b) == 0 {
			continue
		}
		out = append(out, ConnectionKey{CompanyID: parent.ID, ID: snap.Ref.ID})
	}
	return out, nil
}

// CompanyName returns the company name last recorded by CreateConnection; "" when none was.
func (s *Store) CompanyName(ctx context.Context, companyID string) (string, error) {
	if err := checkIDs(companyID); err != nil {
		return "", fmt.Errorf("get company name: %w", err)
	}
	snap, err := s.company(companyID).Get(ctx)
	switch {
	case status.Code(err) == codes.NotFound:
		return "", nil
	case err != nil:
		return "", fmt.Errorf("get company %s: %w", companyID, err)
	}
	var doc companyDoc
	if err := snap.DataTo(&doc); err != nil {
		return "", fmt.Errorf("decode company %s: %w", companyID, err)
	}
	return doc.Name, nil
}

// ConnectionWatch follows one connection's record.
type ConnectionWatch struct {
	it *firestore.DocumentSnapshotIterator
}

// WatchConnection follows connection id of companyID: one Listen stream over which Firestore
// pushes each change of the record. Stop it when done.
func (s *Store) WatchConnection(ctx context.Context, companyID, id string) (*ConnectionWatch, error) {
	if err := checkIDs(companyID, id); err != nil {
		return nil, fmt.Errorf("watch connection: %w", err)
	}
	return &ConnectionWatch{it: s.connections(companyID).Doc(id).Snapshots(ctx)}, nil
}

// Next waits for the record as it first is, or for its next change. A deleted connection is
// drivesync.ErrNotFound.
func (w *ConnectionWatch) Next() (ConnectionRecord, error) {
	snap, err := w.it.Next()
	if err != nil {
		return ConnectionRecord{}, fmt.Errorf("watch connection: %w", err)
	}
	if !snap.Exists() {
		return ConnectionRecord{}, fmt.Errorf("watch connection %s: %w", snap.Ref.ID, drivesync.ErrNotFound)
	}
	return decodeConnection(snap)
}

// Stop ends the watch. Call it from the goroutine that calls Next: to end a wait from another
// one, cancel the context the watch was started with.
func (w *ConnectionWatch) Stop() { w.it.Stop() }
