// Package wiring builds drivesync's production dependencies from configuration: it is the one
// place that knows which Firestore database, OAuth provider, Drive endpoint, keyset and Pub/Sub
// topic a function talks to. Functions call it once per instance, through Lazy (HTTP) or Once
// (CloudEvent).
package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"

	"github.com/efactori/drivesync/shared/api"
	"github.com/efactori/drivesync/shared/auth"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/efactori"
	"github.com/efactori/drivesync/shared/engine"
	"github.com/efactori/drivesync/shared/fanout"
	"github.com/efactori/drivesync/shared/history"
	"github.com/efactori/drivesync/shared/oauth"
	"github.com/efactori/drivesync/shared/pacing"
	"github.com/efactori/drivesync/shared/queue"
	"github.com/efactori/drivesync/shared/statusevent"
	"github.com/efactori/drivesync/shared/store"
	"github.com/efactori/drivesync/shared/tokencrypt"
)

// userAgent tells Google's logs which program called.
const userAgent = "drivesync"

// Connections builds the connection API of the Connections function.
func Connections(ctx context.Context, cfg config.Connections, log *slog.Logger) (_ *api.Server, err error) {
	if log == nil {
		return nil, errors.New("wire connections: nil logger")
	}
	c, err := newClients(ctx, cfg.Common, log)
	if err != nil {
		return nil, fmt.Errorf("wire connections: %w", err)
	}
	defer func() {
		if err != nil {
			// Closed, so a retried initialisation does not leak a connection per attempt.
			c.close()
		}
	}()
	var budget connection.WriteBudget
	if cfg.Pacing == config.PacingAccount {
		// A person's click may wait as long as a live document event does for its slot.
		gate, err := pacing.NewGate(c.store, cfg.WritesPerSecond, cfg.BudgetWait+engine.LiveLead)
		if err != nil {
			return nil, fmt.Errorf("wire connections: %w", err)
		}
		budget = gate
	}
	svc, err := connectionService(ctx, c, cfg.Google, log, cfg.MaxConnectionsPerCompany, budget)
	if err != nil {
		return nil, fmt.Errorf("wire connections: %w", err)
	}
	docs, err := documentHistory(c)
	if err != nil {
		return nil, fmt.Errorf("wire connections: %w", err)
	}
	verifier, err := auth.NewVerifier(cfg.EFactoriIssuer, cfg.EFactoriAudience, nil)
	if err != nil {
		return nil, fmt.Errorf("wire connections: %w", err)
	}
	var picker *api.PickerOptions
	if cfg.DriveScope == "drive.file" { // drivesync sees only what customers pick
		picker = &api.PickerOptions{AppID: cfg.PickerAppID, DeveloperKey: cfg.PickerAPIKey}
	}
	srv, err := api.New(api.Options{Verifier: verifier, Service: svc, Documents: docs, Logger: log, FrontendOrigins: cfg.FrontendOrigins, Picker: picker})
	if err != nil {
		return nil, fmt.Errorf("wire connections: %w", err)
	}
	return srv, nil
}

// OAuthCallback builds the OAuth callback of the OAuthCallback function.
func OAuthCallback(ctx context.Context, cfg config.OAuthCallback, log *slog.Logger) (*api.Callback, error) {
	if log == nil {
		return nil, errors.New("wire oauth callback: nil logger")
	}
	svc, err := service(ctx, cfg.Common, cfg.Google, log)
	if err != nil {
		return nil, fmt.Errorf("wire oauth callback: %w", err)
	}
	cb, err := api.NewCallback(api.CallbackOptions{Callbacks: svc, Logger: log, FrontendURL: cfg.FrontendURL,
		RedirectURL: cfg.OAuthRedirectURL})
	if err != nil {
		return nil, fmt.Errorf("wire oauth callback: %w", err)
	}
	return cb, nil
}

// driveScopes maps DRIVE_SCOPE to the OAuth scope asked for.
var driveScopes = map[string]string{
	"drive":      oauth.ScopeDrive,
	"drive.file": "https://www.googleapis.com/auth/drive.file",
}

// clients are the Google Cloud clients of one function instance.
type clients struct {
	store   *store.Store
	pubsub  *pubsub.Client
	closers []func() error
}

func (c *clients) close() {
	for _, f := range c.closers {
		_ = f()
	}
}

// newClients makes the Firestore and Pub/Sub clients; they connect on first use. The store
// publishes the status events of the changes it records on config.TopicStatusEvents.
func newClients(ctx context.Context, common config.Common, log *slog.Logger) (*clients, error) {
	c := &clients{}
	// The clients outlive the request that happens to build them.
	bg := context.WithoutCancel(ctx)
	fs, err := firestore.NewClientWithDatabase(bg, common.ProjectID, common.FirestoreDatabase)
	if err != nil {
		return nil, fmt.Errorf("firestore client: %w", err)
	}
	c.closers = append(c.closers, fs.Close)
	if c.pubsub, err = pubsub.NewClient(bg, common.ProjectID); err != nil {
		c.close()
		return nil, fmt.Errorf("pubsub client: %w", err)
	}
	c.closers = append(c.closers, c.pubsub.Close)
	ps, err := statusevent.NewPubSubPublisher(c.pubsub, config.TopicStatusEvents)
	if err != nil {
		c.close()
		return nil, err
	}
	events, err := statusevent.NewPublisher(ps, log)
	if err != nil {
		c.close()
		return nil, err
	}
	if c.store, err = store.New(fs, nil, store.WithStatusEvents(events, log)); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// service builds the connection service both HTTP functions use. Nothing here does I/O except
// tokencrypt.Load with a KMS key; the clients connect on first use.
func service(ctx context.Context, common config.Common, g config.Google, log *slog.Logger) (*connection.Service, error) {
	c, err := newClients(ctx, common, log)
	if err != nil {
		return nil, err
	}
	svc, err := connectionService(ctx, c, g, log, 0, nil)
	if err != nil {
		// Closed, so a retried initialisation does not leak a connection per attempt.
		c.close()
		return nil, err
	}
	return svc, nil
}

// connectionService builds the connection service on c: OAuth, Drive access and the token
// cipher from g. maxConns caps each company's connections and budget paces the folders the
// service creates; only the Connections function creates either, so the others pass 0
// (connection.DefaultMaxConnections) and nil.
func connectionService(ctx context.Context, c *clients, g config.Google, log *slog.Logger, maxConns int, budget connection.WriteBudget) (*connection.Service, error) {
	scope, ok := driveScopes[g.DriveScope]
	if !ok {
		return nil, fmt.Errorf("unknown drive scope %q", g.DriveScope)
	}
	cipher, err := tokencrypt.Load(ctx, tokencrypt.Source{
		Keyset:         []byte(g.TokenKeyset),
		KEKURI:         g.TokenKEKURI,
		AllowCleartext: g.TokenKeysetCleartext,
	})
	if err != nil {
		return nil, err
	}
	provider := oauth.Google()
	var driveOpts drive.Options
	if g.EmulatorURL != "" {
		provider = oauth.EmulatorProvider(g.EmulatorURL)
		// The emulator serves Drive under the same base URL as OAuth (local/googleemu).
		driveOpts.Endpoint = g.EmulatorURL + "/drive/v3/"
	}
	driveOpts.UserAgent = userAgent
	oc, err := oauth.New(oauth.Options{
		ClientID:     g.OAuthClientID,
		ClientSecret: g.OAuthClientSecret,
		RedirectURL:  g.OAuthRedirectURL,
		Scopes:       []string{oauth.ScopeOpenID, oauth.ScopeEmail, scope},
		Provider:     provider,
	})
	if err != nil {
		return nil, err
	}
	copies, err := queue.NewPublisher(c.pubsub.Publisher(config.TopicCopyRequests))
	if err != nil {
		return nil, err
	}
	return connection.New(connection.Options{
		Store:      c.store,
		OAuth:      oc,
		Cipher:     cipher,
		Drive:      driveOpts,
		DriveScope: g.DriveScope,
		Copies:     copies,
		Logger:     log,

		MaxConnections: maxConns,
		WriteBudget:    budget,
	})
}

// documentHistory builds the document history on c: it reads the mappings and publishes a
// customer's retries on the copy-task topic, as a run's repair does.
func documentHistory(c *clients) (*history.Service, error) {
	tasks, err := fanout.NewTaskPublisher(c.pubsub, config.TopicCopyTasks)
	if err != nil {
		return nil, err
	}
	retrier, err := fanout.NewRetrier(tasks)
	if err != nil {
		return nil, err
	}
	return history.New(c.store, retrier)
}

// idBlockSize is how many Drive file IDs one files.generateIds call reserves per connection and
// instance: Drive's maximum, so reserving costs one call per 1,000 new files. IDs an instance
// dies with cost nothing.
const idBlockSize = 1000

// documents builds the eFactori document API client: an ID token for cfg.Audience in
// production, the stand-in's static token locally.
func documents(ctx context.Context, cfg config.Documents, log *slog.Logger) (*efactori.Client, error) {
	var (
		hc  *http.Client
		err error
	)
	if cfg.DevToken != "" {
		hc, err = efactori.NewStaticTokenClient(cfg.DevToken, nil)
	} else {
		// The token source refreshes later with this context: it must outlive the request.
		hc, err = efactori.NewIDTokenClient(context.WithoutCancel(ctx), cfg.Audience, nil)
	}
	if err != nil {
		return nil, err
	}
	return efactori.New(cfg.URL, hc, efactori.Options{Logger: log})
}

// copyEngine builds the engine of an event function on c. stallTimeout only matters to the
// engine that runs copy requests (InitialCopy); 0 means the engine's default.
func copyEngine(ctx context.Context, c *clients, conns *connection.Service, docs config.Documents, pageSize int,
	maxAge, lease, stallTimeout time.Duration, pace enginePacing, log *slog.Logger) (*engine.Engine, error) {
	dc, err := documents(ctx, docs, log)
	if err != nil {
		return nil, err
	}
	tasks, err := fanout.NewTaskPublisher(c.pubsub, config.TopicCopyTasks)
	if err != nil {
		return nil, err
	}
	requests, err := fanout.NewRequestPublisher(c.pubsub, config.TopicCopyRequests)
	if err != nil {
		return nil, err
	}
	fo, err := fanout.New(dc, tasks, requests, pageSize)
	if err != nil {
		return nil, err
	}
	return engine.New(engine.Options{
		Store: c.store, Connections: conns, Documents: dc, Fanout: fo, Logger: log,
		MaxEventAge: maxAge, DocumentLease: lease, StallTimeout: stallTimeout, IDBlockSize: idBlockSize,
		WritesPerSecond: pace.wps, Pacing: engine.Pacing(pace.mode), CopyWindow: pace.window, BudgetWait: pace.wait,
	})
}

// enginePacing is how an engine keeps to Drive's write limit, and how far ahead a run publishes.
type enginePacing struct {
	wps    float64
	mode   string        // config.PacingAccount or config.PacingInstance
	window int           // config.InitialCopy.CopyWindow
	wait   time.Duration // DRIVE_BUDGET_WAIT
}

// SyncDocument builds the copy engine of the SyncDocument function, which applies document
// events and copy tasks to Drive.
func SyncDocument(ctx context.Context, cfg config.SyncDocument, log *slog.Logger) (_ *engine.Engine, err error) {
	if log == nil {
		return nil, errors.New("wire sync document: nil logger")
	}
	c, err := newClients(ctx, cfg.Common, log)
	if err != nil {
		return nil, fmt.Errorf("wire sync document: %w", err)
	}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	conns, err := connectionService(ctx, c, cfg.Google, log, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("wire sync document: %w", err)
	}
	// SyncDocument never lists pages nor watches runs (its engine is not handed copy requests),
	// so the page size of its fan-out and the stall timeout are irrelevant; the default page
	// size keeps the fan-out valid.
	e, err := copyEngine(ctx, c, conns, cfg.Documents, defaultPageSize, cfg.MaxEventAge, cfg.DocumentLease, 0,
		enginePacing{wps: cfg.WritesPerSecond, mode: cfg.Pacing, wait: cfg.BudgetWait}, log)
	if err != nil {
		return nil, fmt.Errorf("wire sync document: %w", err)
	}
	return e, nil
}

// defaultPageSize is COPY_PAGE_SIZE's default, for the engine that never fans out.
const defaultPageSize = 500

// InitialCopy builds the copy engine of the InitialCopy function, which handles copy requests:
// it lists a page of documents, publishes their copy tasks and keeps the run's bookkeeping in
// Firestore, starts the scheduled reconcile runs, and for a reconcile takes an inventory of the
// connection's Drive, trashes stray duplicates and records mappings. It therefore reaches Drive
// through the connection service, with the token keyset and the OAuth client secret, as
// SyncDocument does.
func InitialCopy(ctx context.Context, cfg config.InitialCopy, log *slog.Logger) (_ *engine.Engine, err error) {
	if log == nil {
		return nil, errors.New("wire initial copy: nil logger")
	}
	c, err := newClients(ctx, cfg.Common, log)
	if err != nil {
		return nil, fmt.Errorf("wire initial copy: %w", err)
	}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	conns, err := connectionService(ctx, c, cfg.Google, log, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("wire initial copy: %w", err)
	}
	// Document events never reach this engine; their maximum age only needs to be valid.
	e, err := copyEngine(ctx, c, conns, cfg.Documents, cfg.PageSize, 24*time.Hour, cfg.DocumentLease, cfg.StallTimeout,
		enginePacing{wps: cfg.WritesPerSecond, mode: cfg.Pacing, window: cfg.CopyWindow, wait: cfg.BudgetWait}, log)
	if err != nil {
		return nil, fmt.Errorf("wire initial copy: %w", err)
	}
	return e, nil
}

// Once returns a function that builds a value with build on its first call and returns it on
// every later one: the CloudEvent counterpart of Lazy. A failed build is retried on the next
// call instead of leaving the instance broken; concurrent first calls wait for one build.
func Once[T any](build func(ctx context.Context) (T, error)) func(ctx context.Context) (T, error) {
	var (
		mu    sync.Mutex
		built bool
		v     T
	)
	return func(ctx context.Context) (T, error) {
		mu.Lock()
		defer mu.Unlock()
		if built {
			return v, nil
		}
		nv, err := build(ctx)
		if err != nil {
			var zero T
			return zero, err
		}
		v, built = nv, true
		return v, nil
	}
}

// Lazy returns a handler that builds its real handler with build on the first request and
// reuses it afterwards. Building on a request rather than in init() keeps I/O out of start-up;
// a failed build is retried on the next request instead of leaving the instance broken for its
// lifetime, and meanwhile the request is answered 503. Concurrent first requests wait for one
// build.
func Lazy(build func(ctx context.Context) (http.Handler, error), log *slog.Logger, unavailable http.Handler) http.Handler {
	var (
		mu sync.Mutex
		h  http.Handler
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if h == nil {
			built, err := build(r.Context())
			if err != nil {
				mu.Unlock()
				log.ErrorContext(r.Context(), "function not ready", "err", err)
				unavailable.ServeHTTP(w, r)
				return
			}
			h = built
		}
		ready := h
		mu.Unlock()
		ready.ServeHTTP(w, r)
	})
}
