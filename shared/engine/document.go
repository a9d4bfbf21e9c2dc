package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/efactori"
	"github.com/efactori/drivesync/shared/layout"
	"github.com/efactori/drivesync/shared/logging"
	"github.com/efactori/drivesync/shared/store"
)

// Codes the engine puts on the failures it finds itself.
const (
	CodeEventTooOld    = "event_too_old"          // an event older than MaxEventAge, dropped
	CodeDocumentBusy   = "document_busy"          // another delivery holds the document's lease
	CodeNewerPending   = "newer_revision_pending" // a newer revision is still being copied
	CodeFolderGone     = "folder_gone"            // Drive lost a cached folder twice in a row
	CodeTooManyChanges = "file_keeps_changing"    // the file vanished again while being re-created
	CodeNoName         = "file_name_unavailable"  // other documents hold every name the document may take
)

// maxMismatches is how many deliveries in a row may find a revision's content other than the
// size or SHA-256 eFactori announced (each after its inline attempts) before the revision is
// recorded failed with that code. A replica catching up serves the right bytes within a few
// of Pub/Sub's retries; content that stays wrong would only be retried until it is
// dead-lettered. A new revision, or a new run, tries again.
const maxMismatches = 5

// errFolderGone marks a Drive refusal because the parent folder is gone: the folders are looked
// up again and the write is tried once more.
var errFolderGone = errors.New("parent folder gone from drive")

// mode is how a copy task asks for its document: verify (a reconcile's task) checks the file in
// Drive even when the mapping says it holds the revision; retry (a customer's retry) tries again
// a revision recorded failed.
type mode struct {
	verify, retry bool
}

// work is one delivery's work on one document of one connection, under the document's lease.
type work struct {
	e       *Engine
	rec     store.ConnectionRecord
	k       store.ConnectionKey
	doc     drivesync.Document
	deleted bool
	runID   string
	// since is when the change began (the event's occurrence, or the run's start for a copy
	// task); the delivery's lag to Drive is measured from it. Zero when unknown.
	since time.Time
	// began is when the delivery started: how long it held its request (its concurrency slot)
	// is logged with the outcome.
	began  time.Time
	holder string
	m      store.Mapping
	log    *slog.Logger
	// released is set once a final change of the mapping has ended the lease.
	released bool
	// rechecked is set once the folders were looked up in Drive again after a refusal.
	rechecked bool
}

// syncDocument brings doc into rec's Drive once: created, updated, moved, renamed or (for a
// deletion) trashed as the connection says. seen is doc's mapping in rec as just read; runID is
// the initial-copy run that asked, or "" for an event; since is when the change began, for the
// lag the delivery logs (zero when unknown). It returns nil when the delivery is to be
// acknowledged, having recorded any failure that needs no retry, and a classified error only
// when a retry can help.
//
// A new document costs three Firestore operations: the read that found seen, the write that
// takes the lease together with the file ID reserved for it, and the write that records the
// outcome and ends the lease.
func (e *Engine) syncDocument(ctx context.Context, rec store.ConnectionRecord, seen store.Mapping, doc drivesync.Document, deleted bool, runID string, how mode, since time.Time) error {
	began := time.Now()
	k := keyOf(rec)
	log := e.log.With("companyId", rec.CompanyID, "connectionId", rec.ID, "documentId", doc.ID, "revision", doc.Revision)
	if runID != "" {
		log = log.With(logging.FieldRunID, runID)
	}
	// The common case, a document Drive already holds, costs only the read and no Drive call.
	if done, err := e.skip(ctx, k, seen, doc, deleted, runID, how); done {
		return err
	}
	// The account's write budget comes before the lease: a delivery that would wait too long
	// for it goes back to Pub/Sub having written nothing. A deletion the connection keeps
	// writes nothing to Drive.
	if !deleted || rec.OnDelete == drivesync.OnDeleteTrash {
		class := paceLive
		if runID != "" {
			class = paceCopy
		}
		admitted, unadmit, err := e.admit(ctx, rec, class)
		if err != nil {
			return err
		}
		defer unadmit()
		ctx = admitted
	}
	// A document Drive has never seen takes its file ID with the lease, in the same write. A
	// failure to reserve one here is left to the work below, which classifies it.
	var id string
	if !deleted && !seen.Created && seen.FileID == "" {
		if dc, err := e.conns.DriveClient(ctx, rec); err == nil {
			if id, err = e.reserveID(ctx, rec.ID, dc); err != nil {
				log.DebugContext(ctx, "file id not reserved ahead of the lease", "err", err)
			}
		}
	}
	// The file's name is claimed in the same write, so that no other document of its folder
	// takes it (see layout.FileNames).
	var want *store.NameWant
	if !deleted {
		want = nameWant(doc, rec)
	}
	holder := newHolder()
	m, ok, err := e.store.LockMappingNamed(ctx, k, seen, holder, e.lease, want, func(m *store.Mapping) {
		if id != "" && !m.Created && m.FileID == "" {
			m.FileID = id
		}
		// The document as eFactori described it rides on the same write: the history lists it
		// by number and kind, and a retry copies it again from it. A deletion's description
		// is not one to copy.
		if !deleted {
			m.Saw(doc)
		}
		if how.retry && m.State == store.MappingFailed && m.Revision == doc.Revision {
			// The customer's retry gets a full count of deliveries again.
			m.Mismatches, m.MismatchRevision = 0, 0
		}
	})
	// An ID the lock did not store goes back to the pool. After a failed write it does not: a
	// write cancelled or timed out may still have landed, storing the ID in this document's
	// mapping, and the same ID given to another document would make both map to one file.
	if id != "" && err == nil && (!ok || m.FileID != id) {
		e.giveBackID(rec.ID, id)
	}
	if errors.Is(err, store.ErrNoName) {
		// Only names made to collide on purpose get here: the document waits, and a rename of
		// either document frees a name.
		return drivesync.Classify(fmt.Errorf("document %s: %w", doc.ID, err), drivesync.Retryable, CodeNoName)
	}
	if err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	if !ok {
		// Pub/Sub redelivers later, by when the other delivery has finished; running both
		// could let an older revision's upload land after a newer one's.
		return drivesync.Classify(fmt.Errorf("document %s of connection %s is being copied by another delivery", doc.ID, rec.ID),
			drivesync.Retryable, CodeDocumentBusy)
	}
	w := &work{e: e, rec: rec, k: k, doc: doc, deleted: deleted, runID: runID, since: since, began: began, holder: holder, m: m, log: log}
	stop := w.keepLease(ctx)
	defer func() {
		stop()
		if w.released {
			return // the final change of the mapping ended the lease
		}
		if err := e.store.ReleaseMapping(context.WithoutCancel(ctx), k, w.m, holder); err != nil {
			log.WarnContext(ctx, "document lease not released", "err", err)
		}
	}()
	if done, err := e.skip(ctx, k, m, doc, deleted, runID, how); done {
		return err
	}
	if id != "" && m.FileID == id && e.afterReserve != nil {
		if err := e.afterReserve(ctx, doc.ID); err != nil {
			return w.settle(ctx, err)
		}
	}
	for attempt := 1; ; attempt++ {
		err = w.apply(ctx)
		if err == nil || drivesync.ClassOf(err) != drivesync.Retryable || attempt == attempts || ctx.Err() != nil ||
			codeOf(err) == codeBusy {
			break // a busy folder was already waited for
		}
		wait := baseBackoff << (attempt - 1)
		var ce *drivesync.ClassifiedError
		if errors.As(err, &ce) && ce.RetryAfter > wait {
			if ce.RetryAfter > maxInlineWait {
				break // longer than a delivery should hold on; Pub/Sub's backoff takes over
			}
			wait = ce.RetryAfter
		}
		log.DebugContext(ctx, "retrying document", "attempt", attempt, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return w.settle(ctx, err)
}

// keepLease extends the delivery's lease on the document while the work runs, so that a long
// upload is not taken over by a redelivery half way; the returned func stops it. Its writes make
// the work's next write read the mapping again, which costs nothing but for such long work.
func (w *work) keepLease(ctx context.Context) (stop func()) {
	held := w.m
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(w.e.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			m, err := w.e.store.ExtendMapping(ctx, w.k, held, w.holder, w.e.lease)
			switch {
			case errors.Is(err, store.ErrLeaseLost):
				return
			case err != nil:
				if ctx.Err() == nil {
					w.log.WarnContext(ctx, "document lease not extended", "err", err)
				}
			default:
				held = m
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// skip decides, from the mapping alone, whether doc needs no Drive call: Drive holds this
// revision (same content) or a newer one, or this revision failed for good (in this run, for a
// run's task). For a run it then only records the visit. done is false when there is work to do.
// With verify (a reconcile's task), a mapping that says Drive holds this revision is not taken
// on trust unless this run already checked it: the reconcile saw the file differ.
//
// With retry (a customer's retry), a revision recorded failed is tried again.
func (e *Engine) skip(ctx context.Context, k store.ConnectionKey, m store.Mapping, doc drivesync.Document, deleted bool, runID string, how mode) (done bool, err error) {
	if !m.Stored() {
		return false, nil
	}
	final := m.State == store.MappingSynced || m.State == store.MappingFailed
	switch {
	case m.Revision > doc.Revision:
		if !final && runID != "" {
			// The run must count this document, which a newer revision's delivery is still
			// copying; ask again once it has.
			return true, drivesync.Classify(fmt.Errorf("document %s: revision %d is still being copied", doc.ID, m.Revision),
				drivesync.Retryable, CodeNewerPending)
		}
	case m.Revision == doc.Revision && m.State == store.MappingFailed:
		if how.retry || (runID != "" && m.RunID != runID) {
			// A new run (a resync, a re-consent) tries once more what failed before, and so
			// does a customer's retry, even within the run that recorded the failure.
			return false, nil
		}
	case m.Revision == doc.Revision && m.State == store.MappingSynced && (m.Deleted || (!deleted && m.SHA256 == doc.SHA256)):
		if how.verify && m.RunID != runID {
			return false, nil
		}
	default:
		return false, nil
	}
	if runID != "" && m.RunID != runID && final {
		if err := e.store.MarkMappingRun(ctx, k, m, runID, doc.Revision); err != nil {
			return true, drivesync.Classify(err, drivesync.Retryable, "firestore")
		}
	}
	return true, nil
}

// apply makes one attempt at the Drive side of the work.
func (w *work) apply(ctx context.Context) error {
	dc, err := w.e.conns.DriveClient(ctx, w.rec)
	if err != nil {
		return err
	}
	if w.deleted {
		return w.applyDelete(ctx, dc)
	}
	path, err := w.e.folderFor(ctx, w.rec, dc, w.doc)
	if err != nil {
		return err
	}
	err = w.upsert(ctx, dc, path[len(path)-1])
	if !errors.Is(err, errFolderGone) {
		return err
	}
	// The customer deleted or trashed a folder drivesync had cached: look the path up again
	// (a gone company folder becomes the customer's to fix) and try once more.
	w.log.InfoContext(ctx, "parent folder or file gone from drive; looking the folders up again")
	w.e.distrust(path)
	w.rechecked = true
	if path, err = w.e.folderFor(ctx, w.rec, dc, w.doc); err != nil {
		return err
	}
	err = w.upsert(ctx, dc, path[len(path)-1])
	if errors.Is(err, errFolderGone) {
		return drivesync.Classify(err, drivesync.Retryable, CodeFolderGone)
	}
	return err
}

// applyDelete applies a deletion in eFactori: the file is trashed when the connection says so
// and kept otherwise (Drive being a backup); either way the mapping remembers the deletion, so a
// late upsert of an older revision is ignored.
func (w *work) applyDelete(ctx context.Context, dc *drive.Client) error {
	if w.m.Created && w.m.FileID != "" && w.rec.OnDelete == drivesync.OnDeleteTrash {
		if err := w.e.pace(ctx, w.rec); err != nil {
			return err
		}
		if err := dc.TrashFile(ctx, w.m.FileID); err != nil && !errors.Is(err, drive.ErrNotFound) {
			return err
		}
	}
	return w.finish(ctx, func(m *store.Mapping) {
		m.Revision, m.Deleted, m.State, m.Code = w.doc.Revision, true, store.MappingSynced, ""
		if !m.Created || w.rec.OnDelete == drivesync.OnDeleteTrash {
			releaseNames(m) // no file shows the name any more
		}
		m.SyncedAt = w.e.now()
	})
}

// nameWant returns the names doc may take in the folder rec's layout puts it in, each with its
// claim key.
func nameWant(doc drivesync.Document, rec store.ConnectionRecord) *store.NameWant {
	path := layout.Path(doc, rec.FolderLayout, rec.Locale)
	folder := path[len(path)-1].Key
	names := layout.FileNames(doc)
	opts := make([]store.NameOption, len(names))
	for i, n := range names {
		opts[i] = store.NameOption{Name: n, Key: layout.NameKey(folder, n)}
	}
	return &store.NameWant{Folder: folder, Names: opts}
}

// releaseNames lets go of every name m holds, for a document whose file is gone from Drive.
func releaseNames(m *store.Mapping) {
	m.Claim, m.ClaimName, m.ClaimFolder, m.Releases = "", "", "", nil
}

// upsert creates or updates the document's file in parent. A new file is created with an ID
// reserved and stored in the mapping first; a file that turns out to exist (an earlier attempt
// got through) is updated; one the customer deleted or trashed is created anew.
func (w *work) upsert(ctx context.Context, dc *drive.Client, parent string) error {
	name := w.m.ClaimName // claimed with the lease
	if name == "" {
		name = layout.FileName(w.doc)
	}
	props := layout.AppProperties(w.doc, w.rec.CompanyID, w.rec.ID)
	for range 3 {
		if !w.m.Created {
			if w.m.FileID == "" {
				if err := w.reserve(ctx, dc); err != nil {
					return err
				}
			}
			f, err := w.create(ctx, dc, parent, name, props)
			switch {
			case err == nil && f.Trashed && !w.rechecked:
				// Created inside a folder the customer trashed: Drive reports the file as
				// trashed too. Find the folders again; the next pass re-creates it there.
				w.m.Created = true
				if err := w.save(ctx, func(m *store.Mapping) { m.Created = true }); err != nil {
					return err
				}
				return fmt.Errorf("%w: file %s was created in the trash", errFolderGone, f.ID)
			case err == nil:
				return w.synced(ctx, f, parent, name)
			case errors.Is(err, drive.ErrAlreadyExists):
				w.m.Created = true
			case errors.Is(err, drive.ErrNotFound):
				return fmt.Errorf("%w: %w", errFolderGone, err)
			case codeOf(err) == "fileIdNotUsable":
				// Reserved by another Google account than the connection's now.
				w.e.dropIDs(w.rec.ID)
				w.m.FileID = ""
				continue
			default:
				return err
			}
		}
		cur, err := dc.GetFile(ctx, w.m.FileID)
		if errors.Is(err, drive.ErrNotFound) || (err == nil && cur.Trashed) {
			if !w.rechecked {
				// The file may be gone with its folder (a trashed folder trashes what it
				// holds): check the folders before making the file again in one of them.
				return fmt.Errorf("%w: file %s is gone or in the trash", errFolderGone, w.m.FileID)
			}
			w.log.InfoContext(ctx, "file deleted or trashed in drive; copying the document again", "fileId", w.m.FileID)
			w.m.FileID, w.m.Created = "", false
			continue
		}
		if err != nil {
			return err
		}
		f, err := w.update(ctx, dc, cur, parent, name, props)
		if errors.Is(err, drive.ErrNotFound) {
			return fmt.Errorf("%w: %w", errFolderGone, err)
		}
		if err != nil {
			return err
		}
		return w.synced(ctx, f, parent, name)
	}
	return drivesync.Classify(fmt.Errorf("document %s: its file keeps disappearing from drive", w.doc.ID),
		drivesync.Retryable, CodeTooManyChanges)
}

// reserve takes a new file ID and stores it in the mapping before anything is created with it:
// a retry after a crash finds it and creates the same file, or learns it exists.
func (w *work) reserve(ctx context.Context, dc *drive.Client) error {
	id, err := w.e.reserveID(ctx, w.rec.ID, dc)
	if err != nil {
		return err
	}
	if err := w.save(ctx, func(m *store.Mapping) { m.FileID, m.Created = id, false }); err != nil {
		return err
	}
	if w.e.afterReserve != nil {
		return w.e.afterReserve(ctx, w.doc.ID)
	}
	return nil
}

// create uploads the content as a new file with the reserved ID.
// The content is opened before the write slot is waited for: the upload then starts on its
// slot, not one eFactori round trip after it, between the account's next slots.
func (w *work) create(ctx context.Context, dc *drive.Client, parent, name string, props map[string]string) (drive.File, error) {
	body, err := w.e.docs.OpenContent(ctx, w.doc)
	if err != nil {
		return drive.File{}, err
	}
	defer body.Close()
	if err := w.e.pace(ctx, w.rec); err != nil {
		return drive.File{}, err
	}
	return dc.CreateFile(ctx, drive.NewFile{ID: w.m.FileID, ParentID: parent, Name: name, MimeType: w.doc.ContentType,
		AppProperties: props, Size: w.doc.Size, Content: body})
}

// update brings file cur to the document: a new version when the content differs, a rename, a
// move; nothing at all when Drive already holds it all.
func (w *work) update(ctx context.Context, dc *drive.Client, cur drive.File, parent, name string, props map[string]string) (drive.File, error) {
	u := drive.FileUpdate{}
	for k, v := range props {
		// The connection that first wrote a file stays on it: a file adopted by a later
		// connection (a reconnect) needs no write for that alone.
		if k != layout.PropConnectionID && cur.AppProperties[k] != v {
			u.AppProperties = props
			break
		}
	}
	if cur.Name != name {
		u.Name = &name
	}
	if !slices.Contains(cur.Parents, parent) {
		u.AddParents, u.RemoveParents = []string{parent}, cur.Parents
	}
	newContent := cur.AppProperties[layout.PropSHA256] != w.doc.SHA256 || cur.Size != w.doc.Size
	if !newContent && u.Name == nil && u.AddParents == nil && u.AppProperties == nil {
		return cur, nil
	}
	if newContent { // opened before the slot, as in create
		body, err := w.e.docs.OpenContent(ctx, w.doc)
		if err != nil {
			return drive.File{}, err
		}
		defer body.Close()
		u.Content, u.Size, u.MimeType = body, w.doc.Size, w.doc.ContentType
		u.AppProperties = props
	}
	if err := w.e.pace(ctx, w.rec); err != nil {
		return drive.File{}, err
	}
	return dc.UpdateFile(ctx, w.m.FileID, u)
}

// synced records that Drive holds the document's revision in f.
func (w *work) synced(ctx context.Context, f drive.File, parent, name string) error {
	attrs := []any{"fileId", f.ID, "version", f.Version, "deliveryMs", time.Since(w.began).Milliseconds()}
	if !w.since.IsZero() {
		// Measured at the Drive write; a clock behind eFactori's reads as no lag, not a negative one.
		attrs = append(attrs, logging.FieldDriveLagMs, max(w.e.now().Sub(w.since).Milliseconds(), 0))
	}
	err := w.finish(ctx, func(m *store.Mapping) {
		m.FileID, m.Created, m.Revision, m.SHA256 = f.ID, true, w.doc.Revision, w.doc.SHA256
		m.FolderID, m.Name, m.State, m.Code, m.Deleted = parent, name, store.MappingSynced, "", false
		m.Mismatches, m.MismatchRevision = 0, 0
		m.Releases = nil // Drive shows the new name: the old ones are free
		m.SyncedAt = w.e.now()
	})
	if err == nil {
		w.log.InfoContext(ctx, "document copied", attrs...)
	}
	return err
}

// save changes the mapping as the lease holder; the run that asked, if any, is recorded with
// every change, so a final state counts for it.
func (w *work) save(ctx context.Context, change func(*store.Mapping)) error {
	return w.write(ctx, change, w.e.store.UpdateMapping)
}

// finish is save for the delivery's last change, which also ends the lease.
func (w *work) finish(ctx context.Context, change func(*store.Mapping)) error {
	if err := w.write(ctx, change, w.e.store.FinishMapping); err != nil {
		return err
	}
	w.released = true
	return nil
}

type mappingWriter func(ctx context.Context, k store.ConnectionKey, held store.Mapping, holder string, change func(*store.Mapping) error) (store.Mapping, error)

func (w *work) write(ctx context.Context, change func(*store.Mapping), write mappingWriter) error {
	m, err := write(ctx, w.k, w.m, w.holder, func(m *store.Mapping) error {
		change(m)
		if w.runID != "" {
			m.RunID = w.runID
		}
		return nil
	})
	if err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	w.m = m
	return nil
}

// settle turns the outcome of the work into the delivery's answer, recording what needs no
// retry: a refused grant or a customer-side problem puts the connection in the matching status
// and leaves the document pending (a new run copies it once the customer has acted); a permanent
// failure is recorded on the document.
func (w *work) settle(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	code := codeOf(err)
	switch drivesync.ClassOf(err) {
	case drivesync.NeedsReauthorization:
		w.e.dropIDs(w.rec.ID)
		if merr := w.e.conns.MarkNeedsReauthorization(ctx, w.rec, err); merr != nil {
			return drivesync.Classify(merr, drivesync.Retryable, "firestore")
		}
		return w.pending(ctx, code)
	case drivesync.NeedsCustomer:
		if merr := w.e.conns.MarkNeedsCustomer(ctx, w.rec.CompanyID, w.rec.ID, err); merr != nil {
			return drivesync.Classify(merr, drivesync.Retryable, "firestore")
		}
		return w.pending(ctx, code)
	case drivesync.Permanent:
		if code == efactori.CodeContentGone {
			// What the contract says to drop: a newer revision or the deletion has its own event.
			w.log.InfoContext(ctx, "revision superseded or document deleted in eFactori; dropped", "errorCode", code)
		} else {
			w.log.ErrorContext(ctx, "document cannot be copied", "errorCode", code, "err", err)
		}
		return w.failed(ctx, code)
	}
	if code == efactori.CodeSizeMismatch || code == efactori.CodeChecksumMismatch {
		return w.mismatch(ctx, code, err)
	}
	w.log.WarnContext(ctx, "document not copied yet; retry", "errorCode", code, "class", drivesync.ClassOf(err).String(), "err", err)
	return err
}

// mismatch counts, on the mapping, a delivery that found the content other than eFactori
// announced, and records the revision failed once maxMismatches deliveries in a row have.
func (w *work) mismatch(ctx context.Context, code string, err error) error {
	n := 1
	if w.m.MismatchRevision == w.doc.Revision {
		n = w.m.Mismatches + 1
	}
	if n >= maxMismatches {
		w.log.ErrorContext(ctx, "document content keeps differing from what eFactori announced; recorded failed",
			"errorCode", code, "deliveries", n, "err", err)
		return w.finish(ctx, func(m *store.Mapping) {
			m.Revision, m.SHA256, m.State, m.Code = w.doc.Revision, w.doc.SHA256, store.MappingFailed, code
			m.MismatchRevision, m.Mismatches = w.doc.Revision, n
		})
	}
	if serr := w.save(ctx, func(m *store.Mapping) { m.MismatchRevision, m.Mismatches = w.doc.Revision, n }); serr != nil {
		return serr
	}
	w.log.WarnContext(ctx, "document content differs from what eFactori announced; retry",
		"errorCode", code, "deliveries", n, "err", err)
	return err
}

func (w *work) pending(ctx context.Context, code string) error {
	return w.finish(ctx, func(m *store.Mapping) { m.State, m.Code = store.MappingPending, code })
}

// failed records that this revision can never be copied, so its redeliveries are skipped and
// the run counts it; a newer revision tries again.
func (w *work) failed(ctx context.Context, code string) error {
	return w.finish(ctx, func(m *store.Mapping) {
		m.Revision, m.SHA256, m.State, m.Code = w.doc.Revision, w.doc.SHA256, store.MappingFailed, code
	})
}

// dropOld records an event too old to apply as failed for rec, unless the mapping (seen, as just
// read) holds a newer revision already.
func (e *Engine) dropOld(ctx context.Context, rec store.ConnectionRecord, seen store.Mapping, ev drivesync.Event) error {
	k := keyOf(rec)
	log := e.log.With("companyId", rec.CompanyID, "connectionId", rec.ID, "documentId", ev.Document.ID, "eventId", ev.EventID)
	if seen.Stored() && seen.Revision >= ev.Document.Revision {
		return nil
	}
	holder := newHolder()
	m, ok, err := e.store.LockMapping(ctx, k, seen, holder, e.lease, func(m *store.Mapping) {
		if ev.EventType != drivesync.EventDeleted {
			m.Saw(ev.Document)
		}
	})
	if err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	if !ok {
		return nil // a delivery is working on the document; it records the outcome
	}
	w := &work{e: e, rec: rec, k: k, doc: ev.Document, holder: holder, m: m, log: log}
	defer func() {
		if w.released {
			return
		}
		if err := e.store.ReleaseMapping(context.WithoutCancel(ctx), k, w.m, holder); err != nil {
			log.WarnContext(ctx, "document lease not released", "err", err)
		}
	}()
	if m.Revision >= ev.Document.Revision {
		return nil
	}
	log.ErrorContext(ctx, "event too old; dropped", "occurredAt", ev.OccurredAt, "maxAge", e.maxAge)
	return w.failed(ctx, CodeEventTooOld)
}

// codeOf returns the code of the outermost classified error in err's chain.
func codeOf(err error) string {
	var ce *drivesync.ClassifiedError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}
