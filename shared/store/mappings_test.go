package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/efactori/drivesync/shared/store"
)

func TestMappingLease(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	ctx := t.Context()
	k := store.ConnectionKey{CompanyID: "acme", ID: "c1"}
	const ttl = time.Minute
	d1 := store.Mapping{DocumentID: "d1"}
	if _, ok, err := s.Mapping(ctx, k, "d1"); err != nil || ok {
		t.Fatalf("Mapping of a new document = found %v, %v", ok, err)
	}
	m, ok, err := s.LockMapping(ctx, k, d1, "a", ttl, func(m *store.Mapping) { m.FileID = "f1" })
	if err != nil || !ok {
		t.Fatalf("a locks: %v, %v", ok, err)
	}
	ignore := []cmp.Option{cmpopts.IgnoreFields(store.Mapping{}, "UpdatedAt"), cmpopts.IgnoreUnexported(store.Mapping{})}
	if diff := cmp.Diff(store.Mapping{DocumentID: "d1", FileID: "f1", State: store.MappingPending}, m, ignore...); diff != "" {
		t.Errorf("new mapping (-want +got):\n%s", diff)
	}
	if !m.Stored() {
		t.Error("a locked mapping is not Stored")
	}
	if _, ok, _ := s.LockMapping(ctx, k, d1, "b", ttl, nil); ok {
		t.Error("b locked a held mapping")
	}
	if _, err := s.UpdateMapping(ctx, k, d1, "b", func(m *store.Mapping) error { m.FileID = "x"; return nil }); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("b's update: err = %v, want ErrLeaseLost", err)
	}
	got, err := s.UpdateMapping(ctx, k, m, "a", func(m *store.Mapping) error {
		m.Created, m.Revision, m.State, m.RunID = true, 3, store.MappingSynced, "r1"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.FileID != "f1" || got.UpdatedAt.IsZero() {
		t.Errorf("updated mapping = %+v", got)
	}
	// a's first mapping is stale now: writing from it must read again, not overwrite.
	if got2, err := s.UpdateMapping(ctx, k, m, "a", func(m *store.Mapping) error { m.Name = "n"; return nil }); err != nil {
		t.Fatal(err)
	} else if got2.Revision != 3 || got2.Name != "n" {
		t.Errorf("update from a stale mapping lost the stored fields: %+v", got2)
	}
	if err := s.ReleaseMapping(ctx, k, d1, "b"); err != nil { // not b's: no effect
		t.Fatal(err)
	}
	if _, ok, _ := s.LockMapping(ctx, k, d1, "b", ttl, nil); ok {
		t.Error("b's release ended a's lease")
	}
	c.Advance(ttl + time.Second)
	held, ok, err := s.LockMapping(ctx, k, d1, "b", ttl, nil)
	if err != nil || !ok {
		t.Errorf("b after a's lease expired: %v, %v", ok, err)
	}
	if _, err := s.UpdateMapping(ctx, k, got, "a", func(*store.Mapping) error { return nil }); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("a after losing its lease: err = %v, want ErrLeaseLost", err)
	}
	if _, err := s.FinishMapping(ctx, k, held, "b", func(*store.Mapping) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.LockMapping(ctx, k, d1, "c", ttl, nil); err != nil || !ok {
		t.Errorf("c after b finished: %v, %v", ok, err)
	}
	if err := s.ReleaseMapping(ctx, k, d1, "c"); err != nil {
		t.Fatal(err)
	}
	stored, ok, err := s.Mapping(ctx, k, "d1")
	if err != nil || !ok {
		t.Fatal(err, ok)
	}
	want := got
	want.Name = "n"
	if diff := cmp.Diff(want, stored, ignore...); diff != "" {
		t.Errorf("stored mapping (-want +stored):\n%s", diff)
	}
	for _, tc := range []struct {
		name     string
		run      string
		revision int64
		want     string
	}{
		{"older revision visited", "r2", 2, "r2"},
		{"newer revision than stored", "r3", 4, "r2"},
	} {
		if err := s.MarkMappingRun(ctx, k, stored, tc.run, tc.revision); err != nil {
			t.Fatal(err)
		}
		m, _, _ := s.Mapping(ctx, k, "d1")
		if m.RunID != tc.want {
			t.Errorf("%s: run %s, want %s", tc.name, m.RunID, tc.want)
		}
	}
}

func TestMappingLockUnderConcurrency(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	k := store.ConnectionKey{CompanyID: "acme", ID: "c1"}
	const n = 8
	for _, doc := range []string{"new", "stored"} {
		if doc == "stored" {
			m, _, err := s.LockMapping(t.Context(), k, store.Mapping{DocumentID: doc}, "first", time.Minute, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.ReleaseMapping(t.Context(), k, m, "first"); err != nil {
				t.Fatal(err)
			}
		}
		seen, _, err := s.Mapping(t.Context(), k, doc)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		got := make([]bool, n)
		for i := range n {
			wg.Go(func() {
				_, ok, err := s.LockMapping(t.Context(), k, seen, fmt.Sprint("h", i), time.Minute, nil)
				if err != nil {
					t.Error(err)
				}
				got[i] = ok
			})
		}
		wg.Wait()
		holders := 0
		for _, ok := range got {
			if ok {
				holders++
			}
		}
		if holders != 1 {
			t.Errorf("%s document: %d deliveries hold the lease, want 1", doc, holders)
		}
	}
}

func TestReadDocument(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	ctx := t.Context()
	first, err := s.ReadDocument(ctx, "acme", nil, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if first.Enabled || first.ConnectionsVersion != 0 || len(first.Connections) != 0 {
		t.Errorf("unknown company read as %+v", first)
	}
	if err := s.SetIntegration(ctx, "acme", true); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, record("acme", "c1", "one", time.Now()))
	mustCreate(t, s, record("acme", "c2", "two", time.Now()))
	if _, _, err := s.LockMapping(ctx, store.ConnectionKey{CompanyID: "acme", ID: "c2"}, store.Mapping{DocumentID: "d1"}, "h", time.Minute,
		func(m *store.Mapping) { m.FileID = "f2" }); err != nil {
		t.Fatal(err)
	}
	r, err := s.ReadDocument(ctx, "acme", []string{"c1", "gone", "c2"}, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Enabled || r.ConnectionsVersion != 2 {
		t.Errorf("switch %v, version %d; want on and 2", r.Enabled, r.ConnectionsVersion)
	}
	var ids []string
	for _, c := range r.Connections {
		ids = append(ids, c.ID)
	}
	if diff := cmp.Diff([]string{"c1", "c2"}, ids); diff != "" {
		t.Errorf("connections (-want +got):\n%s", diff)
	}
	if m := r.Mappings["c1"]; m.Stored() || m.DocumentID != "d1" {
		t.Errorf("c1's mapping = %+v, want a new one", m)
	}
	if m := r.Mappings["c2"]; !m.Stored() || m.FileID != "f2" {
		t.Errorf("c2's mapping = %+v, want f2", m)
	}
	mustCreate(t, s, record("acme", "c3", "three", time.Now()))
	if again, err := s.ReadDocument(ctx, "acme", nil, "d1"); err != nil || again.ConnectionsVersion != 3 {
		t.Errorf("version after a third connection = %d (%v), want 3", again.ConnectionsVersion, err)
	}
}

func TestFolderClaim(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	ctx := t.Context()
	k := store.ConnectionKey{CompanyID: "acme", ID: "c1"}
	const ttl = 30 * time.Second
	steps := []struct {
		name        string
		do          func() (string, bool, error)
		wantID      string
		wantClaimed bool
	}{
		{"a claims", func() (string, bool, error) { return s.ClaimFolder(ctx, k, "p", "y:2026/m:03", "a", ttl) }, "", true},
		{"b waits", func() (string, bool, error) { return s.ClaimFolder(ctx, k, "p", "y:2026/m:03", "b", ttl) }, "", false},
		{"same key elsewhere is free", func() (string, bool, error) { return s.ClaimFolder(ctx, k, "q", "y:2026/m:03", "b", ttl) }, "", true},
		{"a made it; b finds it", func() (string, bool, error) {
			if err := s.PutFolder(ctx, k, "p", "y:2026/m:03", "f1"); err != nil {
				return "", false, err
			}
			return s.ClaimFolder(ctx, k, "p", "y:2026/m:03", "b", ttl)
		}, "f1", false},
		{"forgetting another id keeps it", func() (string, bool, error) {
			if err := s.ForgetFolder(ctx, k, "p", "y:2026/m:03", "other"); err != nil {
				return "", false, err
			}
			return s.ClaimFolder(ctx, k, "p", "y:2026/m:03", "b", ttl)
		}, "f1", false},
		{"gone from drive: b claims it again", func() (string, bool, error) {
			if err := s.ForgetFolder(ctx, k, "p", "y:2026/m:03", "f1"); err != nil {
				return "", false, err
			}
			return s.ClaimFolder(ctx, k, "p", "y:2026/m:03", "b", ttl)
		}, "", true},
		{"b's claim expires; a takes it", func() (string, bool, error) {
			c.Advance(ttl + time.Second)
			return s.ClaimFolder(ctx, k, "p", "y:2026/m:03", "a", ttl)
		}, "", true},
	}
	for _, st := range steps {
		id, claimed, err := st.do()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if id != st.wantID || claimed != st.wantClaimed {
			t.Errorf("%s: got %q, %v; want %q, %v", st.name, id, claimed, st.wantID, st.wantClaimed)
		}
	}
}

func TestCopyProgress(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	ctx := t.Context()
	k := store.ConnectionKey{CompanyID: "acme", ID: "c1"}
	pages := []store.CopyPage{
		{RunID: "r1", PageToken: "", Listed: 3, Invalid: 1},
		{RunID: "r1", PageToken: "p2", Listed: 2, Last: true},
		{RunID: "r1", PageToken: "", Listed: 3, Invalid: 1}, // redelivered
		{RunID: "r0", PageToken: "", Listed: 9, Last: true}, // another run
	}
	var recorded []bool
	for _, p := range pages {
		ok, err := s.RecordCopyPage(ctx, k, p)
		if err != nil {
			t.Fatal(err)
		}
		recorded = append(recorded, ok)
	}
	if diff := cmp.Diff([]bool{true, true, false, true}, recorded); diff != "" {
		t.Errorf("recorded (-want +got):\n%s", diff)
	}
	set := func(doc, run string, state store.MappingState) { setRunState(t, s, k, doc, run, state) }
	set("d1", "r1", store.MappingSynced)
	set("d2", "r1", store.MappingSynced)
	set("d3", "r1", store.MappingFailed)
	set("d4", "r1", store.MappingPending)
	set("d5", "r0", store.MappingSynced)
	got, err := s.CopyProgress(ctx, k, "r1")
	if err != nil {
		t.Fatal(err)
	}
	want := store.CopyProgress{Listed: 5, Synced: 2, Failed: 2, AllListed: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if got.Done() {
		t.Error("Done with a pending document")
	}
	set("d4", "r1", store.MappingSynced)
	if got, err := s.CopyProgress(ctx, k, "r1"); err != nil || !got.Done() {
		t.Errorf("progress = %+v, %v; want done", got, err)
	}
}

func TestMappingLeaseExtended(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	ctx := t.Context()
	k := store.ConnectionKey{CompanyID: "acme", ID: "c1"}
	const ttl = time.Minute
	held, ok, err := s.LockMapping(ctx, k, store.Mapping{DocumentID: "d1"}, "a", ttl, nil)
	if err != nil || !ok {
		t.Fatal(err, ok)
	}
	c.Advance(ttl - time.Second)
	if _, err := s.ExtendMapping(ctx, k, held, "a", ttl); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second) // past the first lease, within the extended one
	if _, ok, _ := s.LockMapping(ctx, k, store.Mapping{DocumentID: "d1"}, "b", ttl, nil); ok {
		t.Error("b took a lease its holder extended")
	}
	// a's own next write still goes through, from the mapping it had before extending.
	if _, err := s.FinishMapping(ctx, k, held, "a", func(m *store.Mapping) error { m.State = store.MappingSynced; return nil }); err != nil {
		t.Fatalf("a's write after extending: %v", err)
	}
	if _, err := s.ExtendMapping(ctx, k, held, "a", ttl); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("extending a finished lease: err = %v, want ErrLeaseLost", err)
	}
}

// A run's finished mappings are counted up to a time by FinishedBy and after it by FinishedAfter:
// together they count every finished mapping of the run once, and nothing of another run or
// still pending.
func TestFinishedByAndAfter(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	ctx := t.Context()
	k := store.ConnectionKey{CompanyID: "acme", ID: "c1"}
	set := func(doc, run string, state store.MappingState) { setRunState(t, s, k, doc, run, state) }
	set("d1", "r1", store.MappingSynced)
	set("d2", "r1", store.MappingFailed)
	set("d3", "r1", store.MappingPending)
	set("d4", "r0", store.MappingSynced)
	at := c.Now()
	c.Advance(time.Second)
	counts := func(by, after int) {
		t.Helper()
		if n, err := s.FinishedBy(ctx, k, "r1", at); err != nil || n != by {
			t.Errorf("FinishedBy = %d, %v; want %d", n, err, by)
		}
		if n, err := s.FinishedAfter(ctx, k, "r1", at); err != nil || n != after {
			t.Errorf("FinishedAfter = %d, %v; want %d", n, err, after)
		}
		if n, err := s.FinishedMappings(ctx, k, "r1"); err != nil || n != by+after {
			t.Errorf("FinishedMappings = %d, %v; want %d", n, err, by+after)
		}
	}
	counts(2, 0)
	set("d3", "r1", store.MappingSynced) // was pending
	counts(2, 1)
	set("d5", "r0", store.MappingSynced) // another run: not counted
	set("d6", "r1", store.MappingFailed)
	set("d7", "r1", store.MappingPending)
	counts(2, 2)
}

// setRunState records doc of k as visited by run in state, as a delivery does (a lease, then
// the write that records the outcome and ends it).
func setRunState(t *testing.T, s *store.Store, k store.ConnectionKey, doc, run string, state store.MappingState) {
	t.Helper()
	m, _, err := s.LockMapping(t.Context(), k, store.Mapping{DocumentID: doc}, "h", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishMapping(t.Context(), k, m, "h", func(m *store.Mapping) error { m.RunID, m.State = run, state; return nil }); err != nil {
		t.Fatal(err)
	}
}

// The folder cache entries a delivery will need ride on its document's read, and a claim decided
// from them is the claim ClaimFolder makes: a cached folder is returned, a missing one claimed
// once (a second holder deciding from the same stale read finds the claim taken).
func TestReadDocumentWithFolders(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	ctx := t.Context()
	k := store.ConnectionKey{CompanyID: "acme", ID: "c1"}
	if _, claimed, err := s.ClaimFolder(ctx, k, "root", "2026", "h0", time.Minute); err != nil || !claimed {
		t.Fatalf("claim 2026: %v, %v", claimed, err)
	}
	if err := s.PutFolder(ctx, k, "root", "2026", "folder-2026"); err != nil {
		t.Fatal(err)
	}
	cached := store.FolderKey{ConnectionID: "c1", ParentID: "root", Key: "2026"}
	missing := store.FolderKey{ConnectionID: "c1", ParentID: "root", Key: "2027"}
	r, err := s.ReadDocument(ctx, "acme", []string{"c1"}, "d1", cached, missing)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Folders) != 2 {
		t.Fatalf("read %d folder entries, want 2", len(r.Folders))
	}
	if id, claimed, err := s.ClaimFolderSeen(ctx, k, "root", "2026", "h1", time.Minute, r.Folders[cached]); err != nil || claimed || id != "folder-2026" {
		t.Errorf("cached folder from the read: %q, %v, %v; want folder-2026", id, claimed, err)
	}
	if id, claimed, err := s.ClaimFolderSeen(ctx, k, "root", "2027", "h1", time.Minute, r.Folders[missing]); err != nil || !claimed || id != "" {
		t.Errorf("missing folder from the read: %q, %v, %v; want it claimed", id, claimed, err)
	}
	if id, claimed, err := s.ClaimFolderSeen(ctx, k, "root", "2027", "h2", time.Minute, r.Folders[missing]); err != nil || claimed || id != "" {
		t.Errorf("second holder from the same read: %q, %v, %v; want the claim taken", id, claimed, err)
	}
	if _, err := s.ReadDocument(ctx, "acme", []string{"c1"}, "d1", store.FolderKey{ConnectionID: "a/b", ParentID: "root", Key: "2026"}); err == nil {
		t.Error("a folder of a connection ID with a slash was read")
	}
}
