package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/statusevent"
)

// Status events (shared/statusevent) leave the store through an outbox on the connection: the
// transaction that changes a connection's status, or ends one of its runs, also appends the
// event to the connection's pendingEvents, so no crash can separate the change from its event.
// After the commit the store publishes what is pending and then removes exactly those events
// (an arrayRemove, one write); whoever reads the connection later and finds an event still
// pending (a redelivered message, the next API call, the daily reconcile) publishes the same
// bytes again. Subscribers therefore see each change at least once, always under the same ID
// and with the same content. A write that changes neither costs nothing more.

// EventPublisher publishes status events.
type EventPublisher interface {
	// PublishEvents publishes each encoded event (statusevent.Encode) and returns once Pub/Sub
	// has taken every one; an error means some may not have been published.
	PublishEvents(ctx context.Context, events []string) error
}

// Option configures New.
type Option func(*Store) error

// WithStatusEvents makes the store publish the status events it records with p, logging to log
// the failures it leaves for a later relay.
func WithStatusEvents(p EventPublisher, log *slog.Logger) Option {
	return func(s *Store) error {
		if p == nil || log == nil {
			return errors.New("status events: nil publisher or logger")
		}
		s.events, s.log = p, log
		return nil
	}
}

// maxPendingEvents bounds a connection's outbox (each event at most statusevent.MaxBytes, so
// far under Firestore's 1 MiB per document): events pile up only while Pub/Sub refuses them, and
// past this the oldest go first.
const maxPendingEvents = 64

// relayTimeout bounds one relay after the caller's own work is done.
const relayTimeout = 10 * time.Second

// recordEvents appends to rec the events of the change from before (statusevent.Derive).
func (s *Store) recordEvents(rec *ConnectionRecord, before drivesync.Connection) error {
	seq := rec.StatusSeq
	if before.Status != rec.Status {
		seq++
	}
	evs := statusevent.Derive(before, rec.Connection, seq, s.now())
	if len(evs) == 0 {
		return nil
	}
	rec.StatusSeq = seq
	for _, e := range evs {
		b, err := statusevent.Encode(e)
		if err != nil {
			return fmt.Errorf("record status event: %w", err)
		}
		rec.PendingEvents = append(rec.PendingEvents, string(b))
	}
	if n := len(rec.PendingEvents); n > maxPendingEvents {
		rec.PendingEvents = rec.PendingEvents[n-maxPendingEvents:]
	}
	return nil
}

// relay publishes the pending events of the connection at ref and then removes them from its
// outbox. It does not fail its caller: what it could not publish stays pending for the next
// relay, and is logged.
func (s *Store) relay(ctx context.Context, ref *firestore.DocumentRef, pending []string) {
	if s.events == nil || len(pending) == 0 {
		return
	}
	// The change is committed: its events go out even when the caller's request is ending.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), relayTimeout)
	defer cancel()
	if err := s.events.PublishEvents(ctx, pending); err != nil {
		s.log.WarnContext(ctx, "status events left pending on the connection", "connection", ref.Path,
			"events", len(pending), "err", err)
		return
	}
	done := make([]any, len(pending))
	for i, e := range pending {
		done[i] = e
	}
	_, err := ref.Update(ctx, []firestore.Update{{Path: "pendingEvents", Value: firestore.ArrayRemove(done...)}})
	if err != nil && status.Code(err) != codes.NotFound {
		// Published; the next relay publishes them again, which subscribers dedupe by ID.
		s.log.WarnContext(ctx, "published status events not cleared from the connection", "connection", ref.Path, "err", err)
	}
}

// recordDeletion records the status event of the deletion of the connection at ref, once, and
// returns every pending event with it; drivesync.ErrNotFound when the connection is gone.
func (s *Store) recordDeletion(ctx context.Context, ref *firestore.DocumentRef) ([]string, error) {
	var pending []string
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return drivesync.ErrNotFound
		}
		if err != nil {
			return err
		}
		var d connectionDoc
		if err := snap.DataTo(&d); err != nil {
			return fmt.Errorf("decode connection %s: %w", ref.Path, err)
		}
		pending = d.PendingEvents
		if d.DeletionEvent != "" {
			pending = append(pending, d.DeletionEvent)
			return nil
		}
		rec := fromDoc(d)
		after := rec.Connection
		after.Status = statusevent.StatusDeleted
		evs := statusevent.Derive(rec.Connection, after, rec.StatusSeq+1, s.now())
		if len(evs) != 1 {
			return fmt.Errorf("connection %s: deletion made %d status events", ref.Path, len(evs))
		}
		b, err := statusevent.Encode(evs[0])
		if err != nil {
			return fmt.Errorf("record status event: %w", err)
		}
		pending = append(pending, string(b))
		return tx.Update(ref, []firestore.Update{
			{Path: "statusSeq", Value: rec.StatusSeq + 1},
			{Path: "deletionEvent", Value: string(b)},
		})
	}, firestore.MaxAttempts(txAttempts))
	if err != nil {
		return nil, err
	}
	return pending, nil
}
