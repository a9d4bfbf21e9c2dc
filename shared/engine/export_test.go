package engine

import (
	"context"
	"time"
)

// SetAfterReserve makes e call f once a new file ID is stored in a mapping and before the file
// is created, to stand in for a crash at the worst moment.
func SetAfterReserve(e *Engine, f func(ctx context.Context, documentID string) error) {
	e.afterReserve = f
}

// SetAwait shortens how long an await request waits for its run, and how often it counts.
func SetAwait(e *Engine, wait, poll time.Duration) {
	e.awaitFor, e.awaitPollNear, e.awaitPollFar = wait, poll, poll
}

// Reserve takes one Drive write slot of account for a live event (live) or a copy task, as a
// delivery does before its write, and returns its time.
func Reserve(ctx context.Context, e *Engine, account string, live bool) (time.Time, error) {
	c := paceCopy
	if live {
		c = paceLive
	}
	return e.reserve(ctx, account, c)
}

// Leases returns how many write budget leases e took.
func Leases(e *Engine) int64 { return e.leases.Load() }

// LiveWait is the longest a live event of e waits in place for a write slot.
func LiveWait(e *Engine) time.Duration { return e.ahead(paceLive) }
