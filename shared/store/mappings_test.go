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
	if _, ok, err := s.Mapping(ctx, k, "d1"); err != nil || ok {
		t.Fatalf("Mapping of a new document = found %v, %v", ok, err)
	}
	m, ok, err := s.LockMapping(ctx, k, "d1", "a", ttl)
	if err != nil || !ok {
		t.Fatalf("a locks: %v, %v", ok, err)
	}
	if diff := cmp.Diff(store.Mapping{DocumentID: "d1", State: store.MappingPending}, m, cmpopts.IgnoreFields(store.Mapping{}, "UpdatedAt")); diff != "" {
		t.Errorf("new mapping (-want +got):\n%s", diff)
	}
	if _, ok, _ := s.LockMapping(ctx, k, "d1", "b", ttl); ok {
		t.Error("b locked a held mapping")
	}
	if _, err := s.UpdateMapping(ctx, k, "d1", "b", func(m *store.Mapping) error { m.FileID = "x"; return nil }); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("b's update: err = %v, want ErrLeaseLost", err)
	}
	got, err := s.UpdateMapping(ctx, k, "d1", "a", func(m *store.Mapping) error {
		m.FileID, m.Created, m.Revision, m.State, m.RunID = "f1", true, 3, store.MappingSynced, "r1"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.FileID != "f1" || got.UpdatedAt.IsZero() {
		t.Errorf("updated mapping = %+v", got)
	}
	if err := s.ReleaseMapping(ctx, k, "d1", "b"); err != nil { // not b's: no effect
		t.Fatal(err)
	}
	if _, ok, _ := s.LockMapping(ctx, k, "d1", "b", ttl); ok {
		t.Error("b's release ended a's lease")
	}
	c.Advance(ttl + time.Second)
	if _, ok, err := s.LockMapping(ctx, k, "d1", "b", ttl); err != nil || !ok {
		t.Errorf("b after a's lease expired: %v, %v", ok, err)
	}
	if _, err := s.FinishMapping(ctx, k, "d1", "b", func(*store.Mapping) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.LockMapping(ctx, k, "d1", "c", ttl); err != nil || !ok {
		t.Errorf("c after b finished: %v, %v", ok, err)
	}
	if err := s.ReleaseMapping(ctx, k, "d1", "c"); err != nil {
		t.Fatal(err)
	}
	stored, ok, err := s.Mapping(ctx, k, "d1")
	if err != nil || !ok {
		t.Fatal(err, ok)
	}
	if diff := cmp.Diff(got, stored, cmpopts.IgnoreFields(store.Mapping{}, "UpdatedAt")); diff != "" {
		t.Errorf("stored mapping (-updated +stored):\n%s", diff)
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
		if err := s.MarkMappingRun(ctx, k, "d1", tc.run, tc.revision); err != nil {
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
	var wg sync.WaitGroup
	got := make([]bool, n)
	for i := range n {
		wg.Go(func() {
			_, ok, err := s.LockMapping(t.Context(), k, "d1", fmt.Sprint("h", i), time.Minute)
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
		t.Errorf("%d deliveries hold the lease, want 1", holders)
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
	set := func(doc, run string, state store.MappingState) {
		if _, _, err := s.LockMapping(ctx, k, doc, "h", time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateMapping(ctx, k, doc, "h", func(m *store.Mapping) error { m.RunID, m.State = run, state; return nil }); err != nil {
			t.Fatal(err)
		}
	}
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
