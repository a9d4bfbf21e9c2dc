package synctest

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/layout"
)

// TestEventsKeepDriveUpToDate publishes eFactori's document events, each three times (Pub/Sub
// delivers at least once), to two connections of one company on two Google accounts: one keeps
// the files of deleted documents, the other trashes them.
func TestEventsKeepDriveUpToDate(t *testing.T) {
	t.Parallel()
	const company = "chg"
	s := newStack(t, options{companies: []efactori.CompanySpec{{ID: company, Name: "Changes SRL", Documents: 20}}, logLevel: "DEBUG"})
	defer s.checkNoSecretsLogged()
	keep := s.connect(company, "Sauvegarde", accounts[0], drivesync.LayoutYearMonth, drivesync.OnDeleteKeep)
	trash := s.connect(company, "Miroir", accounts[1], drivesync.LayoutYearMonth, drivesync.OnDeleteTrash)
	conns := []struct {
		conn    drivesync.Connection
		account string
	}{{keep, accounts[0]}, {trash, accounts[1]}}
	for i, c := range conns {
		conns[i].conn = s.waitDone(company, c.conn.ID, 5*time.Minute)
	}
	docs, err := s.ef.Documents(company)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]map[string]file{} // account → document → its file after the copy
	for _, c := range conns {
		before[c.account] = map[string]file{}
		for id, fs := range s.files(c.conn, c.account, false) {
			before[c.account][id] = fs[0]
		}
	}

	upsert := func(id string, u efactori.Upsert) drivesync.Event {
		t.Helper()
		ev, err := s.ef.Upsert(company, id, u)
		if err != nil {
			t.Fatalf("Upsert %s: %v", id, err)
		}
		s.publish(ev, 3)
		return ev
	}
	// applied waits until every connection's Drive shows doc at its revision, and returns its
	// file in each Drive after checking there is exactly one.
	applied := func(what string, doc drivesync.Document) map[string]file {
		t.Helper()
		out := map[string]file{}
		for _, c := range conns {
			s.eventually(what+" in "+c.account, time.Minute, func() string {
				fs := s.files(c.conn, c.account, false)[doc.ID]
				if len(fs) != 1 {
					return fmt.Sprintf("%d files", len(fs))
				}
				if rev := fs[0].node.AppProperties[clientID][layout.PropRevision]; rev != strconv.FormatInt(doc.Revision, 10) {
					return "at revision " + rev
				}
				out[c.account] = fs[0]
				return ""
			})
		}
		return out
	}

	t.Run("content change makes a new version of the same file", func(t *testing.T) {
		ev := upsert(docs[0].ID, efactori.Upsert{Title: "Rénovation complète", Size: 20 << 10})
		for account, f := range applied("content change", ev.Document) {
			old := before[account][docs[0].ID]
			if f.node.ID != old.node.ID {
				t.Errorf("%s: file %s replaced by %s", account, old.node.ID, f.node.ID)
			}
			if f.node.Version <= old.node.Version {
				t.Errorf("%s: version %d, was %d", account, f.node.Version, old.node.Version)
			}
			if sum := s.contentMD5(ev.Document); f.node.MD5 != sum || f.node.MD5 == old.node.MD5 {
				t.Errorf("%s: md5 %s, want the new content's %s (was %s)", account, f.node.MD5, sum, old.node.MD5)
			}
		}
	})

	t.Run("date change moves the file", func(t *testing.T) {
		d := docs[1]
		date := "2022-02-15"
		if d.Date[:7] == date[:7] {
			date = "2023-07-01"
		}
		ev := upsert(d.ID, efactori.Upsert{Date: date})
		for account, f := range applied("date change", ev.Document) {
			if f.node.ID != before[account][d.ID].node.ID {
				t.Errorf("%s: file replaced instead of moved", account)
			}
			if want := []string{date[:4], date[5:7]}; !slices.Equal(f.folder, want) {
				t.Errorf("%s: file in %v, want %v", account, f.folder, want)
			}
		}
	})

	t.Run("rename", func(t *testing.T) {
		d := docs[2]
		ev := upsert(d.ID, efactori.Upsert{FileName: "Facture renommée.pdf"})
		for account, f := range applied("rename", ev.Document) {
			if f.node.ID != before[account][d.ID].node.ID {
				t.Errorf("%s: file replaced instead of renamed", account)
			}
			if got, want := f.node.Name, layout.FileName(ev.Document); got != want || got == before[account][d.ID].node.Name {
				t.Errorf("%s: name %q, want %q", account, got, want)
			}
		}
	})

	t.Run("new document delivered three times is copied once", func(t *testing.T) {
		ev := upsert("chg-new-1", efactori.Upsert{Kind: drivesync.KindQuote, Number: "D-2026-00999", Date: "2026-11-20", Title: "Devis"})
		for account, f := range applied("new document", ev.Document) {
			if f.node.MD5 != s.contentMD5(ev.Document) {
				t.Errorf("%s: wrong content", account)
			}
		}
	})

	t.Run("delete keeps or trashes as the connection says", func(t *testing.T) {
		d := docs[3]
		ev, err := s.ef.Delete(company, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		s.publish(ev, 3)
		s.eventually("trash in "+accounts[1], time.Minute, func() string {
			fs := s.files(trash, accounts[1], true)[d.ID]
			if len(fs) != 1 || !fs[0].node.Trashed {
				return fmt.Sprintf("%d files, trashed %v", len(fs), len(fs) == 1 && fs[0].node.Trashed)
			}
			return ""
		})
		// The keeping connection changes nothing in Drive: wait for its mapping to record the
		// deletion, then check the file is still there, untouched.
		s.eventually("deletion recorded for "+accounts[0], time.Minute, func() string {
			m, ok, err := s.store.Mapping(t.Context(), keyOf(keep), d.ID)
			if err != nil || !ok || !m.Deleted {
				return fmt.Sprintf("mapping %+v, %v, %v", m, ok, err)
			}
			return ""
		})
		fs := s.files(keep, accounts[0], true)[d.ID]
		if len(fs) != 1 || fs[0].node.Trashed || fs[0].node.Version != before[accounts[0]][d.ID].node.Version {
			t.Errorf("kept file: %+v, was %+v", fs, before[accounts[0]][d.ID])
		}
	})

	t.Run("stale revision is ignored", func(t *testing.T) {
		// docs[0] as it was before the content change, delivered late.
		stale := drivesync.Event{SchemaVersion: 1, EventID: "late-" + docs[0].ID, EventType: drivesync.EventUpserted,
			OccurredAt: time.Now().Add(-time.Minute).UTC(), CompanyID: company, Document: docs[0]}
		current, _, err := s.ef.Document(docs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		now := map[string]file{}
		for _, c := range conns {
			now[c.account] = s.files(c.conn, c.account, false)[docs[0].ID][0]
		}
		s.publish(stale, 3)
		// A later event on another document, applied after the stale one has been delivered.
		marker := upsert(docs[4].ID, efactori.Upsert{Title: "Marqueur"})
		applied("marker", marker.Document)
		time.Sleep(time.Second)
		for account, f := range applied("stale revision", current) {
			if f.node.Version != now[account].node.Version || f.node.MD5 != now[account].node.MD5 {
				t.Errorf("%s: a stale revision changed the file: version %d → %d", account, now[account].node.Version, f.node.Version)
			}
		}
	})

	// Finally the whole of both Drives: the trashing connection mirrors eFactori exactly; the
	// keeping one holds the deleted document's file as well.
	if p := s.checkCopy(conns[1].conn, accounts[1]); len(p) > 0 {
		t.Errorf("mirror:\n%s", joinProblems(p))
	}
	if p := s.checkCopy(conns[0].conn, accounts[0]); len(p) != 1 {
		t.Errorf("backup: want only the kept file of %s, got:\n%s", docs[3].ID, joinProblems(p))
	}
}
