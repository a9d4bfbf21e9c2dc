package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// watchMargin is how far before a watch starts its count of finished mappings stops and its
// listener takes over: a delivery stamps its mapping's change before the write lands, and the
// instances' clocks differ, so a mapping finished as the watch starts may carry a time a little
// before it. Only a change that lands more than this after its stamp escapes both (the next
// await request's count finds it).
const watchMargin = 5 * time.Second

// runWatch is what an await request follows of its run between its checks: the run's pages
// (read until the last one is listed, after which they no longer change), and, over two
// Firestore listeners, the run's finished mappings and the connection's record. The listeners
// wake the request when a document finishes, so the window is topped up as the account writes,
// not a poll later; a check costs no call while they work. When they cannot start or fail, the
// request counts with an aggregation at each check instead.
type runWatch struct {
	k     store.ConnectionKey
	runID string
	pages store.RunPages
	// pagesRead is when the pages were last read: at most once a second, as wakes are many.
	pagesRead time.Time

	// changed wakes the request: a mapping finished or the connection changed.
	changed chan struct{}
	stop    func()

	mu sync.Mutex
	// base counts the mappings finished up to the listener's start (calibrated by exact counts)
	// and size those finished after it, as the listener last said; live while it works.
	base, size int
	live       bool
	// rec is the connection's record when it changed and the request has not taken it yet;
	// gone once the connection is deleted; recLive while its listener works.
	rec     *store.ConnectionRecord
	gone    bool
	recLive bool
}

// watchRun starts following run runID of rec. Stop it with w.stop.
func (e *Engine) watchRun(ctx context.Context, rec store.ConnectionRecord, runID string) *runWatch {
	w := &runWatch{k: keyOf(rec), runID: runID, changed: make(chan struct{}, 1), stop: func() {}}
	ctx, cancel := context.WithCancel(ctx)
	// The listeners end with ctx: an iterator is stopped by the goroutine that reads it, as the
	// client library's iterators are not safe to stop from another one while it waits.
	var wg sync.WaitGroup
	w.stop = func() {
		cancel()
		wg.Wait()
	}
	log := e.log.With("companyId", rec.CompanyID, "connectionId", rec.ID, "runId", runID)
	since := e.now().Add(-watchMargin) // the clock the mappings are stamped with
	base, err := e.store.FinishedBy(ctx, w.k, runID, since)
	if err != nil {
		log.WarnContext(ctx, "run watch not started; counting at each check", "err", err)
		return w
	}
	w.base = base
	fw := e.store.WatchFinished(ctx, w.k, runID, since)
	wg.Go(func() {
		defer fw.Stop()
		for {
			n, err := fw.Next()
			w.mu.Lock()
			w.live, w.size = err == nil, n
			w.mu.Unlock()
			if err != nil {
				if ctx.Err() == nil {
					log.WarnContext(ctx, "run watch ended; counting at each check", "err", err)
				}
				return
			}
			w.wake()
		}
	})
	cw, err := e.store.WatchConnection(ctx, rec.CompanyID, rec.ID)
	if err != nil {
		return w
	}
	wg.Go(func() {
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
	})
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

// finished returns how many of the run's mappings are finished, as the listener counts them, and
// whether it does.
func (w *runWatch) finished() (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.base + w.size, w.live
}

// calibrate sets the count to exact, an exact count of the finished mappings just made.
func (w *runWatch) calibrate(exact int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.base = exact - w.size
}
