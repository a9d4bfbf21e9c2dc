package synctest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/layout"
	"github.com/efactori/drivesync/shared/store"
)

// Every run of a connection is a reconcile: it compares eFactori's list with what Drive holds
// under the company folder and fixes only the differences. These tests make Drive and drivesync's
// records disagree the ways customers and crashes do, then check that the next run leaves every
// live document exactly once in Drive, in its folder, with its content, and nothing else,
// without writing what is already right.

// fileIDs returns the ID of each document's file in account's Drive below conn's company folder;
// it fails the test when a document has more than one.
func (s *stack) fileIDs(conn drivesync.Connection, account string) map[string]string {
	s.t.Helper()
	out := map[string]string{}
	for doc, fs := range s.files(conn, account, false) {
		if len(fs) != 1 {
			s.t.Fatalf("document %s has %d files", doc, len(fs))
		}
		out[doc] = fs[0].node.ID
	}
	return out
}

// waitNewRun waits until connection id runs another run than oldRunID and that run is done.
func (s *stack) waitNewRun(company, id, oldRunID string, timeout time.Duration) drivesync.Connection {
	s.t.Helper()
	start := time.Now()
	s.eventually("a new run", timeout, func() string {
		if c := s.get(company, id); c.InitialCopy.RunID == oldRunID {
			return fmt.Sprintf("run %s, %s", c.InitialCopy.RunID, c.InitialCopy.State)
		}
		return ""
	})
	return s.waitDone(company, id, timeout-time.Since(start))
}

// checkReads checks that a reconcile that found Drive right cost only reads, at most N/500 + 20
// calls for N documents (what the issue promises).
func checkReads(t *testing.T, c map[string]int64, n int) {
	t.Helper()
	if w, u := driveWrites(c), uploads(c); w != 0 || u != 0 {
		t.Errorf("%d Drive writes and %d uploads, want none: %v", w, u, c)
	}
	var calls int64
	for k, v := range c {
		if !strings.HasPrefix(k, "upload:") {
			calls += v
		}
	}
	if limit := int64(n/500 + 20); calls > limit {
		t.Errorf("%d Drive calls, want at most %d: %v", calls, limit, c)
	}
}

// TestReconcileReconnectSameFolder disconnects a connection (its Drive files stay, its records
// go) and connects the same Google account again onto the same folder: the new connection's
// first run adopts the files already there, without a single Drive write.
func TestReconcileReconnectSameFolder(t *testing.T) {
	t.Parallel()
	const n = 60
	company := efactori.CompanySpec{ID: "again", Name: "Again SA", Documents: n}
	s := newStack(t, options{companies: []efactori.CompanySpec{company}})
	ctx := t.Context()
	old := s.waitDone(company.ID, s.connect(company.ID, "Compta", accounts[0], drivesync.LayoutYearKind, "").ID, 5*time.Minute)
	ids := s.fileIDs(old, accounts[0])
	if err := s.svc.Delete(ctx, company.ID, old.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}

	before := s.google.Drive.Counters(accounts[0])
	start := time.Now()
	conn := s.connectTo(company.ID, "Compta", accounts[0], drivesync.LayoutYearKind, "", old.Target.FolderID)
	if conn.ID == old.ID || conn.Target.CompanyFolderID != old.Target.CompanyFolderID {
		t.Fatalf("new connection %s targets company folder %s; the old one %s had %s", conn.ID, conn.Target.CompanyFolderID,
			old.ID, old.Target.CompanyFolderID)
	}
	done := s.waitDone(company.ID, conn.ID, 5*time.Minute)
	c := s.countersSince(accounts[0], before)
	t.Logf("connect again onto the same folder, %d documents: %v; drive calls %v", n, time.Since(start).Round(time.Millisecond), c)
	checkDone(t, done, n)
	checkReads(t, c, n)
	if p := s.checkCopy(done, accounts[0]); len(p) > 0 {
		t.Errorf("copy after connecting again:\n%s", joinProblems(p))
	}
	if got := s.fileIDs(done, accounts[0]); !maps.Equal(got, ids) {
		t.Errorf("files changed: %d documents before, %d after", len(ids), len(got))
	}
	// The adopted mappings serve the events that follow: a new revision updates the same file.
	docs, err := s.ef.Documents(company.ID)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s.ef.Upsert(company.ID, docs[0].ID, efactori.Upsert{Title: "Révisée"})
	if err != nil {
		t.Fatal(err)
	}
	s.publish(ev, 2)
	s.eventually("the new revision in Drive", time.Minute, func() string {
		if p := s.checkCopy(done, accounts[0]); len(p) > 0 {
			return p[0]
		}
		return ""
	})
	if got := s.fileIDs(done, accounts[0]); !maps.Equal(got, ids) {
		t.Errorf("the new revision made a new file")
	}
}

// TestReconcileLostMappings deletes every mapping of a connection from Firestore, as a restore
// or a bug could, then resyncs: the run rebuilds them from Drive's app properties with no Drive
// write.
func TestReconcileLostMappings(t *testing.T) {
	t.Parallel()
	const n = 60
	company := efactori.CompanySpec{ID: "lost", Name: "Lost BV", Documents: n}
	s := newStack(t, options{companies: []efactori.CompanySpec{company}})
	ctx := t.Context()
	conn := s.waitDone(company.ID, s.connect(company.ID, "Compta", accounts[0], drivesync.LayoutYearMonth, "").ID, 5*time.Minute)
	ids := s.fileIDs(conn, accounts[0])

	mappings := s.fs.Collection("companies").Doc(company.ID).Collection("connections").Doc(conn.ID).Collection(store.ColMappings)
	snaps, err := mappings.Documents(ctx).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != n {
		t.Fatalf("%d mappings after the copy, want %d", len(snaps), n)
	}
	bw := s.fs.BulkWriter(ctx)
	for _, snap := range snaps {
		if _, err := bw.Delete(snap.Ref); err != nil {
			t.Fatal(err)
		}
	}
	bw.End()
	if left, err := mappings.Documents(ctx).GetAll(); err != nil || len(left) != 0 {
		t.Fatalf("%d mappings left after deleting them (%v)", len(left), err)
	}

	before := s.google.Drive.Counters(accounts[0])
	start := time.Now()
	if _, err := s.svc.Resync(ctx, company.ID, conn.ID); err != nil {
		t.Fatalf("Resync: %v", err)
	}
	done := s.waitNewRun(company.ID, conn.ID, conn.InitialCopy.RunID, 5*time.Minute)
	c := s.countersSince(accounts[0], before)
	ms, err := s.store.Mappings(ctx, keyOf(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("resync after losing every mapping, %d documents: %v; %d mappings rebuilt; drive calls %v", n,
		time.Since(start).Round(time.Millisecond), len(ms), c)
	checkDone(t, done, n)
	checkReads(t, c, n)
	if p := s.checkCopy(done, accounts[0]); len(p) > 0 {
		t.Errorf("copy after the resync:\n%s", joinProblems(p))
	}
	if len(ms) != n {
		t.Errorf("%d mappings rebuilt, want %d", len(ms), n)
	}
	for _, m := range ms {
		if m.FileID != ids[m.DocumentID] || !m.Created || m.State != store.MappingSynced || m.Deleted || m.RunID != done.InitialCopy.RunID {
			t.Errorf("mapping %s: file %s created %v state %s deleted %v run %s; want file %s, synced in run %s", m.DocumentID,
				m.FileID, m.Created, m.State, m.Deleted, m.RunID, ids[m.DocumentID], done.InitialCopy.RunID)
		}
	}
}

// TestReconcileTargetInUse connects a second connection of the company: onto the folder the
// first one uses it is refused, naming the first; onto another folder it gets its own copy.
func TestReconcileTargetInUse(t *testing.T) {
	t.Parallel()
	const n = 30
	company := efactori.CompanySpec{ID: "twice", Name: "Twice SPRL", Documents: n}
	s := newStack(t, options{companies: []efactori.CompanySpec{company}})
	ctx := t.Context()
	first := s.connect(company.ID, "Compta", accounts[0], drivesync.LayoutYearMonth, "")
	second := s.consent(company.ID, "Archives", accounts[0], drivesync.LayoutYear, "")

	_, err := s.svc.SetTarget(ctx, company.ID, second.ID, first.Target.FolderID)
	var inUse *drivesync.TargetInUseError
	switch {
	case err == nil:
		t.Fatal("SetTarget onto the first connection's folder succeeded")
	case !errors.Is(err, drivesync.ErrConflict) || !errors.As(err, &inUse):
		t.Fatalf("SetTarget onto the first connection's folder: %v, want a TargetInUseError (a conflict)", err)
	case inUse.ConnectionID != first.ID || inUse.FolderID != first.Target.FolderID:
		t.Errorf("refusal names connection %s and folder %s, want %s and %s", inUse.ConnectionID, inUse.FolderID, first.ID, first.Target.FolderID)
	}
	if c := s.get(company.ID, second.ID); c.Status != drivesync.StatusAwaitingFolder {
		t.Errorf("after the refusal the second connection is %s, want %s", c.Status, drivesync.StatusAwaitingFolder)
	}

	f, err := s.svc.CreateFolder(ctx, company.ID, second.ID, "root", "Archives")
	if err != nil {
		t.Fatal(err)
	}
	second = s.target(second, f.ID)
	first = s.waitDone(company.ID, first.ID, 5*time.Minute)
	second = s.waitDone(company.ID, second.ID, 5*time.Minute)
	for _, c := range []drivesync.Connection{first, second} {
		checkDone(t, c, n)
		if p := s.checkCopy(c, accounts[0]); len(p) > 0 {
			t.Errorf("copy of %s:\n%s", c.Name, joinProblems(p))
		}
	}
	// Choosing one's own target again is fine, and its run writes nothing.
	before := s.google.Drive.Counters(accounts[0])
	again, err := s.svc.SetTarget(ctx, company.ID, first.ID, first.Target.FolderID)
	if err != nil {
		t.Fatalf("SetTarget onto its own folder again: %v", err)
	}
	done := s.waitNewRun(company.ID, first.ID, first.InitialCopy.RunID, 5*time.Minute)
	if again.Target.CompanyFolderID != first.Target.CompanyFolderID {
		t.Errorf("company folder %s, was %s", again.Target.CompanyFolderID, first.Target.CompanyFolderID)
	}
	checkDone(t, done, n)
	checkReads(t, s.countersSince(accounts[0], before), n)
	for _, c := range []drivesync.Connection{done, second} {
		if p := s.checkCopy(c, accounts[0]); len(p) > 0 {
			t.Errorf("copy of %s after the first chose its folder again:\n%s", c.Name, joinProblems(p))
		}
	}
}

// progressWatch samples a connection's run progress in the background and keeps the longest
// time its count of finished documents (synced + failed) stood still while the run was running.
type progressWatch struct {
	mu      sync.Mutex
	longest time.Duration
	at      int // finished documents during the longest stall
	last    drivesync.InitialCopy
	err     error
	stop    func()
	done    chan struct{}
}

func (s *stack) watchProgress(company, id string) *progressWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &progressWatch{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		finished, since := -1, time.Now()
		for ctx.Err() == nil {
			c, err := s.svc.Get(ctx, company, id)
			if err != nil {
				if ctx.Err() == nil {
					w.mu.Lock()
					w.err = err
					w.mu.Unlock()
				}
				return
			}
			now := time.Now()
			ic := c.InitialCopy
			w.mu.Lock()
			w.last = ic
			if n := ic.Synced + ic.Failed; n != finished || ic.State != drivesync.CopyRunning {
				finished, since = n, now
			} else if d := now.Sub(since); d > w.longest {
				w.longest, w.at = d, n
			}
			w.mu.Unlock()
			if ic.State == drivesync.CopyDone || ic.State == drivesync.CopyFailed {
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return w
}

// finish stops the watch and returns the longest stall and the finished count it happened at.
func (w *progressWatch) finish() (time.Duration, int, error) {
	w.stop()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.longest, w.at, w.err
}

func (w *progressWatch) finished() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last.Synced + w.last.Failed
}

// TestReconcileCrashedRunFinishesAlone kills the SyncDocument instance twice during a copy of
// 1,000 documents, each time while a document's upload hangs in Drive (its delivery holds the
// document's lease when it dies), and after the second crash Pub/Sub drops the task deliveries
// of two seconds: nobody resyncs, and the run still reaches done, the stall that follows
// repaired by the run's own await requests (STALL_TIMEOUT 10s, DOCUMENT_LEASE 5s).
func TestReconcileCrashedRunFinishesAlone(t *testing.T) {
	t.Parallel()
	const n = 1000
	company := efactori.CompanySpec{ID: "crashes", Name: "Crashes NV", Documents: n}
	s := newStack(t, options{companies: []efactori.CompanySpec{company}, documentLease: "5s", stallTimeout: "10s"})
	start := time.Now()
	conn := s.connect(company.ID, "Compta", accounts[0], drivesync.LayoutYearMonth, "")
	w := s.watchProgress(company.ID, conn.ID)
	for i, at := range []int{n / 4, n / 2} {
		s.eventually(fmt.Sprintf("%d documents finished", at), 5*time.Minute, func() string {
			if got := w.finished(); got < at {
				return fmt.Sprintf("%d finished", got)
			}
			return ""
		})
		// The next upload hangs until its client goes away, which the kill makes happen.
		if err := s.google.Drive.FailNext("upload:multipart", 1, driveemu.Fault{Kind: driveemu.FaultSlow, Delay: 10 * time.Minute}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		t.Logf("crash %d at %d finished, %v after the start", i+1, w.finished(), time.Since(start).Round(time.Millisecond))
		s.crashSync()
	}
	// After the second crash Pub/Sub also gives up on the tasks it delivers for a while, as
	// dead-lettering does: only the run's own repair can publish them again.
	lost := s.loseTasks(2 * time.Second)
	t.Logf("%d task deliveries lost after the second crash", lost)
	done := s.waitDone(company.ID, conn.ID, 10*time.Minute)
	elapsed := time.Since(start)
	longest, at, err := w.finish()
	if err != nil {
		t.Fatalf("watching progress: %v", err)
	}
	repairs := strings.Count(s.logs.String(), "unfinished copy tasks published again")
	t.Logf("copy of %d documents with two crashes, no resync: %v; longest stall %v (at %d finished); %d repairs; drive calls %v",
		n, elapsed.Round(time.Millisecond), longest.Round(time.Millisecond), at, repairs, s.google.Drive.Counters(accounts[0]))
	checkDone(t, done, n)
	if p := s.checkCopy(done, accounts[0]); len(p) > 0 {
		t.Errorf("copy:\n%s", joinProblems(p))
	}
	if lost > 0 && repairs == 0 {
		t.Errorf("%d task deliveries were lost, yet the run was never repaired", lost)
	}
	// A stall lasts the stall timeout, up to an await request's poll (5 s far from the end)
	// and the republished tasks' first deliveries; four times the timeout leaves room for a
	// loaded machine, and is far below what a stall without repair lasts (forever).
	if limit := 40 * time.Second; longest > limit {
		t.Errorf("the run stood still for %v, want at most %v", longest, limit)
	}
}

// TestReconcileAfterReauthorization deletes, changes and adds documents in eFactori while two
// connections need reauthorization (their events arrive and are ignored): once the customer
// consents again, each connection's run brings Drive to eFactori, the trashing one trashing the
// deleted documents' files, the keeping one keeping them.
func TestReconcileAfterReauthorization(t *testing.T) {
	t.Parallel()
	const n = 40
	company := efactori.CompanySpec{ID: "reauth", Name: "Reauth SRL", Documents: n}
	s := newStack(t, options{companies: []efactori.CompanySpec{company}})
	ctx := t.Context()
	trash := s.connect(company.ID, "Miroir", accounts[0], drivesync.LayoutYearMonth, drivesync.OnDeleteTrash)
	keep := s.connect(company.ID, "Sauvegarde", accounts[1], drivesync.LayoutYearKind, drivesync.OnDeleteKeep)
	conns := []struct {
		conn    drivesync.Connection
		account string
	}{{trash, accounts[0]}, {keep, accounts[1]}}
	before := map[string]map[string]string{} // account → document → file ID
	for i, c := range conns {
		conns[i].conn = s.waitDone(company.ID, c.conn.ID, 5*time.Minute)
		before[c.account] = s.fileIDs(conns[i].conn, c.account)
	}

	// Google no longer accepts either grant; a resync is how each connection finds out.
	for _, c := range conns {
		s.google.OAuth.RevokeAll(c.account, clientID)
		if _, err := s.svc.Resync(ctx, company.ID, c.conn.ID); !errors.Is(err, drivesync.ErrConflict) {
			t.Fatalf("Resync with a revoked grant: %v, want a conflict", err)
		}
		if got := s.get(company.ID, c.conn.ID); got.Status != drivesync.StatusNeedsReauthorization {
			t.Fatalf("connection %s is %s, want %s", c.conn.Name, got.Status, drivesync.StatusNeedsReauthorization)
		}
	}

	docs, err := s.ef.Documents(company.ID)
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, d := range docs[:3] {
		ev, err := s.ef.Delete(company.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		s.publish(ev, 1)
		deleted = append(deleted, d.ID)
	}
	date := "2021-03-09"
	changes := []efactori.Upsert{{Title: "Contenu modifié", Size: 12 << 10}, {FileName: "Renommée.pdf"}, {Date: date}}
	for i, u := range changes {
		ev, err := s.ef.Upsert(company.ID, docs[3+i].ID, u)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 { // some events reach the inactive connections, some are lost
			s.publish(ev, 1)
		}
	}
	if _, err := s.ef.Upsert(company.ID, "reauth-new-1", efactori.Upsert{Kind: drivesync.KindQuote, Number: "D-2026-00042",
		Date: "2026-05-04", Title: "Devis"}); err != nil {
		t.Fatal(err)
	}
	live := n - len(deleted) + 1
	// The events are acknowledged unapplied while the connections are inactive; give them time
	// to be, so that what follows is the reconcile's doing.
	time.Sleep(3 * time.Second)
	for _, c := range conns {
		if fs := s.files(c.conn, c.account, false); len(fs) != n {
			t.Fatalf("%s: %d documents in Drive while inactive, want the %d of before", c.account, len(fs), n)
		}
	}

	for i, c := range conns {
		s.reconsent(company.ID, c.conn.ID, c.account)
		conns[i].conn = s.waitNewRun(company.ID, c.conn.ID, c.conn.InitialCopy.RunID, 5*time.Minute)
		checkDone(t, conns[i].conn, live)
	}
	// Changed documents keep their file; the new one has one.
	for _, c := range conns {
		got := s.fileIDs(c.conn, c.account)
		for _, d := range docs[3:6] {
			if got[d.ID] != before[c.account][d.ID] {
				t.Errorf("%s: document %s now in file %s, was %s", c.account, d.ID, got[d.ID], before[c.account][d.ID])
			}
		}
		if got["reauth-new-1"] == "" {
			t.Errorf("%s: the document added while inactive is not in Drive", c.account)
		}
	}
	// The trashing connection mirrors eFactori; the deleted documents' files are in the trash.
	if p := s.checkCopy(conns[0].conn, accounts[0]); len(p) > 0 {
		t.Errorf("mirror after re-consent:\n%s", joinProblems(p))
	}
	withTrashed := s.files(conns[0].conn, accounts[0], true)
	for _, id := range deleted {
		if fs := withTrashed[id]; len(fs) != 1 || !fs[0].node.Trashed || fs[0].node.ID != before[accounts[0]][id] {
			t.Errorf("deleted document %s: files %+v, want its file %s in the trash", id, fs, before[accounts[0]][id])
		}
	}
	// The keeping connection holds exactly the deleted documents' files besides eFactori's.
	var want []string
	for _, id := range deleted {
		want = append(want, fmt.Sprintf("1 unexpected files for document %q", id))
	}
	p := s.checkCopy(conns[1].conn, accounts[1])
	var got []string
	for _, problem := range p {
		got = append(got, strings.SplitN(problem, " (", 2)[0])
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("backup after re-consent: want only the kept files of %v, got:\n%s", deleted, joinProblems(p))
	}
	kept := s.files(conns[1].conn, accounts[1], false)
	for _, id := range deleted {
		if fs := kept[id]; len(fs) != 1 || fs[0].node.ID != before[accounts[1]][id] {
			t.Errorf("kept document %s: files %+v, want its file %s", id, fs, before[accounts[1]][id])
		}
	}
	for _, id := range deleted {
		m, ok, err := s.store.Mapping(ctx, keyOf(conns[1].conn), id)
		if err != nil || !ok || !m.Deleted {
			t.Errorf("kept document %s: mapping %+v (%v, %v), want the deletion recorded", id, m, ok, err)
		}
	}
}

// TestReconcileLayoutChange changes an active connection's layout from year to year_kind: the
// run it starts moves every file into its new folder with one metadata update, uploads nothing,
// and keeps every file ID. The year folders stay where they were (the engine never trashes
// folders; with year_kind they hold the kind folders).
func TestReconcileLayoutChange(t *testing.T) {
	t.Parallel()
	const n = 500
	company := efactori.CompanySpec{ID: "relayout", Name: "Relayout SA", Documents: n}
	s := newStack(t, options{companies: []efactori.CompanySpec{company}})
	ctx := t.Context()
	conn := s.waitDone(company.ID, s.connect(company.ID, "Compta", accounts[0], drivesync.LayoutYear, "").ID, 5*time.Minute)
	ids := s.fileIDs(conn, accounts[0])
	years := s.folderIDs(conn, accounts[0])
	docs, err := s.ef.Documents(company.ID)
	if err != nil {
		t.Fatal(err)
	}
	newFolders := map[string]bool{}
	for _, d := range docs {
		newFolders[strings.Join(layout.Folders(d, drivesync.LayoutYearKind, conn.Locale), "/")] = true
	}

	before := s.google.Drive.Counters(accounts[0])
	start := time.Now()
	l := drivesync.LayoutYearKind
	updated, err := s.svc.Update(ctx, company.ID, conn.ID, connection.UpdateInput{FolderLayout: &l})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if updated.InitialCopy.RunID == conn.InitialCopy.RunID {
		t.Fatalf("changing the layout started no run: %+v", updated.InitialCopy)
	}
	done := s.waitNewRun(company.ID, conn.ID, conn.InitialCopy.RunID, 5*time.Minute)
	c := s.countersSince(accounts[0], before)
	t.Logf("layout year → year_kind, %d documents in %d year folders: %v; %d kind folders created; drive calls %v", n, len(years),
		time.Since(start).Round(time.Millisecond), c["files.create"], c)
	checkDone(t, done, n)
	if p := s.checkCopy(done, accounts[0]); len(p) > 0 {
		t.Errorf("copy after the layout change:\n%s", joinProblems(p))
	}
	if got := s.fileIDs(done, accounts[0]); !maps.Equal(got, ids) {
		t.Errorf("file IDs changed: the files were re-uploaded, not moved")
	}
	if got := uploads(c); got != 0 {
		t.Errorf("%d uploads, want none", got)
	}
	if got, want := c["files.update"], int64(n); got != want {
		t.Errorf("files.update called %d times, want one move per document, %d", got, want)
	}
	if got, want := c["files.create"], int64(len(newFolders)); got != want {
		t.Errorf("files.create called %d times, want one per new kind folder, %d", got, want)
	}
	if got := c["files.delete"]; got != 0 {
		t.Errorf("files.delete called %d times", got)
	}
	// The year folders are the same ones, holding no file any more, only kind folders; no
	// other folder appeared.
	after := s.folderIDs(done, accounts[0])
	if got, want := len(after), len(years)+len(newFolders); got != want {
		t.Errorf("%d folders below the company folder, want %d years and %d kind folders", got, len(years), len(newFolders))
	}
	tree := s.files(done, accounts[0], true)
	for year, id := range years {
		if after[year] != id {
			t.Errorf("year folder %s: now %q, was %s", year, after[year], id)
		}
		for doc, fs := range tree {
			for _, f := range fs {
				if len(f.folder) == 1 && f.folder[0] == year {
					t.Errorf("document %s still has file %s directly in year folder %s", doc, f.node.ID, year)
				}
			}
		}
	}
}

// folderIDs returns the folders below conn's company folder that are not in the trash, by path.
func (s *stack) folderIDs(conn drivesync.Connection, account string) map[string]string {
	s.t.Helper()
	tree, err := s.google.Drive.Tree(account)
	if err != nil {
		s.t.Fatalf("Tree: %v", err)
	}
	out := map[string]string{}
	var walk func(n driveemu.Node, path string, below bool)
	walk = func(n driveemu.Node, path string, below bool) {
		for _, c := range n.Children {
			if !c.Folder || c.Trashed {
				continue
			}
			switch {
			case below:
				p := strings.TrimPrefix(path+"/"+c.Name, "/")
				out[p] = c.ID
				walk(c, p, true)
			case c.ID == conn.Target.CompanyFolderID:
				walk(c, "", true)
			default:
				walk(c, "", false)
			}
		}
	}
	walk(tree.Root, "", false)
	return out
}

// TestReconcileScheduledRestoresDriveEdits trashes some files and deletes others for good, as a
// customer would in Drive, then publishes the request Cloud Scheduler sends every day: its
// reconcile puts every document back, once, the trashed ones as new files.
func TestReconcileScheduledRestoresDriveEdits(t *testing.T) {
	t.Parallel()
	const n = 40
	company := efactori.CompanySpec{ID: "edits", Name: "Edits BV", Documents: n}
	s := newStack(t, options{companies: []efactori.CompanySpec{company}})
	ctx := t.Context()
	conn := s.waitDone(company.ID, s.connect(company.ID, "Compta", accounts[0], drivesync.LayoutYearKind, "").ID, 5*time.Minute)
	ids := s.fileIDs(conn, accounts[0])
	docs, err := s.ef.Documents(company.ID)
	if err != nil {
		t.Fatal(err)
	}
	trashed, deleted := docs[:3], docs[3:6]
	for _, d := range trashed {
		if err := s.google.Drive.TrashAsUser(accounts[0], ids[d.ID]); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range deleted {
		if err := s.google.Drive.DeleteAsUser(accounts[0], ids[d.ID]); err != nil {
			t.Fatal(err)
		}
	}
	if p := s.checkCopy(conn, accounts[0]); len(p) != len(trashed)+len(deleted) {
		t.Fatalf("Drive after the customer's edits:\n%s", joinProblems(p))
	}

	before := s.google.Drive.Counters(accounts[0])
	start := time.Now()
	pub := s.ps.Publisher(config.TopicCopyRequests)
	defer pub.Stop()
	if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte(`{"schemaVersion":1,"scheduled":true}`)}).Get(ctx); err != nil {
		t.Fatalf("publish the scheduled request: %v", err)
	}
	done := s.waitNewRun(company.ID, conn.ID, conn.InitialCopy.RunID, 5*time.Minute)
	c := s.countersSince(accounts[0], before)
	t.Logf("scheduled reconcile of %d documents, %d trashed and %d deleted in Drive: %v; drive calls %v", n, len(trashed), len(deleted),
		time.Since(start).Round(time.Millisecond), c)
	checkDone(t, done, n)
	if p := s.checkCopy(done, accounts[0]); len(p) > 0 {
		t.Errorf("copy after the scheduled reconcile:\n%s", joinProblems(p))
	}
	got := s.fileIDs(done, accounts[0])
	for _, d := range slices.Concat(trashed, deleted) {
		if got[d.ID] == ids[d.ID] {
			t.Errorf("document %s: still file %s", d.ID, ids[d.ID])
		}
	}
	for _, d := range docs[6:] {
		if got[d.ID] != ids[d.ID] {
			t.Errorf("untouched document %s: file %s, was %s", d.ID, got[d.ID], ids[d.ID])
		}
	}
	if got, want := c["files.create"], int64(len(trashed)+len(deleted)); got != want || c["files.update"] != 0 || c["files.delete"] != 0 {
		t.Errorf("%d files created (want %d), %d updated, %d deleted", got, want, c["files.update"], c["files.delete"])
	}
}
