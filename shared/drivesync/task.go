package drivesync

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// CopyTaskSchemaVersion is the only copy-task schema version this build understands.
const CopyTaskSchemaVersion = 1

// MaxCopyTaskBytes bounds the data of a copy task. A task carries one document, which reached
// drivesync in a listing or in an event of at most MaxEventDataBytes, so the same bound holds.
const MaxCopyTaskBytes = MaxEventDataBytes

// ErrInvalidCopyTask marks a copy task that cannot be decoded or fails validation; a retry cannot
// fix it.
var ErrInvalidCopyTask = errors.New("invalid copy task")

// CopyTask asks the uploader to copy one document into one connection's Drive. A run's reconcile
// publishes one per document whose file is missing or differs, all with the run's RunID; a task
// whose RunID is no longer the connection's current InitialCopy.RunID belongs to a superseded
// run. Tasks are
// delivered at least once and the uploader is idempotent per document revision, so a duplicate
// only costs a lookup.
type CopyTask struct {
	SchemaVersion int      `json:"schemaVersion"`
	CompanyID     string   `json:"companyId"`
	ConnectionID  string   `json:"connectionId"`
	RunID         string   `json:"runId"`
	Document      Document `json:"document"`
	// Verify asks the uploader to check the document's file in Drive even when its mapping
	// says Drive holds this revision: a reconcile found the file in the wrong folder, under
	// the wrong name, or missing.
	Verify bool `json:"verify,omitempty"`
	// Retry asks the uploader to try again a revision recorded failed: the customer asked for it
	// (the document history's retry), so the failure is not taken as final this once.
	Retry bool `json:"retry,omitempty"`
}

// Attributes returns the Pub/Sub message attributes of t, so subscribers and logs can tell tasks
// apart without decoding the data.
func (t CopyTask) Attributes() map[string]string {
	return map[string]string{
		"companyId":     t.CompanyID,
		"connectionId":  t.ConnectionID,
		"runId":         t.RunID,
		"documentId":    t.Document.ID,
		"schemaVersion": strconv.Itoa(t.SchemaVersion),
	}
}

// Validate reports every problem with t at once.
func (t CopyTask) Validate() error {
	var errs []error
	bad := func(field, why string) { errs = append(errs, &FieldError{Field: field, Reason: why}) }
	if t.SchemaVersion != CopyTaskSchemaVersion {
		bad("schemaVersion", fmt.Sprintf("must be %d", CopyTaskSchemaVersion))
	}
	for _, f := range []struct{ name, v string }{
		{"companyId", t.CompanyID}, {"connectionId", t.ConnectionID}, {"runId", t.RunID},
	} {
		if !ValidID(f.v) {
			bad(f.name, idRule)
		}
	}
	if err := t.Document.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// DecodeCopyTask parses and validates the data of a copy task message. Every error it returns
// wraps ErrInvalidCopyTask and is classified Permanent with code "invalid_copy_task"; an unknown
// schema version also wraps ErrUnsupportedSchema.
func DecodeCopyTask(data []byte) (CopyTask, error) {
	t, err := decodeCopyTask(data)
	if err != nil {
		return CopyTask{}, Classify(err, Permanent, "invalid_copy_task")
	}
	return t, nil
}

func decodeCopyTask(data []byte) (CopyTask, error) {
	if len(data) > MaxCopyTaskBytes {
		return CopyTask{}, fmt.Errorf("%w: data is %d bytes, the limit is %d", ErrInvalidCopyTask, len(data), MaxCopyTaskBytes)
	}
	if !utf8.Valid(data) {
		return CopyTask{}, fmt.Errorf("%w: data is not UTF-8", ErrInvalidCopyTask)
	}
	// The version is read first for the same reason as in DecodeEvent: a future schema deserves
	// "unsupported version", not a list of field errors.
	var head struct {
		SchemaVersion *int `json:"schemaVersion"`
	}
	if err := decodeStrict(data, &head, true); err != nil {
		return CopyTask{}, fmt.Errorf("%w: %v", ErrInvalidCopyTask, err)
	}
	if head.SchemaVersion == nil {
		return CopyTask{}, fmt.Errorf("%w: schemaVersion is required", ErrInvalidCopyTask)
	}
	if *head.SchemaVersion != CopyTaskSchemaVersion {
		return CopyTask{}, fmt.Errorf("%w: %w: version %d, this build reads version %d",
			ErrInvalidCopyTask, ErrUnsupportedSchema, *head.SchemaVersion, CopyTaskSchemaVersion)
	}
	var t CopyTask
	if err := decodeStrict(data, &t, false); err != nil {
		return CopyTask{}, fmt.Errorf("%w: %v", ErrInvalidCopyTask, err)
	}
	if err := t.Validate(); err != nil {
		return CopyTask{}, fmt.Errorf("%w: %w", ErrInvalidCopyTask, err)
	}
	return t, nil
}
