package connection_test

import (
	"errors"
	"testing"
	"time"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/pacing"
	"github.com/efactori/drivesync/shared/store"
)

// The folders the API creates draw on the Google account's write budget that the copies lease
// from. With the budget taken further ahead than a click may wait, CreateFolder and SetTarget
// answer busy (the API's 503 with Retry-After) having written nothing to Drive; another account
// is not held up; and once the budget is near, they wait for their slot and go.
func TestFolderWritesDrawOnTheAccountBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	ctx := e.ctx
	gate, err := pacing.NewGate(e.store, 10, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	e.opts.WriteBudget = gate
	svc := e.instance(t)
	conn := e.connect(t, acme, "Compta", alice)
	other := e.connect(t, globex, "Compta", bob)
	target := e.mkdir(t, e.rootID(t), "Cible") // a fixture, written outside the service
	rec, err := e.store.Connection(ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.GoogleSubject == "" {
		t.Fatal("connection has no Google subject: its budget would not be its account's")
	}
	now := time.Now()
	free := now.Add(3 * time.Second)
	if _, err := e.store.LeaseWriteSlots(ctx, store.AccountOf(rec), 30, 100*time.Millisecond, now, now); err != nil {
		t.Fatal(err) // a copy took the account's next 3 s
	}
	writes := func() int64 {
		c := e.emu.Drive.Counters(alice)
		return c["files.create"] + c["files.update"] + c["files.delete"]
	}
	before := writes()

	isBusy := func(op string, err error) {
		t.Helper()
		var ce *drivesync.ClassifiedError
		if !errors.As(err, &ce) || ce.Code != pacing.CodeWriteBudget || ce.Class != drivesync.Retryable || ce.RetryAfter < time.Second {
			t.Errorf("%s on an account whose budget is taken: err = %v, want a retryable %s with a Retry-After", op, err, pacing.CodeWriteBudget)
		}
	}
	_, err = svc.CreateFolder(ctx, acme, conn.ID, connection.ParentRoot, "Nouveau")
	isBusy("CreateFolder", err)
	_, err = svc.SetTarget(ctx, acme, conn.ID, target)
	isBusy("SetTarget", err)
	if got := writes(); got != before {
		t.Errorf("%d Drive writes while the budget was taken, want none", got-before)
	}
	if got, err := svc.Get(ctx, acme, conn.ID); err != nil || got.Status != drivesync.StatusAwaitingFolder {
		t.Errorf("connection after a busy SetTarget: %v, %v; want it still awaiting its folder", got.Status, err)
	}
	if calls := e.copies.calls(); len(calls) != 0 {
		t.Errorf("%d copies started by a busy SetTarget", len(calls))
	}

	began := time.Now()
	if _, err := svc.CreateFolder(ctx, globex, other.ID, connection.ParentRoot, "Autre"); err != nil {
		t.Fatalf("CreateFolder on another account: %v", err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("another account's folder waited %v", d)
	}

	time.Sleep(time.Until(free.Add(-300 * time.Millisecond))) // the slot is now within the wait
	if _, err := svc.SetTarget(ctx, acme, conn.ID, target); err != nil {
		t.Fatalf("SetTarget once the budget is near: %v", err)
	}
	if time.Now().Before(free) {
		t.Errorf("SetTarget wrote %v before the account's first free slot", time.Until(free))
	}
	if got := writes(); got != before+1 {
		t.Errorf("%d Drive writes for SetTarget, want 1 (the company folder)", got-before)
	}
}
