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
