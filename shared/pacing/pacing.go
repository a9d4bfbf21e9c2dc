// Package pacing holds the Drive writes made outside the copy engine (the folders the connection
// API creates) to their Google account's write budget: the Firestore document per account that
// the engine's copies lease from too (store.LeaseWriteSlots), so a person choosing a target
// while the account copies neither pushes it over Drive's limit nor waits behind the whole copy.
package pacing

import (
	"context"
	"fmt"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// CodeWriteBudget is the code of a write refused because its account's budget is taken for
// longer than the gate waits: the same code the engine's busy answers carry.
const CodeWriteBudget = "drive_write_budget"

// Leaser leases write slots of a Google account's budget: *store.Store.
type Leaser interface {
	LeaseWriteSlots(ctx context.Context, account string, n int, interval time.Duration, now, notAfter time.Time) (store.WriteSlots, error)
}

// Gate paces single writes. Each Wait leases one slot (one or two calls on the account's budget
// document, see store.LeaseWriteSlots): the connection API writes a folder or two per click, so batching would
// only hold slots the copies could use.
type Gate struct {
	leaser   Leaser
	interval time.Duration
	ahead    time.Duration
	now      func() time.Time
}

// NewGate returns a gate for accounts limited to writesPerSecond that waits at most ahead for a
// slot. The engine's copy tasks take the budget up to their wait ahead of now and live events a
// little further (engine.LiveLead), so an ahead past that always finds a slot.
func NewGate(leaser Leaser, writesPerSecond float64, ahead time.Duration) (*Gate, error) {
	if leaser == nil || writesPerSecond <= 0 || ahead <= 0 {
		return nil, fmt.Errorf("pacing gate: need a leaser, a positive rate and wait (got %v/s, %v)", writesPerSecond, ahead)
	}
	return &Gate{leaser: leaser, interval: time.Duration(float64(time.Second) / writesPerSecond), ahead: ahead, now: time.Now}, nil
}

// Wait returns when one Drive write of rec may go: at the slot it leased from the account's
// budget. A budget taken further than the gate's wait is a Retryable error with code
// CodeWriteBudget and a RetryAfter, which the API answers 503 with Retry-After.
func (g *Gate) Wait(ctx context.Context, rec store.ConnectionRecord) error {
	now := g.now()
	ws, err := g.leaser.LeaseWriteSlots(ctx, store.AccountOf(rec), 1, g.interval, now, now.Add(g.ahead))
	switch {
	case err != nil:
		return drivesync.Classify(fmt.Errorf("pace drive write of connection %s: %w", rec.ID, err), drivesync.Retryable, "firestore")
	case ws.N == 0:
		return busy(rec, ws.Horizon.Sub(now)-g.ahead)
	case ws.First.After(now.Add(g.ahead)):
		// Other instances took the budget up to there since this one last saw it. The slot is
		// lost; a click is one write.
		return busy(rec, ws.First.Sub(now)-g.ahead)
	}
	if err := Sleep(ctx, ws.First.Sub(now)); err != nil {
		return drivesync.Classify(fmt.Errorf("pace drive write of connection %s: %w", rec.ID, err), drivesync.Retryable, "canceled")
	}
	return nil
}

// Sleep waits for d or until ctx ends, whichever comes first: the wait for a write slot.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func busy(rec store.ConnectionRecord, after time.Duration) error {
	return &drivesync.ClassifiedError{Class: drivesync.Retryable, Code: CodeWriteBudget, RetryAfter: max(after, time.Second),
		Err: fmt.Errorf("drive write budget of connection %s's google account taken for the next %v", rec.ID, after.Round(time.Millisecond))}
}
