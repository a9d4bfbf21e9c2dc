// Package syncdocument is the SyncDocument event function: it receives the Pub/Sub messages of
// two topics, eFactori's document events and drivesync's copy tasks, tells them apart, decodes
// them strictly and hands them to the copy engine. A message that cannot be decoded is logged
// (never its content) and acknowledged, since redelivering it cannot help; an error goes back to
// Pub/Sub only when the engine says a retry can help.
package syncdocument

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

// Engine is what the function needs of the copy engine. Both methods return nil when the message
// is to be acknowledged and an error only when a retry can help.
type Engine interface {
	HandleEvent(ctx context.Context, ev drivesync.Event) error
	HandleTask(ctx context.Context, t drivesync.CopyTask) error
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
		return nil, errors.New("new sync document handler: nil engine or logger")
	}
	return &Handler{engine: e, log: log}, nil
}

// New builds the function's handler from configuration read through lookup.
func New(ctx context.Context, lookup config.Lookup) (*Handler, error) {
	cfg, err := config.LoadSyncDocument(lookup)
	if err != nil {
		return nil, err
	}
	log := logging.New(os.Stdout, logging.Options{Level: cfg.LogLevel, ProjectID: cfg.ProjectID})
	e, err := wiring.SyncDocument(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return NewHandler(e, log)
}

// kind is what a message asks for.
type kind int

const (
	unknown kind = iota
	documentEvent
	copyTask
)

// kindOf tells a document event from a copy task by the topic the message was published to, or,
// when the source names another topic (eFactori's topic in another project, a replay), by the
// attributes each publisher sets: eventType on document events, runId on copy tasks.
func kindOf(m pushed.Message) kind {
	switch m.Topic {
	case config.TopicDocumentEvents:
		return documentEvent
	case config.TopicCopyTasks:
		return copyTask
	}
	_, isEvent := m.Attributes["eventType"]
	_, isTask := m.Attributes["runId"]
	switch {
	case isEvent && !isTask:
		return documentEvent
	case isTask && !isEvent:
		return copyTask
	}
	return unknown
}

// Handle handles one delivery.
func (h *Handler) Handle(ctx context.Context, e event.Event) error {
	m, err := pushed.Decode(e)
	if err != nil {
		h.log.ErrorContext(ctx, "malformed pub/sub event dropped", "cloudEventId", e.ID(), "source", e.Source(), "err", err)
		return nil
	}
	log := h.log.With("messageId", m.ID, "topic", m.Topic)
	switch kindOf(m) {
	case documentEvent:
		ev, err := drivesync.DecodeEvent(m.Data)
		if err != nil {
			log.ErrorContext(ctx, "invalid document event dropped", "companyId", m.Attributes["companyId"], "err", err)
			return nil
		}
		if err := h.engine.HandleEvent(ctx, ev); err != nil {
			return fmt.Errorf("document event %s (message %s): %w", ev.EventID, m.ID, err)
		}
	case copyTask:
		t, err := drivesync.DecodeCopyTask(m.Data)
		if err != nil {
			log.ErrorContext(ctx, "invalid copy task dropped", "companyId", m.Attributes["companyId"],
				"connectionId", m.Attributes["connectionId"], "err", err)
			return nil
		}
		if err := h.engine.HandleTask(ctx, t); err != nil {
			return fmt.Errorf("copy task of document %s for connection %s (message %s): %w", t.Document.ID, t.ConnectionID, m.ID, err)
		}
	default:
		log.ErrorContext(ctx, "message of an unknown topic dropped", "source", e.Source())
	}
	return nil
}

// instance is built on the first delivery rather than in init(): no I/O at start-up, and a
// failed build is retried on the next delivery.
var instance = wiring.Once(func(ctx context.Context) (*Handler, error) { return New(ctx, config.Environment) })

var bootLog = logging.New(os.Stderr, logging.Options{})

// Handle is the Cloud Functions entry point. A function that cannot start answers with an
// error, so Pub/Sub keeps the message and redelivers it (finally to the dead-letter topic)
// instead of losing it.
func Handle(ctx context.Context, e event.Event) error {
	h, err := instance(ctx)
	if err != nil {
		bootLog.ErrorContext(ctx, "function not ready", "err", err)
		return fmt.Errorf("%s not ready: %w", config.FunctionSyncDocument, err)
	}
	return h.Handle(ctx, e)
}
