package synctest

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/layout"
)

// TestUniqueNames plays issue 13's case through the real push path: three documents named
// "Facture.pdf" (one in capitals) in one Drive folder, created at once (each event delivered
// three times), then one renamed in eFactori away from the collision and back, one moved to
// another year, and the layout changed. After each step every document is in Drive once with
// its content, the names of each folder are distinct (case aside) and the documents not
// concerned keep theirs; delivering every event again changes nothing.
func TestUniqueNames(t *testing.T) {
	t.Parallel()
	const company = "names"
	s := newStack(t, options{companies: []efactori.CompanySpec{{ID: company, Name: "Noms SRL", Documents: 4}}})
	conn := s.waitDone(company, s.connect(company, "Compta", accounts[0], drivesync.LayoutYear, "").ID, 5*time.Minute)
	ids := []string{"names-same-1", "names-same-2", "names-same-3"}

	var mu sync.Mutex
	last := map[string]drivesync.Event{}
	upsert := func(id string, u efactori.Upsert) {
		t.Helper()
		ev, err := s.ef.Upsert(company, id, u)
		if err != nil {
			t.Fatalf("Upsert %s: %v", id, err)
		}
		mu.Lock()
		last[id] = ev
		mu.Unlock()
		s.publish(ev, 3)
	}
	// settled waits until Drive holds every document of ids at its revision and checks the
	// whole copy; it returns the path of each document's file.
	settled := func(step string) map[string]string {
		t.Helper()
		out := map[string]string{}
		s.eventually(step, 2*time.Minute, func() string {
			files := s.files(conn, accounts[0], false)
			for _, id := range ids {
				fs := files[id]
				if len(fs) != 1 {
					return fmt.Sprintf("%d files for %s", len(fs), id)
				}
				if rev := fs[0].node.AppProperties[clientID][layout.PropRevision]; rev != strconv.FormatInt(last[id].Document.Revision, 10) {
					return id + " at revision " + rev
				}
				out[id] = strings.Join(append(fs[0].folder, fs[0].node.Name), "/")
			}
			if p := s.checkCopy(conn, accounts[0]); len(p) > 0 {
				return joinProblems(p)
			}
			return ""
		})
		return out
	}
	// unchanged fails when a document other than moved changed its path from before to after.
	unchanged := func(step string, before, after map[string]string, moved string) {
		t.Helper()
		for _, id := range ids {
			if id != moved && after[id] != before[id] {
				t.Errorf("%s: %s is %q, was %q", step, id, after[id], before[id])
			}
		}
	}

	var wg sync.WaitGroup
	for i, id := range ids {
		name := "Facture.pdf"
		if i == 2 {
			name = "FACTURE.pdf"
		}
		wg.Go(func() {
			upsert(id, efactori.Upsert{Kind: drivesync.KindSalesInvoice, Number: fmt.Sprintf("F-2026-%04d", i+1), Date: "2026-01-02",
				FileName: name})
		})
	}
	wg.Wait()
	created := settled("create")
	plain := ""
	for _, id := range ids {
		if !strings.Contains(created[id], "(") {
			plain = id
		}
	}
	if plain == "" {
		t.Fatalf("no document kept the plain name: %v", created)
	}
	t.Logf("created: %v", created)

	upsert(plain, efactori.Upsert{FileName: "Devis.pdf"})
	away := settled("rename away")
	unchanged("rename away", created, away, plain)
	if away[plain] != "2026/Devis.pdf" {
		t.Errorf("renamed away: %s is %q, want 2026/Devis.pdf", plain, away[plain])
	}
	upsert(plain, efactori.Upsert{FileName: "facture.PDF"})
	back := settled("rename back")
	unchanged("rename back", created, back, plain)
	if back[plain] != "2026/facture.PDF" {
		t.Errorf("renamed back: %s is %q, want the plain name, free again", plain, back[plain])
	}

	mover := ids[0]
	if mover == plain {
		mover = ids[1]
	}
	upsert(mover, efactori.Upsert{Date: "2025-12-30"})
	moved := settled("move")
	unchanged("move", back, moved, mover)
	if !strings.HasPrefix(moved[mover], "2025/") || strings.Contains(moved[mover], "(") {
		t.Errorf("moved to 2025: %s is %q, want the plain name there", mover, moved[mover])
	}

	// Every event once more: nothing changes in Drive.
	before := s.google.Drive.Counters(accounts[0])
	for _, id := range ids {
		s.publish(last[id], 2)
	}
	time.Sleep(3 * time.Second)
	if c := s.countersSince(accounts[0], before); driveWrites(c) != 0 {
		t.Errorf("redeliveries made Drive writes: %v", c)
	}
	if got := settled("redelivery"); !maps.Equal(got, moved) {
		t.Errorf("redelivery changed names: %v, were %v", got, moved)
	}

	// A layout change moves the files, names still distinct, without an upload.
	before = s.google.Drive.Counters(accounts[0])
	l := drivesync.LayoutYearKind
	if _, err := s.svc.Update(t.Context(), company, conn.ID, connection.UpdateInput{FolderLayout: &l}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	conn = s.waitNewRun(company, conn.ID, conn.InitialCopy.RunID, 5*time.Minute)
	relayout := settled("layout change")
	if c := s.countersSince(accounts[0], before); uploads(c) != 0 {
		t.Errorf("layout change uploaded content: %v", c)
	}
	for _, id := range ids {
		if !strings.Contains(relayout[id], "/Factures de vente/") {
			t.Errorf("after the layout change %s is %q", id, relayout[id])
		}
	}
	t.Logf("after the layout change: %v", relayout)
}
