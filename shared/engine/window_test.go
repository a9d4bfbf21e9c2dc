package engine_test

import (
	"testing"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/engine"
)

// windowRun starts a run of documents documents whose tasks are published window at a time, and
// returns the env and the tasks it published first.
func windowRun(t *testing.T, documents, window int) (*env, [][]byte) {
	t.Helper()
	return startRun(t, documents, func(o *engine.Options) { o.CopyWindow = window })
}

// startRun starts a run of documents documents on an engine whose options set adjusts, and
// returns the env and the tasks the run's first request published.
func startRun(t *testing.T, documents int, set func(*engine.Options)) (*env, [][]byte) {
	t.Helper()
	e := newEnv(t, envOptions{documents: documents, topics: true})
	set(&e.opts)
	e.opts.StallTimeout = time.Minute
	e.engine = e.newEngine(t)
	engine.SetAwait(e.engine, 100*time.Millisecond, 50*time.Millisecond)
	req := drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company,
		ConnectionID: e.conn.ID, RunID: e.conn.InitialCopy.RunID}
	retry(t, "copy request", func() error { return e.engine.HandleCopyRequest(e.ctx, req) })
	return e, e.drain(t, e.taskSub)
}

// awaitOnce delivers the pending await requests and returns the tasks they published.
func (e *env) awaitOnce(t *testing.T) [][]byte {
	t.Helper()
	for _, m := range e.drain(t, e.reqSub) {
		r, err := drivesync.DecodeCopyRequest(m)
		if err != nil {
			t.Fatal(err)
		}
		retry(t, "await", func() error { return e.engine.HandleCopyRequest(e.ctx, r) })
	}
	return e.drain(t, e.taskSub)
}

// handleTasks delivers copy tasks and returns their document IDs.
func (e *env) handleTasks(t *testing.T, msgs [][]byte) []string {
	t.Helper()
	var ids []string
	for _, data := range msgs {
		task, err := drivesync.DecodeCopyTask(data)
		if err != nil {
			t.Fatal(err)
		}
		retry(t, "task", func() error { return e.engine.HandleTask(e.ctx, task) })
		ids = append(ids, task.Document.ID)
	}
	return ids
}

// driveWrites counts the Drive writes of alice's account: files and folders created, updated or
// deleted.
func (e *env) driveWrites() int64 {
	c := e.emu.Drive.Counters(alice)
	return c["files.create"] + c["files.update"] + c["files.delete"]
}

// handleWindow delivers a published batch of copy tasks and fails the test when the batch made
// more Drive writes than a window holds: the window is counted in writes, folders included.
func (e *env) handleWindow(t *testing.T, msgs [][]byte, window int) []string {
	t.Helper()
	before := e.driveWrites()
	ids := e.handleTasks(t, msgs)
	if w := e.driveWrites() - before; w > int64(window) {
		t.Fatalf("%d tasks published together made %d Drive writes, want at most the window's %d", len(msgs), w, window)
	}
	return ids
}

// A run publishes a window of its tasks, counted in the Drive writes they make (the tasks that
// first need a year folder create it too), and its await requests publish the next ones as the
// documents finish: never more than a window's writes in flight, every task published once,
// and the run ends done.
func TestRunPublishesItsTasksInAWindow(t *testing.T) {
	t.Parallel()
	const documents, window = 45, 10
	e, first := windowRun(t, documents, window)
	before := e.driveWrites()
	published := map[string]int{}
	for _, id := range e.handleWindow(t, first, window) {
		published[id]++
	}
	// The first window is full: one write short at most (the next task would take two).
	if w := e.driveWrites() - before; w < window-1 || len(first) >= window {
		t.Fatalf("the first window, %d tasks, made %d Drive writes; want %d or %d writes, fewer tasks than writes (year folders)",
			len(first), w, window-1, window)
	}
	pending := e.awaitOnce(t)
	for range 40 {
		for _, id := range e.handleWindow(t, pending, window) {
			published[id]++
		}
		pending = e.awaitOnce(t)
		if len(pending) == 0 && e.get(t).InitialCopy.State == drivesync.CopyDone {
			break
		}
	}
	if got := e.get(t).InitialCopy; got.State != drivesync.CopyDone || got.Synced != documents {
		t.Fatalf("run %+v, want done with %d synced", got, documents)
	}
	if len(published) != documents {
		t.Errorf("%d documents had a task, want %d", len(published), documents)
	}
	for id, n := range published {
		if n != 1 {
			t.Errorf("document %s: %d tasks, want 1", id, n)
		}
	}
	e.checkExactlyOnce(t, e.documents(t))
}

// By default (COPY_WINDOW=auto) a run's window is what its Google account writes in three
// seconds, not a fixed hundred: at 5 writes a second, 15 writes. The await requests then top it
// up as the documents finish, never past that many writes in flight, and publish the new tasks
// at about the account's pace rather than at once (so that they do not all wait in place for
// their slots, each holding a request).
func TestAutoWindowIsThreeSecondsOfTheAccount(t *testing.T) {
	t.Parallel()
	const documents, wps, want = 60, 5, 15
	e, pending := startRun(t, documents, func(o *engine.Options) { o.WritesPerSecond = wps })
	before := e.driveWrites()
	copied := len(e.handleWindow(t, pending, want))
	if w := e.driveWrites() - before; w < want-1 {
		t.Fatalf("the first window made %d Drive writes, want %d or %d (3 s at %d writes a second)", w, want-1, want, wps)
	}
	began := time.Now()
	pending = e.awaitOnce(t)
	// The next window, about 15 writes at 5 a second: its last chunk goes about 2.8 s after
	// its first (a window published at once takes milliseconds).
	if took := time.Since(began); took < 1500*time.Millisecond {
		t.Errorf("the next window (%d tasks) was published in %v, want it spread over about 2.8 s", len(pending), took)
	}
	for range 40 {
		copied += len(e.handleWindow(t, pending, want))
		pending = e.awaitOnce(t)
		if len(pending) == 0 && e.get(t).InitialCopy.State == drivesync.CopyDone {
			break
		}
	}
	if got := e.get(t).InitialCopy; got.State != drivesync.CopyDone || got.Synced != documents || copied != documents {
		t.Fatalf("run %+v after %d tasks, want done with %d synced", got, copied, documents)
	}
}

// A window whose tasks were lost is repaired like any stalled run, but only the window goes
// again: the tasks not released yet stay unpublished, and the window then moves on.
func TestStalledWindowIsRepaired(t *testing.T) {
	t.Parallel()
	const documents, window = 30, 10
	e, lost := windowRun(t, documents, window)
	if len(lost) == 0 || len(lost) > window {
		t.Fatalf("the run published %d tasks, want a window of at most %d", len(lost), window)
	}
	if got := e.awaitOnce(t); len(got) != 0 {
		t.Fatalf("a run that has not stalled republished %d tasks", len(got))
	}
	e.clock.Advance(61 * time.Second)
	again := e.awaitOnce(t)
	if len(again) != len(lost) {
		t.Fatalf("the stalled run republished %d tasks, want its window's %d", len(again), len(lost))
	}
	e.handleWindow(t, again, window)
	next := e.awaitOnce(t)
	if len(next) == 0 || len(next) > window {
		t.Fatalf("after the repaired window was copied, %d tasks published, want the next window", len(next))
	}
	seen := map[string]bool{}
	for _, id := range e.handleWindow(t, next, window) {
		seen[id] = true
	}
	for _, data := range lost {
		if task, err := drivesync.DecodeCopyTask(data); err == nil && seen[task.Document.ID] {
			t.Errorf("the next window published %s again", task.Document.ID)
		}
	}
	for pending := e.awaitOnce(t); len(pending) > 0; pending = e.awaitOnce(t) {
		e.handleWindow(t, pending, window)
	}
	if got := e.get(t).InitialCopy; got.State != drivesync.CopyDone || got.Synced != documents {
		t.Fatalf("run %+v, want done with %d synced", got, documents)
	}
	e.checkExactlyOnce(t, e.documents(t))
}

// The last tasks of a run, every task published, that make no progress for 8 s (deliveries
// answered busy or lost, waiting out Pub/Sub's backoff) are published again long before the
// stall timeout; their late redeliveries are skipped, and every document lands once.
func TestIdleTailIsPublishedAgain(t *testing.T) {
	t.Parallel()
	const documents, window, lost = 10, 20, 3
	e, first := windowRun(t, documents, window)
	if len(first) != documents {
		t.Fatalf("the run published %d tasks, want all %d", len(first), documents)
	}
	e.handleTasks(t, first[lost:])
	if got := e.awaitOnce(t); len(got) != 0 {
		t.Fatalf("a run whose tail has just stopped republished %d tasks", len(got))
	}
	e.clock.Advance(5 * time.Second)
	if got := e.awaitOnce(t); len(got) != 0 {
		t.Fatalf("a tail idle for 5 s republished %d tasks, want none before 8 s", len(got))
	}
	e.clock.Advance(4 * time.Second) // 9 s without progress; the stall timeout is a minute
	again := e.awaitOnce(t)
	if len(again) != lost {
		t.Fatalf("the idle tail republished %d tasks, want the %d unfinished", len(again), lost)
	}
	e.handleTasks(t, again)
	e.handleTasks(t, first[:lost]) // the original deliveries, late: skipped
	for range 5 {
		if e.get(t).InitialCopy.State == drivesync.CopyDone {
			break
		}
		e.awaitOnce(t)
	}
	if got := e.get(t).InitialCopy; got.State != drivesync.CopyDone || got.Synced != documents {
		t.Fatalf("run %+v, want done with %d synced", got, documents)
	}
	e.checkExactlyOnce(t, e.documents(t))
}
