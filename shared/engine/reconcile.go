package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/layout"
	"github.com/efactori/drivesync/shared/store"
)

// Every run of a connection (the first copy, a re-consent, a resync, a layout change, the
// scheduled one) is a reconcile: it compares eFactori's list with what Drive holds under the
// company folder and only works on the differences. Drive is read in bulk, by the app
// properties drivesync writes on every file (company, document, revision, checksum): a few
// files.list calls of a thousand files, never one lookup per document. Firestore is read in
// bulk too, and only when Drive and eFactori disagree or the mappings are not all there.

// reconcileWorkers bounds the concurrent writes (mapping adoptions, trashes) of one reconcile.
const reconcileWorkers = 16

// maxRepairs is how many times a run that makes no progress is repaired before it ends failed.
const maxRepairs = 3

// driveInventory is what Drive holds under one connection's company folder.
type driveInventory struct {
	companyFolder string
	// children maps a folder to its layout subfolders by key (the oldest of a key).
	children map[string]map[string]string
	// files maps a PropDocumentID value to the files that claim that document.
	files map[string][]drive.InventoryFile
	// names counts the files of each name (folded, layout.FoldName) in each folder, by
	// folder ID + "/" + name: a name counted twice is one no file may keep.
	names map[string]int
	// at is when the inventory began: a mapping written since may name a file it missed.
	at time.Time
}

// inventory lists the folders below rec's company folder and the files drivesync made for the
// company that sit in them.
func (e *Engine) inventory(ctx context.Context, rec store.ConnectionRecord, dc *drive.Client) (driveInventory, error) {
	inv := driveInventory{companyFolder: rec.Target.CompanyFolderID, children: map[string]map[string]string{},
		files: map[string][]drive.InventoryFile{}, names: map[string]int{}, at: e.now()}
	if inv.companyFolder == "" {
		return inv, drivesync.Classify(fmt.Errorf("connection %s has no company folder", rec.ID), drivesync.NeedsCustomer, drive.CodeTargetNotFound)
	}
	cf, err := dc.CheckTarget(ctx, inv.companyFolder)
	if err != nil {
		return inv, err
	}
	// Only the drive that holds the company folder is listed (see drive.Client.listPage).
	tree, err := dc.FolderTree(ctx, cf.DriveID, inv.companyFolder)
	if err != nil {
		return inv, err
	}
	under := map[string]bool{inv.companyFolder: true}
	for _, f := range tree {
		under[f.ID] = true
		if f.Key == "" {
			continue
		}
		if inv.children[f.Parent] == nil {
			inv.children[f.Parent] = map[string]string{}
		}
		if _, dup := inv.children[f.Parent][f.Key]; !dup {
			inv.children[f.Parent][f.Key] = f.ID
		}
	}
	files, err := dc.DocumentFiles(ctx, cf.DriveID, layout.PropCompanyID, layout.CompanyIDValue(rec.CompanyID))
	if err != nil {
		return inv, err
	}
	for _, f := range files {
		v := f.AppProperties[layout.PropDocumentID]
		if v == "" || !slices.ContainsFunc(f.Parents, func(p string) bool { return under[p] }) {
			continue // not a document file, or not under this connection's folder
		}
		inv.files[v] = append(inv.files[v], f)
		for _, p := range f.Parents {
			inv.names[p+"/"+layout.FoldName(f.Name)]++
		}
	}
	return inv, nil
}

// parentOf returns the folder doc belongs in by the inventory, "" when a folder of its path is
// not there yet.
func (inv driveInventory) parentOf(doc drivesync.Document, rec store.ConnectionRecord) string {
	parent := inv.companyFolder
	for _, f := range layout.Path(doc, rec.FolderLayout, rec.Locale) {
		if parent = inv.children[parent][f.Key]; parent == "" {
			return ""
		}
	}
	return parent
}

// agrees reports whether f holds doc's revision, named and placed as it should be: in its
// layout folder, under one of the names doc may take (layout.FileNames) that no other file of
// the folder has. Which of them doc holds is the mapping's to say (claims).
func (inv driveInventory) agrees(doc drivesync.Document, f drive.InventoryFile, parent string) bool {
	return parent != "" && slices.Contains(f.Parents, parent) && slices.Contains(layout.FileNames(doc), f.Name) &&
		inv.names[parent+"/"+layout.FoldName(f.Name)] == 1 && f.Size == doc.Size &&
		f.AppProperties[layout.PropRevision] == strconv.FormatInt(doc.Revision, 10) &&
		f.AppProperties[layout.PropSHA256] == layout.SHA256Value(doc.SHA256)
}

// holdsName reports whether mapping m holds the name name in doc's layout folder.
func holdsName(m store.Mapping, doc drivesync.Document, rec store.ConnectionRecord, name string) bool {
	return m.Claim != "" && m.ClaimName == name && m.ClaimFolder == nameWant(doc, rec).Folder
}

// keeper picks the file a document keeps when several claim it: the mapped one, else the newest.
func keeper(files []drive.InventoryFile, m store.Mapping) (keep drive.InventoryFile, others []drive.InventoryFile) {
	best := -1
	for i, f := range files {
		if m.FileID != "" && f.ID == m.FileID {
			best = i
			break
		}
		if best < 0 || f.CreatedTime.After(files[best].CreatedTime) {
			best = i
		}
	}
	for i, f := range files {
		if i != best {
			others = append(others, f)
		}
	}
	return files[best], others
}

// final reports whether m is counted by run runID.
func final(m store.Mapping, runID string) bool {
	return m.RunID == runID && (m.State == store.MappingSynced || m.State == store.MappingFailed)
}

// reconcilePlan is what one reconcile found to do.
type reconcilePlan struct {
	listed, invalid, matched int
	tasks                    []drivesync.Document
	adopt                    []adoption
	dups                     []stray // extra files of listed documents
	strays                   []stray // files and mappings of documents eFactori no longer lists
}

// adoption points a document's mapping at the file Drive holds for it.
type adoption struct {
	doc    drivesync.Document
	file   drive.InventoryFile
	parent string
	seen   store.Mapping
	synced bool // the file is right: the mapping says so and no task follows
}

// stray is files to trash, and the mapping to record it in, of one document.
type stray struct {
	documentID string // "" when only a hashed ID is known
	seen       store.Mapping
	files      []drive.InventoryFile
}

// reconcile runs the reconcile of run r.RunID of rec: inventory, comparison, the fixes that need
// no upload (mappings adopted, duplicates trashed, deletions applied), then one copy task per
// document whose file is missing or differs. A redelivered request whose plan was recorded
// only publishes its tasks again.
func (e *Engine) reconcile(ctx context.Context, rec store.ConnectionRecord, r drivesync.CopyRequest, log *slog.Logger) error {
	if err := e.canCopy(); err != nil {
		return err
	}
	k := keyOf(rec)
	p, err := e.store.CopyProgress(ctx, k, r.RunID)
	if err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	if p.AllListed {
		// Planned already: the earlier delivery may have died before or after publishing, so
		// the tasks published so far go again (or the first window, if none was), then the watch.
		docs, err := e.tasksOf(ctx, k, r.RunID)
		if err != nil {
			return err
		}
		w, err := e.store.RunWindow(ctx, k, r.RunID)
		if err != nil {
			return drivesync.Classify(err, drivesync.Retryable, "firestore")
		}
		if w.Recorded {
			err = e.fanout.PublishTasks(ctx, rec.CompanyID, rec.ID, r.RunID, docs[:min(w.Released, len(docs))])
		} else {
			_, err = e.publishWindow(ctx, rec, r.RunID, docs, finishedTasks(p, len(docs)), w, e.windowOf(ctx, rec), false)
		}
		if err != nil {
			return e.runStopped(ctx, rec, r.RunID, err, log)
		}
		return e.watch(ctx, rec, r.RunID)
	}
	dc, err := e.conns.DriveClient(ctx, rec)
	if err != nil {
		return e.runStopped(ctx, rec, r.RunID, err, log)
	}
	inv, err := e.inventory(ctx, rec, dc)
	if err != nil {
		return e.runStopped(ctx, rec, r.RunID, err, log)
	}
	docs, invalid, err := e.listAll(ctx, rec.CompanyID)
	if err != nil {
		return e.runStopped(ctx, rec, r.RunID, err, log)
	}
	plan, err := e.plan(ctx, rec, r.RunID, inv, docs, invalid)
	if err != nil {
		return e.runStopped(ctx, rec, r.RunID, err, log)
	}
	if err := e.apply(ctx, rec, dc, r.RunID, &plan, log); err != nil {
		return e.runStopped(ctx, rec, r.RunID, err, log)
	}
	if err := e.store.RecordRunTasks(ctx, k, r.RunID, plan.tasks); err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	if _, err := e.store.RecordCopyPage(ctx, k, store.CopyPage{RunID: r.RunID, Listed: plan.listed, Invalid: plan.invalid,
		Matched: plan.matched, Last: true}); err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	log.InfoContext(ctx, "reconcile planned", "listed", plan.listed, "invalid", plan.invalid, "matched", plan.matched,
		"adopted", len(plan.adopt), "tasks", len(plan.tasks), "duplicates", len(plan.dups), "deleted", len(plan.strays))
	// The tasks as recorded: an earlier delivery of this request may have recorded others.
	tasks, err := e.tasksOf(ctx, k, r.RunID)
	if err != nil {
		return err
	}
	if _, err := e.publishWindow(ctx, rec, r.RunID, tasks, 0, store.RunWindow{}, e.windowOf(ctx, rec), false); err != nil {
		return e.runStopped(ctx, rec, r.RunID, err, log)
	}
	return e.watch(ctx, rec, r.RunID)
}

// watch marks the run done when nothing is left, and otherwise hands it to await requests.
func (e *Engine) watch(ctx context.Context, rec store.ConnectionRecord, runID string) error {
	p, err := e.checkDone(ctx, rec, runID, nil)
	if err != nil || p.Done() {
		return err
	}
	return e.fanout.PublishRequest(ctx, drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion,
		CompanyID: rec.CompanyID, ConnectionID: rec.ID, RunID: runID, Await: true,
		Done: p.Synced + p.Failed, MovedAt: e.now()})
}

// runStopped settles a reconcile that could not go on: a refused grant or a problem only the
// customer can fix puts the connection in the matching status (a new run starts once they have
// acted), a permanent failure ends the run failed, anything else is retried by Pub/Sub.
func (e *Engine) runStopped(ctx context.Context, rec store.ConnectionRecord, runID string, err error, log *slog.Logger) error {
	switch drivesync.ClassOf(err) {
	case drivesync.NeedsReauthorization:
		e.dropIDs(rec.ID)
		if merr := e.conns.MarkNeedsReauthorization(ctx, rec, err); merr != nil {
			return drivesync.Classify(merr, drivesync.Retryable, "firestore")
		}
		return nil
	case drivesync.NeedsCustomer:
		if merr := e.conns.MarkNeedsCustomer(ctx, rec.CompanyID, rec.ID, err); merr != nil {
			return drivesync.Classify(merr, drivesync.Retryable, "firestore")
		}
		return nil
	case drivesync.Permanent:
		log.ErrorContext(ctx, "reconcile failed for good", "err", err, "errorCode", codeOf(err))
		return e.markFailed(ctx, rec, runID, err)
	}
	return err
}

// listAll lists every live document of companyID, and the IDs of those that cannot be copied.
func (e *Engine) listAll(ctx context.Context, companyID string) ([]drivesync.Document, []string, error) {
	var docs []drivesync.Document
	var invalid []string
	for token := ""; ; {
		page, err := e.fanout.List(ctx, companyID, token)
		if err != nil {
			return nil, nil, fmt.Errorf("list documents of %s: %w", companyID, err)
		}
		docs = append(docs, page.Documents...)
		for _, inv := range page.Invalid {
			invalid = append(invalid, inv.ID)
			e.log.WarnContext(ctx, "listed document cannot be copied", "companyId", companyID, "documentId", inv.ID, "err", inv.Err)
		}
		if token = page.NextPageToken; token == "" {
			return docs, invalid, nil
		}
	}
}

// plan compares eFactori's documents with the inventory and, when they differ or the mappings
// may not all be there, with the mappings.
func (e *Engine) plan(ctx context.Context, rec store.ConnectionRecord, runID string, inv driveInventory,
	docs []drivesync.Document, invalid []string) (reconcilePlan, error) {
	plan := reconcilePlan{listed: len(docs) + len(invalid), invalid: len(invalid)}
	listed := make(map[string]bool, len(docs)+len(invalid))
	for _, id := range invalid {
		listed[layout.DocumentIDValue(id)] = true
	}
	// The common case costs no Firestore read per document: every document has exactly one
	// file, right, there is no file of a deleted document to trash, and the count of live synced
	// mappings shows they are all there.
	agreed := 0
	for _, doc := range docs {
		v := layout.DocumentIDValue(doc.ID)
		listed[v] = true
		if f := inv.files[v]; len(f) == 1 && inv.agrees(doc, f[0], inv.parentOf(doc, rec)) {
			agreed++
		}
	}
	strays := 0
	for v := range inv.files {
		if !listed[v] {
			strays++
		}
	}
	// Files of deleted documents are expected where the connection keeps them.
	if agreed == len(docs) && (strays == 0 || rec.OnDelete != drivesync.OnDeleteTrash) {
		n, err := e.store.CountLiveSynced(ctx, keyOf(rec))
		if err != nil {
			return plan, drivesync.Classify(err, drivesync.Retryable, "firestore")
		}
		if n == len(docs) {
			plan.matched = len(docs)
			return plan, nil
		}
	}

	ms, err := e.store.Mappings(ctx, keyOf(rec))
	if err != nil {
		return plan, drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	mappings := make(map[string]store.Mapping, len(ms))
	for _, m := range ms {
		mappings[m.DocumentID] = m
	}
	for _, doc := range docs {
		v := layout.DocumentIDValue(doc.ID)
		m, ok := mappings[doc.ID]
		if !ok {
			m = store.Mapping{DocumentID: doc.ID}
		}
		delete(mappings, doc.ID)
		if final(m, runID) && m.Revision >= doc.Revision {
			continue // done in this run already (a redelivered request): the run counts it
		}
		files := inv.files[v]
		if len(files) == 0 {
			plan.tasks = append(plan.tasks, doc)
			continue
		}
		keep, others := keeper(files, m)
		if len(others) > 0 {
			plan.dups = append(plan.dups, stray{documentID: doc.ID, seen: m, files: others})
		}
		parent := inv.parentOf(doc, rec)
		mapped := m.FileID == keep.ID && m.Created
		switch {
		case inv.agrees(doc, keep, parent) && mapped && m.State == store.MappingSynced && !m.Deleted &&
			m.Revision == doc.Revision && m.SHA256 == doc.SHA256 && holdsName(m, doc, rec, keep.Name):
			plan.matched++
		case inv.agrees(doc, keep, parent) && m.UpdatedAt.Before(inv.at):
			plan.adopt = append(plan.adopt, adoption{doc: doc, file: keep, parent: parent, seen: m, synced: true})
		case !mapped && m.UpdatedAt.Before(inv.at):
			plan.adopt = append(plan.adopt, adoption{doc: doc, file: keep, parent: parent, seen: m})
			plan.tasks = append(plan.tasks, doc)
		default:
			// Mapped to this file already, or written since the inventory began (a delivery
			// may have made a file the inventory missed): the task checks in Drive.
			plan.tasks = append(plan.tasks, doc)
		}
	}
	// What is left belongs to documents eFactori no longer lists.
	byValue := make(map[string]string, len(mappings))
	for id := range mappings {
		byValue[layout.DocumentIDValue(id)] = id
	}
	for v, files := range inv.files {
		if listed[v] {
			continue
		}
		s := stray{files: files}
		if !strings.HasPrefix(v, layout.HashedPrefix) {
			s.documentID = v
		}
		if id, ok := byValue[v]; ok {
			s.documentID, s.seen = id, mappings[id]
			delete(mappings, id)
		}
		if s.seen.DocumentID == "" {
			s.seen.DocumentID = s.documentID
		}
		plan.strays = append(plan.strays, s)
	}
	for id, m := range mappings {
		if m.State == store.MappingSynced && !m.Deleted {
			// A deletion missed while the connection was not active: nothing in Drive to trash,
			// but the mapping must stop counting as a live document.
			plan.strays = append(plan.strays, stray{documentID: id, seen: m})
		}
	}
	return plan, nil
}

// apply carries out what the plan can do without uploading: mappings adopted, extra files of a
// document trashed, deleted documents trashed (or kept) as the connection says. An adoption
// that finds the document busy becomes a task.
func (e *Engine) apply(ctx context.Context, rec store.ConnectionRecord, dc *drive.Client, runID string, plan *reconcilePlan, log *slog.Logger) error {
	k := keyOf(rec)
	ctx = withPaceClass(ctx, paceBackground)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(reconcileWorkers)
	for _, a := range plan.adopt {
		g.Go(func() error {
			// A right file keeps its name (perhaps suffixed): the mapping claims it, unless
			// another document holds it, when the task renames the file.
			var want *store.NameWant
			if a.synced {
				want = nameWant(a.doc, rec)
				want.Names = []store.NameOption{{Name: a.file.Name, Key: layout.NameKey(want.Folder, a.file.Name)}}
			}
			_, ok, err := e.store.AdoptMapping(gctx, k, a.seen, want, func(m *store.Mapping) {
				m.FileID, m.Created, m.Deleted, m.Name = a.file.ID, true, false, a.file.Name
				m.Saw(a.doc)
				if a.synced {
					m.Revision, m.SHA256, m.FolderID, m.Name = a.doc.Revision, a.doc.SHA256, a.parent, a.file.Name
					m.State, m.Code, m.RunID = store.MappingSynced, "", runID
					m.SyncedAt = e.now()
					m.Releases = nil // the file shows the name just claimed
					return
				}
				// What the file holds, so the task updates it in place.
				m.Revision, _ = strconv.ParseInt(a.file.AppProperties[layout.PropRevision], 10, 64)
				m.SHA256 = a.file.AppProperties[layout.PropSHA256]
				if m.State == "" || m.State == store.MappingSynced {
					m.State = store.MappingPending
				}
			})
			if err != nil {
				return drivesync.Classify(err, drivesync.Retryable, "firestore")
			}
			if !ok && a.synced {
				mu.Lock()
				plan.tasks = append(plan.tasks, a.doc)
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(reconcileWorkers)
	for _, s := range plan.dups {
		g.Go(func() error { return e.trashStray(gctx, rec, dc, s, false, log) })
	}
	for _, s := range plan.strays {
		g.Go(func() error { return e.trashStray(gctx, rec, dc, s, true, log) })
	}
	return g.Wait()
}

// trashStray trashes files drivesync made that no document keeps, under the document's lease.
// For a deleted document (deleted set) eFactori is asked first, since a document created while
// the list was walked is missing from it too; its files are trashed only when the connection
// says so, and its mapping records the deletion either way. A busy document is left to the
// next reconcile.
func (e *Engine) trashStray(ctx context.Context, rec store.ConnectionRecord, dc *drive.Client, s stray, deleted bool, log *slog.Logger) error {
	if s.documentID == "" {
		return nil // only a hashed ID: it cannot be asked about, so it is left alone
	}
	if deleted && s.seen.Deleted && (rec.OnDelete != drivesync.OnDeleteTrash || len(s.files) == 0) {
		return nil // the deletion is recorded, and the connection keeps the file
	}
	if deleted {
		gone, err := e.docs.DocumentGone(ctx, s.documentID)
		if err != nil {
			return err
		}
		if !gone {
			return nil
		}
	}
	k := keyOf(rec)
	holder := newHolder()
	m, ok, err := e.store.LockMapping(ctx, k, s.seen, holder, e.lease, nil)
	if err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	if !ok {
		return nil
	}
	finished := false
	defer func() {
		if !finished {
			if err := e.store.ReleaseMapping(context.WithoutCancel(ctx), k, m, holder); err != nil {
				log.WarnContext(ctx, "document lease not released", "documentId", s.documentID, "err", err)
			}
		}
	}()
	if !deleted || rec.OnDelete == drivesync.OnDeleteTrash {
		for _, f := range s.files {
			if f.ID == m.FileID && !deleted {
				continue // became the mapped file meanwhile
			}
			if err := e.pace(ctx, rec); err != nil {
				return err
			}
			if err := dc.TrashFile(ctx, f.ID); err != nil && !errors.Is(err, drive.ErrNotFound) {
				return err
			}
			log.InfoContext(ctx, "file trashed", "documentId", s.documentID, "fileId", f.ID, "duplicate", !deleted)
		}
	}
	if !deleted {
		return nil
	}
	_, err = e.store.FinishMapping(ctx, k, m, holder, func(m *store.Mapping) error {
		m.Deleted, m.State, m.Code = true, store.MappingSynced, ""
		if rec.OnDelete == drivesync.OnDeleteTrash {
			releaseNames(m) // its files are in the trash
		}
		return nil
	})
	if err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	finished = true
	return nil
}

// repair publishes again the copy tasks of run runID, within its window, that have not reached a
// final state: a delivery that died with its instance, or a message Pub/Sub gave up on, is not
// retried by anyone else. Tasks are idempotent, so one that was merely slow costs a redelivery.
// A window whose tasks are all final (its progress miscounted) moves on by a window.
func (e *Engine) repair(ctx context.Context, rec store.ConnectionRecord, runID string) (int, error) {
	k := keyOf(rec)
	all, err := e.tasksOf(ctx, k, runID)
	if err != nil {
		return 0, err
	}
	w, err := e.store.RunWindow(ctx, k, runID)
	if err != nil {
		return 0, drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	docs := all
	if w.Recorded {
		docs = all[:min(w.Released, len(all))]
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	ms, err := e.store.MappingsOf(ctx, k, ids)
	if err != nil {
		return 0, drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	var left []drivesync.Document
	for _, d := range docs {
		if !final(ms[d.ID], runID) {
			left = append(left, d)
		}
	}
	if len(left) == 0 && w.Recorded && w.Released < len(all) {
		released, err := e.publishWindow(ctx, rec, runID, all, w.Released, w, max(e.windowOf(ctx, rec), 1), false)
		return released - min(w.Released, len(all)), err
	}
	return len(left), e.fanout.PublishTasks(ctx, rec.CompanyID, rec.ID, runID, left)
}
