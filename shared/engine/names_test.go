package engine_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	standin "github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/engine"
	"github.com/efactori/drivesync/shared/layout"
)

// namesIn returns the names of the files in folder path of the company folder, by document ID.
func (e *env) namesIn(t *testing.T, folder string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, it := range contents(e.companyFolder(t)) {
		if dir, name, _ := strings.Cut(it.path, "/"); !it.node.Folder && dir+"/" == folder && !strings.Contains(name, "/") {
			out[it.node.AppProperties[clientID][layout.PropDocumentID]] = it.node.Name
		}
	}
	return out
}

// checkDistinct fails when two files of names share a name, case aside.
func checkDistinct(t *testing.T, names map[string]string) {
	t.Helper()
	seen := map[string]string{}
	for id, n := range names {
		if other, dup := seen[layout.FoldName(n)]; dup {
			t.Errorf("documents %s and %s are both named %q", other, id, n)
		}
		seen[layout.FoldName(n)] = id
	}
}

// Three documents named alike in one folder, created at the same moment on two instances, get
// three distinct names that keep through redeliveries, renames and moves; each is in Drive once
// with its content.
func TestCollidingNamesStayDistinct(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{layout: drivesync.LayoutYear})
	ids := []string{"acme-same-1", "acme-same-2", "acme-same-3"}
	fileNames := []string{"Facture.pdf", "Facture.pdf", "FACTURE.pdf"}
	var evs []drivesync.Event
	for i, id := range ids {
		evs = append(evs, e.upsert(t, id, standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-2026-000" + string(rune('1'+i)),
			Date: "2026-01-02", FileName: fileNames[i]}))
	}
	second := e.newEngine(t)
	handleAll := func(evs []drivesync.Event) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 2*len(evs))
		for _, ev := range evs {
			for _, en := range []*engine.Engine{e.engine, second} {
				wg.Go(func() { errs <- deliver("event "+ev.Document.ID, func() error { return en.HandleEvent(e.ctx, ev) }) })
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(step string) map[string]string {
		t.Helper()
		docs := e.documents(t)
		e.checkExactlyOnce(t, docs)
		names := map[string]string{}
		for _, f := range []string{"2026/", "2025/"} {
			for id, n := range e.namesIn(t, f) {
				names[id] = f + n
			}
			checkDistinct(t, e.namesIn(t, f))
		}
		for _, d := range docs {
			m := e.mapping(t, d.ID)
			e.checkContent(t, m.FileID, d.ID)
			if want := layout.FileNames(d); !slices.Contains(want, m.ClaimName) || !strings.HasSuffix(names[d.ID], "/"+m.ClaimName) {
				t.Errorf("%s: document %s is %q in Drive, claims %q; want one of %q", step, d.ID, names[d.ID], m.ClaimName, want)
			}
			if len(m.Releases) != 0 {
				t.Errorf("%s: document %s still holds names %v", step, d.ID, m.Releases)
			}
		}
		return names
	}

	handleAll(evs)
	created := check("create")
	plain := 0
	for _, id := range ids {
		if created[id] == "2026/Facture.pdf" || created[id] == "2026/FACTURE.pdf" {
			plain++
		}
	}
	if plain != 1 {
		t.Errorf("after create: %d documents have the plain name, want 1: %v", plain, created)
	}

	// Redeliveries change nothing, in Drive or in the names.
	before := e.calls()
	handleAll(evs)
	if got := e.calls() - before; got != 0 {
		t.Errorf("redeliveries made %d Drive calls: %v", got, e.emu.Drive.Counters(alice))
	}
	if diff := cmp.Diff(created, check("redelivery")); diff != "" {
		t.Errorf("names changed on redelivery (-before +after):\n%s", diff)
	}

	// The holder of the plain name is renamed in eFactori: the others keep their names.
	holder := ""
	for _, id := range ids {
		if !strings.Contains(created[id], "(") {
			holder = id
		}
	}
	handleAll([]drivesync.Event{e.upsert(t, holder, standin.Upsert{FileName: "Devis.pdf"})})
	renamed := check("rename away")
	for _, id := range ids {
		want := created[id]
		if id == holder {
			want = "2026/Devis.pdf"
		}
		if renamed[id] != want {
			t.Errorf("after renaming %s away: %s is %q, want %q", holder, id, renamed[id], want)
		}
	}

	// Renamed back, it collides again: it takes the plain name, free now, and the others keep
	// theirs.
	handleAll([]drivesync.Event{e.upsert(t, holder, standin.Upsert{FileName: "Facture.pdf"})})
	back := check("rename back")
	for _, id := range ids {
		want := created[id]
		if id == holder {
			want = "2026/Facture.pdf"
		}
		if back[id] != want {
			t.Errorf("after renaming %s back: %s is %q, want %q", holder, id, back[id], want)
		}
	}

	// A suffixed document moves to 2025, where no name collides: it takes the plain name there;
	// the one left suffixed in 2026 keeps its name.
	mover := ""
	for _, id := range ids {
		if id != holder && mover == "" {
			mover = id
		}
	}
	handleAll([]drivesync.Event{e.upsert(t, mover, standin.Upsert{Date: "2025-12-30"})})
	moved := check("move")
	for _, id := range ids {
		want := back[id]
		if id == mover {
			want = "2025/" + layout.FileNames(e.documents(t)[slices.IndexFunc(e.documents(t), func(d drivesync.Document) bool { return d.ID == mover })])[0]
		}
		if moved[id] != want {
			t.Errorf("after moving %s: %s is %q, want %q", mover, id, moved[id], want)
		}
	}

	// Back in 2026 it collides again and takes a suffix; nobody else moves.
	handleAll([]drivesync.Event{e.upsert(t, mover, standin.Upsert{Date: "2026-01-02"})})
	again := check("move back")
	for _, id := range ids {
		if id != mover && again[id] != moved[id] {
			t.Errorf("after moving %s back: %s is %q, was %q", mover, id, again[id], moved[id])
		}
	}
	if !strings.HasPrefix(again[mover], "2026/") || !strings.Contains(again[mover], "(") {
		t.Errorf("after moving back: %s is %q, want a suffixed name in 2026/", mover, again[mover])
	}
}

// A reconcile takes the names documents were given as right: a Drive that matches costs no
// write, and after the Firestore state is lost (disconnect, connect again onto the same folder)
// the files are adopted under the names they have, a suffixed one included, and hold them: a
// later colliding document gets a name of its own. A layout change moves every file without an
// upload, the names distinct in the new folders too.
func TestReconcileKeepsDistinctNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 5, topics: true})
	for i, id := range []string{"acme-same-1", "acme-same-2", "acme-same-3"} {
		e.upsert(t, id, standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-2026-000" + string(rune('1'+i)),
			Date: "2026-01-02", FileName: "Facture.pdf"})
	}
	e.run(t)
	first := e.namesIn(t, "2026/")
	checkDistinct(t, first)
	if len(first) < 3 {
		t.Fatalf("2026/ holds %v, want the three colliding documents at least", first)
	}
	e.checkExactlyOnce(t, e.documents(t))

	if _, err := e.svc.Resync(e.ctx, company, e.conn.ID); err != nil {
		t.Fatal(err)
	}
	if calls := e.run(t); writes(calls) != 0 {
		t.Errorf("reconcile of a matching Drive with suffixed names made writes: %v", calls)
	}

	if err := e.svc.Delete(e.ctx, company, e.conn.ID); err != nil {
		t.Fatal(err)
	}
	e.conn = e.connectRoot(t, company, companyName, drivesync.LayoutYear)
	if calls := e.run(t); writes(calls) != 0 || calls["upload:multipart"] != 0 {
		t.Errorf("reconnect made Drive writes: %v", calls)
	}
	if diff := cmp.Diff(first, e.namesIn(t, "2026/")); diff != "" {
		t.Errorf("names changed on reconnect (-before +after):\n%s", diff)
	}
	for id, name := range first {
		if m := e.mapping(t, id); m.ClaimName != name {
			t.Errorf("after reconnect, mapping of %s claims %q, file is %q", id, m.ClaimName, name)
		}
	}
	ev := e.upsert(t, "acme-same-4", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-2026-0004",
		Date: "2026-01-02", FileName: "facture.pdf"})
	if err := e.engine.HandleEvent(e.ctx, ev); err != nil {
		t.Fatal(err)
	}
	fourth := e.namesIn(t, "2026/")
	checkDistinct(t, fourth)
	if got, want := fourth["acme-same-4"], "facture (F-2026-0004).pdf"; got != want {
		t.Errorf("a fourth colliding document is %q, want %q", got, want)
	}

	l := drivesync.LayoutYearKind
	if _, err := e.svc.Update(e.ctx, company, e.conn.ID, connection.UpdateInput{FolderLayout: &l}); err != nil {
		t.Fatal(err)
	}
	calls := e.run(t)
	if calls["upload:multipart"] != 0 || calls["upload:resumable"] != 0 {
		t.Errorf("layout change uploaded content: %v", calls)
	}
	e.conn = e.get(t)
	e.checkExactlyOnce(t, e.documents(t))
	moved := map[string]string{}
	for _, it := range contents(e.companyFolder(t)) {
		if !it.node.Folder && strings.HasPrefix(it.path, "2026/Factures de vente/") {
			moved[it.node.AppProperties[clientID][layout.PropDocumentID]] = it.node.Name
		}
	}
	checkDistinct(t, moved)
	for _, id := range []string{"acme-same-1", "acme-same-2", "acme-same-3", "acme-same-4"} {
		if moved[id] == "" {
			t.Errorf("document %s not in 2026/Factures de vente/ after the layout change: %v", id, moved)
		}
	}
	if _, err := e.svc.Resync(e.ctx, company, e.conn.ID); err != nil {
		t.Fatal(err)
	}
	if calls := e.run(t); writes(calls) != 0 {
		t.Errorf("reconcile after the layout change made writes: %v", calls)
	}
}
