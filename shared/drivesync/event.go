// Package drivesync holds the domain of drivesync: the documents eFactori publishes, the events
// that announce their changes, and the errors every adapter classifies its failures into.
package drivesync

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// SchemaVersion is the only document-event schema version this build understands.
const SchemaVersion = 1

// Event types carried in Event.EventType and in the eventType message attribute.
const (
	EventUpserted = "document.upserted"
	EventDeleted  = "document.deleted"
)

// Kind is the business kind of a document; it picks the kind folder in the year_kind layout.
type Kind string

// The kinds eFactori publishes.
const (
	KindSalesInvoice    Kind = "sales_invoice"
	KindCreditNote      Kind = "credit_note"
	KindQuote           Kind = "quote"
	KindPurchaseInvoice Kind = "purchase_invoice"
	KindDeliveryNote    Kind = "delivery_note"
	KindOther           Kind = "other"
)

// Kinds lists every valid Kind, in the order the product presents them.
var Kinds = []Kind{KindSalesInvoice, KindCreditNote, KindQuote, KindPurchaseInvoice, KindDeliveryNote, KindOther}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Limits on document fields. They bound what a message can make drivesync do, and keep names
// well inside Drive's own limits.
const (
	MaxIDLength       = 128
	MaxTextLength     = 1024
	MaxDocumentSize   = 5 << 30 // Drive's own upload limit is far above; 5 GiB is eFactori's.
	MaxEventDataBytes = 64 << 10
)

// Document is one eFactori document at one revision. The same object is carried by document
// events and returned by the eFactori document list endpoint (docs/efactori-contract.md).
type Document struct {
	ID          string `json:"id"`
	Revision    int64  `json:"revision"`
	Kind        Kind   `json:"kind"`
	Number      string `json:"number"`
	Date        string `json:"date"`
	Title       string `json:"title"`
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	ContentURL  string `json:"contentUrl"`
}

// Year returns the year of the document date, which picks its year folder.
func (d Document) Year() int { t, _ := time.Parse(time.DateOnly, d.Date); return t.Year() }

// Month returns the month (1–12) of the document date, which picks its month folder.
func (d Document) Month() int { t, _ := time.Parse(time.DateOnly, d.Date); return int(t.Month()) }

// Validate reports every problem with d at once; nil means d is usable as is.
func (d Document) Validate() error {
	var errs []error
	bad := func(field, why string) { errs = append(errs, &FieldError{Field: "document." + field, Reason: why}) }
	checkText := func(field, v string, required bool, max int) {
		switch {
		case v == "" && required:
			bad(field, "is required")
		case len(v) > max:
			bad(field, fmt.Sprintf("is longer than %d bytes", max))
		case !utf8.ValidString(v):
			bad(field, "is not valid UTF-8")
		case strings.ContainsRune(v, 0):
			bad(field, "contains a NUL character")
		}
	}
	checkText("id", d.ID, true, MaxIDLength)
	if d.Revision < 1 {
		bad("revision", "must be a positive integer")
	}
	if !d.Kind.Valid() {
		bad("kind", fmt.Sprintf("must be one of %v", Kinds))
	}
	checkText("number", d.Number, false, MaxTextLength)
	if _, err := time.Parse(time.DateOnly, d.Date); err != nil {
		bad("date", "must be a date in the form YYYY-MM-DD")
	}
	checkText("title", d.Title, false, MaxTextLength)
	checkText("fileName", d.FileName, false, MaxTextLength)
	if d.FileName == "" && d.Number == "" {
		bad("fileName", "is required when number is empty")
	}
	checkText("contentType", d.ContentType, true, 255)
	if d.ContentType != "" && !strings.Contains(d.ContentType, "/") {
		bad("contentType", "must be a media type such as application/pdf")
	}
	if d.Size < 0 || d.Size > MaxDocumentSize {
		bad("size", fmt.Sprintf("must be between 0 and %d", int64(MaxDocumentSize)))
	}
	if b, err := hex.DecodeString(d.SHA256); err != nil || len(b) != 32 || strings.ToLower(d.SHA256) != d.SHA256 {
		bad("sha256", "must be 64 lowercase hexadecimal characters")
	}
	if u, err := url.Parse(d.ContentURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("contentUrl", "must be an absolute http(s) URL")
	}
	return errors.Join(errs...)
}

// Event announces that a document was created, changed or deleted in eFactori. It is the data of
// a message on the efactori-document-events topic.
type Event struct {
	SchemaVersion int       `json:"schemaVersion"`
	EventID       string    `json:"eventId"`
	EventType     string    `json:"eventType"`
	OccurredAt    time.Time `json:"occurredAt"`
	CompanyID     string    `json:"companyId"`
	Document      Document  `json:"document"`
}

// Attributes returns the Pub/Sub message attributes eFactori sets on an event, so subscribers can
// filter without decoding the data.
func (e Event) Attributes() map[string]string {
	return map[string]string{
		"companyId":     e.CompanyID,
		"eventType":     e.EventType,
		"schemaVersion": fmt.Sprint(e.SchemaVersion),
	}
}

// DecodeEvent parses and validates the data of a document event. Every error it returns wraps
// ErrInvalidEvent (a retry cannot help); an unknown schema version also wraps
// ErrUnsupportedSchema.
func DecodeEvent(data []byte) (Event, error) {
	if len(data) > MaxEventDataBytes {
		return Event{}, fmt.Errorf("%w: data is %d bytes, the limit is %d", ErrInvalidEvent, len(data), MaxEventDataBytes)
	}
	if !utf8.Valid(data) {
		return Event{}, fmt.Errorf("%w: data is not UTF-8", ErrInvalidEvent)
	}
	// Peek at the version first: a future schema may change any other field, and its messages
	// deserve "unsupported version", not a list of field errors.
	var head struct {
		SchemaVersion *int `json:"schemaVersion"`
	}
	if err := decodeStrict(data, &head, true); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	if head.SchemaVersion == nil {
		return Event{}, fmt.Errorf("%w: schemaVersion is required", ErrInvalidEvent)
	}
	if *head.SchemaVersion != SchemaVersion {
		return Event{}, fmt.Errorf("%w: %w: version %d, this build reads version %d",
			ErrInvalidEvent, ErrUnsupportedSchema, *head.SchemaVersion, SchemaVersion)
	}
	var e Event
	if err := decodeStrict(data, &e, false); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	if err := e.Validate(); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	return e, nil
}

// Validate reports every problem with e at once.
func (e Event) Validate() error {
	var errs []error
	bad := func(field, why string) { errs = append(errs, &FieldError{Field: field, Reason: why}) }
	if e.SchemaVersion != SchemaVersion {
		bad("schemaVersion", fmt.Sprintf("must be %d", SchemaVersion))
	}
	if e.EventID == "" || len(e.EventID) > MaxIDLength {
		bad("eventId", fmt.Sprintf("must be 1 to %d bytes", MaxIDLength))
	}
	if e.EventType != EventUpserted && e.EventType != EventDeleted {
		bad("eventType", fmt.Sprintf("must be %q or %q", EventUpserted, EventDeleted))
	}
	if e.OccurredAt.IsZero() {
		bad("occurredAt", "must be an RFC 3339 timestamp")
	}
	if !ValidID(e.CompanyID) {
		bad("companyId", idRule)
	}
	if err := e.Document.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// idRule says what ValidID accepts, for field errors.
const idRule = "must be 1 to 128 characters of A-Z a-z 0-9 - _, not of the form __…__"

// ValidID reports whether id can name a company, a connection or a run: 1 to MaxIDLength
// characters of URL-safe base64 (A-Z a-z 0-9 - _), and not of the form __…__, which Firestore
// reserves. These IDs become Firestore document IDs (companies/{id}/connections/{id}) and values
// in Drive queries, so no message or token may put a slash (a path into another document), a
// dot, a quote or a reserved name there.
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLength {
		return false
	}
	if len(id) >= 4 && strings.HasPrefix(id, "__") && strings.HasSuffix(id, "__") {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// FieldError names one invalid field and why it is invalid.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Reason }

// FieldErrors returns every FieldError inside err (as joined by Validate), for error responses
// that list each bad field.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		var fe *FieldError
		if errors.As(err, &fe) && fe == err {
			out = append(out, fe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}
