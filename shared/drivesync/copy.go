package drivesync

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// CopyRequestSchemaVersion is the only copy-request schema version this build understands.
const CopyRequestSchemaVersion = 1

// Limits on copy requests, which drivesync publishes itself but reads back from a topic anyone
// with publish rights can write to.
const (
	MaxPageTokenLength    = 4096
	MaxCopyRequestBytes   = 16 << 10
	copyRequestIDMaxBytes = MaxIDLength
)

// ErrInvalidCopyRequest marks a copy request that cannot be decoded or fails validation; a retry
// cannot fix it.
var ErrInvalidCopyRequest = errors.New("invalid copy request")

// CopyRequest asks the copy engine to reconcile a connection's run (the run's first request), to
// watch the run's end (Await), or to start a run of every active connection (Scheduled). A
// request whose RunID is not the connection's current InitialCopy.RunID belongs to a superseded
// run and is dropped. PageToken is kept for compatibility: a reconcile lists eFactori in full
// and ignores it.
type CopyRequest struct {
	SchemaVersion int    `json:"schemaVersion"`
	CompanyID     string `json:"companyId"`
	ConnectionID  string `json:"connectionId"`
	RunID         string `json:"runId"`
	PageToken     string `json:"pageToken"`
	// Await marks the request that follows a run's reconcile: instead of listing, it waits a
	// while for the run's documents to reach a final state, marks the run done once they have,
	// and otherwise publishes itself again. Copy tasks never count the run themselves.
	Await bool `json:"await,omitempty"`
	// Scheduled marks the request Cloud Scheduler publishes: it names no company, connection
	// or run, and asks for a reconcile run of every active connection of every company whose
	// integration is on (a connection whose run is still going on is left to it).
	Scheduled bool `json:"scheduled,omitempty"`
	// Repairs counts, in an await request, the repairs of the run that made no progress since;
	// Done and MovedAt are the run's count of finished documents when it last moved, and when.
	// Await requests carry them from one to the next so that a stalled run is noticed without
	// a write per check.
	Repairs int       `json:"repairs,omitempty"`
	Done    int       `json:"done,omitempty"`
	MovedAt time.Time `json:"movedAt,omitzero"`
}

// Attributes returns the Pub/Sub message attributes of r, so subscribers and logs can tell
// requests apart without decoding the data.
func (r CopyRequest) Attributes() map[string]string {
	return map[string]string{
		"companyId":    r.CompanyID,
		"connectionId": r.ConnectionID,
		"runId":        r.RunID,
	}
}

// Validate reports every problem with r at once.
func (r CopyRequest) Validate() error {
	var errs []error
	bad := func(field, why string) { errs = append(errs, &FieldError{Field: field, Reason: why}) }
	if r.SchemaVersion != CopyRequestSchemaVersion {
		bad("schemaVersion", fmt.Sprintf("must be %d", CopyRequestSchemaVersion))
	}
	if r.Scheduled {
		if r.CompanyID != "" || r.ConnectionID != "" || r.RunID != "" || r.PageToken != "" || r.Await {
			bad("scheduled", "a scheduled request names no company, connection, run or page and does not await")
		}
		return errors.Join(errs...)
	}
	if !r.Await && (r.Repairs != 0 || r.Done != 0 || !r.MovedAt.IsZero()) {
		bad("repairs", "only an await request carries repairs, done and movedAt")
	}
	if r.Repairs < 0 || r.Done < 0 {
		bad("repairs", "repairs and done must not be negative")
	}
	for _, f := range []struct{ name, v string }{
		{"companyId", r.CompanyID}, {"connectionId", r.ConnectionID}, {"runId", r.RunID},
	} {
		if !ValidID(f.v) {
			bad(f.name, idRule)
		}
	}
	if len(r.PageToken) > MaxPageTokenLength || !utf8.ValidString(r.PageToken) {
		bad("pageToken", fmt.Sprintf("must be at most %d bytes of UTF-8", MaxPageTokenLength))
	}
	if r.Await && r.PageToken != "" {
		bad("pageToken", "must be empty in an await request")
	}
	return errors.Join(errs...)
}

// DecodeCopyRequest parses and validates the data of a copy request message. Every error it
// returns wraps ErrInvalidCopyRequest and is classified Permanent (ClassOf does not know
// ErrInvalidCopyRequest, so the class is attached here); an unknown schema version also wraps
// ErrUnsupportedSchema.
func DecodeCopyRequest(data []byte) (CopyRequest, error) {
	r, err := decodeCopyRequest(data)
	if err != nil {
		return CopyRequest{}, Classify(err, Permanent, "invalid_copy_request")
	}
	return r, nil
}

func decodeCopyRequest(data []byte) (CopyRequest, error) {
	if len(data) > MaxCopyRequestBytes {
		return CopyRequest{}, fmt.Errorf("%w: data is %d bytes, the limit is %d", ErrInvalidCopyRequest, len(data), MaxCopyRequestBytes)
	}
	if !utf8.Valid(data) {
		return CopyRequest{}, fmt.Errorf("%w: data is not UTF-8", ErrInvalidCopyRequest)
	}
	// The version is read first for the same reason as in DecodeEvent: a future schema deserves
	// "unsupported version", not a list of field errors.
	var head struct {
		SchemaVersion *int `json:"schemaVersion"`
	}
	if err := decodeStrict(data, &head, true); err != nil {
		return CopyRequest{}, fmt.Errorf("%w: %v", ErrInvalidCopyRequest, err)
	}
	if head.SchemaVersion == nil {
		return CopyRequest{}, fmt.Errorf("%w: schemaVersion is required", ErrInvalidCopyRequest)
	}
	if *head.SchemaVersion != CopyRequestSchemaVersion {
		return CopyRequest{}, fmt.Errorf("%w: %w: version %d, this build reads version %d",
			ErrInvalidCopyRequest, ErrUnsupportedSchema, *head.SchemaVersion, CopyRequestSchemaVersion)
	}
	var r CopyRequest
	if err := decodeStrict(data, &r, false); err != nil {
		return CopyRequest{}, fmt.Errorf("%w: %v", ErrInvalidCopyRequest, err)
	}
	if err := r.Validate(); err != nil {
		return CopyRequest{}, fmt.Errorf("%w: %w", ErrInvalidCopyRequest, err)
	}
	return r, nil
}
