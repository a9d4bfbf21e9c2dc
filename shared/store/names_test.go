package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/efactori/drivesync/shared/store"
)

// want offers names in order, keyed by name (the store takes keys as given).
func want(folder string, names ...string) *store.NameWant {
	w := &store.NameWant{Folder: folder}
	for _, n := range names {
		w.Names = append(w.Names, store.NameOption{Name: n, Key: folder + "-" + n})
	}
	return w
}

// Documents locking at once with the same names get one name each; a document keeps its name
// on its next lock; a name let go (renamed, then recorded) is free for the next; when every name
// is held, the lock fails with ErrNoName and writes nothing.
func TestNameClaims(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	ctx := t.Context()
	k := store.ConnectionKey{CompanyID: "acme", ID: "c1"}
	names := want("y:2026", "a", "b", "c")
	var wg sync.WaitGroup
	got := make([]store.Mapping, 3)
	for i := range got {
		wg.Go(func() {
			m, ok, err := s.LockMappingNamed(ctx, k, store.Mapping{DocumentID: fmt.Sprint("d", i)}, "h", time.Minute, names, nil)
			if err != nil || !ok {
				t.Errorf("lock d%d: %v, %v", i, ok, err)
			}
			got[i] = m
		})
	}
	wg.Wait()
	taken := map[string]string{}
	for _, m := range got {
		if other, dup := taken[m.ClaimName]; dup || m.ClaimName == "" {
			t.Errorf("%s claims %q, as does %q", m.DocumentID, m.ClaimName, other)
		}
		taken[m.ClaimName] = m.DocumentID
	}

	// A fourth document finds every name held.
	if _, _, err := s.LockMappingNamed(ctx, k, store.Mapping{DocumentID: "d3"}, "h", time.Minute, names, nil); !errors.Is(err, store.ErrNoName) {
		t.Fatalf("lock with every name held: %v, want ErrNoName", err)
	}
	if _, ok, _ := s.Mapping(ctx, k, "d3"); ok {
		t.Error("a lock that found no name wrote the mapping")
	}

	// Holding "a", a document keeps it; renamed to "z" it lets "a" go only once recorded.
	holder := taken["a"]
	m, _, _ := s.Mapping(ctx, k, holder)
	if err := s.ReleaseMapping(ctx, k, m, "h"); err != nil {
		t.Fatal(err)
	}
	m, _, _ = s.Mapping(ctx, k, holder)
	m, ok, err := s.LockMappingNamed(ctx, k, m, "h2", time.Minute, names, nil)
	if err != nil || !ok || m.ClaimName != "a" {
		t.Fatalf("relock of %s: %q, %v, %v; want it to keep a", holder, m.ClaimName, ok, err)
	}
	m, ok, err = s.LockMappingNamed(ctx, k, m, "h2", time.Minute, want("y:2026", "z"), nil)
	if err != nil || !ok || m.ClaimName != "z" || len(m.Releases) != 1 {
		t.Fatalf("rename of %s: %+v, %v, %v; want z claimed and a to release", holder, m, ok, err)
	}
	if _, _, err := s.LockMappingNamed(ctx, k, store.Mapping{DocumentID: "d3"}, "h", time.Minute, want("y:2026", "a"), nil); !errors.Is(err, store.ErrNoName) {
		t.Errorf("a taken before the rename is recorded: %v, want ErrNoName", err)
	}
	if _, err := s.FinishMapping(ctx, k, m, "h2", func(m *store.Mapping) error { m.Releases = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	d3, ok, err := s.LockMappingNamed(ctx, k, store.Mapping{DocumentID: "d3"}, "h", time.Minute, want("y:2026", "a"), nil)
	if err != nil || !ok || d3.ClaimName != "a" {
		t.Errorf("a after the rename is recorded: %q, %v, %v; want d3 to get it", d3.ClaimName, ok, err)
	}
	// The same name in another folder is another name.
	other, ok, err := s.LockMappingNamed(ctx, k, store.Mapping{DocumentID: "d4"}, "h", time.Minute, want("y:2025", "a"), nil)
	if err != nil || !ok || other.ClaimName != "a" {
		t.Errorf("a in another folder: %q, %v, %v", other.ClaimName, ok, err)
	}
}
