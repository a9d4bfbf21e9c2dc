// Package connections is the Connections HTTP function: it builds the connection API from the
// environment once per instance and hands it every request.
package connections

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"

	"cloud.google.com/go/firestore"

	"github.com/efactori/drivesync/shared/api"
	"github.com/efactori/drivesync/shared/auth"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/logging"
	"github.com/efactori/drivesync/shared/problem"
	"github.com/efactori/drivesync/shared/store"
)

// New builds the connection API from configuration read through lookup.
func New(ctx context.Context, lookup config.Lookup) (http.Handler, error) {
	cfg, err := config.LoadConnections(lookup)
	if err != nil {
		return nil, err
	}
	log := logging.New(os.Stdout, logging.Options{Level: cfg.LogLevel, ProjectID: cfg.ProjectID})
	fs, err := firestore.NewClientWithDatabase(context.WithoutCancel(ctx), cfg.ProjectID, cfg.FirestoreDatabase)
	if err != nil {
		return nil, fmt.Errorf("firestore client: %w", err)
	}
	st, err := store.New(fs, nil)
	if err != nil {
		return nil, err
	}
	verifier, err := auth.NewVerifier(cfg.EFactoriIssuer, cfg.EFactoriAudience, nil)
	if err != nil {
		return nil, err
	}
	return api.New(api.Options{Verifier: verifier, Integrations: st, Logger: log, FrontendOrigins: cfg.FrontendOrigins})
}

var (
	mu      sync.Mutex
	handler http.Handler
)

// Handle is the Cloud Functions entry point. The API is built on the first request rather than in
// init() (no I/O at start-up), and a failed build is retried on the next request instead of
// leaving the instance broken for its lifetime.
func Handle(w http.ResponseWriter, r *http.Request) {
	mu.Lock()
	if handler == nil {
		h, err := New(r.Context(), config.Environment)
		if err != nil {
			mu.Unlock()
			logging.New(os.Stderr, logging.Options{}).ErrorContext(r.Context(), "connections function not ready", "err", err)
			problem.Write(w, r, problem.New("unavailable", http.StatusServiceUnavailable, "Service unavailable", "The service is misconfigured or starting; try again shortly."))
			return
		}
		handler = h
	}
	h := handler
	mu.Unlock()
	h.ServeHTTP(w, r)
}
