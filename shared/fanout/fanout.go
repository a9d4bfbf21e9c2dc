// Package fanout turns one page of a company's eFactori documents into copy tasks: the step of a
// connection's initial copy that lists a page, publishes one drivesync.CopyTask per document,
// and asks for the next page by publishing the next drivesync.CopyRequest. One invocation does
// one page, so its work is bounded however many documents the company has.
//
// Progress bookkeeping (the listed and failed counters of the connection's initial copy, and
// dropping requests of a superseded run) is the caller's: HandlePage reports what it did in a
// Result and touches no state.
package fanout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/efactori"
)

// Codes this package puts on classified errors.
const (
	CodeInvalidRequest = "invalid_copy_request" // the copy request itself is unusable
	CodeBadPageToken   = "bad_page_token"       // eFactori returned a token a copy request cannot carry
	CodePublishFailed  = "publish_failed"       // Pub/Sub did not take every message of the page
)

// Lister lists one page of a company's documents. ListDocuments returns classified errors
// (drivesync.ClassifiedError); documents it cannot use are in Page.Invalid, not dropped.
type Lister interface {
	ListDocuments(ctx context.Context, companyID, pageToken string, pageSize int) (efactori.Page, error)
}

var _ Lister = (*efactori.Client)(nil)

// Publisher publishes Pub/Sub messages; *pubsub.Publisher is one. The result's Get reports the
// server's acceptance.
type Publisher interface {
	Publish(ctx context.Context, msg *pubsub.Message) *pubsub.PublishResult
}

var _ Publisher = (*pubsub.Publisher)(nil)

// Fanout publishes the copy tasks of one page of an initial copy at a time. It is safe for
// concurrent use.
type Fanout struct {
	lister   Lister
	tasks    Publisher
	requests Publisher
	pageSize int
}

// New returns a Fanout that lists pages of pageSize documents (1 to efactori.MaxPageSize) with
// lister, publishes copy tasks with tasks (on config.TopicCopyTasks) and the next page's copy
// request with requests (on config.TopicCopyRequests).
func New(lister Lister, tasks, requests Publisher, pageSize int) (*Fanout, error) {
	var errs []error
	if lister == nil {
		errs = append(errs, errors.New("nil lister"))
	}
	if tasks == nil {
		errs = append(errs, errors.New("nil copy task publisher"))
	}
	if requests == nil {
		errs = append(errs, errors.New("nil copy request publisher"))
	}
	if pageSize < 1 || pageSize > efactori.MaxPageSize {
		errs = append(errs, fmt.Errorf("page size %d is not between 1 and %d", pageSize, efactori.MaxPageSize))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new fanout: %w", err)
	}
	return &Fanout{lister: lister, tasks: tasks, requests: requests, pageSize: pageSize}, nil
}

// Result is what HandlePage did with one page.
type Result struct {
	// Listed counts the documents of the page, usable or not: the caller adds it to the
	// connection's InitialCopy.Listed.
	Listed int
	// Invalid counts the documents of the page no task was published for, because they failed
	// validation: the caller adds it to InitialCopy.Failed, since no upload will ever report
	// them.
	Invalid int
	// InvalidDocuments says which documents those were and why, for the caller's logs.
	InvalidDocuments []efactori.InvalidDocument
	// NextPageToken is the token of the copy request published for the next page; empty when
	// this was the last page and no request was published.
	NextPageToken string
}

// HandlePage lists the page of req's company that starts at req.PageToken, publishes one
// CopyTask per usable document (with req's ConnectionID and RunID), waits until Pub/Sub has
// accepted every one, and then, unless this was the last page, publishes the CopyRequest for the
// next page (same RunID). The caller must already have checked that req.RunID is the
// connection's current run.
//
// Errors are classified. A failed publish is Retryable: the whole page is to be redelivered,
// which publishes its tasks again; the uploader is idempotent, so duplicates are harmless, but
// the caller's counters must not count a redelivered page twice. Listing errors keep the
// lister's class. An invalid request, or a next page token a request cannot carry, is
// Permanent; nothing is published then.
func (f *Fanout) HandlePage(ctx context.Context, req drivesync.CopyRequest) (Result, error) {
	if err := req.Validate(); err != nil {
		return Result{}, drivesync.Classify(fmt.Errorf("handle copy page: %w: %w", drivesync.ErrInvalidCopyRequest, err),
			drivesync.Permanent, CodeInvalidRequest)
	}
	op := fmt.Sprintf("handle copy page of company %s connection %s run %s", req.CompanyID, req.ConnectionID, req.RunID)
	page, err := f.lister.ListDocuments(ctx, req.CompanyID, req.PageToken, f.pageSize)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	res := Result{
		Listed:           len(page.Documents) + len(page.Invalid),
		InvalidDocuments: page.Invalid,
		NextPageToken:    page.NextPageToken,
	}
	// The next request is built first: if it cannot be carried, nothing of this page is
	// published, so a retry does not publish the same tasks again and again.
	var next *pubsub.Message
	if page.NextPageToken != "" {
		nr := req
		nr.PageToken = page.NextPageToken
		next, err = message(nr, nr.Attributes(), drivesync.MaxCopyRequestBytes)
		if err != nil {
			return Result{}, drivesync.Classify(fmt.Errorf("%s: next page request: %w", op, err), drivesync.Permanent, CodeBadPageToken)
		}
	}

	results := make([]*pubsub.PublishResult, 0, len(page.Documents))
	for _, doc := range page.Documents {
		task := drivesync.CopyTask{
			SchemaVersion: drivesync.CopyTaskSchemaVersion,
			CompanyID:     req.CompanyID,
			ConnectionID:  req.ConnectionID,
			RunID:         req.RunID,
			Document:      doc,
		}
		msg, err := message(task, task.Attributes(), drivesync.MaxCopyTaskBytes)
		if err != nil {
			res.InvalidDocuments = append(res.InvalidDocuments, efactori.InvalidDocument{
				ID: doc.ID, Err: drivesync.Classify(fmt.Errorf("%s: copy task: %w", op, err), drivesync.Permanent, efactori.CodeInvalidDocument),
			})
			continue
		}
		results = append(results, f.tasks.Publish(ctx, msg))
	}
	res.Invalid = len(res.InvalidDocuments)
	if err := wait(ctx, results); err != nil {
		return Result{}, drivesync.Classify(fmt.Errorf("%s: publish copy tasks: %w", op, err), drivesync.Retryable, CodePublishFailed)
	}
	if next != nil {
		if _, err := f.requests.Publish(ctx, next).Get(ctx); err != nil {
			return Result{}, drivesync.Classify(fmt.Errorf("%s: publish next page request: %w", op, err), drivesync.Retryable, CodePublishFailed)
		}
	}
	return res, nil
}

// PublishTasks publishes one copy task per document of docs for run runID of connection
// connectionID of companyID, with verify set (a reconcile's tasks), and waits until Pub/Sub has
// accepted every one. A failed publish is Retryable; duplicates are harmless.
func (f *Fanout) PublishTasks(ctx context.Context, companyID, connectionID, runID string, docs []drivesync.Document) error {
	op := fmt.Sprintf("publish copy tasks of company %s connection %s run %s", companyID, connectionID, runID)
	results := make([]*pubsub.PublishResult, 0, len(docs))
	for _, doc := range docs {
		task := drivesync.CopyTask{SchemaVersion: drivesync.CopyTaskSchemaVersion, CompanyID: companyID,
			ConnectionID: connectionID, RunID: runID, Document: doc, Verify: true}
		msg, err := message(task, task.Attributes(), drivesync.MaxCopyTaskBytes)
		if err != nil {
			return drivesync.Classify(fmt.Errorf("%s: document %s: %w", op, doc.ID, err), drivesync.Permanent, efactori.CodeInvalidDocument)
		}
		results = append(results, f.tasks.Publish(ctx, msg))
	}
	if err := wait(ctx, results); err != nil {
		return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Retryable, CodePublishFailed)
	}
	return nil
}

// List lists one page of companyID's documents, with the page size f was made with.
func (f *Fanout) List(ctx context.Context, companyID, pageToken string) (efactori.Page, error) {
	return f.lister.ListDocuments(ctx, companyID, pageToken, f.pageSize)
}

// PublishRequest publishes req on the copy-request topic and waits until Pub/Sub has accepted
// it. Errors are classified: an invalid request is Permanent, a failed publish Retryable.
func (f *Fanout) PublishRequest(ctx context.Context, req drivesync.CopyRequest) error {
	msg, err := message(req, req.Attributes(), drivesync.MaxCopyRequestBytes)
	if err != nil {
		return drivesync.Classify(fmt.Errorf("publish copy request of run %s: %w", req.RunID, err), drivesync.Permanent, CodeInvalidRequest)
	}
	if _, err := f.requests.Publish(ctx, msg).Get(ctx); err != nil {
		return drivesync.Classify(fmt.Errorf("publish copy request of run %s: %w", req.RunID, err), drivesync.Retryable, CodePublishFailed)
	}
	return nil
}

// message encodes v, which must validate, as a message of at most limit bytes of data.
func message(v interface{ Validate() error }, attrs map[string]string, limit int) (*pubsub.Message, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, fmt.Errorf("data is %d bytes, the limit is %d", len(data), limit)
	}
	return &pubsub.Message{Data: data, Attributes: attrs}, nil
}

// wait waits for every result, even after a failure, so that no publish is still in flight when
// the page is handed back for redelivery, and reports the first failure with the count.
func wait(ctx context.Context, results []*pubsub.PublishResult) error {
	var (
		first  error
		failed int
	)
	for _, r := range results {
		if _, err := r.Get(ctx); err != nil {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	if first != nil {
		return fmt.Errorf("%d of %d messages failed, first: %w", failed, len(results), first)
	}
	return nil
}

// Publisher settings. A page is published in one burst and then awaited, so its latency is
// that of its slowest batch: a full page of MaxPageSize tasks goes out as four concurrent
// requests rather than one, and the delay only bounds the wait for a page's last partial batch.
const (
	taskBatchCount = efactori.MaxPageSize / 4
	taskBatchDelay = 5 * time.Millisecond
	// A task is at most MaxCopyTaskBytes (about 1 KB in practice); a full batch stays far
	// inside Pub/Sub's 10 MB request limit.
	taskBatchBytes = 4 << 20
	// Flow control bounds the messages one instance buffers across concurrent pages; a page
	// blocks (honouring its context) rather than failing when the bound is reached.
	maxOutstandingTasks     = 4 * efactori.MaxPageSize
	maxOutstandingTaskBytes = 64 << 20
)

// NewTaskPublisher returns a publisher of copy tasks on topic (an ID or full name in client's
// project) tuned for throughput: a page's tasks leave in a few large batches sent concurrently,
// with blocking flow control. Call Stop on it when the instance shuts down.
func NewTaskPublisher(client *pubsub.Client, topic string) (*pubsub.Publisher, error) {
	if client == nil {
		return nil, errors.New("new copy task publisher: nil pubsub client")
	}
	if topic == "" {
		return nil, errors.New("new copy task publisher: empty topic")
	}
	p := client.Publisher(topic)
	p.PublishSettings.CountThreshold = taskBatchCount
	p.PublishSettings.ByteThreshold = taskBatchBytes
	p.PublishSettings.DelayThreshold = taskBatchDelay
	p.PublishSettings.FlowControlSettings = pubsub.FlowControlSettings{
		MaxOutstandingMessages: maxOutstandingTasks,
		MaxOutstandingBytes:    maxOutstandingTaskBytes,
		LimitExceededBehavior:  pubsub.FlowControlBlock,
	}
	return p, nil
}

// NewRequestPublisher returns a publisher of copy requests on topic. A page publishes a single
// request and waits for it, so it is sent at once instead of waiting for a batch to fill.
func NewRequestPublisher(client *pubsub.Client, topic string) (*pubsub.Publisher, error) {
	if client == nil {
		return nil, errors.New("new copy request publisher: nil pubsub client")
	}
	if topic == "" {
		return nil, errors.New("new copy request publisher: empty topic")
	}
	p := client.Publisher(topic)
	p.PublishSettings.CountThreshold = 1
	p.PublishSettings.DelayThreshold = time.Millisecond
	return p, nil
}
