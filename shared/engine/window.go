package engine

import (
	"context"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// A run publishes its copy tasks in a window that follows its progress instead of all at once:
// the subscription is shared by every tenant, and a company's hundred thousand tasks would
// otherwise stand in front of every other company's (Pub/Sub delivers roughly in order of
// publication). The window holds about copyWindowSpan of the account's writes, so the copy never
// waits for its next tasks; the run's await requests, which count its progress anyway, publish
// the next ones as documents finish.
const (
	copyWindowSpan = 30 * time.Second
	minCopyWindow  = 100
	// maxCachedRuns bounds the runs whose recorded tasks an instance keeps in memory for their
	// windows; past it the cache starts over, which costs one read of the run's tasks.
	maxCachedRuns = 16
)

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

// publishWindow publishes the tasks of run runID that its window now covers (up to finished +
// the window) and were not published yet, then records how far it got. Publishing comes first:
// a crash in between publishes some tasks twice, which costs a skipped delivery, where the other
// order would lose them until the run stalls.
func (e *Engine) publishWindow(ctx context.Context, rec store.ConnectionRecord, runID string, tasks []drivesync.Document,
	finished int, w store.RunWindow) error {
	target := len(tasks)
	if e.window > 0 {
		target = min(len(tasks), finished+e.window)
	}
	from := min(w.Released, len(tasks))
	if target <= from {
		return nil
	}
	if err := e.fanout.PublishTasks(ctx, rec.CompanyID, rec.ID, runID, tasks[from:target]); err != nil {
		return err
	}
	if err := e.store.RaiseRunWindow(ctx, keyOf(rec), runID, len(tasks), target); err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	return nil
}

// advanceWindow publishes the next tasks of run runID as its progress p grows. A run whose
// window is not recorded (not planned yet, or published before windows) is left alone. The
// window moves by half its size at a time, so the tasks are read and published in batches.
func (e *Engine) advanceWindow(ctx context.Context, rec store.ConnectionRecord, runID string, p store.CopyProgress) error {
	if e.window < 0 {
		return nil
	}
	w, err := e.store.RunWindow(ctx, keyOf(rec), runID)
	if err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	if !w.Recorded || w.Released >= w.Total {
		return nil
	}
	if finishedTasks(p, w.Total)+e.window < w.Released+max(1, e.window/2) {
		return nil
	}
	tasks, err := e.tasksOf(ctx, keyOf(rec), runID)
	if err != nil {
		return err
	}
	return e.publishWindow(ctx, rec, runID, tasks, finishedTasks(p, len(tasks)), w)
}
