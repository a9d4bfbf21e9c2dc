package engine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/layout"
	"github.com/efactori/drivesync/shared/pacing"
	"github.com/efactori/drivesync/shared/store"
)

// A run publishes its copy tasks in a window that follows its progress instead of all at once:
// the subscription is shared by every tenant, and a company's hundred thousand tasks would
// otherwise stand in front of every other company's (Pub/Sub delivers roughly in order of
// publication). The window is counted in Drive writes, not tasks: a task that is the first to
// need a layout folder creates it too, and in a young company's first copy that is one task
// in two. It holds what the run's Google account writes in windowSpan, shared among the runs
// copying to that account (windowOf): the span bounds the wait in place of the tasks (well
// inside DRIVE_BUDGET_WAIT, so none is answered busy and left to Pub/Sub's backoff). The window
// is published at the account's pace (trickle): Pub/Sub delivers a batch within milliseconds,
// and tasks delivered together would wait in place for their slots, each holding one of the
// function's concurrency slots, which every tenant shares. The run's await requests count its
// progress every second while tasks are left to publish (runWatch) and top the window up once
// an eighth of it is free, so the account never runs dry.
const (
	// windowSpan is how many seconds of its account's writes a run keeps published ahead: what
	// a task takes from its publication to its count as finished (its work, and up to a
	// second until the await request counts again) with room to spare, so the account always
	// has a task ready; every task beyond waits in place holding a request. Measured with the
	// fleet bench: 2 s made one account with 78 new folders reach 0.92 L, 3 s 0.95–0.96 L;
	// twenty accounts at L = 2 sharing 40 requests 0.94–0.97 L at the slowest.
	windowSpan = 3 * time.Second
	// minCopyWindow is the fewest tasks a window holds, whatever its share of the account and
	// its tasks' writes: two, so one is in flight while the other is being written.
	minCopyWindow = 2
	// shareTTL is how long an instance trusts its count of the runs copying to an account; the
	// count is a query over the account's connections, made at most this often per account.
	shareTTL = 10 * time.Second
	// maxShareRuns bounds the connections the count looks at.
	maxShareRuns = 200
	// maxCachedTasks bounds the recorded tasks an instance keeps in memory for the windows of
	// the runs it watches (about 200 bytes each); past it the cache starts over, which costs
	// each run one read of its tasks. Any instance may watch any run, so it holds many runs.
	maxCachedTasks = 400_000
	// maxCachedShares bounds the accounts whose share an instance keeps; past it, it starts over.
	maxCachedShares = 1000
)

// accountShare is how many runs were copying to one Google account, and when they were counted.
type accountShare struct {
	runs int
	at   time.Time
}

// windowOf returns how many Drive writes of rec's run may be published ahead of its progress; a
// negative count publishes every task. COPY_WINDOW=N fixes it; by default it is what the
// account writes in windowSpan (or the budget wait, if shorter), divided among the runs currently
// copying to it.
func (e *Engine) windowOf(ctx context.Context, rec store.ConnectionRecord) int {
	if e.window != 0 {
		return e.window
	}
	span := math.Ceil(e.wps * min(windowSpan, e.budgetWait).Seconds())
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

// runTasks is a run's recorded copy tasks as an instance keeps them for the run's window.
type runTasks struct {
	docs []drivesync.Document
	// writes[i] is the Drive writes expected of docs[:i] in layout (see expectedWrites),
	// computed when a window first needs them.
	writes []int
	layout drivesync.FolderLayout
}

// tasksOf returns the copy tasks recorded for run runID of k, from this instance's memory when
// it read them before.
func (e *Engine) tasksOf(ctx context.Context, k store.ConnectionKey, runID string) ([]drivesync.Document, error) {
	e.mu.Lock()
	rt, ok := e.runTasks[runID]
	e.mu.Unlock()
	if ok {
		return rt.docs, nil
	}
	docs, err := e.store.RunTasks(ctx, k, runID)
	if err != nil {
		return nil, drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	e.mu.Lock()
	if e.cachedTasks+len(docs) > maxCachedTasks {
		clear(e.runTasks)
		e.cachedTasks = 0
	}
	e.runTasks[runID] = &runTasks{docs: docs}
	e.cachedTasks += len(docs)
	e.mu.Unlock()
	return docs, nil
}

// writesOf returns expectedWrites of run runID's tasks in rec's layout, kept with the tasks.
func (e *Engine) writesOf(rec store.ConnectionRecord, runID string, tasks []drivesync.Document) []int {
	e.mu.Lock()
	rt, ok := e.runTasks[runID]
	if ok && len(rt.docs) == len(tasks) && rt.writes != nil && rt.layout == rec.FolderLayout {
		w := rt.writes
		e.mu.Unlock()
		return w
	}
	e.mu.Unlock()
	w := expectedWrites(tasks, rec.FolderLayout)
	e.mu.Lock()
	if rt, ok := e.runTasks[runID]; ok && len(rt.docs) == len(tasks) {
		rt.writes, rt.layout = w, rec.FolderLayout
	}
	e.mu.Unlock()
	return w
}

// expectedWrites returns the Drive writes expected of tasks[:i] for every i: one per task, plus
// one per layout folder that no earlier task goes into (the first task to need a folder creates
// it). Folders a previous run made are counted again, which only makes the window smaller.
func expectedWrites(tasks []drivesync.Document, l drivesync.FolderLayout) []int {
	writes := make([]int, len(tasks)+1)
	seen := map[string]bool{}
	for i, d := range tasks {
		n := 1
		for _, f := range layout.Path(d, l, drivesync.LocaleFR) { // keys never depend on the locale
			if !seen[f.Key] {
				seen[f.Key] = true
				n++
			}
		}
		writes[i+1] = writes[i] + n
	}
	return writes
}

// windowEnd is how far a window of window writes reaches from task from: as far as its
// expected writes fit, and at least minCopyWindow tasks.
func windowEnd(writes []int, from, window int) int {
	tasks := len(writes) - 1
	from = min(from, tasks)
	end, _ := slices.BinarySearch(writes, writes[from]+window+1) // first index past the budget
	return min(tasks, max(end-1, from+minCopyWindow))
}

// finishedTasks is how many of a run's tasks have reached a final state, from its progress p:
// every listed document that is not a task (matched, adopted, invalid) was final from the start.
func finishedTasks(p store.CopyProgress, tasks int) int {
	return max(0, p.Synced+p.Failed-max(0, p.Listed-tasks))
}

// publishWindow publishes the tasks of run runID that a window of window writes (negative: all)
// now covers from its first unfinished task and were not published yet, then records how far it
// got, which it returns. With paced, an automatic window's tasks go at the account's pace
// (trickle); the first window goes at once, to an account with nothing to write yet.
// Publishing comes first: a crash in between publishes some tasks twice, which costs a skipped
// delivery, where the other order would lose them until the run stalls.
func (e *Engine) publishWindow(ctx context.Context, rec store.ConnectionRecord, runID string, tasks []drivesync.Document,
	finished int, w store.RunWindow, window int, paced bool) (int, error) {
	return e.publishWindowRecorded(ctx, rec, runID, tasks, finished, w, window, paced, func(int) bool { return true })
}

// publishWindowRecorded is publishWindow that records how far it got only when record says so
// of that count.
func (e *Engine) publishWindowRecorded(ctx context.Context, rec store.ConnectionRecord, runID string, tasks []drivesync.Document,
	finished int, w store.RunWindow, window int, paced bool, record func(released int) bool) (int, error) {
	target := len(tasks)
	var writes []int
	if window >= 0 {
		writes = e.writesOf(rec, runID, tasks)
		target = windowEnd(writes, finished, window)
	}
	from := min(w.Released, len(tasks))
	if target <= from {
		return from, nil
	}
	if paced && e.window == 0 && window > 0 {
		// An automatic window is the run's share of the account over windowSpan: that share a
		// second is what the account takes of it.
		rate := trickleAhead * float64(window) / min(windowSpan, e.budgetWait).Seconds()
		if err := e.trickle(ctx, rec, runID, tasks, writes, from, target, rate); err != nil {
			return from, err
		}
	} else if err := e.fanout.PublishTasks(ctx, rec.CompanyID, rec.ID, runID, tasks[from:target]); err != nil {
		return from, err
	}
	if !record(target) {
		return target, nil
	}
	if err := e.store.RaiseRunWindow(ctx, keyOf(rec), runID, len(tasks), target); err != nil {
		return from, drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	return target, nil
}

// trickleAhead is how much faster than its share of the account a run's tasks are published.
// Faster fills the window, and its tasks then wait in place for their slots, each holding a
// request: 1.1 measured no faster than 1 (twenty accounts at L = 2, 0.79 and 0.80 L), and the
// window's backlog already covers the timing jitter.
const trickleAhead = 1.0

// trickle publishes tasks[from:to] at about rate Drive writes a second (writes as in
// expectedWrites), a chunk every quarter of a second, instead of at once. Tasks published as
// a batch are all delivered within milliseconds and wait in place for their write slots, each
// holding a concurrency slot of the function that every tenant shares; published at the pace
// the account writes, each arrives about when its slot comes and holds a concurrency slot only
// for its work. This is flow control at the source: the await request that publishes them
// holds its own request meanwhile, which costs nothing but its wait.
func (e *Engine) trickle(ctx context.Context, rec store.ConnectionRecord, runID string, tasks []drivesync.Document,
	writes []int, from, to int, rate float64) error {
	start := time.Now()
	step := max(1, int(rate/4))
	for i := from; i < to; {
		j := i + 1
		for j < to && writes[j+1]-writes[i] <= step {
			j++
		}
		if err := e.fanout.PublishTasks(ctx, rec.CompanyID, rec.ID, runID, tasks[i:j]); err != nil {
			return err
		}
		i = j
		if i < to {
			due := time.Duration(float64(writes[i]-writes[from]) / rate * float64(time.Second))
			if err := pacing.Sleep(ctx, time.Until(start.Add(due))); err != nil {
				return drivesync.Classify(fmt.Errorf("publish tasks of run %s: %w", runID, err), drivesync.Retryable, "canceled")
			}
		}
	}
	return nil
}

// windowCursor is an await request's knowledge of its run's window: read once, then kept as the
// request raises it (another request of the same run raising it meanwhile costs at most tasks
// published twice, which are skipped).
type windowCursor struct {
	read bool
	w    store.RunWindow
	// recorded is how far the window is recorded, and recordedAt when: the await request
	// records it at most every windowRecordEvery, when every task is out, and when it hands
	// over. A crash in between publishes again what it did not record, which the deliveries
	// skip: a read each, where a record per top-up would be a write per few documents.
	recorded   int
	recordedAt time.Time
}

// windowRecordEvery is how often an await request records how far its run's window got.
const windowRecordEvery = 5 * time.Second

// recordWindow records how far the window of c got, if it got further than recorded.
func (e *Engine) recordWindow(ctx context.Context, rec store.ConnectionRecord, runID string, c *windowCursor) error {
	if !c.read || c.w.Released <= c.recorded {
		return nil
	}
	if err := e.store.RaiseRunWindow(ctx, keyOf(rec), runID, c.w.Total, c.w.Released); err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	c.recorded, c.recordedAt = c.w.Released, time.Now()
	return nil
}

// advanceWindow publishes the next tasks of run runID as its progress p grows, and reports
// whether tasks are left to publish. A run whose window is not recorded (not planned yet, or
// published before windows) is left alone. The window is topped up once an eighth of its writes
// is free, so the account always has tasks and the tasks are published in small batches.
func (e *Engine) advanceWindow(ctx context.Context, rec store.ConnectionRecord, runID string, p store.CopyProgress, c *windowCursor) (bool, error) {
	if e.window < 0 {
		return false, nil
	}
	if !c.read {
		w, err := e.store.RunWindow(ctx, keyOf(rec), runID)
		if err != nil {
			return false, drivesync.Classify(err, drivesync.Retryable, "firestore")
		}
		c.w, c.read, c.recorded, c.recordedAt = w, true, w.Released, time.Now()
	}
	if !c.w.Recorded || c.w.Released >= c.w.Total {
		return false, nil
	}
	size := e.windowOf(ctx, rec)
	tasks, err := e.tasksOf(ctx, keyOf(rec), runID)
	if err != nil {
		return true, err
	}
	if size >= 0 {
		writes := e.writesOf(rec, runID, tasks)
		from, end := min(c.w.Released, len(tasks)), windowEnd(writes, finishedTasks(p, len(tasks)), size)
		if end < len(tasks) && writes[max(end, from)]-writes[from] < max(1, size/8) {
			return true, nil // less than an eighth of the window is free
		}
	}
	recorded := false
	released, err := e.publishWindowRecorded(ctx, rec, runID, tasks, finishedTasks(p, len(tasks)), c.w, size, true,
		func(released int) bool {
			recorded = released >= len(tasks) || time.Since(c.recordedAt) >= windowRecordEvery
			return recorded
		})
	if err != nil {
		return true, err
	}
	if recorded {
		c.recorded, c.recordedAt = released, time.Now()
	}
	c.w.Released = max(c.w.Released, released)
	return c.w.Released < c.w.Total, nil
}
