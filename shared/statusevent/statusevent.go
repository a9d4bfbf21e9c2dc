// Package statusevent is the contract of the status events drivesync publishes for eFactori on
// topic config.TopicStatusEvents (docs/status-events.md): a connection's status changed, or one
// of its copy or reconcile runs ended. It holds the schema, its strict decoder, the events a
// change of a connection makes (Derive), and the publisher.
//
// Events are delivered at least once and unordered. Each has a deterministic ID: a status change
// is named by its connection and a sequence number the same Firestore write increments, a run end
// by its run. The store keeps an event on the connection, in the write that makes the change,
// until Pub/Sub has taken it (an outbox), so a crash cannot separate a change from its event and
// whoever finds it pending publishes the same bytes again.
package statusevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
)

// SchemaVersion is the version of the event schema this build writes.
const SchemaVersion = 1

// Type is what an event reports.
type Type string

// The event types.
const (
	// TypeStatusChanged: the connection's status changed (or the connection was deleted).
	TypeStatusChanged Type = "connection.status_changed"
	// TypeRunEnded: a copy or reconcile run of the connection ended, succeeded or failed.
	TypeRunEnded Type = "run.ended"
)

// StatusDeleted is the status of a connection.status_changed event that reports the
// connection's deletion; drivesync.Status has no such value, since a deleted connection is gone.
const StatusDeleted drivesync.Status = "deleted"

// Outcome is how a run ended.
type Outcome string

// The outcomes of a run.
const (
	OutcomeSucceeded Outcome = "succeeded"
	OutcomeFailed    Outcome = "failed"
)

// MaxBytes bounds one encoded event; an event is a few hundred bytes, names included.
const MaxBytes = 4 << 10

// Event is one status event, as published (JSON, schemaVersion 1).
type Event struct {
	SchemaVersion  int              `json:"schemaVersion"`
	EventID        string           `json:"eventId"`
	Type           Type             `json:"type"`
	CompanyID      string           `json:"companyId"`
	ConnectionID   string           `json:"connectionId"`
	ConnectionName string           `json:"connectionName"`
	Status         drivesync.Status `json:"status"`
	PreviousStatus drivesync.Status `json:"previousStatus,omitempty"`
	// ReasonCode is the connection's lastError code when the event was made: why it needs the
	// customer, or why a run failed. Never a token or a message meant for people.
	ReasonCode string    `json:"reasonCode,omitempty"`
	Run        *Run      `json:"run,omitempty"`
	OccurredAt time.Time `json:"occurredAt"`
}

// Run is the run a run.ended event reports.
type Run struct {
	ID        string            `json:"id"`
	Kind      drivesync.RunKind `json:"kind"`
	Outcome   Outcome           `json:"outcome"`
	Listed    int               `json:"listed"`
	Synced    int               `json:"synced"`
	Failed    int               `json:"failed"`
	StartedAt time.Time         `json:"startedAt"`
	EndedAt   time.Time         `json:"endedAt"`
}

// Pub/Sub attribute names a subscriber filters on.
const (
	AttrType          = "type"
	AttrCompanyID     = "companyId"
	AttrConnectionID  = "connectionId"
	AttrStatus        = "status"
	AttrSchemaVersion = "schemaVersion"
)

// Attributes returns the Pub/Sub attributes of e.
func (e Event) Attributes() map[string]string {
	return map[string]string{
		AttrType:          string(e.Type),
		AttrCompanyID:     e.CompanyID,
		AttrConnectionID:  e.ConnectionID,
		AttrStatus:        string(e.Status),
		AttrSchemaVersion: strconv.Itoa(e.SchemaVersion),
	}
}

// ErrInvalid marks an event that cannot be decoded or fails validation.
var ErrInvalid = errors.New("invalid status event")

var statuses = map[drivesync.Status]bool{
	drivesync.StatusAwaitingAuthorization: true, drivesync.StatusAwaitingFolder: true,
	drivesync.StatusActive: true, drivesync.StatusNeedsReauthorization: true, drivesync.StatusError: true,
	StatusDeleted: true,
}

var kinds = map[drivesync.RunKind]bool{
	drivesync.RunFirstCopy: true, drivesync.RunResync: true, drivesync.RunReconsent: true,
	drivesync.RunLayoutChange: true, drivesync.RunScheduled: true,
}

// Validate reports every problem with e at once.
func (e Event) Validate() error {
	var errs []error
	bad := func(field, why string) { errs = append(errs, &drivesync.FieldError{Field: field, Reason: why}) }
	if e.SchemaVersion != SchemaVersion {
		bad("schemaVersion", fmt.Sprintf("must be %d", SchemaVersion))
	}
	for _, f := range []struct{ name, v string }{
		{"eventId", e.EventID}, {"companyId", e.CompanyID}, {"connectionId", e.ConnectionID},
	} {
		if f.v == "" || len(f.v) > 1500 {
			bad(f.name, "must be 1 to 1500 bytes")
		}
	}
	if !statuses[e.Status] {
		bad("status", "is not a connection status")
	}
	if e.PreviousStatus != "" && !statuses[e.PreviousStatus] {
		bad("previousStatus", "is not a connection status")
	}
	if e.OccurredAt.IsZero() {
		bad("occurredAt", "is required")
	}
	switch e.Type {
	case TypeStatusChanged:
		if e.Run != nil {
			bad("run", "is only set on "+string(TypeRunEnded))
		}
	case TypeRunEnded:
		switch {
		case e.Run == nil:
			bad("run", "is required")
		case e.Run.ID == "":
			bad("run.id", "is required")
		case !kinds[e.Run.Kind]:
			bad("run.kind", "is not a run kind")
		case e.Run.Outcome != OutcomeSucceeded && e.Run.Outcome != OutcomeFailed:
			bad("run.outcome", fmt.Sprintf("must be %q or %q", OutcomeSucceeded, OutcomeFailed))
		}
	default:
		bad("type", fmt.Sprintf("must be %q or %q", TypeStatusChanged, TypeRunEnded))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// Encode returns e as JSON, refusing an event Decode would reject.
func Encode(e Event) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode status event %s: %w", e.EventID, err)
	}
	if len(b) > MaxBytes {
		return nil, fmt.Errorf("%w: event %s is %d bytes, the limit is %d", ErrInvalid, e.EventID, len(b), MaxBytes)
	}
	return b, nil
}

// Decode parses one event strictly: unknown fields, trailing data, more than MaxBytes or a
// failed Validate are ErrInvalid.
func Decode(data []byte) (Event, error) {
	if len(data) > MaxBytes {
		return Event{}, fmt.Errorf("%w: %d bytes, the limit is %d", ErrInvalid, len(data), MaxBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var e Event
	if err := dec.Decode(&e); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if dec.More() {
		return Event{}, fmt.Errorf("%w: data after the event", ErrInvalid)
	}
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	return e, nil
}

// StatusEventID names the seq-th status change of connection connectionID.
func StatusEventID(connectionID string, seq int64) string {
	return connectionID + ".status." + strconv.FormatInt(seq, 10)
}

// RunEventID names the end of run runID of connection connectionID.
func RunEventID(connectionID, runID string) string {
	return connectionID + ".run." + runID
}

// Derive returns the events a write that turns before into after makes: a status change (with
// sequence number seq, the connection's count of status changes including this one) and a run
// that reached its end. before is the zero Connection for a connection that did not exist; after
// with Status StatusDeleted reports a deletion. Nothing changed, nothing returned.
func Derive(before, after drivesync.Connection, seq int64, now time.Time) []Event {
	var out []Event
	base := Event{SchemaVersion: SchemaVersion, CompanyID: after.CompanyID, ConnectionID: after.ID,
		ConnectionName: after.Name, Status: after.Status, OccurredAt: now.UTC()}
	if after.LastError != nil {
		base.ReasonCode = after.LastError.Code
	}
	if before.Status != "" && before.Status != after.Status {
		e := base
		e.EventID, e.Type, e.PreviousStatus = StatusEventID(after.ID, seq), TypeStatusChanged, before.Status
		out = append(out, e)
	}
	ic := after.InitialCopy
	ended := ic.State == drivesync.CopyDone || ic.State == drivesync.CopyFailed
	wasEnded := before.InitialCopy.RunID == ic.RunID &&
		(before.InitialCopy.State == drivesync.CopyDone || before.InitialCopy.State == drivesync.CopyFailed)
	if ended && ic.RunID != "" && !wasEnded {
		e := base
		e.EventID, e.Type = RunEventID(after.ID, ic.RunID), TypeRunEnded
		outcome := OutcomeSucceeded
		if ic.State == drivesync.CopyFailed {
			outcome = OutcomeFailed
		} else {
			e.ReasonCode = "" // an earlier problem, not why this run ended
		}
		kind := ic.Kind
		if !kinds[kind] {
			kind = drivesync.RunFirstCopy // runs started before kinds were recorded
		}
		e.Run = &Run{ID: ic.RunID, Kind: kind, Outcome: outcome, Listed: ic.Listed, Synced: ic.Synced,
			Failed: ic.Failed, StartedAt: ic.StartedAt.UTC(), EndedAt: ic.FinishedAt.UTC()}
		out = append(out, e)
	}
	return out
}
