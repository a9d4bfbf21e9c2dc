// Package history answers "is my invoice in Drive?": it lists one connection's documents with
// their state, read from the mappings the copy engine already keeps (no Drive call, no eFactori
// call), and lets the customer retry a document that failed, by publishing a copy task for it as
// a run's repair does. Every method is scoped to the caller's company: a connection of another
// company is drivesync.ErrNotFound.
package history

import (
	"context"
	"errors"
	"fmt"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/fanout"
	"github.com/efactori/drivesync/shared/store"
)

// Errors of RetryDocument and RetryFailed, each a reason nothing was published.
var (
	// ErrNotActive: the connection is not active (consent, folder, re-authorization or a
	// customer action is missing), so the copy engine would ignore the task.
	ErrNotActive = errors.New("connection is not active")
	// ErrIntegrationOff: the company switched the integration off, so the copy engine would
	// ignore the task.
	ErrIntegrationOff = errors.New("integration is switched off")
	// ErrNothingToRetry: the document is synced (or its deletion applied); nothing to copy.
	ErrNothingToRetry = errors.New("nothing to retry")
	// ErrNotRetryable: the mapping predates the stored document details a retry copies from,
	// or the connection never started a run; a sync of the whole connection copies it.
	ErrNotRetryable = errors.New("document cannot be retried on its own")
)

// MaxRetryBatch bounds the failed documents one RetryFailed call retries: one query reads at
// most this many mappings (plus one, to tell whether more are left) and publishes as many
// tasks, which the copy engine then works through at the connection's Drive write rate.
const MaxRetryBatch = 500

// Retrier publishes retry copy tasks; *fanout.Retrier is one.
type Retrier interface {
	PublishRetries(ctx context.Context, companyID, connectionID, runID string, docs []drivesync.Document) error
}

var _ Retrier = (*fanout.Retrier)(nil)

// Service is the document history of every connection.
type Service struct {
	store   *store.Store
	retrier Retrier
}

// New returns the history service; every dependency is required.
func New(st *store.Store, retrier Retrier) (*Service, error) {
	var errs []error
	if st == nil {
		errs = append(errs, errors.New("nil store"))
	}
	if retrier == nil {
		errs = append(errs, errors.New("nil retrier"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new history: %w", err)
	}
	return &Service{store: st, retrier: retrier}, nil
}

// Query selects a page of a connection's documents; see store.MappingQuery for the order.
type Query struct {
	State  store.MappingState // "" for every state
	Number string             // a prefix of the document number, any case; "" for none
	Size   int                // 1 to store.MaxMappingPage
	After  *store.MappingCursor
}

// Page is one page of a connection's documents.
type Page struct {
	Documents []store.Mapping
	Next      *store.MappingCursor // nil on the last page
}

// ListDocuments returns the page of connection id's documents q selects. It costs one read of the
// connection and the page's query: one read per document returned, plus one.
func (s *Service) ListDocuments(ctx context.Context, companyID, id string, q Query) (Page, error) {
	if _, err := s.store.Connection(ctx, companyID, id); err != nil {
		return Page{}, err
	}
	ms, next, err := s.store.ListMappings(ctx, store.ConnectionKey{CompanyID: companyID, ID: id}, store.MappingQuery{
		State: q.State, NumberPrefix: store.NumberKey(q.Number), Limit: q.Size, After: q.After})
	if err != nil {
		return Page{}, err
	}
	return Page{Documents: ms, Next: next}, nil
}

// read reads, in one BatchGetDocuments, the company's switch, connection id and its mapping of
// documentID; drivesync.ErrNotFound when either of the last two is missing.
func (s *Service) read(ctx context.Context, companyID, id, documentID string) (store.DocumentRead, store.ConnectionRecord, store.Mapping, error) {
	r, err := s.store.ReadDocument(ctx, companyID, []string{id}, documentID)
	if err != nil {
		return store.DocumentRead{}, store.ConnectionRecord{}, store.Mapping{}, err
	}
	if len(r.Connections) == 0 {
		return store.DocumentRead{}, store.ConnectionRecord{}, store.Mapping{}, fmt.Errorf("connection %s: %w", id, drivesync.ErrNotFound)
	}
	m := r.Mappings[id]
	if !m.Stored() {
		return store.DocumentRead{}, store.ConnectionRecord{}, store.Mapping{}, fmt.Errorf("document %s of connection %s: %w", documentID, id, drivesync.ErrNotFound)
	}
	return r, r.Connections[0], m, nil
}

// Document returns connection id's document documentID, in one BatchGetDocuments (three
// document reads).
func (s *Service) Document(ctx context.Context, companyID, id, documentID string) (store.Mapping, error) {
	_, _, m, err := s.read(ctx, companyID, id, documentID)
	return m, err
}

// retryable checks that tasks of rec would be carried out.
func retryable(enabled bool, rec store.ConnectionRecord) error {
	switch {
	case !enabled:
		return ErrIntegrationOff
	case rec.Status != drivesync.StatusActive:
		return fmt.Errorf("connection %s is %s: %w", rec.ID, rec.Status, ErrNotActive)
	case rec.InitialCopy.RunID == "":
		// The copy engine only takes tasks of the connection's current run.
		return fmt.Errorf("connection %s has no run: %w", rec.ID, ErrNotRetryable)
	}
	return nil
}

// source returns the document a retry of m copies: its Source, when one is stored, valid, and
// not older than the revision the mapping recorded (a failed deletion records its own revision
// and has no Source of it: copying an older revision would undo it).
func source(m store.Mapping) (drivesync.Document, bool) {
	doc := m.Source
	if doc.Revision == 0 || doc.Revision < m.Revision || doc.Validate() != nil {
		return drivesync.Document{}, false
	}
	return doc, true
}

// RetryDocument publishes a copy task, with verify and retry, for connection id's document documentID,
// which must be failed or pending: the copy engine copies it again, at the newest revision a
// delivery took up, as part of the connection's current run. It returns the document as stored
// (the task has not run yet). Costs: one BatchGetDocuments and one Pub/Sub message; then the
// copy engine's usual three Firestore operations and the Drive write.
func (s *Service) RetryDocument(ctx context.Context, companyID, id, documentID string) (store.Mapping, error) {
	r, rec, m, err := s.read(ctx, companyID, id, documentID)
	if err != nil {
		return store.Mapping{}, err
	}
	if err := retryable(r.Enabled, rec); err != nil {
		return store.Mapping{}, err
	}
	if m.State == store.MappingSynced || m.Deleted {
		return store.Mapping{}, fmt.Errorf("document %s: %w", documentID, ErrNothingToRetry)
	}
	doc, ok := source(m)
	if !ok {
		return store.Mapping{}, fmt.Errorf("document %s: no stored details: %w", documentID, ErrNotRetryable)
	}
	if err := s.retrier.PublishRetries(ctx, companyID, id, rec.InitialCopy.RunID, []drivesync.Document{doc}); err != nil {
		return store.Mapping{}, err
	}
	return m, nil
}

// Retried is what RetryFailed did.
type Retried struct {
	Retried int // copy tasks published
	// NotRetryable counts failed documents without the details a retry needs (mappings older
	// than the history); a sync of the whole connection copies them.
	NotRetryable int
	More         bool // more than MaxRetryBatch documents had failed: call again once these ran
}

// RetryFailed publishes a retry copy task for each of up to MaxRetryBatch failed documents of
// connection id. Costs: the connection and the company read (one aggregation counts the
// company's connections), one query reading a mapping per failed document (at most
// MaxRetryBatch + 1), and one Pub/Sub message per retried document, published in batches.
func (s *Service) RetryFailed(ctx context.Context, companyID, id string) (Retried, error) {
	rec, err := s.store.Connection(ctx, companyID, id)
	if err != nil {
		return Retried{}, err
	}
	in, err := s.store.Integration(ctx, companyID)
	if err != nil {
		return Retried{}, err
	}
	if err := retryable(in.Enabled, rec); err != nil {
		return Retried{}, err
	}
	ms, more, err := s.store.FailedMappings(ctx, store.ConnectionKey{CompanyID: companyID, ID: id}, MaxRetryBatch)
	if err != nil {
		return Retried{}, err
	}
	out := Retried{More: more}
	docs := make([]drivesync.Document, 0, len(ms))
	for _, m := range ms {
		if doc, ok := source(m); ok {
			docs = append(docs, doc)
		} else {
			out.NotRetryable++
		}
	}
	if len(docs) > 0 {
		if err := s.retrier.PublishRetries(ctx, companyID, id, rec.InitialCopy.RunID, docs); err != nil {
			return Retried{}, err
		}
	}
	out.Retried = len(docs)
	return out, nil
}
