// Package initialcopy is the InitialCopy event function: it receives drivesync's copy requests
// (a connection's run to reconcile, an await request watching a run's end, or the scheduled
// request that reconciles every active connection), decodes them strictly and hands them to the
// copy engine. A message that cannot be decoded is logged and acknowledged; an error goes back to Pub/Sub only
// when the engine says a retry can help.
package initialcopy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/efactori/drivesync/functions/internal/pushed"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/engine"
	"github.com/efactori/drivesync/shared/logging"
	"github.com/efactori/drivesync/shared/wiring"
)

// Engine is what the function needs of the copy engine. HandleCopyRequest returns nil when the
// message is to be acknowledged and an error only when a retry can help.
type Engine interface {
	HandleCopyRequest(ctx context.Context, r drivesync.CopyRequest) error
}

var _ Engine = (*engine.Engine)(nil)

// Handler turns CloudEvents into engine calls.
type Handler struct {
	engine Engine
	log    *slog.Logger
}

// NewHandler returns a Handler calling e.
func NewHandler(e Engine, log *slog.Logger) (*Handler, error) {
	if e == nil || log == nil {
		return nil, errors.New("new initial copy handler: nil engine or logger")
	}
	return &Handler{engine: e, log: log}, nil
}

// New builds the function's handler from configuration read through lookup.
func New(ctx context.Context, lookup config.Lookup) (*Handler, error) {
	cfg, err := config.LoadInitialCopy(lookup)
	if err != nil {
		return nil, err
	}
	log := logging.New(os.Stdout, logging.Options{Level: cfg.LogLevel, ProjectID: cfg.ProjectID})
	e, err := wiring.InitialCopy(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return NewHandler(e, log)
}

// Handle handles one delivery. Only copy requests reach this function (its one trigger), so the
// topic is not checked: a copy request is recognised by decoding it.
func (h *Handler) Handle(ctx context.Context, e event.Event) error {
	m, err := pushed.Decode(e)
	if err != nil {
		h.log.ErrorContext(ctx, "malformed pub/sub event dropped", "cloudEventId", e.ID(), "source", e.Source(), "err", err)
		return nil
	}
	r, err := drivesync.DecodeCopyRequest(m.Data)
	if err != nil {
		h.log.ErrorContext(ctx, "invalid copy request dropped", "messageId", m.ID, "topic", m.Topic,
			"companyId", m.Attributes["companyId"], "connectionId", m.Attributes["connectionId"], "err", err)
		return nil
	}
	if err := h.engine.HandleCopyRequest(ctx, r); err != nil {
		return fmt.Errorf("copy request of connection %s run %s (message %s): %w", r.ConnectionID, r.RunID, m.ID, err)
	}
	return nil
}

// instance is built on the first delivery rather than in init(): no I/O at start-up, and a
// failed build is retried on the next delivery.
var instance = wiring.Once(func(ctx context.Context) (*Handler, error) { return New(ctx, config.Environment) })

var bootLog = logging.New(os.Stderr, logging.Options{})

// Handle is the Cloud Functions entry point. A function that cannot start answers with an
// error, so Pub/Sub keeps the message and redelivers it instead of losing it.
func Handle(ctx context.Context, e event.Event) error {
	h, err := instance(ctx)
	if err != nil {
		bootLog.ErrorContext(ctx, "function not ready", "err", err)
		return fmt.Errorf("%s not ready: %w", config.FunctionInitialCopy, err)
	}
	return h.Handle(ctx, e)
}
