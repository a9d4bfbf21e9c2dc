// Package engine is drivesync's copy engine: it puts eFactori documents into the customers'
// Google Drives exactly once, however Pub/Sub delivers the messages that ask for it (at least
// once, out of order, concurrently on several instances). It handles the three subscriptions of
// the copy path: document events (every active connection of the company), copy tasks (one
// document for one connection during a run) and copy requests (a run's reconcile of eFactori
// against Drive, the watch over its end, and the scheduled reconcile of every connection).
//
// Exactly once rests on records in Firestore, per connection: the mapping of each document (its
// Drive file ID, reserved with files.generateIds and stored before the file is created with it,
// so a repeated create is refused by Drive instead of duplicating the file; a short lease on it
// serialises the work on one document), the folder cache (one entry per layout folder, claimed
// under a lease while it is created), and the page and tasks of each run (progress is derived
// from them and counted from the mappings, never kept in one hot document). When those records
// are lost or stale (a reconnect, a restore, a change made by hand in Drive), the app properties
// drivesync writes on every file are the truth: a reconcile adopts the files they name.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/efactori"
	"github.com/efactori/drivesync/shared/fanout"
	"github.com/efactori/drivesync/shared/store"
)

// Options configure New.
type Options struct {
	Store *store.Store
	// Connections (per-connection Drive clients, status marking) and Documents (content
	// streaming, deletion checks) are needed to copy documents and to reconcile; an engine
	// built without them refuses both.
	Connections *connection.Service
	Documents   *efactori.Client
	Fanout      *fanout.Fanout // eFactori's list, and the copy tasks and requests a run publishes
	Logger      *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxEventAge: older events are dropped and recorded as failed, as Google advises against
	// retrying a message forever.
	MaxEventAge time.Duration
	// WritesPerSecond is the Drive write rate L of one Google account (Drive's limit is per
	// user); about 3 in production. With PacingInstance it is per connection and instance.
	WritesPerSecond float64
	// Pacing says how writes are kept at WritesPerSecond; "" means PacingAccount.
	Pacing Pacing
	// CopyWindow is how many of a run's copy tasks are published ahead of its progress: 0
	// sizes it by the account (what it writes in 3 s, shared among the runs copying to it, in
	// writes: see windowOf), a negative one publishes every task at once (as before windows).
	CopyWindow int
	// BudgetWait is how long a copy task waits in place for its account's write slot before it
	// is answered busy (live events wait up to LiveLead longer); 0 means DefaultBudgetWait.
	BudgetWait time.Duration
	// IDBlockSize is how many file IDs one files.generateIds call reserves (1 to 1000).
	IDBlockSize int
	// DocumentLease is how long a delivery that died keeps a document locked; 0 means
	// defaultDocumentLease.
	DocumentLease time.Duration
	// StallTimeout is how long a run's progress may stand still, with documents left, before
	// the run's remaining copy tasks are published again; 0 means defaultStallTimeout.
	StallTimeout time.Duration
}

// Timings of the engine. Pub/Sub redelivers with its own backoff; these only bound how long one
// delivery waits or retries in place.
const (
	// defaultDocumentLease bounds how long a dead delivery keeps a document locked; a live one
	// extends its lease every third of it. A killed instance's documents are locked that long
	// for their redeliveries (Pub/Sub's first retry comes 10 s later), so a long lease left a
	// copy's last documents waiting while the account idled; exactly once does not rest on it
	// (a new document's file ID is reserved with the lease, and Drive refuses a second file
	// with that ID). A third of it stays above a copy task's wait for its write slot, so a
	// delivery that only waited for budget extends nothing.
	defaultDocumentLease = 20 * time.Second
	// defaultStallTimeout is how long a run may make no progress before it is repaired.
	defaultStallTimeout = 2 * time.Minute
	// folderLeaseTTL bounds how long a dead delivery keeps a folder creation claimed.
	folderLeaseTTL = 30 * time.Second
	// folderWait is how long a delivery waits for another one to create a folder.
	folderWait    = 20 * time.Second
	folderPoll    = 100 * time.Millisecond
	maxFolderPoll = 400 * time.Millisecond
	// folderVerifyTTL is how long a cached folder is trusted on this instance before Drive is
	// asked again whether the customer deleted or trashed it.
	folderVerifyTTL = time.Minute
	// attempts is how many times one delivery tries a retryable failure before handing it
	// back to Pub/Sub.
	attempts    = 3
	baseBackoff = 200 * time.Millisecond
	// maxInlineWait caps a Retry-After honoured in place; a longer one goes back to Pub/Sub.
	maxInlineWait = 2 * time.Second
)

// Engine is the copy engine. It is safe for concurrent use; create one per instance.
type Engine struct {
	store   *store.Store
	conns   *connection.Service
	docs    *efactori.Client
	fanout  *fanout.Fanout
	log     *slog.Logger
	now     func() time.Time
	maxAge  time.Duration
	wps     float64
	idBlock int
	lease   time.Duration // of a document
	stall   time.Duration // of a run, before it is repaired

	pacing     Pacing
	window     int           // copy tasks of a run published ahead of its progress; 0: by the account; < 0: all at once
	budgetWait time.Duration // the longest a copy task waits in place for a write slot

	mu          sync.Mutex
	limiters    map[string]*rate.Limiter  // connection ID → write pacing (PacingInstance)
	budgets     map[string]*accountBudget // account key → write slots leased (PacingAccount)
	pools       map[string]*idPool        // connection ID → reserved file IDs
	runTasks    map[string]*runTasks      // run ID → its recorded copy tasks, for its window
	cachedTasks int                       // tasks held in runTasks
	shares      map[string]accountShare   // Google subject → runs copying to it, as last counted

	connAccounts sync.Map     // connection ID → account key, as last seen
	leases       atomic.Int64 // write budget leases taken, for tests

	verified sync.Map // folder ID → time.Time it was last seen alive in Drive
	folders  sync.Map // folderKey → folder ID, as this instance last found or made it
	// folderHints is what this instance last saw of each connection's folders (company
	// folder, layout, locale): which layout folder a copy task will need, so that its entry is
	// read with the document (prefetchFolders).
	folderHints sync.Map // connection ID → folderHint

	connSets     sync.Map // company ID → connectionSet
	connSetCount atomic.Int64

	// awaitFor and awaitPoll are the timings of await requests (the constants; tests shorten
	// them).
	awaitFor, awaitPollNear, awaitPollFar time.Duration

	// afterReserve, when set (by tests), runs once a new file ID is stored in the mapping and
	// before the file is created: a crash there is the case reservations exist for.
	afterReserve func(ctx context.Context, documentID string) error
}

// New returns an Engine; it reports every problem with opts at once.
func New(opts Options) (*Engine, error) {
	var errs []error
	if opts.Store == nil {
		errs = append(errs, errors.New("nil store"))
	}
	if opts.Fanout == nil {
		errs = append(errs, errors.New("nil fanout"))
	}
	if opts.Logger == nil {
		errs = append(errs, errors.New("nil logger"))
	}
	if opts.MaxEventAge <= 0 {
		errs = append(errs, fmt.Errorf("max event age %v must be positive", opts.MaxEventAge))
	}
	if opts.WritesPerSecond <= 0 || math.IsInf(opts.WritesPerSecond, 0) || math.IsNaN(opts.WritesPerSecond) {
		errs = append(errs, fmt.Errorf("writes per second %v must be a positive number", opts.WritesPerSecond))
	}
	if opts.StallTimeout < 0 {
		errs = append(errs, fmt.Errorf("stall timeout %v is negative", opts.StallTimeout))
	}
	if opts.DocumentLease < 0 {
		errs = append(errs, fmt.Errorf("document lease %v is negative", opts.DocumentLease))
	}
	if opts.Pacing != "" && opts.Pacing != PacingAccount && opts.Pacing != PacingInstance {
		errs = append(errs, fmt.Errorf("pacing %q is neither %q nor %q", opts.Pacing, PacingAccount, PacingInstance))
	}
	if opts.BudgetWait < 0 || opts.BudgetWait > MaxBudgetWait {
		errs = append(errs, fmt.Errorf("budget wait %v is not between 0 and %v", opts.BudgetWait, MaxBudgetWait))
	}
	if opts.IDBlockSize < 1 || opts.IDBlockSize > 1000 {
		errs = append(errs, fmt.Errorf("id block size %d is not between 1 and 1000", opts.IDBlockSize))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new engine: %w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DocumentLease == 0 {
		opts.DocumentLease = defaultDocumentLease
	}
	if opts.StallTimeout == 0 {
		opts.StallTimeout = defaultStallTimeout
	}
	if opts.Pacing == "" {
		opts.Pacing = PacingAccount
	}
	if opts.BudgetWait == 0 {
		opts.BudgetWait = DefaultBudgetWait
	}
	return &Engine{
		store: opts.Store, conns: opts.Connections, docs: opts.Documents, fanout: opts.Fanout,
		log: opts.Logger, now: opts.Now, maxAge: opts.MaxEventAge, wps: opts.WritesPerSecond,
		idBlock: opts.IDBlockSize, limiters: map[string]*rate.Limiter{}, pools: map[string]*idPool{},
		awaitFor: awaitFor, awaitPollNear: awaitPollNear, awaitPollFar: awaitPollFar, lease: opts.DocumentLease, stall: opts.StallTimeout,
		pacing: opts.Pacing, window: opts.CopyWindow, budgetWait: opts.BudgetWait, shares: map[string]accountShare{}, budgets: map[string]*accountBudget{}, runTasks: map[string]*runTasks{},
	}, nil
}

// canCopy reports whether e was built to copy documents.
func (e *Engine) canCopy() error {
	if e.conns == nil || e.docs == nil {
		return errors.New("engine: built without connection service or efactori client; it cannot copy documents")
	}
	return nil
}

// newHolder names one delivery as the holder of leases.
func newHolder() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}

func keyOf(rec store.ConnectionRecord) store.ConnectionKey {
	return store.ConnectionKey{CompanyID: rec.CompanyID, ID: rec.ID}
}

// connectionSet is the IDs of a company's connections as listed at one version of the set.
type connectionSet struct {
	version int64
	ids     []string
}

// maxCachedCompanies bounds the per-instance cache of connection sets; past it the cache starts
// over, which only costs one query per company.
const maxCachedCompanies = 10000

// readEvent reads what an event of companyID on documentID needs: the switch, every connection
// and the document's mapping in each. The connection IDs come from this instance's cache while
// the company's connection-set version is unchanged, so the common case is one read; a changed
// set costs a query and a second read.
func (e *Engine) readEvent(ctx context.Context, companyID, documentID string) (store.DocumentRead, error) {
	cached, known := e.connSets.Load(companyID)
	var set connectionSet
	if known {
		set = cached.(connectionSet)
	}
	r, err := e.store.ReadDocument(ctx, companyID, set.ids, documentID)
	if err != nil {
		return store.DocumentRead{}, err
	}
	if (known && r.ConnectionsVersion == set.version) || !r.Enabled {
		return r, nil
	}
	// The version read before the listing: a connection added meanwhile raises it again, and
	// the next event lists once more.
	version := r.ConnectionsVersion
	recs, err := e.store.Connections(ctx, companyID)
	if err != nil {
		return store.DocumentRead{}, err
	}
	set = connectionSet{version: version}
	for _, rec := range recs {
		set.ids = append(set.ids, rec.ID)
	}
	if e.connSetCount.Add(1) > maxCachedCompanies {
		e.connSets.Clear()
		e.connSetCount.Store(1)
	}
	e.connSets.Store(companyID, set)
	return e.store.ReadDocument(ctx, companyID, set.ids, documentID)
}

// HandleEvent applies a document event to every active connection of ev.CompanyID. It returns
// nil when the message must be acknowledged (done, skipped, or failed for good and recorded) and
// an error only when a retry can help.
func (e *Engine) HandleEvent(ctx context.Context, ev drivesync.Event) error {
	log := e.log.With("companyId", ev.CompanyID, "documentId", ev.Document.ID, "eventId", ev.EventID)
	if err := ev.Validate(); err != nil {
		log.ErrorContext(ctx, "invalid document event dropped", "err", err)
		return nil
	}
	if err := e.canCopy(); err != nil {
		return err
	}
	r, err := e.readEvent(ctx, ev.CompanyID, ev.Document.ID)
	if err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	if !r.Enabled {
		return nil
	}
	tooOld := e.now().Sub(ev.OccurredAt) > e.maxAge
	deleted := ev.EventType == drivesync.EventDeleted
	var errs []error
	for _, rec := range r.Connections {
		if rec.Status != drivesync.StatusActive {
			// A new run re-visits every live document once the connection is active again.
			continue
		}
		m := r.Mappings[rec.ID]
		if tooOld {
			errs = append(errs, e.dropOld(ctx, rec, m, ev))
			continue
		}
		if !deleted && !m.Created && m.FileID == "" {
			if err := e.inventoried(ctx, rec, ev.Document.ID); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		errs = append(errs, e.syncDocument(ctx, rec, m, ev.Document, deleted, "", mode{}, ev.OccurredAt))
	}
	return errors.Join(errs...)
}

// CodeRunPlanning is the code of a document event deferred because its connection's run has
// not taken the Drive inventory yet.
const CodeRunPlanning = "run_planning"

// inventoried answers a retryable CodeRunPlanning error when rec's target folder was reused
// (its company folder existed: an earlier connection's, after a disconnect and a reconnect) and
// rec's run is pending or has not planned yet: a document rec has no mapping for may then have a
// file there, which only the run's inventory finds and adopts, and copying it now would make a
// second file. Once the run has published its first window, every file of the inventory is
// adopted, and a document still without a mapping has none. It costs one read, only for a
// document the connection does not know while such a run starts.
func (e *Engine) inventoried(ctx context.Context, rec store.ConnectionRecord, documentID string) error {
	if !rec.TargetReused {
		return nil
	}
	switch rec.InitialCopy.State {
	case drivesync.CopyPending, drivesync.CopyRunning:
	default:
		return nil
	}
	w, err := e.store.RunWindow(ctx, keyOf(rec), rec.InitialCopy.RunID)
	if err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	if w.Recorded {
		return nil
	}
	return drivesync.Classify(fmt.Errorf("document %s: run %s of connection %s has not taken the drive inventory yet", documentID, rec.InitialCopy.RunID, rec.ID),
		drivesync.Retryable, CodeRunPlanning)
}

// HandleTask copies one document into one connection's Drive for an initial-copy run. A task of
// a superseded run, of a connection that is not active, or of a company whose integration is
// off is acknowledged and ignored.
func (e *Engine) HandleTask(ctx context.Context, t drivesync.CopyTask) error {
	log := e.log.With("companyId", t.CompanyID, "connectionId", t.ConnectionID, "documentId", t.Document.ID, "runId", t.RunID)
	if err := t.Validate(); err != nil {
		log.ErrorContext(ctx, "invalid copy task dropped", "err", err)
		return nil
	}
	if err := e.canCopy(); err != nil {
		return err
	}
	// A task of an account known to have no budget now goes back before anything is read.
	if err := e.hot(t.ConnectionID); err != nil {
		return err
	}
	r, err := e.store.ReadDocument(ctx, t.CompanyID, []string{t.ConnectionID}, t.Document.ID, e.prefetchFolders(t.ConnectionID, t.Document)...)
	if err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	if !r.Enabled || len(r.Connections) == 0 {
		return nil
	}
	rec := r.Connections[0]
	e.folderHints.Store(rec.ID, folderHint{companyFolder: rec.Target.CompanyFolderID, layout: rec.FolderLayout, locale: rec.Locale})
	ctx = withSeenFolders(ctx, r.Folders)
	if rec.InitialCopy.RunID != t.RunID || rec.Status != drivesync.StatusActive {
		log.DebugContext(ctx, "copy task of a superseded run or an inactive connection ignored")
		return nil
	}
	// The run's completion is checked by its await requests, not here: counting the mappings
	// after every document would cost more than copying them.
	return e.syncDocument(ctx, rec, r.Mappings[rec.ID], t.Document, false, t.RunID, mode{verify: t.Verify, retry: t.Retry}, rec.InitialCopy.StartedAt)
}

// HandleCopyRequest runs a copy request: the reconcile of a connection's run (its first
// request), a watch over the run's end (an await request), or the scheduled reconcile of every
// active connection. A request of a superseded run is acknowledged and ignored.
func (e *Engine) HandleCopyRequest(ctx context.Context, r drivesync.CopyRequest) error {
	log := e.log.With("companyId", r.CompanyID, "connectionId", r.ConnectionID, "runId", r.RunID)
	if err := r.Validate(); err != nil {
		log.ErrorContext(ctx, "invalid copy request dropped", "err", err)
		return nil
	}
	if r.Scheduled {
		return e.scheduleReconciles(ctx)
	}
	in, err := e.store.Integration(ctx, r.CompanyID)
	if err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	if !in.Enabled {
		return nil
	}
	rec, err := e.store.Connection(ctx, r.CompanyID, r.ConnectionID)
	switch {
	case errors.Is(err, drivesync.ErrNotFound):
		return nil
	case err != nil:
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	if !runGoesOn(rec, r.RunID) {
		log.InfoContext(ctx, "copy request of a superseded or failed run, or of an inactive connection, ignored")
		return nil
	}
	if r.Await {
		return e.awaitDone(ctx, rec, r)
	}
	if rec.InitialCopy.State == drivesync.CopyPending {
		if err := e.markRunning(ctx, rec, r.RunID); err != nil {
			return err
		}
	}
	return e.reconcile(ctx, rec, r, log)
}

// scheduleReconciles starts a reconcile run of every active connection of every company whose
// integration is on, so that lost events and changes made by hand in Drive heal on their own. A
// connection whose run is still going is left to it; one whose run is still pending gets its
// request again (an earlier walk may have died between the two).
func (e *Engine) scheduleReconciles(ctx context.Context) error {
	enabled := map[string]bool{}
	started := 0
	err := e.store.ActiveConnections(ctx, func(rec store.ConnectionRecord) error {
		on, known := enabled[rec.CompanyID]
		if !known {
			in, err := e.store.Integration(ctx, rec.CompanyID)
			if err != nil {
				return err
			}
			on = in.Enabled
			enabled[rec.CompanyID] = on
		}
		// A run still going is left to it, unless it has gone on so long that its watch must
		// have been lost (an await request dead-lettered): then a new run supersedes it.
		if !on || (rec.InitialCopy.State == drivesync.CopyRunning && e.now().Sub(rec.InitialCopy.StartedAt) < abandonedRun) {
			return nil
		}
		runID := rec.InitialCopy.RunID
		if rec.InitialCopy.State != drivesync.CopyPending || runID == "" {
			// Done, failed, never started, or abandoned: a new run.
			runID = newHolder()
			updated, err := e.store.UpdateConnection(ctx, rec.CompanyID, rec.ID, func(r *store.ConnectionRecord) error {
				if r.Status != drivesync.StatusActive || r.InitialCopy.RunID != rec.InitialCopy.RunID {
					return errSuperseded
				}
				r.InitialCopy = drivesync.InitialCopy{State: drivesync.CopyPending, RunID: runID, Kind: drivesync.RunScheduled}
				return nil
			})
			switch {
			case errors.Is(err, errSuperseded), errors.Is(err, drivesync.ErrNotFound):
				return nil
			case err != nil:
				return err
			}
			rec = updated
		}
		started++
		return e.fanout.PublishRequest(ctx, drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion,
			CompanyID: rec.CompanyID, ConnectionID: rec.ID, RunID: runID})
	})
	if err != nil {
		return drivesync.Classify(fmt.Errorf("scheduled reconcile: %w", err), drivesync.Retryable, "firestore")
	}
	e.log.InfoContext(ctx, "scheduled reconcile started", "connections", started)
	return nil
}

// abandonedRun is how long a run may stay running before the scheduled reconcile supersedes it;
// runs are repaired or failed by their await requests long before.
const abandonedRun = 12 * time.Hour

// errSuperseded ends an update that found the connection changed since it was read.
var errSuperseded = errors.New("connection changed meanwhile")

// markRunning moves the run from pending to running.
func (e *Engine) markRunning(ctx context.Context, rec store.ConnectionRecord, runID string) error {
	_, err := e.store.UpdateConnection(ctx, rec.CompanyID, rec.ID, func(r *store.ConnectionRecord) error {
		if r.InitialCopy.RunID == runID && r.InitialCopy.State == drivesync.CopyPending {
			r.InitialCopy.State = drivesync.CopyRunning
			r.InitialCopy.StartedAt = e.now()
		}
		return nil
	})
	if err != nil && !errors.Is(err, drivesync.ErrNotFound) {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	return nil
}

// runGoesOn reports whether runID is rec's current run and still to be worked on: not
// superseded, not failed, and the connection active.
func runGoesOn(rec store.ConnectionRecord, runID string) bool {
	return rec.InitialCopy.RunID == runID && rec.Status == drivesync.StatusActive && rec.InitialCopy.State != drivesync.CopyFailed
}

// markFailed ends run runID as failed: eFactori's list or the Drive inventory cannot be read
// for good. The connection stays active (events still copy) and its lastError says what to do.
func (e *Engine) markFailed(ctx context.Context, rec store.ConnectionRecord, runID string, cause error) error {
	return e.endFailed(ctx, rec, runID, "eFactori's document list or the Google Drive folder could not be read ("+codeOf(cause)+
		"); sync again, or contact support if it persists.")
}

// endFailed ends run runID as failed with msg as the connection's lastError.
func (e *Engine) endFailed(ctx context.Context, rec store.ConnectionRecord, runID, msg string) error {
	p, err := e.store.CopyProgress(ctx, keyOf(rec), runID)
	if err != nil {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	return e.endRun(ctx, rec, runID, p, drivesync.CopyFailed, func(r *store.ConnectionRecord) {
		r.LastError = &drivesync.LastError{Code: drivesync.CodeCopyFailed, At: e.now(), Message: msg}
	})
}

// endRun records that run runID ended in state with progress p, and lets also change the
// connection, unless the run was superseded or had already ended.
func (e *Engine) endRun(ctx context.Context, rec store.ConnectionRecord, runID string, p store.CopyProgress,
	state drivesync.CopyState, also func(*store.ConnectionRecord)) error {
	_, err := e.store.UpdateConnection(ctx, rec.CompanyID, rec.ID, func(r *store.ConnectionRecord) error {
		if r.InitialCopy.RunID != runID || r.InitialCopy.State == drivesync.CopyDone || r.InitialCopy.State == drivesync.CopyFailed {
			return nil
		}
		r.InitialCopy.State = state
		r.InitialCopy.Listed, r.InitialCopy.Synced, r.InitialCopy.Failed = p.Listed, p.Synced, p.Failed
		r.InitialCopy.FinishedAt = e.now()
		also(r)
		return nil
	})
	if err != nil && !errors.Is(err, drivesync.ErrNotFound) {
		return drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	return nil
}

// Await requests: how long one waits for the end of its run before handing over to the next,
// and how often it counts. The count is cheap but not free (a count aggregation reads one index
// entry in a thousand), so it is frequent only near the end.
const (
	awaitFor        = 15 * time.Second
	awaitPollNear   = time.Second
	awaitPollFar    = 5 * time.Second
	awaitNearTheEnd = 100 // documents left
)

// awaitDone handles an await request of rec's run: it checks the run's progress until the run
// is done, for up to awaitFor, then publishes the request again. It stops when the run is
// superseded or the connection is no longer active (a new run starts once it is again).
func (e *Engine) awaitDone(ctx context.Context, rec store.ConnectionRecord, r drivesync.CopyRequest) error {
	until := time.Now().Add(e.awaitFor)
	if d, ok := ctx.Deadline(); ok && d.Add(-2*time.Second).Before(until) {
		until = d.Add(-2 * time.Second)
	}
	var cursor windowCursor
	w := e.watchRun(ctx, rec, r.RunID)
	defer w.stop()
	tailRepaired := false // at most once per await request
	read := time.Now()    // when rec was last read, when its listener does not work
	for {
		polled := time.Now()
		next, gone, follows := w.connection()
		if !follows && !gone && time.Since(read) >= e.awaitPollFar {
			// A superseded run or a connection no longer active is seen within a far poll: in
			// between, its window may publish a few more tasks, which their deliveries ignore.
			read = time.Now()
			got, err := e.store.Connection(ctx, rec.CompanyID, rec.ID)
			switch {
			case errors.Is(err, drivesync.ErrNotFound):
				gone = true
			case err != nil:
				return drivesync.Classify(err, drivesync.Retryable, "firestore")
			}
			next = &got
		}
		if gone {
			return nil
		}
		if next != nil {
			if rec = *next; !runGoesOn(rec, r.RunID) {
				return nil
			}
		}
		p, err := e.checkDone(ctx, rec, r.RunID, w)
		if err != nil || p.Done() {
			return err
		}
		repairs := r.Repairs
		if err := e.unstall(ctx, rec, &r, p); err != nil || r.Repairs > maxRepairs {
			return err
		}
		if r.Repairs != repairs {
			cursor = windowCursor{} // a repair may have moved the window
		}
		more, err := e.advanceWindow(ctx, rec, r.RunID, p, &cursor)
		if err != nil {
			return err
		}
		if !more && !tailRepaired {
			if tailRepaired, err = e.repairTail(ctx, rec, r, p); err != nil {
				return err
			}
		}
		// While tasks are left to publish, the window is topped up every near poll: it holds
		// only a few seconds of the account's writes. A change of the connection wakes the
		// request at once.
		wait := e.awaitPollFar
		if more || p.AllListed && p.Listed-p.Synced-p.Failed <= awaitNearTheEnd {
			wait = e.awaitPollNear
		}
		wait = max(0, wait-time.Since(polled)) // the window's publishing took part of it
		if more && wait == 0 {
			wait = e.awaitPollNear / 10 // a long trickle: count again soon, not at once
		}
		if time.Now().Add(wait).After(until) {
			break
		}
		select {
		case <-ctx.Done():
			return drivesync.Classify(fmt.Errorf("await run %s: %w", r.RunID, ctx.Err()), drivesync.Retryable, "canceled")
		case <-w.changed:
		case <-time.After(wait):
		}
	}
	if err := e.recordWindow(ctx, rec, r.RunID, &cursor); err != nil {
		return err
	}
	return e.fanout.PublishRequest(ctx, r)
}

// unstall keeps the stall bookkeeping of await request r from the run's progress p: a run whose
// count of finished documents has not moved for the stall timeout is repaired (its unfinished
// copy tasks published again); after maxRepairs repairs without progress it ends failed, and
// r.Repairs goes past maxRepairs to say so.
func (e *Engine) unstall(ctx context.Context, rec store.ConnectionRecord, r *drivesync.CopyRequest, p store.CopyProgress) error {
	now, done := e.now(), p.Synced+p.Failed
	if r.MovedAt.IsZero() || done > r.Done {
		r.Done, r.MovedAt, r.Repairs = done, now, 0
		return nil
	}
	if now.Sub(r.MovedAt) < e.stall {
		return nil
	}
	log := e.log.With("companyId", rec.CompanyID, "connectionId", rec.ID, "runId", r.RunID)
	if r.Repairs >= maxRepairs {
		r.Repairs++
		log.ErrorContext(ctx, "run made no progress after repairs; ended failed", "repairs", maxRepairs, "done", done, "listed", p.Listed)
		return e.endFailed(ctx, rec, r.RunID, fmt.Sprintf("%d documents could not be copied after %d attempts; sync again, or contact support if it persists.",
			max(p.Listed-done, 0), maxRepairs+1))
	}
	n, err := e.repair(ctx, rec, r.RunID)
	if err != nil {
		return err
	}
	r.Repairs++
	r.MovedAt = now
	log.WarnContext(ctx, "run made no progress; its unfinished copy tasks published again", "stalledFor", e.stall.String(),
		"republished", n, "repair", r.Repairs)
	return nil
}

// tailStall is how long the last few tasks of a run may make no progress, every task
// published, before they are published again (repairTail).
const tailStall = 8 * time.Second

// repairTail publishes again the unfinished tasks of run r when only about a window of them is
// left, every task is published and none finished for tailStall. Those are tasks a delivery
// answered busy or lost with its instance, waiting out Pub/Sub's backoff (10 s, 20 s, 40 s …)
// while their account has nothing else to write: the run would end that much later. Their
// redeliveries are skipped when they come (the documents are final by then). It reads the
// mappings of the run's tasks, once per await request at most, and reports whether it
// republished.
func (e *Engine) repairTail(ctx context.Context, rec store.ConnectionRecord, r drivesync.CopyRequest, p store.CopyProgress) (bool, error) {
	left := p.Listed - p.Synced - p.Failed
	if !p.AllListed || left <= 0 || left > max(1, e.windowOf(ctx, rec)) || r.MovedAt.IsZero() || e.now().Sub(r.MovedAt) < tailStall {
		return false, nil
	}
	n, err := e.repair(ctx, rec, r.RunID)
	if err != nil {
		return false, err
	}
	e.log.InfoContext(ctx, "last copy tasks of the run idle; published again", "companyId", rec.CompanyID, "connectionId", rec.ID,
		"runId", r.RunID, "left", left, "republished", n)
	return true, nil
}

// checkDone marks run done when every listed document reached a final state, and returns the
// run's progress. The run's last page and its await requests call it; an await request passes
// its watch (nil for none), so that each of its polls is one count until the run is done.
func (e *Engine) checkDone(ctx context.Context, rec store.ConnectionRecord, runID string, w *runWatch) (store.CopyProgress, error) {
	if rec.InitialCopy.State == drivesync.CopyDone {
		return store.CopyProgress{Listed: rec.InitialCopy.Listed, Synced: rec.InitialCopy.Synced,
			Failed: rec.InitialCopy.Failed, AllListed: true}, nil
	}
	if w != nil {
		p, err := e.poll(ctx, rec, runID, w)
		if err != nil || !p.Done() {
			return p, err
		}
	}
	// The end: synced and failed counted apart, for the record.
	p, err := e.store.CopyProgress(ctx, keyOf(rec), runID)
	if err != nil {
		return store.CopyProgress{}, drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	if !p.Done() {
		if w != nil {
			// The watch's count went past the exact one (a document changed again after the
			// watch's first count): from now on it counts from the exact one.
			w.calibrate(p.Synced + p.Failed - w.pages.Matched - w.pages.Invalid)
		}
		return p, nil
	}
	if err := e.endRun(ctx, rec, runID, p, drivesync.CopyDone, func(r *store.ConnectionRecord) { r.LastSyncAt = e.now() }); err != nil {
		return store.CopyProgress{}, err
	}
	e.log.InfoContext(ctx, "initial copy done", "companyId", rec.CompanyID, "connectionId", rec.ID, "runId", runID,
		"listed", p.Listed, "synced", p.Synced, "failed", p.Failed)
	return p, nil
}

// poll returns run runID's progress for watch w: its pages (read again, at most once a second,
// until the last one is listed) and its finished mappings, counted with one aggregation (of
// those finished since w started). Only the sum of Synced and Failed is exact (Synced counts
// the failed mappings too), which is all a watch needs before the end.
func (e *Engine) poll(ctx context.Context, rec store.ConnectionRecord, runID string, w *runWatch) (store.CopyProgress, error) {
	if !w.pages.AllListed && time.Since(w.pagesRead) >= time.Second {
		pages, err := e.store.RunPages(ctx, keyOf(rec), runID)
		if err != nil {
			return store.CopyProgress{}, drivesync.Classify(err, drivesync.Retryable, "firestore")
		}
		w.pages, w.pagesRead = pages, time.Now()
	}
	n, err := w.finished(ctx, e.store, runID)
	if err != nil {
		return store.CopyProgress{}, drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	return store.CopyProgress{Listed: w.pages.Listed, Synced: w.pages.Matched + n, Failed: w.pages.Invalid,
		AllListed: w.pages.AllListed}, nil
}
