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

// A run publishes a window of its tasks, and its await requests publish the next ones as the
// documents finish, a quarter of a window at a time: never more than a window in flight, every task
// published once, and the run ends done.
func TestRunPublishesItsTasksInAWindow(t *testing.T) {
	t.Parallel()
	const documents, window = 45, 10
	e, first := windowRun(t, documents, window)
	if len(first) != window {
		t.Fatalf("the run published %d tasks at first, want a window of %d", len(first), window)
	}
	published := map[string]int{}
	pending := first
	for range 20 {
		if len(pending) > window {
			t.Fatalf("%d tasks in flight, want at most %d", len(pending), window)
		}
		for _, id := range e.handleTasks(t, pending) {
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

// By default (COPY_WINDOW=auto) a run's window is what its Google account writes in a few
// seconds (a copy task's wait in place, 5 s, plus 2 s on the way), not a fixed hundred: at 5
// writes a second, 35 tasks; the await requests then top it up as the documents finish, never
// past that many in flight.
func TestAutoWindowIsAFewSecondsOfTheAccount(t *testing.T) {
	t.Parallel()
	const documents, wps, want = 80, 5, 35
	e, pending := startRun(t, documents, func(o *engine.Options) { o.WritesPerSecond = wps })
	if len(pending) != want {
		t.Fatalf("the run published %d tasks at first, want %d (7 s at %d writes a second)", len(pending), want, wps)
	}
	copied := 0
	for range 20 {
		if len(pending) > want {
			t.Fatalf("%d tasks in flight, want at most %d", len(pending), want)
		}
		copied += len(e.handleTasks(t, pending))
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
	if len(lost) != window {
		t.Fatalf("the run published %d tasks, want %d", len(lost), window)
	}
	if got := e.awaitOnce(t); len(got) != 0 {
		t.Fatalf("a run that has not stalled republished %d tasks", len(got))
	}
	e.clock.Advance(61 * time.Second)
	again := e.awaitOnce(t)
	if len(again) != window {
		t.Fatalf("the stalled run republished %d tasks, want its window of %d", len(again), window)
	}
	e.handleTasks(t, again)
	next := e.awaitOnce(t)
	if len(next) != window {
		t.Fatalf("after the repaired window was copied, %d tasks published, want the next %d", len(next), window)
	}
	for pending := next; len(pending) > 0; pending = e.awaitOnce(t) {
		e.handleTasks(t, pending)
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
