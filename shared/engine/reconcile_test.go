package engine_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	standin "github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/engine"
	"github.com/efactori/drivesync/shared/layout"
	"github.com/efactori/drivesync/shared/store"
)

// run plays the connection's current run to its end as Pub/Sub would: its request, every copy
// task it publishes, and its await requests. It returns the Drive calls the run made, by method.
func (e *env) run(t *testing.T) map[string]int64 {
	t.Helper()
	engine.SetAwait(e.engine, 200*time.Millisecond, 50*time.Millisecond)
	before := e.emu.Drive.Counters(alice)
	c := e.get(t)
	req := drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company,
		ConnectionID: c.ID, RunID: c.InitialCopy.RunID}
	retry(t, "copy request", func() error { return e.engine.HandleCopyRequest(e.ctx, req) })
	for _, data := range e.drain(t, e.taskSub) {
		task, err := drivesync.DecodeCopyTask(data)
		if err != nil {
			t.Fatal(err)
		}
		retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, task) })
	}
	e.awaitEnd(t)
	after := e.emu.Drive.Counters(alice)
	out := map[string]int64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// writes sums the Drive writes among calls.
func writes(calls map[string]int64) int64 {
	return calls["files.create"] + calls["files.update"] + calls["files.delete"]
}

func total(calls map[string]int64) int64 {
	var n int64
	for _, v := range calls {
		n += v
	}
	return n
}

// A reconcile of a Drive that already matches eFactori reads Drive in bulk, writes nothing, and
// ends the run at once: no copy task, every document counted synced.
func TestReconcileOfAMatchingDriveWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 40, topics: true})
	first := e.run(t)
	if got := first["upload:multipart"]; got != 40 {
		t.Fatalf("first run uploaded %d documents, want 40", got)
	}
	if _, err := e.svc.Resync(e.ctx, company, e.conn.ID); err != nil {
		t.Fatal(err)
	}
	calls := e.run(t)
	if w := writes(calls); w != 0 {
		t.Errorf("reconcile of a matching Drive made %d writes: %v", w, calls)
	}
	// Budget of the issue: N/500 + 20 calls, all reads; 20 for these 40 documents.
	if n := total(calls); n > 20 {
		t.Errorf("reconcile made %d Drive calls, want at most 20: %v", n, calls)
	}
	got := e.get(t).InitialCopy
	if got.Listed != 40 || got.Synced != 40 || got.Failed != 0 {
		t.Errorf("reconcile progress %+v, want 40 listed and synced", got)
	}
	e.checkExactlyOnce(t, e.documents(t))
}

// Disconnecting and connecting again onto the same folder adopts the files the first
// connection made: no duplicate, no Drive write, every mapping rebuilt.
func TestReconcileAdoptsTheFilesOfAnEarlierConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 25, topics: true})
	e.run(t)
	if err := e.svc.Delete(e.ctx, company, e.conn.ID); err != nil {
		t.Fatal(err)
	}
	e.conn = e.connectRoot(t, company, companyName, drivesync.LayoutYear)
	calls := e.run(t)
	if w := writes(calls); w != 0 || calls["upload:multipart"] != 0 {
		t.Errorf("reconnect made %d Drive writes: %v", w, calls)
	}
	e.checkExactlyOnce(t, e.documents(t))
	for _, d := range e.documents(t) {
		if m := e.mapping(t, d.ID); m.State != store.MappingSynced || !m.Created || m.Revision != d.Revision {
			t.Errorf("mapping of %s after adoption: %+v", d.ID, m)
		}
	}
	if got := e.get(t).InitialCopy; got.Synced != 25 {
		t.Errorf("progress %+v, want 25 synced", got)
	}
}

// A document event that reaches a connection before its run has taken the Drive inventory (the
// late redelivery of an event, after a disconnect and a reconnect onto the same folder) waits
// for it: it is answered retryable having written nothing, since the earlier connection's file
// of the document is only found by the inventory. Once the run has adopted the files, the event
// goes through, and the document is in Drive once, at its new revision.
func TestEventBeforeTheInventoryWaitsForIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 6, topics: true})
	e.run(t)
	if err := e.svc.Delete(e.ctx, company, e.conn.ID); err != nil {
		t.Fatal(err)
	}
	e.conn = e.connectRoot(t, company, companyName, drivesync.LayoutYear)
	doc := e.documents(t)[0]
	ev := e.upsert(t, doc.ID, standin.Upsert{Title: "Révisée", Size: 9 << 10})
	before := e.driveWrites()
	if err := e.engine.HandleEvent(e.ctx, ev); codeOf(err) != engine.CodeRunPlanning {
		t.Fatalf("event before the new connection's inventory: %v, want a retryable %s", err, engine.CodeRunPlanning)
	}
	if w := e.driveWrites() - before; w != 0 {
		t.Fatalf("the deferred event made %d Drive writes", w)
	}
	e.run(t)
	retry(t, "event", func() error { return e.engine.HandleEvent(e.ctx, ev) })
	e.checkExactlyOnce(t, e.documents(t))
	if m := e.mapping(t, doc.ID); m.Revision != ev.Document.Revision || !m.Created {
		t.Errorf("mapping of %s after the run and the event: %+v, want revision %d in Drive", doc.ID, m, ev.Document.Revision)
	}
}

// A reconcile repairs what happened behind drivesync's back: a file the customer deleted or
// trashed is made again, a second file claiming a document is trashed (the mapped one stays),
// the file of a document deleted in eFactori is trashed (onDelete: trash), a file changed by
// hand is brought back, and the mappings of all of them are right afterwards.
func TestReconcileRepairsDrive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 12, topics: true})
	trash := drivesync.OnDeleteTrash
	if _, err := e.svc.Update(e.ctx, company, e.conn.ID, connection.UpdateInput{OnDelete: &trash}); err != nil {
		t.Fatal(err)
	}
	e.run(t)
	docs := e.documents(t)
	deleted, trashed, duplicated, gone := docs[0], docs[1], docs[2], docs[3]
	for _, id := range []string{trashed.ID, deleted.ID} {
		m := e.mapping(t, id)
		var err error
		if id == trashed.ID {
			err = e.emu.Drive.TrashAsUser(alice, m.FileID)
		} else {
			err = e.emu.Drive.DeleteAsUser(alice, m.FileID)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// A stray copy of a document, as an older connection could have left.
	rec, err := e.store.Connection(e.ctx, company, e.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := e.svc.DriveClient(e.ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	orig := e.mapping(t, duplicated.ID)
	var body bytes.Buffer
	if err := e.efa.WriteContent(&body, duplicated.ID); err != nil {
		t.Fatal(err)
	}
	newIDs, err := dc.GenerateIDs(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second) // the stray copy is the newer file: the mapped one must still win
	dup, err := dc.CreateFile(e.ctx, drive.NewFile{ID: newIDs[0], ParentID: orig.FolderID, Name: orig.Name, MimeType: duplicated.ContentType,
		AppProperties: layout.AppProperties(duplicated, company, "old-connection"), Size: int64(body.Len()), Content: &body})
	if err != nil {
		t.Fatal(err)
	}
	goneFile := e.mapping(t, gone.ID).FileID
	if _, err := e.efa.Delete(company, gone.ID); err != nil {
		t.Fatal(err)
	}

	if _, err := e.svc.Resync(e.ctx, company, e.conn.ID); err != nil {
		t.Fatal(err)
	}
	calls := e.run(t)
	if got := calls["upload:multipart"]; got != 2 {
		t.Errorf("reconcile uploaded %d files, want the 2 the customer removed: %v", got, calls)
	}
	live := e.documents(t)
	e.checkExactlyOnce(t, live)
	tree := e.tree(t)
	if n := find(tree.Root, dup.ID); n == nil || !n.Trashed {
		t.Errorf("duplicate file %s not trashed: %+v", dup.ID, n)
	}
	if n := find(tree.Root, orig.FileID); n == nil || n.Trashed {
		t.Errorf("mapped file %s of the duplicated document gone: %+v", orig.FileID, n)
	}
	if n := find(tree.Root, goneFile); n == nil || !n.Trashed {
		t.Errorf("file %s of the deleted document not trashed: %+v", goneFile, n)
	}
	if m := e.mapping(t, gone.ID); !m.Deleted {
		t.Errorf("mapping of the deleted document: %+v, want deleted", m)
	}
	for _, d := range []drivesync.Document{deleted, trashed} {
		if m := e.mapping(t, d.ID); m.State != store.MappingSynced || m.Revision != d.Revision {
			t.Errorf("mapping of re-created %s: %+v", d.ID, m)
		}
	}
	if got := e.get(t).InitialCopy; got.Listed != len(live) || got.Synced != len(live) {
		t.Errorf("progress %+v, want %d listed and synced", got, len(live))
	}

	// And the next reconcile finds nothing left to do.
	if _, err := e.svc.Resync(e.ctx, company, e.conn.ID); err != nil {
		t.Fatal(err)
	}
	if calls := e.run(t); writes(calls) != 0 {
		t.Errorf("second reconcile made Drive writes: %v", calls)
	}
}

// After a layout change the reconcile moves every file into its new folder: one metadata
// update per file, no upload, same file IDs.
func TestReconcileMovesFilesAfterALayoutChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 30, topics: true})
	e.run(t)
	ids := map[string]string{}
	for _, d := range e.documents(t) {
		ids[d.ID] = e.mapping(t, d.ID).FileID
	}
	l := drivesync.LayoutYearKind
	if _, err := e.svc.Update(e.ctx, company, e.conn.ID, connection.UpdateInput{FolderLayout: &l}); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t).InitialCopy.State; got != drivesync.CopyPending {
		t.Fatalf("after the layout change the run is %s, want a new pending run", got)
	}
	calls := e.run(t)
	for k, v := range calls {
		if strings.HasPrefix(k, "upload:") && v != 0 {
			t.Errorf("layout change uploaded content: %s = %d", k, v)
		}
	}
	if got := calls["files.update"]; got != 30 {
		t.Errorf("layout change made %d files.update calls, want one move per file (30): %v", got, calls)
	}
	e.conn = e.get(t)
	e.checkExactlyOnce(t, e.documents(t))
	for _, d := range e.documents(t) {
		if got := e.mapping(t, d.ID).FileID; got != ids[d.ID] {
			t.Errorf("document %s is file %s after the move, was %s", d.ID, got, ids[d.ID])
		}
	}
}

// A run whose copy tasks are lost (their delivery died, Pub/Sub gave up) is repaired by its
// await requests once it has not moved for the stall timeout, and a run that still does not
// move after the repairs ends failed with a lastError.
func TestStalledRunIsRepaired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 5, topics: true})
	e.opts.StallTimeout = time.Minute
	e.engine = e.newEngine(t)
	engine.SetAwait(e.engine, 100*time.Millisecond, 50*time.Millisecond)
	c := e.get(t)
	req := drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company,
		ConnectionID: c.ID, RunID: c.InitialCopy.RunID}
	retry(t, "copy request", func() error { return e.engine.HandleCopyRequest(e.ctx, req) })
	if lost := e.drain(t, e.taskSub); len(lost) != 5 {
		t.Fatalf("%d tasks, want 5", len(lost))
	}
	// awaitOnce delivers the pending await request and returns the tasks it republished.
	awaitOnce := func() [][]byte {
		t.Helper()
		msgs := e.drain(t, e.reqSub)
		if len(msgs) != 1 {
			t.Fatalf("%d await requests pending, want 1", len(msgs))
		}
		r, err := drivesync.DecodeCopyRequest(msgs[0])
		if err != nil {
			t.Fatal(err)
		}
		retry(t, "await", func() error { return e.engine.HandleCopyRequest(e.ctx, r) })
		return e.drain(t, e.taskSub)
	}
	if got := awaitOnce(); len(got) != 0 {
		t.Fatalf("a run that has not stalled yet republished %d tasks", len(got))
	}
	e.clock.Advance(61 * time.Second)
	again := awaitOnce()
	if len(again) != 5 {
		t.Fatalf("the stalled run republished %d tasks, want 5", len(again))
	}
	for _, data := range again[:3] {
		task, err := drivesync.DecodeCopyTask(data)
		if err != nil {
			t.Fatal(err)
		}
		retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, task) })
	}
	// Progress: the clock starts over. Then three repairs without progress, and the run fails.
	if got := awaitOnce(); len(got) != 0 {
		t.Fatalf("a run that moved republished %d tasks", len(got))
	}
	for i := range 3 {
		e.clock.Advance(61 * time.Second)
		if got := awaitOnce(); len(got) != 2 {
			t.Fatalf("repair %d republished %d tasks, want the 2 left", i+1, len(got))
		}
	}
	e.clock.Advance(61 * time.Second)
	msgs := e.drain(t, e.reqSub)
	for _, m := range msgs {
		r, err := drivesync.DecodeCopyRequest(m)
		if err != nil {
			t.Fatal(err)
		}
		retry(t, "await", func() error { return e.engine.HandleCopyRequest(e.ctx, r) })
	}
	got := e.get(t)
	if got.InitialCopy.State != drivesync.CopyFailed || got.LastError == nil || got.LastError.Code != drivesync.CodeCopyFailed ||
		!strings.Contains(got.LastError.Message, "2 documents") {
		t.Errorf("after repairs without progress: %+v, lastError %+v; want failed with the 2 documents left", got.InitialCopy, got.LastError)
	}
	if left := e.drain(t, e.reqSub); len(left) != 0 {
		t.Errorf("a failed run still published %d await requests", len(left))
	}
}

// The scheduled request starts a reconcile run of every active connection whose run has ended.
func TestScheduledRequestReconcilesEveryActiveConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 3, topics: true})
	e.run(t)
	done := e.get(t).InitialCopy.RunID
	sched := drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion, Scheduled: true}
	retry(t, "scheduled request", func() error { return e.engine.HandleCopyRequest(e.ctx, sched) })
	c := e.get(t)
	if c.InitialCopy.RunID == done || c.InitialCopy.State != drivesync.CopyPending {
		t.Fatalf("after the scheduled request: %+v, want a new pending run", c.InitialCopy)
	}
	var mine int
	for _, data := range e.drain(t, e.reqSub) {
		r, err := drivesync.DecodeCopyRequest(data)
		if err != nil {
			t.Fatal(err)
		}
		if r.ConnectionID == c.ID && r.RunID == c.InitialCopy.RunID && !r.Await {
			mine++
		}
	}
	if mine != 1 {
		t.Fatalf("%d requests for the new run, want 1", mine)
	}
	if calls := e.run(t); writes(calls) != 0 {
		t.Errorf("scheduled reconcile of a matching Drive wrote: %v", calls)
	}

	// A running run is left alone, unless it has run so long that its watch must be lost.
	running := func() string {
		t.Helper()
		rec, err := e.store.UpdateConnection(e.ctx, company, e.conn.ID, func(r *store.ConnectionRecord) error {
			r.InitialCopy.State, r.InitialCopy.StartedAt = drivesync.CopyRunning, e.clock.Now()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return rec.InitialCopy.RunID
	}
	run := running()
	retry(t, "scheduled request", func() error { return e.engine.HandleCopyRequest(e.ctx, sched) })
	if got := e.get(t).InitialCopy; got.RunID != run {
		t.Errorf("the scheduled request superseded a running run: %+v", got)
	}
	e.drain(t, e.reqSub)
	e.clock.Advance(13 * time.Hour)
	retry(t, "scheduled request", func() error { return e.engine.HandleCopyRequest(e.ctx, sched) })
	if got := e.get(t).InitialCopy; got.RunID == run || got.State != drivesync.CopyPending {
		t.Errorf("a run running for 13 h was not superseded: %+v", got)
	}
}
