// Package fanout publishes a run's copy tasks (topic config.TopicCopyTasks) and copy requests
// (config.TopicCopyRequests), and lists a company's eFactori documents a page at a time for the
// reconcile that decides which tasks a run needs. It keeps no state: a run's bookkeeping is the
// copy engine's.
package fanout

import (
	"bytes"
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
	CodePublishFailed  = "publish_failed"       // Pub/Sub did not take every message
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

// Fanout lists a company's documents and publishes copy tasks and copy requests. It is safe for
// concurrent use.
type Fanout struct {
	lister   Lister
	tasks    Publisher
	requests Publisher
	pageSize int
}

// New returns a Fanout that lists pages of pageSize documents (1 to efactori.MaxPageSize) with
// lister, publishes copy tasks with tasks (on config.TopicCopyTasks) and copy requests with
// requests (on config.TopicCopyRequests).
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

// List lists the page of companyID's documents that starts at pageToken (empty for the first),
// with the page size f was made with. Errors keep the lister's class.
func (f *Fanout) List(ctx context.Context, companyID, pageToken string) (efactori.Page, error) {
	return f.lister.ListDocuments(ctx, companyID, pageToken, f.pageSize)
}

// PublishTasks publishes one copy task per document of docs for run runID of connection
// connectionID of companyID, with Verify set (a reconcile's tasks), and waits until Pub/Sub has
// accepted every one.
//
// Errors are classified. A document that cannot make a valid task is Permanent, with code
// efactori.CodeInvalidDocument, and then nothing is published: every task is checked before the
// first leaves. A failed publish is Retryable with CodePublishFailed; the tasks already accepted
// are published again by the retry, which is harmless since the uploader is idempotent.
func (f *Fanout) PublishTasks(ctx context.Context, companyID, connectionID, runID string, docs []drivesync.Document) error {
	return publishTasks(ctx, f.tasks, companyID, connectionID, runID, docs, false)
}

// Retrier publishes the copy tasks of a customer's retry (the document history). It only needs
// the copy-task publisher, so the Connections function can have one without eFactori's client.
type Retrier struct {
	tasks Publisher
}

// NewRetrier returns a Retrier publishing with tasks (on config.TopicCopyTasks).
func NewRetrier(tasks Publisher) (*Retrier, error) {
	if tasks == nil {
		return nil, errors.New("new retrier: nil copy task publisher")
	}
	return &Retrier{tasks: tasks}, nil
}

// PublishRetries is PublishTasks for documents a customer asked to retry: each task also has
// Retry set, so a revision recorded failed is tried again even within the run that recorded it.
// Errors are those of PublishTasks.
func (r *Retrier) PublishRetries(ctx context.Context, companyID, connectionID, runID string, docs []drivesync.Document) error {
	return publishTasks(ctx, r.tasks, companyID, connectionID, runID, docs, true)
}

func publishTasks(ctx context.Context, pub Publisher, companyID, connectionID, runID string, docs []drivesync.Document, retry bool) error {
	op := fmt.Sprintf("publish copy tasks of company %s connection %s run %s", companyID, connectionID, runID)
	task := func(doc drivesync.Document) drivesync.CopyTask {
		return drivesync.CopyTask{SchemaVersion: drivesync.CopyTaskSchemaVersion, CompanyID: companyID,
			ConnectionID: connectionID, RunID: runID, Document: doc, Verify: true, Retry: retry}
	}
	// The check encodes every task without keeping it: holding a reconcile's 100,000 encoded
	// tasks until the last is checked would cost about 100 MB, where the publisher's flow
	// control needs only a few thousand at a time. Encoding twice costs a few per cent of the
	// time publishing takes.
	var check taskCheck
	for _, doc := range docs {
		if err := check.check(task(doc)); err != nil {
			return drivesync.Classify(fmt.Errorf("%s: document %s: %w", op, doc.ID, err), drivesync.Permanent, efactori.CodeInvalidDocument)
		}
	}
	results := make([]*pubsub.PublishResult, 0, len(docs))
	for _, doc := range docs {
		t := task(doc)
		msg, err := message(t, t.Attributes(), drivesync.MaxCopyTaskBytes)
		if err != nil {
			// Not reached: the check encoded the same task. Whatever is in flight is still
			// awaited, so that nothing is published after the call returns.
			_ = wait(ctx, results)
			return drivesync.Classify(fmt.Errorf("%s: document %s: %w", op, doc.ID, err), drivesync.Permanent, efactori.CodeInvalidDocument)
		}
		results = append(results, pub.Publish(ctx, msg))
	}
	if err := wait(ctx, results); err != nil {
		return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Retryable, CodePublishFailed)
	}
	return nil
}

// taskCheck checks that copy tasks validate and fit in a message, reusing one buffer.
type taskCheck struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func (c *taskCheck) check(t drivesync.CopyTask) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if c.enc == nil {
		c.enc = json.NewEncoder(&c.buf) // escapes HTML like json.Marshal, so sizes agree
	}
	c.buf.Reset()
	if err := c.enc.Encode(t); err != nil {
		return err
	}
	// Encode ends the value with a newline that json.Marshal does not write.
	if n := c.buf.Len() - 1; n > drivesync.MaxCopyTaskBytes {
		return fmt.Errorf("data is %d bytes, the limit is %d", n, drivesync.MaxCopyTaskBytes)
	}
	return nil
}

// PublishRequest publishes req on the copy-request topic and waits until Pub/Sub has accepted
// it. Errors are classified: an invalid request is Permanent with CodeInvalidRequest, and
// nothing is published; a failed publish is Retryable with CodePublishFailed.
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
// the caller's message is handed back for redelivery, and reports the first failure with the
// count.
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

// Publisher settings. PublishTasks publishes a run's tasks in one burst and then awaits them,
// so what matters is throughput: tasks leave in batches of a few hundred, many requests in
// flight at once, and the delay only bounds the wait for the last partial batch.
const (
	taskBatchCount = 250
	taskBatchDelay = 5 * time.Millisecond
	// A task is at most MaxCopyTaskBytes (about 1 KB in practice); a full batch stays far
	// inside Pub/Sub's 10 MB request limit.
	taskBatchBytes = 4 << 20
	// Flow control bounds the messages one instance buffers across concurrent runs; a publish
	// blocks (honouring its context) rather than failing when the bound is reached.
	maxOutstandingTasks     = 4000
	maxOutstandingTaskBytes = 64 << 20
)

// NewTaskPublisher returns a publisher of copy tasks on topic (an ID or full name in client's
// project) tuned for throughput: tasks leave in large batches sent concurrently, with blocking
// flow control. Call Stop on it when the instance shuts down.
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

// NewRequestPublisher returns a publisher of copy requests on topic. A copy request is published
// alone and awaited, so it is sent at once instead of waiting for a batch to fill.
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
