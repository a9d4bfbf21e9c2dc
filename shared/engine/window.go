package engine

import (
	"context"
	"math"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// A run publishes its copy tasks in a window that follows its progress instead of all at once:
// the subscription is shared by every tenant, and a company's hundred thousand tasks would
// otherwise stand in front of every other company's (Pub/Sub delivers roughly in order of
// publication). The window is sized by what the run's Google account can write in a copy
// task's wait in place (DRIVE_BUDGET_WAIT) plus windowTransit, shared among the runs copying to
// that account (windowOf): the tasks on their way (published, not yet delivered) keep the
// account writing while the ones delivered wait at most their wait for a slot, so almost none
// is answered busy and left to Pub/Sub's backoff (10 s and more). The run's await requests count
// its progress every second while tasks are left to publish, and top the window up each time,
// so the account never runs dry.
const (
	// windowTransit is about how long a task takes from the await request that publishes it to
	// its delivery, plus the await's poll interval: that much of the window is on its way.
	windowTransit = 2 * time.Second
	// minCopyWindow is the smallest window of a run, whatever its share of the account: two
	// tasks, so one is in flight while the other is being written.
	minCopyWindow = 2
	// shareTTL is how long an instance trusts its count of the runs copying to an account; the
	// count is a query over the account's connections, made at most this often per account.
	shareTTL = 10 * time.Second
	// maxShareRuns bounds the connections the count looks at.
	maxShareRuns = 200
	// maxCachedRuns bounds the runs whose recorded tasks an instance keeps in memory for their
	// windows; past it the cache starts over, which costs one read of the run's tasks.
	maxCachedRuns = 16
	// maxCachedShares bounds the accounts whose share an instance keeps; past it, it starts over.
	maxCachedShares = 1000
)

// accountShare is how many runs were copying to one Google account, and when they were counted.
type accountShare struct {
	runs int
	at   time.Time
}

// windowOf returns how many copy tasks of rec's run may be published ahead of its progress; a
// negative count publishes every task. COPY_WINDOW=N fixes it; by default it is what the
// account writes in budgetWait + windowTransit, divided among the runs currently copying to it.
func (e *Engine) windowOf(ctx context.Context, rec store.ConnectionRecord) int {
	if e.window != 0 {
		return e.window
	}
	span := math.Ceil(e.wps * (e.budgetWait + windowTransit).Seconds())
	return max(minCopyWindow, int(math.Ceil(span/float64(e.runsCopyingOn(ctx, rec)))))
}

// runsCopyingOn is how many runs copy to rec's Google account (at least rec's own), counted at
// most every shareTTL per account by this instance.
func (e *Engine) runsCopyingOn(ctx context.Context, rec store.ConnectionRecord) int {
	if rec.GoogleSubject == "" || e.pacing != PacingAccount {
		return 1 // the connection is its own account (see accountOf)
	}
	now := time.Now()
	e.mu.Lock()
	s, ok := e.shares[rec.GoogleSubject]
	e.mu.Unlock()
	if ok && now.Sub(s.at) < shareTTL {
		return s.runs
	}
	n, err := e.store.RunsCopyingOn(ctx, rec.GoogleSubject, maxShareRuns)
	if err != nil {
		// The window only shapes the flow: the last count (or the run alone) does for now,
		// and is tried again next time.
		e.log.WarnContext(ctx, "count of runs copying to the account failed; window by the last count",
			"companyId", rec.CompanyID, "connectionId", rec.ID, "err", err)
		return max(1, s.runs)
	}
	n = max(1, n)
	e.mu.Lock()
	if len(e.shares) >= maxCachedShares {
		clear(e.shares)
	}
	e.shares[rec.GoogleSubject] = accountShare{runs: n, at: now}
	e.mu.Unlock()
	return n
}

// tasksOf returns the copy tasks recorded for run runID of k, from this instance's memory when
// it read them before.
func (e *Engine) tasksOf(ctx context.Context, k store.ConnectionKey, runID string) ([]drivesync.Document, error) {
	e.mu.Lock()
	docs, ok := e.runTasks[runID]
	e.mu.Unlock()
	if ok {
		return docs, nil
	}
	docs, err := e.store.RunTasks(ctx, k, runID)
	if err != nil {
		return nil, drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	e.mu.Lock()
	if len(e.runTasks) >= maxCachedRuns {
		clear(e.runTasks)
	}
	e.runTasks[runID] = docs
	e.mu.Unlock()
	return docs, nil
}

// finishedTasks is how many of a run's tasks have reached a final state, from its progress p:
// every listed document that is not a task (matched, adopted, invalid) was final from the start.
func finishedTasks(p store.CopyProgress, tasks int) int {
	return max(0, p.Synced+p.Failed-max(0, p.Listed-tasks))
}

// publishWindow publishes the tasks of run runID that a window of size window (negative: all)
// now covers (up to finished + window) and were not published yet, then records how far it got,
// which it returns. Publishing comes first: a crash in between publishes some tasks twice, which
// costs a skipped delivery, where the other order would lose them until the run stalls.
func (e *Engine) publishWindow(ctx context.Context, rec store.ConnectionRecord, runID string, tasks []drivesync.Document,
	finished int, w store.RunWindow, window int) (int, error) {
	target := len(tasks)
	if window >= 0 {
		target = min(len(tasks), finished+window)
	}
	from := min(w.Released, len(tasks))
	if target <= from {
		return from, nil
	}
	if err := e.fanout.PublishTasks(ctx, rec.CompanyID, rec.ID, runID, tasks[from:target]); err != nil {
		return from, err
	}
	if err := e.store.RaiseRunWindow(ctx, keyOf(rec), runID, len(tasks), target); err != nil {
		return from, drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	return target, nil
}

// windowCursor is an await request's knowledge of its run's window: read once, then kept as the
// request raises it (another request of the same run raising it meanwhile costs at most tasks
// published twice, which are skipped).
type windowCursor struct {
	read bool
	w    store.RunWindow
}

// advanceWindow publishes the next tasks of run runID as its progress p grows, and reports
// whether tasks are left to publish. A run whose window is not recorded (not planned yet, or
// published before windows) is left alone. The window is topped up once an eighth of it has
// finished, so the account always has tasks and the tasks are published in small batches.
func (e *Engine) advanceWindow(ctx context.Context, rec store.ConnectionRecord, runID string, p store.CopyProgress, c *windowCursor) (bool, error) {
	if e.window < 0 {
		return false, nil
	}
	if !c.read {
		w, err := e.store.RunWindow(ctx, keyOf(rec), runID)
		if err != nil {
			return false, drivesync.Classify(err, drivesync.Retryable, "firestore")
		}
		c.w, c.read = w, true
	}
	if !c.w.Recorded || c.w.Released >= c.w.Total {
		return false, nil
	}
	size := e.windowOf(ctx, rec)
	if size >= 0 && finishedTasks(p, c.w.Total)+size < c.w.Released+max(1, size/8) {
		return true, nil
	}
	tasks, err := e.tasksOf(ctx, keyOf(rec), runID)
	if err != nil {
		return true, err
	}
	released, err := e.publishWindow(ctx, rec, runID, tasks, finishedTasks(p, len(tasks)), c.w, size)
	if err != nil {
		return true, err
	}
	c.w.Released = max(c.w.Released, released)
	return c.w.Released < c.w.Total, nil
}
