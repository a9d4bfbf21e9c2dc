package store_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/efactori/drivesync/shared/store"
)

// Leases of one account from many instances at once never share a slot: each lease starts where
// the previous one ended, whoever won the conditional write or however many leased by increment.
// Each instance is a Store of its own, with its own memory of the horizon, so the two ways of
// leasing (a read and a conditional write, or one increment) run side by side.
func TestLeaseWriteSlotsNeverOverlap(t *testing.T) {
	t.Parallel()
	_, fs, _ := newStore(t)
	var instances []*store.Store
	for range 3 {
		s, err := store.New(fs, nil)
		if err != nil {
			t.Fatal(err)
		}
		instances = append(instances, s)
	}
	ctx := t.Context()
	account := store.AccountKey("subject-overlap")
	const leasers, each, n = 8, 3, 4
	interval := 100 * time.Millisecond
	now := time.Now().Truncate(time.Microsecond) // Firestore keeps microseconds
	var mu sync.Mutex
	var slots []time.Time
	var wg sync.WaitGroup
	for l := range leasers {
		s := instances[l%len(instances)]
		wg.Go(func() {
			for got := 0; got < each; {
				ws, err := s.LeaseWriteSlots(ctx, account, n, interval, now, now.Add(time.Hour))
				if err != nil {
					t.Error(err)
					return
				}
				if ws.N != n || !ws.Horizon.Equal(ws.First.Add(n*interval)) {
					t.Errorf("lease %+v, want %d slots ending at the horizon", ws, n)
				}
				got++
				mu.Lock()
				for i := range ws.N {
					slots = append(slots, ws.First.Add(time.Duration(i)*interval))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return // contention beyond the attempts is reported above
	}
	slices.SortFunc(slots, time.Time.Compare)
	if len(slots) != leasers*each*n {
		t.Fatalf("%d slots, want %d", len(slots), leasers*each*n)
	}
	for i, at := range slots {
		if want := now.Add(time.Duration(i) * interval); !at.Equal(want) {
			t.Fatalf("slot %d at %v, want %v: slots overlap or leave gaps", i, at.Sub(now), want.Sub(now))
		}
	}
}

// A lease that would start after notAfter takes nothing and says where the horizon is; budget
// left unused in the past is not saved up; another account is not affected.
func TestLeaseWriteSlotsBounds(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	ctx := context.Background()
	a, b := store.AccountKey("subject-a"), store.AccountKey("subject-b")
	now := time.Now().Truncate(time.Microsecond) // Firestore keeps microseconds
	ws, err := s.LeaseWriteSlots(ctx, a, 10, time.Second, now, now.Add(time.Second))
	if err != nil || ws.N != 10 || !ws.First.Equal(now) {
		t.Fatalf("first lease %+v, %v; want 10 slots from now", ws, err)
	}
	ws, err = s.LeaseWriteSlots(ctx, a, 10, time.Second, now, now.Add(time.Second))
	if err != nil || ws.N != 0 || !ws.Horizon.Equal(now.Add(10*time.Second)) {
		t.Fatalf("lease past notAfter: %+v, %v; want nothing, horizon in 10s", ws, err)
	}
	ws, err = s.LeaseWriteSlots(ctx, b, 2, time.Second, now, now)
	if err != nil || ws.N != 2 || !ws.First.Equal(now) {
		t.Fatalf("other account: %+v, %v; want 2 slots from now", ws, err)
	}
	later := now.Add(time.Minute)
	ws, err = s.LeaseWriteSlots(ctx, b, 2, time.Second, later, later)
	if err != nil || ws.N != 2 || !ws.First.Equal(later) {
		t.Fatalf("lease after an idle minute: %+v, %v; want 2 slots from then, not a burst", ws, err)
	}
	if _, err := s.LeaseWriteSlots(ctx, b, 0, time.Second, now, now); err == nil {
		t.Error("a lease of 0 slots was accepted")
	}
	if _, err := s.LeaseWriteSlots(ctx, "a/b", 1, time.Second, now, now); err == nil {
		t.Error("an account key with a slash was accepted")
	}
	if store.AccountKey("x") == store.AccountKey("y") || len(store.AccountKey("x")) != 64 {
		t.Error("account keys are not distinct SHA-256 hex digests")
	}
}

// An account leased while busy is leased by increment: its slots follow the horizon even past
// notAfter, when another instance took the budget up to there meanwhile (they are the caller's);
// once its horizon has passed it is leased from now again, never in the past.
func TestLeaseWriteSlotsOfABusyAccount(t *testing.T) {
	t.Parallel()
	_, fs, _ := newStore(t)
	one, err := store.New(fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := store.New(fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	account := store.AccountKey("subject-busy")
	now := time.Now().Truncate(time.Microsecond)
	if ws, err := one.LeaseWriteSlots(ctx, account, 2, time.Second, now, now); err != nil || ws.N != 2 || !ws.First.Equal(now) {
		t.Fatalf("first lease %+v, %v; want 2 slots from now", ws, err)
	}
	// The other instance takes 10 s of budget: the first one does not know.
	if ws, err := other.LeaseWriteSlots(ctx, account, 10, time.Second, now, now.Add(time.Minute)); err != nil || ws.N != 10 ||
		!ws.First.Equal(now.Add(2*time.Second)) {
		t.Fatalf("other instance's lease %+v, %v; want 10 slots from 2 s", ws, err)
	}
	ws, err := one.LeaseWriteSlots(ctx, account, 3, time.Second, now, now.Add(3*time.Second))
	if err != nil || ws.N != 3 || !ws.First.Equal(now.Add(12*time.Second)) || !ws.Horizon.Equal(now.Add(15*time.Second)) {
		t.Fatalf("lease of a busy account %+v, %v; want 3 slots from 12 s (the horizon), past notAfter", ws, err)
	}
	// Known busy past notAfter: nothing leased.
	if ws, err := one.LeaseWriteSlots(ctx, account, 1, time.Second, now, now.Add(5*time.Second)); err != nil || ws.N != 0 ||
		!ws.Horizon.Equal(now.Add(15*time.Second)) {
		t.Fatalf("lease within the taken budget %+v, %v; want nothing, horizon at 15 s", ws, err)
	}
	// The horizon passed half a second ago: the increment's slots are in the past but one, which
	// is all it gets; a second later the account counts as idle and is leased from now.
	later := now.Add(15*time.Second + 500*time.Millisecond)
	ws, err = one.LeaseWriteSlots(ctx, account, 2, time.Second, later, later)
	if err != nil || ws.N != 2 || !ws.First.Equal(now.Add(15*time.Second)) {
		t.Fatalf("lease just after the horizon %+v, %v; want 2 slots from 15 s", ws, err)
	}
	idle := now.Add(time.Minute)
	const fast = 100 * time.Millisecond
	ws, err = other.LeaseWriteSlots(ctx, account, 2, fast, idle, idle)
	if err != nil || ws.N != 2 || !ws.First.Equal(idle) {
		t.Fatalf("lease after an idle minute %+v, %v; want 2 slots from then", ws, err)
	}
	// An instance that saw the account busy a moment ago leases by increment, finds its slots
	// past by more than an interval, and leases from now instead.
	idle2 := idle.Add(700 * time.Millisecond)
	ws, err = other.LeaseWriteSlots(ctx, account, 1, fast, idle2, idle2)
	if err != nil || ws.N != 1 || !ws.First.Equal(idle2) {
		t.Fatalf("lease after the horizon passed %+v, %v; want 1 slot from now", ws, err)
	}
}

// A run's window only ever grows, so two watches of one run cannot move it back.
func TestRunWindowOnlyGrows(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	ctx := context.Background()
	k := store.ConnectionKey{CompanyID: "acme", ID: "c1"}
	if w, err := s.RunWindow(ctx, k, "run-1"); err != nil || w.Recorded {
		t.Fatalf("window before any release: %+v, %v", w, err)
	}
	for _, released := range []int{10, 30, 20} {
		if err := s.RaiseRunWindow(ctx, k, "run-1", 50, released); err != nil {
			t.Fatal(err)
		}
	}
	if w, err := s.RunWindow(ctx, k, "run-1"); err != nil || w != (store.RunWindow{Total: 50, Released: 30, Recorded: true}) {
		t.Fatalf("window %+v, %v; want 30 of 50 released", w, err)
	}
	if err := s.RaiseRunWindow(ctx, k, "run-1", 50, 51); err == nil {
		t.Error("a window beyond the run's tasks was accepted")
	}
	if w, _ := s.RunWindow(ctx, k, "run-2"); w.Recorded {
		t.Error("another run shares the window")
	}
}
