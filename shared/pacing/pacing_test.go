package pacing_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/pacing"
	"github.com/efactori/drivesync/shared/store"
)

func TestMain(m *testing.M) { emulators.Main(m) }

func newStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.New(emulators.Firestore(t), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func conn(company, id, subject string) store.ConnectionRecord {
	var r store.ConnectionRecord
	r.CompanyID, r.ID, r.GoogleSubject = company, id, subject
	return r
}

// Writes of two companies' connections to one Google account, through two gates (two instances),
// go one interval apart: the account's budget is one, whoever writes.
func TestGateSpacesOneAccountsWritesAcrossInstances(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	const perSecond = 20.0
	interval := time.Duration(float64(time.Second) / perSecond)
	var gates []*pacing.Gate
	for range 2 {
		g, err := pacing.NewGate(s, perSecond, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		gates = append(gates, g)
	}
	recs := []store.ConnectionRecord{conn("acme", "c1", "subject-shared"), conn("globex", "c2", "subject-shared")}
	const writes = 12
	var mu sync.Mutex
	var at []time.Time
	var wg sync.WaitGroup
	start := time.Now()
	for i := range writes {
		wg.Go(func() {
			for {
				err := gates[i%2].Wait(t.Context(), recs[i%2])
				var ce *drivesync.ClassifiedError
				if errors.As(err, &ce) && ce.Code == pacing.CodeWriteBudget {
					continue // contended: the API would answer 503; here, ask again
				}
				if err != nil {
					t.Error(err)
					return
				}
				break
			}
			mu.Lock()
			at = append(at, time.Now())
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	slices.SortFunc(at, time.Time.Compare)
	// Each write waits for its own slot, one interval after the one before: the i-th write to go
	// cannot go before i intervals (a late timer only makes it later), so the account never
	// takes more than its rate.
	for i, t0 := range at {
		if early := time.Duration(i)*interval - t0.Sub(start); early > 5*time.Millisecond {
			t.Errorf("write %d went %v after the first Wait, %v before its slot at %v/s", i, t0.Sub(start), early, perSecond)
		}
	}
}

// An account whose budget is taken further ahead than the gate waits is answered busy at once,
// with when to come back; another account is not held up; and once the budget frees, the write
// goes and takes one slot.
func TestGateBusyBeyondItsWait(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	g, err := pacing.NewGate(s, 10, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	busyRec, otherRec := conn("acme", "c1", "subject-busy"), conn("acme", "c2", "subject-idle")
	now := time.Now()
	if _, err := s.LeaseWriteSlots(t.Context(), store.AccountOf(busyRec), 20, 100*time.Millisecond, now, now); err != nil {
		t.Fatal(err) // the copies took the next 2 s
	}
	began := time.Now()
	err = g.Wait(t.Context(), busyRec)
	var ce *drivesync.ClassifiedError
	if !errors.As(err, &ce) || ce.Code != pacing.CodeWriteBudget || ce.Class != drivesync.Retryable || ce.RetryAfter < time.Second {
		t.Fatalf("Wait on a taken account = %v, want a retryable %s with a Retry-After of at least 1 s", err, pacing.CodeWriteBudget)
	}
	if d := time.Since(began); d > 400*time.Millisecond {
		t.Errorf("busy answer took %v, want it at once", d)
	}
	began = time.Now()
	if err := g.Wait(t.Context(), otherRec); err != nil {
		t.Fatalf("Wait on an idle account: %v", err)
	}
	if d := time.Since(began); d > 400*time.Millisecond {
		t.Errorf("a write to an idle account waited %v", d)
	}
	time.Sleep(time.Until(now.Add(2 * time.Second).Add(-300 * time.Millisecond)))
	if err := g.Wait(t.Context(), busyRec); err != nil {
		t.Fatalf("Wait once the budget is near: %v", err)
	}
	if time.Now().Before(now.Add(2 * time.Second)) {
		t.Errorf("write went %v before the first free slot", time.Until(now.Add(2*time.Second)))
	}
	ws, err := s.LeaseWriteSlots(t.Context(), store.AccountOf(busyRec), 1, 100*time.Millisecond, now, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(2100 * time.Millisecond); !ws.Horizon.Equal(want.Truncate(time.Microsecond)) && !ws.Horizon.Equal(want) {
		t.Errorf("horizon after the write %v after the start, want 2.1 s: one slot taken", ws.Horizon.Sub(now))
	}
}

func TestNewGateRefusesNonsense(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for _, tc := range []struct {
		rate float64
		wait time.Duration
	}{{0, time.Second}, {-1, time.Second}, {3, 0}} {
		if _, err := pacing.NewGate(s, tc.rate, tc.wait); err == nil {
			t.Errorf("NewGate(%v/s, %v) succeeded", tc.rate, tc.wait)
		}
	}
	if _, err := pacing.NewGate(nil, 3, time.Second); err == nil {
		t.Error("NewGate without a leaser succeeded")
	}
}
