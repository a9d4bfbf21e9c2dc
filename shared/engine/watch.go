package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// watchMargin is how far before a watch starts its count of all finished mappings stops and its
// counts of those finished later begin: a delivery stamps its mapping's change before the write
// lands, and the instances' clocks differ, so a mapping finished as the watch starts may carry a
// time a little before it. Only a change that lands more than this after its stamp escapes both
// (the next await request's first count finds it).
const watchMargin = 5 * time.Second

// runWatch is what an await request follows of its run between its checks: the run's pages
// (read until the last one is listed, after which they no longer change), its finished
// mappings, and the connection's record over a Firestore listener. The finished mappings are
// counted once up to a time when the watch starts (base), then at each check only those
// finished after it: a count aggregation bills one read per thousand index entries, so each
// check reads a few seconds of the account's writes, not the whole run. (A query listener on
// the finished mappings was tried: one billed read per finished document per listener, and on
// the Firestore emulator it made a 15,000-document copy three to four times slower, the
// emulator busy with the listening queries; BENCHMARKS.md.)
type runWatch struct {
	k     store.ConnectionKey
	pages store.RunPages
	// pagesRead is when the pages were last read: at most once a second, as checks are many.
	pagesRead time.Time
	// since splits the finished mappings: base counts those last changed up to it (calibrated
	// by exact counts); each check counts those after it (after, as last counted). counted is
	// false when the first count failed, and each check counts the whole run instead.
	since       time.Time
	base, after int
	counted     bool

	// changed wakes the request: the connection changed.
	changed chan struct{}
	stop    func()

	mu sync.Mutex
	// rec is the connection's record when it changed and the request has not taken it yet;
	// gone once the connection is deleted; recLive while its listener works.
	rec     *store.ConnectionRecord
	gone    bool
	recLive bool
}

// watchRun starts following run runID of rec. Stop it with w.stop.
func (e *Engine) watchRun(ctx context.Context, rec store.ConnectionRecord, runID string) *runWatch {
	w := &runWatch{k: keyOf(rec), changed: make(chan struct{}, 1), stop: func() {}}
	log := e.log.With("companyId", rec.CompanyID, "connectionId", rec.ID, "runId", runID)
	w.since = e.now().Add(-watchMargin) // the clock the mappings are stamped with
	base, err := e.store.FinishedBy(ctx, w.k, runID, w.since)
	if err != nil {
		log.WarnContext(ctx, "first count of the run failed; counting the whole run at each check", "err", err)
	} else {
		w.base, w.counted = base, true
	}
	ctx, cancel := context.WithCancel(ctx)
	// The listener ends with ctx: an iterator is stopped by the goroutine that reads it, as the
	// client library's iterators are not safe to stop from another one while it waits.
	done := make(chan struct{})
	w.stop = func() {
		cancel()
		<-done
	}
	cw, err := e.store.WatchConnection(ctx, rec.CompanyID, rec.ID)
	if err != nil {
		close(done)
		return w
	}
	go func() {
		defer close(done)
		defer cw.Stop()
		for {
			r, err := cw.Next()
			w.mu.Lock()
			switch {
			case err == nil:
				w.rec, w.recLive = &r, true
			case errors.Is(err, drivesync.ErrNotFound):
				w.gone = true
			default:
				w.recLive = false
			}
			w.mu.Unlock()
			if err != nil && !errors.Is(err, drivesync.ErrNotFound) {
				return
			}
			w.wake()
			if err != nil {
				return
			}
		}
	}()
	return w
}

func (w *runWatch) wake() {
	select {
	case w.changed <- struct{}{}:
	default: // a wake is pending already
	}
}

// connection returns the connection's record if it changed since last asked (nil if not),
// and whether it is gone. follows is false when its listener does not work, and the caller
// reads the record itself.
func (w *runWatch) connection() (rec *store.ConnectionRecord, gone, follows bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rec, w.rec = w.rec, nil
	return rec, w.gone, w.recLive
}

// finished counts the run's finished mappings: those after the watch's start with one
// aggregation, added to its first count.
func (w *runWatch) finished(ctx context.Context, st *store.Store, runID string) (int, error) {
	if !w.counted {
		return st.FinishedMappings(ctx, w.k, runID)
	}
	n, err := st.FinishedAfter(ctx, w.k, runID, w.since)
	if err != nil {
		return 0, err
	}
	w.after = n
	return w.base + n, nil
}

// calibrate sets the count to exact, an exact count of the finished mappings just made: a
// mapping counted first and changed again since is counted by both counts.
func (w *runWatch) calibrate(exact int) {
	w.base = exact - w.after
}
