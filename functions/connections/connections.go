// Package connections is the Connections HTTP function: it builds the connection API from the
// environment once per instance and hands it every request.
package connections

import (
	"context"
	"net/http"
	"os"

	"github.com/efactori/drivesync/shared/api"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/logging"
	"github.com/efactori/drivesync/shared/wiring"
)

// New builds the connection API from configuration read through lookup.
func New(ctx context.Context, lookup config.Lookup) (http.Handler, error) {
	cfg, err := config.LoadConnections(lookup)
	if err != nil {
		return nil, err
	}
	log := logging.New(os.Stdout, logging.Options{Level: cfg.LogLevel, ProjectID: cfg.ProjectID})
	return wiring.Connections(ctx, cfg, log)
}

// handler builds the API on the first request rather than in init(): no I/O at start-up.
var handler = wiring.Lazy(
	func(ctx context.Context) (http.Handler, error) { return New(ctx, config.Environment) },
	logging.New(os.Stderr, logging.Options{}),
	http.HandlerFunc(api.WriteUnavailable),
)

// Handle is the Cloud Functions entry point.
func Handle(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }
