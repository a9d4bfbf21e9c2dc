package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

func historyDoc(id string, rev int64, number string) drivesync.Document {
	return drivesync.Document{ID: id, Revision: rev, Kind: drivesync.KindQuote, Number: number, Date: "2026-05-06",
		Title: "Devis été 🌞", FileName: "devis.pdf", ContentType: "application/pdf", Size: 42, SHA256: strings.Repeat("a1", 32),
		ContentURL: "https://efactori.example/v1/documents/" + id + "/content?revision=" + fmt.Sprint(rev)}
}

// The document a delivery took up is stored with the mapping and read back whole; an older
// revision arriving late does not replace a newer one; a mapping written before the field
// existed reads as having none.
func TestMappingSource(t *testing.T) {
	t.Parallel()
	s, fs, _ := newStore(t)
	ctx := t.Context()
	k := store.ConnectionKey{CompanyID: "acme", ID: "c1"}
	newer, older := historyDoc("d1", 3, "Q-7"), historyDoc("d1", 2, "Q-6")
	m, ok, err := s.LockMapping(ctx, k, store.Mapping{DocumentID: "d1"}, "a", time.Minute, func(m *store.Mapping) { m.Saw(newer) })
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	synced := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	if _, err := s.FinishMapping(ctx, k, m, "a", func(m *store.Mapping) error {
		m.Saw(older)
		m.State, m.SyncedAt = store.MappingSynced, synced
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Mapping(ctx, k, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != newer || !got.SyncedAt.Equal(synced) {
		t.Errorf("source %+v synced %v; want %+v at %v", got.Source, got.SyncedAt, newer, synced)
	}
	// Another document's description is never taken.
	got.Saw(historyDoc("d2", 9, "X"))
	if got.Source != newer {
		t.Errorf("Saw took another document: %+v", got.Source)
	}

	legacy := fs.Collection("companies").Doc("acme").Collection("connections").Doc("c1").Collection(store.ColMappings).Doc("old")
	if _, err := legacy.Set(ctx, map[string]any{"documentId": "old", "state": "failed", "code": "content_gone", "updatedAt": synced}); err != nil {
		t.Fatal(err)
	}
	old, _, err := s.Mapping(ctx, k, "old")
	if err != nil {
		t.Fatal(err)
	}
	if old.Source != (drivesync.Document{}) || !old.SyncedAt.IsZero() {
		t.Errorf("legacy mapping: source %+v synced %v, want none", old.Source, old.SyncedAt)
	}
}

// Pages by number continue after the last one's number and ID, so documents sharing a number
// are neither skipped nor repeated; the prefix range also takes numbers past U+FFFF.
func TestListMappingsByNumber(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	ctx := t.Context()
	k := store.ConnectionKey{CompanyID: "acme", ID: "c1"}
	numbers := map[string]string{"d1": "A-1", "d2": "a-1", "d3": "A-1", "d4": "A-2", "d5": "A-😀", "d6": "B-1", "d7": ""}
	for id, number := range numbers {
		m, _, err := s.LockMapping(ctx, k, store.Mapping{DocumentID: id}, "h", time.Minute, func(m *store.Mapping) { m.Saw(historyDoc(id, 1, number)) })
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ReleaseMapping(ctx, k, m, "h"); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	var after *store.MappingCursor
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		ms, next, err := s.ListMappings(ctx, k, store.MappingQuery{NumberPrefix: store.NumberKey(" a-"), Limit: 2, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			got = append(got, m.DocumentID)
		}
		if next == nil {
			break
		}
		after = next
	}
	if got, want := strings.Join(got, " "), "d1 d2 d3 d4 d5"; got != want {
		t.Errorf("a- prefix: %s, want %s", got, want)
	}
	if _, _, err := s.ListMappings(ctx, k, store.MappingQuery{Limit: store.MaxMappingPage + 1}); err == nil {
		t.Error("a page larger than MaxMappingPage was accepted")
	}
}
