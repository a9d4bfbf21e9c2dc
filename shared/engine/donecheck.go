package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// doneCheckGap spaces the completion checks of one run on one instance: each counts the run's
// mappings, which must not cost every document of a large copy.
const doneCheckGap = time.Second

// doneCheck coalesces the completion checks of one run on this instance.
type doneCheck struct {
	mu      sync.Mutex
	started time.Time     // when the last check started
	running chan struct{} // closed when the running check ends; nil while none runs
	covered time.Time     // start of the last check that succeeded
}

// checkDoneAfter returns once a completion check of runID that started after the call has run,
// on this instance: the delivery of the run's last document is then sure to be counted by a
// check that marks the run done, without every delivery counting the mappings. Deliveries
// finishing together share one check, and checks are at least doneCheckGap apart, so a
// delivery waits at most about that long.
func (e *Engine) checkDoneAfter(ctx context.Context, rec store.ConnectionRecord, runID string) error {
	if rec.InitialCopy.State == drivesync.CopyDone {
		return nil
	}
	v, _ := e.doneChecks.LoadOrStore(runID, &doneCheck{})
	c := v.(*doneCheck)
	finished := time.Now()
	for {
		c.mu.Lock()
		if c.covered.After(finished) {
			c.mu.Unlock()
			return nil
		}
		if ch := c.running; ch != nil {
			c.mu.Unlock()
			if err := sleepOn(ctx, ch, 0); err != nil {
				return err
			}
			continue
		}
		if wait := doneCheckGap - time.Since(c.started); wait > 0 {
			c.mu.Unlock()
			if err := sleepOn(ctx, nil, wait); err != nil {
				return err
			}
			continue
		}
		started, ch := time.Now(), make(chan struct{})
		c.started, c.running = started, ch
		c.mu.Unlock()
		done, err := e.checkDone(ctx, rec, runID)
		c.mu.Lock()
		c.running = nil
		if err == nil {
			c.covered = started
		}
		close(ch)
		c.mu.Unlock()
		if done {
			e.doneChecks.Delete(runID)
		}
		return err
	}
}

// sleepOn waits for ch to close (when not nil) or for d (when positive), or for ctx.
func sleepOn(ctx context.Context, ch <-chan struct{}, d time.Duration) error {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ch:
	case <-timer:
	case <-ctx.Done():
		return drivesync.Classify(fmt.Errorf("wait for the run's completion check: %w", ctx.Err()), drivesync.Retryable, "canceled")
	}
	return nil
}
