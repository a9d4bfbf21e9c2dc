package engine_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	standin "github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/engine"
	"github.com/efactori/drivesync/shared/layout"
	"github.com/efactori/drivesync/shared/store"
)

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := engine.New(engine.Options{WritesPerSecond: -1, IDBlockSize: 1001, DocumentLease: -time.Second})
	if err == nil {
		t.Fatal("New with nothing succeeded")
	}
	for _, want := range []string{"nil store", "nil fanout", "nil logger",
		"max event age", "writes per second", "id block size", "document lease"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestNewDocumentLandsInItsLayoutFolder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		layout drivesync.FolderLayout
		want   []string
	}{
		{drivesync.LayoutYear, []string{"2026/", "2026/F-2026-001.pdf"}},
		{drivesync.LayoutYearMonth, []string{"2026/", "2026/03/", "2026/03/F-2026-001.pdf"}},
		{drivesync.LayoutYearKind, []string{"2026/", "2026/Factures de vente/", "2026/Factures de vente/F-2026-001.pdf"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.layout), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{layout: tt.layout})
			ev := e.upsert(t, "acme-new-1", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-2026-001", Date: "2026-03-14"})
			if err := e.engine.HandleEvent(e.ctx, ev); err != nil {
				t.Fatalf("HandleEvent: %v", err)
			}
			items := contents(e.companyFolder(t))
			if diff := cmp.Diff(tt.want, paths(items)); diff != "" {
				t.Errorf("company folder (-want +got):\n%s", diff)
			}
			file := byPath(t, items, tt.want[len(tt.want)-1])
			m := e.mapping(t, ev.Document.ID)
			if diff := cmp.Diff(store.Mapping{DocumentID: ev.Document.ID, FileID: file.ID, Created: true, Revision: 1,
				SHA256: ev.Document.SHA256, FolderID: m.FolderID, Name: "F-2026-001.pdf", State: store.MappingSynced,
				Source: ev.Document, SyncedAt: e.clock.Now()},
				m, ignoreTime); diff != "" {
				t.Errorf("mapping (-want +got):\n%s", diff)
			}
			e.checkContent(t, file.ID, ev.Document.ID)
			if got, want := file.AppProperties[clientID][layout.PropDocumentID], ev.Document.ID; got != want {
				t.Errorf("file's document id property = %q, want %q", got, want)
			}

			// Redeliveries, also on another instance, cost no Drive call at all.
			before := e.calls()
			other := e.newEngine(t)
			for _, en := range []*engine.Engine{e.engine, other} {
				if err := en.HandleEvent(e.ctx, ev); err != nil {
					t.Fatalf("redelivered HandleEvent: %v", err)
				}
			}
			if got := e.calls() - before; got != 0 {
				t.Errorf("redeliveries made %d Drive calls, want 0: %v", got, e.emu.Drive.Counters(alice))
			}
		})
	}
}

// ignoreTime leaves out of a mapping comparison when it was written and its store bookkeeping.
var ignoreTime = cmp.Options{
	cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".UpdatedAt" }, cmp.Ignore()),
	cmpopts.IgnoreUnexported(store.Mapping{}),
}

// checkContent checks that Drive holds the stand-in's current content of docID in fileID.
func (e *env) checkContent(t *testing.T, fileID, docID string) {
	t.Helper()
	got, err := e.emu.Drive.Content(alice, fileID)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := e.efa.WriteContent(&want, docID); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("file %s holds %d bytes, not the %d of document %s", fileID, len(got), want.Len(), docID)
	}
}

func TestDocumentChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{layout: drivesync.LayoutYearMonth})
	handle := func(ev drivesync.Event) {
		t.Helper()
		if err := e.engine.HandleEvent(e.ctx, ev); err != nil {
			t.Fatalf("HandleEvent(%s rev %d): %v", ev.EventType, ev.Document.Revision, err)
		}
	}
	const doc = "acme-doc-1"
	first := e.upsert(t, doc, standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
	handle(first)
	created := byPath(t, contents(e.companyFolder(t)), "2026/03/F-1.pdf")

	steps := []struct {
		name     string
		change   standin.Upsert
		wantPath string
		newBytes bool
	}{
		{"content", standin.Upsert{AmountCents: 123456}, "2026/03/F-1.pdf", true},
		{"date moves it", standin.Upsert{Date: "2026-05-02"}, "2026/05/F-1.pdf", true},
		{"rename", standin.Upsert{FileName: "Facture Dupont.pdf"}, "2026/05/Facture Dupont.pdf", true},
	}
	prev := created
	for _, st := range steps {
		ev := e.upsert(t, doc, st.change)
		handle(ev)
		items := contents(e.companyFolder(t))
		got := byPath(t, items, st.wantPath)
		if got.ID != created.ID {
			t.Errorf("%s: file %s, want the same file %s", st.name, got.ID, created.ID)
		}
		if got.Version <= prev.Version {
			t.Errorf("%s: version %d, want above %d", st.name, got.Version, prev.Version)
		}
		if st.newBytes && got.MD5 == prev.MD5 {
			t.Errorf("%s: content unchanged", st.name)
		}
		e.checkContent(t, got.ID, doc)
		if n := countFiles(items); n != 1 {
			t.Errorf("%s: %d files, want 1: %q", st.name, n, paths(items))
		}
		prev = got
	}
	if got, want := prev.Version, created.Version+3; got != want {
		t.Errorf("after three changes version %d, want %d (one Drive version per change)", got, want)
	}

	// An old revision arriving late changes nothing and costs no Drive call.
	before := e.calls()
	handle(first)
	if got := e.calls() - before; got != 0 {
		t.Errorf("stale revision made %d Drive calls", got)
	}
	if got := byPath(t, contents(e.companyFolder(t)), "2026/05/Facture Dupont.pdf"); got.Version != prev.Version {
		t.Errorf("stale revision changed the file: version %d, want %d", got.Version, prev.Version)
	}

	// Deleted with the default policy: the file stays, the mapping knows.
	del, err := e.efa.Delete(company, doc)
	if err != nil {
		t.Fatal(err)
	}
	handle(del)
	if got := byPath(t, contents(e.companyFolder(t)), "2026/05/Facture Dupont.pdf"); got.Trashed {
		t.Error("kept file trashed")
	}
	if m := e.mapping(t, doc); !m.Deleted || m.Revision != del.Document.Revision {
		t.Errorf("mapping after delete = %+v, want deleted at revision %d", m, del.Document.Revision)
	}
	handle(first) // a late upsert after the deletion is ignored too
	if m := e.mapping(t, doc); !m.Deleted {
		t.Errorf("late upsert undid the deletion: %+v", m)
	}

	// With the trash policy, the file goes to the trash.
	trash := drivesync.OnDeleteTrash
	if _, err := e.svc.Update(e.ctx, company, e.conn.ID, connection.UpdateInput{OnDelete: &trash}); err != nil {
		t.Fatal(err)
	}
	other := e.upsert(t, "acme-doc-2", standin.Upsert{Kind: drivesync.KindQuote, Number: "D-7", Date: "2026-03-20"})
	handle(other)
	fileID := e.mapping(t, "acme-doc-2").FileID
	del2, err := e.efa.Delete(company, "acme-doc-2")
	if err != nil {
		t.Fatal(err)
	}
	handle(del2)
	handle(del2)
	n := find(e.tree(t).Root, fileID)
	if n == nil || !n.Trashed {
		t.Errorf("file of the deleted document = %+v, want it in the trash", n)
	}
}

func countFiles(items []item) int {
	n := 0
	for _, it := range items {
		if !it.node.Folder {
			n++
		}
	}
	return n
}

// checkExactlyOnce checks that the company folder holds one untrashed file per document of docs
// (by the document ID property), each the file its mapping names, and no two folders at one path.
func (e *env) checkExactlyOnce(t *testing.T, docs []drivesync.Document) {
	t.Helper()
	items := contents(e.companyFolder(t))
	seenFolders := map[string]bool{}
	files := map[string][]string{} // document ID → file IDs
	for _, it := range items {
		if it.node.Folder {
			if seenFolders[it.path] {
				t.Errorf("two folders at %s", it.path)
			}
			seenFolders[it.path] = true
			continue
		}
		id := it.node.AppProperties[clientID][layout.PropDocumentID]
		files[id] = append(files[id], it.node.ID)
	}
	if got, want := len(files), len(docs); got != want {
		t.Errorf("%d documents in Drive, want %d", got, want)
	}
	for _, d := range docs {
		m := e.mapping(t, d.ID)
		if got := files[d.ID]; len(got) != 1 || got[0] != m.FileID {
			t.Errorf("document %s: files %v in Drive, mapping says %s", d.ID, got, m.FileID)
		}
		if m.State != store.MappingSynced || m.Revision != d.Revision {
			t.Errorf("document %s: mapping %s at revision %d, want synced at %d", d.ID, m.State, m.Revision, d.Revision)
		}
	}
}

func event(doc drivesync.Document, now time.Time) drivesync.Event {
	return drivesync.Event{SchemaVersion: drivesync.SchemaVersion, EventID: "evt-" + doc.ID, EventType: drivesync.EventUpserted,
		OccurredAt: now, CompanyID: company, Document: doc}
}

func TestConcurrentDeliveriesMakeOneFileEach(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{layout: drivesync.LayoutYearKind, documents: 50})
	docs := e.documents(t)
	second := e.newEngine(t) // deliveries land on two instances
	var wg sync.WaitGroup
	errs := make(chan error, 3*len(docs))
	for _, d := range docs {
		for i := range 3 {
			en := e.engine
			if i == 1 {
				en = second
			}
			wg.Go(func() {
				errs <- deliver("event "+d.ID, func() error { return en.HandleEvent(e.ctx, event(d, e.clock.Now())) })
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	e.checkExactlyOnce(t, docs)
	if got := e.emu.Drive.Counters(alice)["files.generateIds"]; got > 10 {
		t.Errorf("%d generateIds calls for %d documents; IDs should come in blocks", got, len(docs))
	}
}

func TestRandomDriveFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 200})
	docs := e.documents(t)
	if err := e.emu.Drive.SetRandomFaults(driveemu.RandomFaults{
		Seed: 11, Probability: 0.2, Methods: []string{"files.create", "files.update"},
		Faults: []driveemu.Fault{{Kind: driveemu.FaultBackendError500}, {Kind: driveemu.FaultBackendError503},
			{Kind: driveemu.FaultRateLimit429}, {Kind: driveemu.FaultRateLimit403}, {Kind: driveemu.FaultConnectionReset}},
	}); err != nil {
		t.Fatal(err)
	}
	run := e.conn.InitialCopy.RunID
	work := make(chan drivesync.Document)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for range 8 {
		wg.Go(func() {
			for d := range work {
				if err := deliver("task "+d.ID, func() error { return e.engine.HandleTask(e.ctx, e.task(d, run)) }); err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, d := range docs {
		work <- d
	}
	close(work)
	wg.Wait()
	for _, err := range failures {
		t.Error(err)
	}
	e.emu.Drive.ClearFaults()
	e.checkExactlyOnce(t, docs)
	c := e.emu.Drive.Counters(alice)
	folders := 0
	for _, it := range contents(e.companyFolder(t)) {
		if it.node.Folder {
			folders++
		}
	}
	if c["files.create"] <= int64(len(docs)+folders) {
		t.Errorf("%d creates for %d files and %d folders: no fault was injected", c["files.create"], len(docs), folders)
	}
	t.Logf("drive calls with faults: %v", c)
}

func TestCrashBetweenReservationAndCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 1})
	doc := e.documents(t)[0]
	crashing := e.newEngine(t)
	crashed := false
	engine.SetAfterReserve(crashing, func(ctx context.Context, _ string) error {
		if crashed {
			return nil
		}
		crashed = true
		return errors.New("instance crashed") // the process would be gone; nothing after runs
	})
	run := e.conn.InitialCopy.RunID
	if err := crashing.HandleTask(e.ctx, e.task(doc, run)); err == nil {
		t.Fatal("HandleTask after a crash returned nil")
	}
	reserved := e.mapping(t, doc.ID)
	if reserved.FileID == "" || reserved.Created {
		t.Fatalf("mapping after the crash = %+v, want a reserved, not created file ID", reserved)
	}
	if n := countFiles(contents(e.companyFolder(t))); n != 0 {
		t.Fatalf("%d files before the retry", n)
	}
	retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, e.task(doc, run)) })
	e.checkExactlyOnce(t, []drivesync.Document{doc})
	if got := e.mapping(t, doc.ID).FileID; got != reserved.FileID {
		t.Errorf("file created with ID %s, want the reserved %s", got, reserved.FileID)
	}
}

func TestCreateAnsweredButNotRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 1})
	doc := e.documents(t)[0]
	run := e.conn.InitialCopy.RunID
	retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, e.task(doc, run)) })
	// As if the instance died after Drive created the file and before the mapping said so.
	held, ok, err := e.store.LockMapping(e.ctx, e.key(), store.Mapping{DocumentID: doc.ID}, "test", time.Minute, nil)
	if err != nil || !ok {
		t.Fatal(err, ok)
	}
	held, err = e.store.UpdateMapping(e.ctx, e.key(), held, "test", func(m *store.Mapping) error {
		m.Created, m.State, m.Revision, m.RunID = false, store.MappingPending, 0, ""
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.ReleaseMapping(e.ctx, e.key(), held, "test"); err != nil {
		t.Fatal(err)
	}
	retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, e.task(doc, run)) })
	e.checkExactlyOnce(t, []drivesync.Document{doc})
}

func TestRevokedGrantMidCopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 8})
	docs := e.documents(t)
	run := e.conn.InitialCopy.RunID
	for _, d := range docs[:4] {
		retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, e.task(d, run)) })
	}
	e.emu.OAuth.RevokeAll(alice, clientID) // the customer removes drivesync from their account
	if err := e.engine.HandleTask(e.ctx, e.task(docs[4], run)); err != nil {
		t.Fatalf("HandleTask after revocation: %v, want it acknowledged", err)
	}
	got := e.get(t)
	if got.Status != drivesync.StatusNeedsReauthorization {
		t.Fatalf("status = %s, want %s", got.Status, drivesync.StatusNeedsReauthorization)
	}
	if m := e.mapping(t, docs[4].ID); m.State != store.MappingPending {
		t.Errorf("document during revocation: %s, want pending", m.State)
	}
	before := e.calls()
	if err := e.engine.HandleTask(e.ctx, e.task(docs[5], run)); err != nil {
		t.Fatalf("HandleTask while needing reauthorization: %v", err)
	}
	if got := e.calls() - before; got != 0 {
		t.Errorf("%d Drive calls for a connection needing reauthorization", got)
	}

	authURL, err := e.svc.Authorize(e.ctx, company, e.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.consent(t, authURL)
	restarted := e.copies.last(t)
	if restarted.Status != drivesync.StatusActive || restarted.InitialCopy.RunID == run {
		t.Fatalf("re-consent started %+v, want a new run of the active connection", restarted.InitialCopy)
	}
	newRun := restarted.InitialCopy.RunID
	before = e.calls()
	for _, d := range docs[:4] {
		retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, e.task(d, newRun)) })
	}
	if got := e.calls() - before; got != 0 {
		t.Errorf("documents already copied cost %d Drive calls in the new run", got)
	}
	for _, d := range docs[4:] {
		retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, e.task(d, newRun)) })
	}
	e.checkExactlyOnce(t, docs)
}

func TestUserDeletedOrTrashedTheFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	const doc = "acme-doc-1"
	ev := e.upsert(t, doc, standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
	retry(t, "event", func() error { return e.engine.HandleEvent(e.ctx, ev) })
	for _, tc := range []struct {
		name string
		do   func(account, id string) error
	}{
		{"trashed", e.emu.Drive.TrashAsUser},
		{"deleted", e.emu.Drive.DeleteAsUser},
	} {
		old := e.mapping(t, doc).FileID
		if err := tc.do(alice, old); err != nil {
			t.Fatal(err)
		}
		ev := e.upsert(t, doc, standin.Upsert{AmountCents: 4242})
		retry(t, "event", func() error { return e.engine.HandleEvent(e.ctx, ev) })
		m := e.mapping(t, doc)
		if m.FileID == old {
			t.Errorf("%s: still mapped to the old file %s", tc.name, old)
		}
		got := byPath(t, contents(e.companyFolder(t)), "2026/F-1.pdf")
		if got.ID != m.FileID {
			t.Errorf("%s: file in Drive %s, mapping %s", tc.name, got.ID, m.FileID)
		}
		e.checkContent(t, got.ID, doc)
	}
}

func TestUserTrashedALayoutFolder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a := e.upsert(t, "acme-a", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
	retry(t, "event", func() error { return e.engine.HandleEvent(e.ctx, a) })
	year := byPath(t, contents(e.companyFolder(t)), "2026/")
	if err := e.emu.Drive.TrashAsUser(alice, year.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute) // past the time a folder is trusted without asking Drive
	b := e.upsert(t, "acme-b", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-2", Date: "2026-04-01"})
	retry(t, "event", func() error { return e.engine.HandleEvent(e.ctx, b) })
	items := contents(e.companyFolder(t))
	if diff := cmp.Diff([]string{"2026/", "2026/F-2.pdf"}, paths(items)); diff != "" {
		t.Errorf("company folder (-want +got):\n%s", diff)
	}
	if byPath(t, items, "2026/").ID == year.ID {
		t.Error("the trashed year folder was used")
	}

	// Trashed again, and a change comes at once, while the folder is still trusted: the file
	// found in the trash sends the engine to check the folders first.
	year = byPath(t, items, "2026/")
	if err := e.emu.Drive.TrashAsUser(alice, year.ID); err != nil {
		t.Fatal(err)
	}
	b = e.upsert(t, "acme-b", standin.Upsert{AmountCents: 777})
	retry(t, "event", func() error { return e.engine.HandleEvent(e.ctx, b) })
	items = contents(e.companyFolder(t))
	if diff := cmp.Diff([]string{"2026/", "2026/F-2.pdf"}, paths(items)); diff != "" {
		t.Errorf("company folder after the second trashing (-want +got):\n%s", diff)
	}
	if byPath(t, items, "2026/").ID == year.ID {
		t.Error("the file was copied again into the trashed year folder")
	}
	e.checkContent(t, byPath(t, items, "2026/F-2.pdf").ID, "acme-b")
}

func TestUserTrashedTheCompanyFolder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a := e.upsert(t, "acme-a", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
	retry(t, "event", func() error { return e.engine.HandleEvent(e.ctx, a) })
	if err := e.emu.Drive.TrashAsUser(alice, e.conn.Target.CompanyFolderID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	b := e.upsert(t, "acme-b", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-2", Date: "2026-04-01"})
	if err := e.engine.HandleEvent(e.ctx, b); err != nil {
		t.Fatalf("HandleEvent with the company folder trashed: %v, want it acknowledged", err)
	}
	got := e.get(t)
	if got.Status != drivesync.StatusError || got.LastError == nil || got.LastError.Code != "target_trashed" ||
		!strings.Contains(got.LastError.Message, "choose a folder again") {
		t.Fatalf("connection = %s %+v, want error telling to choose a folder again", got.Status, got.LastError)
	}
	if m := e.mapping(t, "acme-b"); m.State != store.MappingPending || m.Created {
		t.Errorf("document = %+v, want pending", m)
	}

	// Choosing a folder again starts a run that copies the pending document.
	root, err := e.emu.Drive.RootID(alice)
	if err != nil {
		t.Fatal(err)
	}
	e.conn, err = e.svc.SetTarget(e.ctx, company, e.conn.ID, root)
	if err != nil {
		t.Fatal(err)
	}
	doc, _, err := e.efa.Document("acme-b")
	if err != nil {
		t.Fatal(err)
	}
	retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, e.task(doc, e.conn.InitialCopy.RunID)) })
	if diff := cmp.Diff([]string{"2026/", "2026/F-2.pdf"}, paths(contents(e.companyFolder(t)))); diff != "" {
		t.Errorf("new company folder (-want +got):\n%s", diff)
	}
}

func TestPermanentContentFailureIsRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ev := e.upsert(t, "acme-a", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
	if err := e.efa.FailContent(1, 410); err != nil {
		t.Fatal(err)
	}
	if err := e.engine.HandleEvent(e.ctx, ev); err != nil {
		t.Fatalf("HandleEvent: %v, want a recorded failure", err)
	}
	m := e.mapping(t, "acme-a")
	if m.State != store.MappingFailed || m.Code != "content_gone" {
		t.Errorf("mapping = %s %q, want failed content_gone", m.State, m.Code)
	}
	if n := countFiles(contents(e.companyFolder(t))); n != 0 {
		t.Errorf("%d files after a failure", n)
	}
	// A newer revision tries again.
	ev = e.upsert(t, "acme-a", standin.Upsert{AmountCents: 10})
	retry(t, "event", func() error { return e.engine.HandleEvent(e.ctx, ev) })
	if m := e.mapping(t, "acme-a"); m.State != store.MappingSynced {
		t.Errorf("newer revision: %s, want synced", m.State)
	}
}

func TestOldEventIsDroppedAndRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ev := e.upsert(t, "acme-a", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
	e.clock.Advance(25 * time.Hour)
	before := e.calls()
	if err := e.engine.HandleEvent(e.ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got := e.calls() - before; got != 0 {
		t.Errorf("an old event made %d Drive calls", got)
	}
	if m := e.mapping(t, "acme-a"); m.State != store.MappingFailed || m.Code != engine.CodeEventTooOld {
		t.Errorf("mapping = %s %q, want failed %s", m.State, m.Code, engine.CodeEventTooOld)
	}
}

func TestIntegrationOffSkipsEverything(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	if err := e.store.SetIntegration(e.ctx, company, false); err != nil {
		t.Fatal(err)
	}
	ev := e.upsert(t, "acme-a", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
	before := e.calls()
	if err := e.engine.HandleEvent(e.ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got := e.calls() - before; got != 0 {
		t.Errorf("%d Drive calls with the integration off", got)
	}
	if _, ok, _ := e.store.Mapping(e.ctx, e.key(), "acme-a"); ok {
		t.Error("mapping written with the integration off")
	}
}

func TestInitialCopyProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 60, pageSize: 25, topics: true})
	engine.SetAwait(e.engine, 300*time.Millisecond, 100*time.Millisecond)
	run := e.conn.InitialCopy.RunID
	if err := e.efa.FailContent(1, 410); err != nil { // one document is gone by the time it is copied
		t.Fatal(err)
	}
	// The request is redelivered: its tasks are published again, and nothing counts twice.
	req := drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company,
		ConnectionID: e.conn.ID, RunID: run}
	for range 2 {
		retry(t, "copy request", func() error { return e.engine.HandleCopyRequest(e.ctx, req) })
		if got := e.get(t).InitialCopy.State; got != drivesync.CopyRunning {
			t.Errorf("after the request: state %s, want running", got)
		}
	}
	tasks := e.drain(t, e.taskSub)
	if len(tasks) != 120 {
		t.Errorf("two deliveries of the request published %d tasks, want 2 × 60", len(tasks))
	}
	for _, data := range tasks {
		task, err := drivesync.DecodeCopyTask(data)
		if err != nil {
			t.Fatal(err)
		}
		retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, task) })
	}
	e.awaitEnd(t)
	got := e.get(t).InitialCopy
	want := drivesync.InitialCopy{State: drivesync.CopyDone, RunID: run, Listed: 60, Synced: 59, Failed: 1}
	if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool {
		return slices.Contains([]string{".StartedAt", ".FinishedAt"}, p.Last().String())
	}, cmp.Ignore())); diff != "" {
		t.Errorf("initial copy (-want +got):\n%s", diff)
	}
	if got.StartedAt.IsZero() || got.FinishedAt.IsZero() {
		t.Errorf("initial copy times not set: %+v", got)
	}
	if n := countFiles(contents(e.companyFolder(t))); n != 59 {
		t.Errorf("%d files in Drive, want 59", n)
	}

	// A resync supersedes the run: the old run's messages are acknowledged and do nothing.
	resynced, err := e.svc.Resync(e.ctx, company, e.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := e.calls()
	old := drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company, ConnectionID: e.conn.ID, RunID: run}
	if err := e.engine.HandleCopyRequest(e.ctx, old); err != nil {
		t.Fatalf("superseded copy request: %v", err)
	}
	if err := e.engine.HandleTask(e.ctx, e.task(e.documents(t)[0], run)); err != nil {
		t.Fatalf("superseded copy task: %v", err)
	}
	if msgs := e.drain(t, e.taskSub); len(msgs) != 0 {
		t.Errorf("a superseded request published %d tasks", len(msgs))
	}
	if got := e.calls() - before; got != 0 {
		t.Errorf("superseded messages made %d Drive calls", got)
	}
	if got := e.get(t).InitialCopy; got.RunID != resynced.InitialCopy.RunID || got.State != drivesync.CopyPending {
		t.Errorf("after the superseded messages: %+v, want the new run pending", got)
	}
}

func TestEventGoesToEveryActiveConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	second, authURL, err := e.svc.Create(e.ctx, company, companyName, connection.CreateInput{Name: "Backup", FolderLayout: drivesync.LayoutYearMonth})
	if err != nil {
		t.Fatal(err)
	}
	e.consent(t, authURL)
	root, err := e.emu.Drive.RootID(alice)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := e.svc.CreateFolder(e.ctx, company, second.ID, root, "Backup")
	if err != nil {
		t.Fatal(err)
	}
	if second, err = e.svc.SetTarget(e.ctx, company, second.ID, dir.ID); err != nil {
		t.Fatal(err)
	}
	// A third connection, never authorized, is left alone.
	if _, _, err := e.svc.Create(e.ctx, company, companyName, connection.CreateInput{Name: "Pending", FolderLayout: drivesync.LayoutYear}); err != nil {
		t.Fatal(err)
	}
	ev := e.upsert(t, "acme-a", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
	retry(t, "event", func() error { return e.engine.HandleEvent(e.ctx, ev) })
	if diff := cmp.Diff([]string{"2026/", "2026/F-1.pdf"}, paths(contents(e.companyFolder(t)))); diff != "" {
		t.Errorf("first connection (-want +got):\n%s", diff)
	}
	n := find(e.tree(t).Root, second.Target.CompanyFolderID)
	if n == nil {
		t.Fatal("second company folder missing")
	}
	if diff := cmp.Diff([]string{"2026/", "2026/03/", "2026/03/F-1.pdf"}, paths(contents(*n))); diff != "" {
		t.Errorf("second connection (-want +got):\n%s", diff)
	}
}

func TestFullDriveNeedsTheCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	if err := e.emu.Drive.SetQuota(alice, 1000); err != nil {
		t.Fatal(err)
	}
	ev := e.upsert(t, "acme-a", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
	if err := e.engine.HandleEvent(e.ctx, ev); err != nil {
		t.Fatalf("HandleEvent on a full Drive: %v, want it acknowledged", err)
	}
	got := e.get(t)
	if got.Status != drivesync.StatusError || got.LastError == nil || got.LastError.Code != "storageQuotaExceeded" {
		t.Errorf("connection = %s %+v, want error storageQuotaExceeded", got.Status, got.LastError)
	}
	if m := e.mapping(t, "acme-a"); m.State != store.MappingPending || m.Code != "storageQuotaExceeded" {
		t.Errorf("document = %s %q, want pending storageQuotaExceeded", m.State, m.Code)
	}
}

func TestDriveWritesArePaced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 9})
	opts := e.opts
	opts.WritesPerSecond = 4
	slow, err := engine.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	run := e.conn.InitialCopy.RunID
	writes := func() int64 { c := e.emu.Drive.Counters(alice); return c["files.create"] + c["files.update"] }
	before := writes()
	start := time.Now()
	for _, d := range e.documents(t) {
		retry(t, "task", func() error { return slow.HandleTask(e.ctx, e.task(d, run)) })
	}
	n := writes() - before
	// A bucket of 4 a second starting full lets 4 through at once, then one every 250 ms.
	if min := time.Duration(n-4) * 250 * time.Millisecond; time.Since(start) < min-100*time.Millisecond {
		t.Errorf("%d writes took %v, want at least %v at 4 a second", n, time.Since(start), min)
	}
}

// An engine built for copy requests only (InitialCopy's, without Drive access) refuses to copy
// a document rather than acknowledging it, so the message is not lost.
func TestEngineWithoutDriveRefusesToCopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 1})
	opts := e.opts
	opts.Connections = nil
	requestsOnly, err := engine.New(opts)
	if err != nil {
		t.Fatalf("engine.New without connections: %v", err)
	}
	doc := e.documents(t)[0]
	if err := requestsOnly.HandleTask(e.ctx, e.task(doc, e.conn.InitialCopy.RunID)); err == nil {
		t.Fatal("HandleTask without a connection service returned nil")
	}
	if _, ok, err := e.store.Mapping(e.ctx, e.key(), doc.ID); err != nil || ok {
		t.Errorf("mapping after the refusal: stored %v, %v", ok, err)
	}
}

// An await request watches its run: it hands over to a new await request while documents are
// still being copied, marks the run done once they are all copied, and is dropped once the run
// is superseded.
func TestAwaitRequestWatchesTheRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 3, topics: true})
	engine.SetAwait(e.engine, 300*time.Millisecond, 100*time.Millisecond)
	run := e.conn.InitialCopy.RunID
	first := drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company, ConnectionID: e.conn.ID, RunID: run}
	retry(t, "copy request", func() error { return e.engine.HandleCopyRequest(e.ctx, first) })
	tasks := e.drain(t, e.taskSub)
	awaits := e.drain(t, e.reqSub)
	if len(tasks) != 3 || len(awaits) != 1 {
		t.Fatalf("the only page published %d tasks and %d requests, want 3 and 1 await", len(tasks), len(awaits))
	}
	await, err := drivesync.DecodeCopyRequest(awaits[0])
	if err != nil || !await.Await || await.RunID != run {
		t.Fatalf("request after the last page = %+v, %v; want an await of run %s", await, err, run)
	}
	// No document copied yet: the await request waits, then hands over to a new one.
	if err := e.engine.HandleCopyRequest(e.ctx, await); err != nil {
		t.Fatal(err)
	}
	if again := e.drain(t, e.reqSub); len(again) != 1 {
		t.Fatalf("an await of an unfinished run published %d requests, want 1", len(again))
	}
	if got := e.get(t).InitialCopy.State; got != drivesync.CopyRunning {
		t.Fatalf("state with nothing copied = %s, want running", got)
	}
	for _, data := range tasks {
		task, err := drivesync.DecodeCopyTask(data)
		if err != nil {
			t.Fatal(err)
		}
		retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, task) })
	}
	if got := e.get(t).InitialCopy.State; got != drivesync.CopyRunning {
		t.Fatalf("state before the await request = %s; copy tasks must not count the run", got)
	}
	if err := e.engine.HandleCopyRequest(e.ctx, await); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t).InitialCopy; got.State != drivesync.CopyDone || got.Synced != 3 || got.Listed != 3 {
		t.Errorf("after the await request: %+v, want done with 3 listed and synced", got)
	}
	if again := e.drain(t, e.reqSub); len(again) != 0 {
		t.Errorf("the await of a finished run published %d requests", len(again))
	}
	// A resync supersedes the run: its await requests end.
	if _, err := e.svc.Resync(e.ctx, company, e.conn.ID); err != nil {
		t.Fatal(err)
	}
	e.drain(t, e.reqSub) // the new run's first request
	if err := e.engine.HandleCopyRequest(e.ctx, await); err != nil {
		t.Fatal(err)
	}
	if again := e.drain(t, e.reqSub); len(again) != 0 {
		t.Errorf("the await of a superseded run published %d requests", len(again))
	}
}

// A document whose copy failed for good in one run (its content was gone at the time) is tried
// again by the next run, while a redelivery within the first run leaves it alone.
func TestNewRunRetriesWhatFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 1})
	doc := e.documents(t)[0]
	run := e.conn.InitialCopy.RunID
	if err := e.efa.FailContent(1, 410); err != nil {
		t.Fatal(err)
	}
	retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, e.task(doc, run)) })
	if m := e.mapping(t, doc.ID); m.State != store.MappingFailed {
		t.Fatalf("after a 410: %s, want failed", m.State)
	}
	retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, e.task(doc, run)) })
	if m := e.mapping(t, doc.ID); m.State != store.MappingFailed {
		t.Fatalf("a redelivery in the same run changed the failed document to %s", m.State)
	}
	resynced, err := e.svc.Resync(e.ctx, company, e.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, e.task(doc, resynced.InitialCopy.RunID)) })
	if m := e.mapping(t, doc.ID); m.State != store.MappingSynced || m.RunID != resynced.InitialCopy.RunID {
		t.Errorf("after the new run: %s in run %s, want synced in %s", m.State, m.RunID, resynced.InitialCopy.RunID)
	}
	e.checkExactlyOnce(t, []drivesync.Document{doc})
}

// A run whose document list eFactori refuses for good (here: it does not know the company) ends
// failed, with a lastError the customer can act on, instead of running forever; the connection
// stays active and a resync starts over.
func TestCopyPageFailingForGoodEndsTheRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 2, topics: true})
	const ghost = "ghost"
	if err := e.store.SetIntegration(e.ctx, ghost, true); err != nil {
		t.Fatal(err)
	}
	conn := e.connectRoot(t, ghost, "Ghost", drivesync.LayoutYear)
	run := conn.InitialCopy.RunID
	req := drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: ghost,
		ConnectionID: conn.ID, RunID: run}
	if err := e.engine.HandleCopyRequest(e.ctx, req); err != nil {
		t.Fatalf("a list refused for good: %v, want it acknowledged", err)
	}
	get := func() drivesync.Connection {
		c, err := e.svc.Get(e.ctx, ghost, conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	got := get()
	if got.InitialCopy.State != drivesync.CopyFailed || got.InitialCopy.FinishedAt.IsZero() {
		t.Errorf("initial copy = %+v, want failed and finished", got.InitialCopy)
	}
	if got.Status != drivesync.StatusActive || got.LastError == nil || got.LastError.Code != drivesync.CodeCopyFailed {
		t.Errorf("connection %s with lastError %+v, want active with %s", got.Status, got.LastError, drivesync.CodeCopyFailed)
	}
	if msgs := e.drain(t, e.taskSub); len(msgs) != 0 {
		t.Errorf("the refused list published %d tasks", len(msgs))
	}
	resynced, err := e.svc.Resync(e.ctx, ghost, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if resynced.InitialCopy.State != drivesync.CopyPending || resynced.InitialCopy.RunID == run || resynced.LastError != nil {
		t.Errorf("after a resync: %+v, lastError %+v; want a new pending run and no error", resynced.InitialCopy, resynced.LastError)
	}
}
