package drivesync

import (
	"errors"
	"fmt"
	"time"
)

// Errors about input, which a retry cannot fix.
var (
	// ErrInvalidEvent marks a document event that cannot be decoded or fails validation.
	ErrInvalidEvent = errors.New("invalid document event")
	// ErrUnsupportedSchema marks a document event whose schemaVersion this build does not read.
	ErrUnsupportedSchema = errors.New("unsupported schema version")
)

// Class says what the caller of an outside system should do about a failure. Each adapter
// classifies its errors once, where the call happens; callers only read the class.
type Class int

// The classes of failure.
const (
	// Unclassified is an error no adapter classified; treat it like Retryable but log it loudly.
	Unclassified Class = iota
	// Retryable failures may succeed later (5xx, 429, rate limits, network errors).
	Retryable
	// Permanent failures will fail again the same way for this input.
	Permanent
	// NeedsReauthorization means the Google grant is gone; the customer must consent again.
	NeedsReauthorization
	// NeedsCustomer means the customer must act in Google Drive (quota, permissions, folder gone).
	NeedsCustomer
)

func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Permanent:
		return "permanent"
	case NeedsReauthorization:
		return "needs_reauthorization"
	case NeedsCustomer:
		return "needs_customer"
	default:
		return "unclassified"
	}
}

// ClassifiedError carries the class an adapter gave a failure, a stable code for logs and for the
// connection's lastError, and how long the remote side asked us to wait before retrying.
type ClassifiedError struct {
	Class      Class
	Code       string
	RetryAfter time.Duration
	Err        error
}

func (e *ClassifiedError) Error() string { return e.Err.Error() }
func (e *ClassifiedError) Unwrap() error { return e.Err }

// Classify wraps err with a class and code. A nil err stays nil.
func Classify(err error, class Class, code string) error {
	if err == nil {
		return nil
	}
	return &ClassifiedError{Class: class, Code: code, Err: err}
}

// ClassOf returns the class of the outermost ClassifiedError in err's chain.
func ClassOf(err error) Class {
	var ce *ClassifiedError
	if errors.As(err, &ce) {
		return ce.Class
	}
	if errors.Is(err, ErrInvalidEvent) {
		return Permanent
	}
	return Unclassified
}

// ErrTargetInUse marks a refused target folder: another connection of the same company already
// copies into it. Errors carrying it are *TargetInUseError and also match ErrConflict.
var ErrTargetInUse = errors.New("target folder in use")

// TargetInUseError refuses a target folder that another connection of the same company uses
// as its own target. Two connections copying into one folder would each create every document
// there, so a folder has one connection at most. It names that other connection so the
// customer can tell which one to change or remove.
type TargetInUseError struct {
	FolderID       string
	ConnectionID   string // the other connection
	ConnectionName string
}

func (e *TargetInUseError) Error() string {
	return fmt.Sprintf("%v: folder %s is the target of connection %q (%s)", ErrTargetInUse, e.FolderID, e.ConnectionName, e.ConnectionID)
}

// Unwrap makes the error match ErrTargetInUse and ErrConflict.
func (e *TargetInUseError) Unwrap() []error { return []error{ErrTargetInUse, ErrConflict} }

// ErrConnectionLimit marks a connection refused because its company already has as many as it
// may. Errors carrying it are *ConnectionLimitError and also match ErrConflict.
var ErrConnectionLimit = errors.New("connection limit reached")

// ConnectionLimitError refuses a new connection of a company that has Limit connections, the
// most allowed (whatever their status). Removing one makes room.
type ConnectionLimitError struct {
	Limit int
}

func (e *ConnectionLimitError) Error() string {
	return fmt.Sprintf("%v: the company has %d connections, the most allowed", ErrConnectionLimit, e.Limit)
}

// Unwrap makes the error match ErrConnectionLimit and ErrConflict.
func (e *ConnectionLimitError) Unwrap() []error { return []error{ErrConnectionLimit, ErrConflict} }

// Conflicts the connection service names, so that each reaches the customer with what to do.
// Each also matches ErrConflict.
var (
	// ErrNameTaken: another connection of the company has the name, case and surrounding
	// spaces aside.
	ErrNameTaken = fmt.Errorf("%w: connection name taken", ErrConflict)
	// ErrConsentRequired: the connection holds no Google grant yet (awaiting_authorization);
	// the customer must finish Google's consent screen first.
	ErrConsentRequired = fmt.Errorf("%w: google consent required", ErrConflict)
	// ErrGrantLost: the connection is needs_reauthorization; the customer must consent again.
	ErrGrantLost = fmt.Errorf("%w: google grant lost", ErrConflict)
	// ErrNoTarget: the connection has no usable target folder (awaiting_folder, or error after
	// its folder became unusable); the customer must choose one first.
	ErrNoTarget = fmt.Errorf("%w: no target folder", ErrConflict)
)

// ErrWrongBrowser marks an OAuth callback that reached a browser other than the one that opened
// the consent's authorization link (RFC 6749 §10.12): the link was forwarded, or its callback
// replayed elsewhere. The consent is not completed and its state stays usable by the browser
// that started it until it expires.
var ErrWrongBrowser = errors.New("oauth callback from another browser than the one that started the consent")
