// Package pushd stands in for Pub/Sub push at production concurrency, on top of the official
// Pub/Sub emulator's subscriptions. The emulator's own push loop sends one request at a time
// per subscription to one endpoint and knows nothing of dead-letter topics; production pushes
// many requests at once to up to K instances of a Cloud Run service serving C requests each.
// A Pusher pulls from a pull subscription on the emulator and posts each message, in the push
// JSON the functions framework accepts, to the least busy instance of a Pool, with Pub/Sub's
// push semantics:
//
//   - an ack deadline: a push not answered within it is delivered again (the emulator's lease
//     expires) while the first may still run;
//   - a refused push (any status but 102, 200, 201, 202, 204, or no answer) comes back after an
//     exponential backoff between the subscription's minimum and maximum;
//   - after the maximum number of delivery attempts the message is published to the dead-letter
//     topic and acknowledged;
//   - push flow control: the outstanding window halves when instances answer 429 or 503 (down
//     to one push per instance) and grows by one on each success, and never more than K×C messages are in flight.
//
// Counters (deliveries, acks, nacks by status, deadline expiries, dead letters, the most
// requests each instance held at once) are readable at any time and logged when Run ends.
package pushd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Pool is the K instances of one function, each serving up to C requests at once. Several
// Pushers (one per subscription feeding the function) share it, as several subscriptions push
// to one Cloud Run service.
type Pool struct {
	function    string
	urls        []string
	concurrency int
	tokens      chan struct{} // one per request the pool may hold: K×C

	mu        sync.Mutex
	inFlight  []int
	maxSeen   []int
	downTill  []time.Time   // an instance that refused a connection is skipped until then
	busySince []time.Time   // when the instance last went from idle to serving
	busy      time.Duration // instance time spent serving at least one request, all instances
}

// NewPool returns the pool of instances at urls (base URLs, http://host:port), each taking up
// to concurrency requests at once.
func NewPool(function string, urls []string, concurrency int) (*Pool, error) {
	if len(urls) == 0 {
		return nil, fmt.Errorf("pool %s: no instances", function)
	}
	if concurrency < 1 {
		return nil, fmt.Errorf("pool %s: concurrency %d, want >= 1", function, concurrency)
	}
	p := &Pool{function: function, urls: append([]string(nil), urls...), concurrency: concurrency,
		tokens: make(chan struct{}, len(urls)*concurrency), inFlight: make([]int, len(urls)),
		maxSeen: make([]int, len(urls)), downTill: make([]time.Time, len(urls)), busySince: make([]time.Time, len(urls))}
	return p, nil
}

// Capacity is K×C, the most requests the pool holds at once.
func (p *Pool) Capacity() int { return cap(p.tokens) }

// MaxInFlight returns, per instance, the most requests it held at once.
func (p *Pool) MaxInFlight() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.maxSeen...)
}

// BusyTime is the instance time spent serving at least one request, summed over the instances
// (requests still running count up to now): what Cloud Run bills with request-based billing.
func (p *Pool) BusyTime() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.busy
	for i, n := range p.inFlight {
		if n > 0 {
			d += time.Since(p.busySince[i])
		}
	}
	return d
}

func (p *Pool) acquire(ctx context.Context) error {
	select {
	case p.tokens <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Pool) tryAcquire() bool {
	select {
	case p.tokens <- struct{}{}:
		return true
	default:
		return false
	}
}

func (p *Pool) release() { <-p.tokens }

// pick reserves a request slot on the least busy instance that is up (any instance when all
// are down). Holding a token guarantees one has a free slot.
func (p *Pool) pick(avoid int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	best := -1
	for pass := 0; pass < 2 && best < 0; pass++ {
		for i := range p.urls {
			if p.inFlight[i] >= p.concurrency || (pass == 0 && (now.Before(p.downTill[i]) || i == avoid)) {
				continue
			}
			if best < 0 || p.inFlight[i] < p.inFlight[best] {
				best = i
			}
		}
	}
	if best < 0 {
		best = 0 // unreachable while the caller holds a token
	}
	if p.inFlight[best] == 0 {
		p.busySince[best] = time.Now()
	}
	p.inFlight[best]++
	p.maxSeen[best] = max(p.maxSeen[best], p.inFlight[best])
	return best
}

func (p *Pool) done(i int, refused bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight[i]--
	if p.inFlight[i] == 0 {
		p.busy += time.Since(p.busySince[i])
	}
	if refused {
		// The instance is not listening (crashed, restarting): Cloud Run would not route to it.
		p.downTill[i] = time.Now().Add(500 * time.Millisecond)
	}
}

// Subscription is what a Pusher delivers: a pull subscription on the emulator and the push
// semantics of the subscription it stands in for.
type Subscription struct {
	// Name is the full pull subscription name, projects/<p>/subscriptions/<id>.
	Name string
	// Topic is the full topic name; pushes go to <instance URL>/<Topic>, the path from which the
	// functions framework builds the CloudEvent's source.
	Topic string
	// DeadLetterTopic is the full topic name messages go to after MaxAttempts; "" keeps
	// retrying forever, as a subscription without a dead-letter policy does.
	DeadLetterTopic string
	// AckDeadline is how long a push may run before the message is delivered again.
	AckDeadline time.Duration
	// MinBackoff and MaxBackoff bound the retry backoff of a refused push.
	MinBackoff, MaxBackoff time.Duration
	// MaxAttempts is the delivery attempts before dead-lettering (with DeadLetterTopic).
	MaxAttempts int
}

// Options configure a Pusher.
type Options struct {
	// Client is on the Pub/Sub emulator; required.
	Client *pubsub.Client
	// Pool receives the pushes; required.
	Pool *Pool
	// Subscription is what to deliver; Name, Topic and AckDeadline are required.
	Subscription Subscription
	// RequestTimeout ends a push the function has not answered (the function's timeout);
	// 0 means ten times the ack deadline.
	RequestTimeout time.Duration
	// Logger receives a line per dead letter and the counters when Run ends; nil discards.
	Logger *slog.Logger
}

// Counters are what a Pusher did.
type Counters struct {
	Deliveries       int64            // HTTP pushes sent
	Acks             int64            // messages acknowledged after a 2xx
	Nacks            map[string]int64 // refused pushes by status code, "crashed" or "timeout"
	DeadlineExpiries int64            // pushes still unanswered at the ack deadline
	DeadLetters      int64            // messages published to the dead-letter topic
	Window           int              // the outstanding window now
	MaxInFlight      []int            // the pool's, per instance
}

// Pusher delivers one subscription to a Pool.
type Pusher struct {
	opts   Options
	log    *slog.Logger
	http   *http.Client
	dlt    *pubsub.Publisher
	wake   chan struct{}
	mu     sync.Mutex
	window int
	out    int            // messages of this subscription in flight
	tries  map[string]int // delivery attempts by message ID
	nacks  map[string]int64

	deliveries, acks, expiries, deadLetters atomic.Int64
}

// New checks opts and returns a Pusher; Run starts it.
func New(opts Options) (*Pusher, error) {
	var errs []error
	if opts.Client == nil {
		errs = append(errs, errors.New("no Pub/Sub client"))
	}
	if opts.Pool == nil {
		errs = append(errs, errors.New("no pool"))
	}
	s := opts.Subscription
	if !strings.Contains(s.Name, "/subscriptions/") {
		errs = append(errs, fmt.Errorf("subscription name %q is not projects/<p>/subscriptions/<id>", s.Name))
	}
	if !strings.Contains(s.Topic, "/topics/") {
		errs = append(errs, fmt.Errorf("topic %q is not projects/<p>/topics/<id>", s.Topic))
	}
	if s.DeadLetterTopic != "" && !strings.Contains(s.DeadLetterTopic, "/topics/") {
		errs = append(errs, fmt.Errorf("dead-letter topic %q is not projects/<p>/topics/<id>", s.DeadLetterTopic))
	}
	if s.AckDeadline < time.Second || s.AckDeadline > 600*time.Second {
		errs = append(errs, fmt.Errorf("ack deadline %v, want 1 s..600 s", s.AckDeadline))
	}
	if s.MinBackoff < 0 || s.MaxBackoff < s.MinBackoff || s.MaxBackoff > 600*time.Second {
		errs = append(errs, fmt.Errorf("backoff %v..%v, want 0 <= min <= max <= 600 s", s.MinBackoff, s.MaxBackoff))
	}
	if s.DeadLetterTopic != "" && s.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("max attempts %d with a dead-letter topic, want >= 1", s.MaxAttempts))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("pushd: %w", err)
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * s.AckDeadline
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pusher{opts: opts, log: log.With("subscription", s.Name), wake: make(chan struct{}, 1),
		window: opts.Pool.Capacity(), tries: map[string]int{}, nacks: map[string]int64{},
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opts.Pool.Capacity(),
			DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}}}
	if s.DeadLetterTopic != "" {
		p.dlt = opts.Client.Publisher(s.DeadLetterTopic)
	}
	return p, nil
}

// Counters returns what the Pusher did so far.
func (p *Pusher) Counters() Counters {
	p.mu.Lock()
	nacks, window := maps.Clone(p.nacks), p.window
	p.mu.Unlock()
	return Counters{Deliveries: p.deliveries.Load(), Acks: p.acks.Load(), Nacks: nacks,
		DeadlineExpiries: p.expiries.Load(), DeadLetters: p.deadLetters.Load(), Window: window,
		MaxInFlight: p.opts.Pool.MaxInFlight()}
}

// idlePoll is how long the Pusher waits before pulling again from an empty subscription.
const idlePoll = 50 * time.Millisecond

// Run pulls and delivers until ctx ends, then waits for the pushes in flight and logs the
// counters. It returns ctx's error, or the error that stopped pulling.
func (p *Pusher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		if p.dlt != nil {
			p.dlt.Stop()
		}
		c := p.Counters()
		p.log.Info("pushd stopped", "deliveries", c.Deliveries, "acks", c.Acks, "nacks", c.Nacks,
			"deadline_expiries", c.DeadlineExpiries, "dead_letters", c.DeadLetters, "max_in_flight", c.MaxInFlight)
	}()
	sub := p.opts.Subscription
	for ctx.Err() == nil {
		// Room in this subscription's window, then in the pool.
		p.mu.Lock()
		room := p.window - p.out
		p.mu.Unlock()
		if room <= 0 {
			select {
			case <-p.wake:
			case <-ctx.Done():
			}
			continue
		}
		if err := p.opts.Pool.acquire(ctx); err != nil {
			break
		}
		n := 1
		for n < room && p.opts.Pool.tryAcquire() {
			n++
		}
		req := &pubsubpb.PullRequest{Subscription: sub.Name, MaxMessages: int32(n)}
		//lint:ignore SA1019 deprecated for production pullers; this loop must learn at once that the subscription is empty to hand its slots back
		req.ReturnImmediately = true
		resp, err := p.opts.Client.SubscriptionAdminClient.Pull(ctx, req)
		msgs := resp.GetReceivedMessages()
		for range n - len(msgs) {
			p.opts.Pool.release()
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			p.log.Warn("pushd pull", "error", err.Error())
			sleep(ctx, time.Second)
			continue
		}
		if len(msgs) == 0 {
			sleep(ctx, idlePoll)
			continue
		}
		// The lease is pushd's ack deadline, whatever the subscription was created with.
		ids := make([]string, len(msgs))
		for i, m := range msgs {
			ids[i] = m.GetAckId()
		}
		if err := p.modifyDeadline(ctx, ids, sub.AckDeadline); err != nil {
			p.log.Warn("pushd set ack deadline", "error", err.Error())
		}
		p.mu.Lock()
		p.out += len(msgs)
		p.mu.Unlock()
		for _, m := range msgs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.deliver(ctx, m)
				p.opts.Pool.release()
				p.mu.Lock()
				p.out--
				p.mu.Unlock()
				select {
				case p.wake <- struct{}{}:
				default:
				}
			}()
		}
	}
	return ctx.Err()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// deliver pushes one message and acknowledges, retries later or dead-letters it.
func (p *Pusher) deliver(ctx context.Context, rm *pubsubpb.ReceivedMessage) {
	sub := p.opts.Subscription
	m := rm.GetMessage()
	p.mu.Lock()
	p.tries[m.GetMessageId()]++
	attempt := p.tries[m.GetMessageId()]
	p.mu.Unlock()
	if p.dlt != nil && attempt > sub.MaxAttempts {
		p.deadLetter(ctx, rm, attempt-1)
		return
	}
	body, err := pushBody(rm, sub.Name, attempt)
	if err != nil {
		p.log.Error("pushd encode push", "message_id", m.GetMessageId(), "error", err.Error())
		return // the lease expires and the message comes back
	}
	status := p.push(ctx, body)
	if ctx.Err() != nil {
		return // stopping: the lease expires and the message waits for the next run
	}
	// Acknowledging and nacking outlive a Run that ends meanwhile.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if status.ok {
		if err := p.opts.Client.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{
			Subscription: sub.Name, AckIds: []string{rm.GetAckId()}}); err != nil {
			// A lease that expired meanwhile: the redelivery will be acknowledged in its turn.
			p.log.Debug("pushd ack", "message_id", m.GetMessageId(), "error", err.Error())
		}
		p.acks.Add(1)
		p.mu.Lock()
		delete(p.tries, m.GetMessageId())
		p.window = min(p.window+1, p.opts.Pool.Capacity())
		p.mu.Unlock()
		return
	}
	p.mu.Lock()
	p.nacks[status.key]++
	if status.overloaded {
		// Never below one push per instance: a single long push must not stall the subscription.
		p.window = max(len(p.opts.Pool.urls), p.window/2)
	}
	p.mu.Unlock()
	if err := p.modifyDeadline(ctx, []string{rm.GetAckId()}, backoff(sub.MinBackoff, sub.MaxBackoff, attempt)); err != nil {
		p.log.Debug("pushd nack", "message_id", m.GetMessageId(), "error", err.Error())
	}
}

// backoff is Pub/Sub's exponential retry delay after the attempt-th failed delivery.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := float64(lo) * math.Pow(2, float64(attempt-1))
	if d > float64(hi) {
		return hi
	}
	return time.Duration(d)
}

// modifyDeadline sets the lease of ackIDs to d, rounded up to whole seconds as the API takes it.
func (p *Pusher) modifyDeadline(ctx context.Context, ackIDs []string, d time.Duration) error {
	secs := int32((d + time.Second - 1) / time.Second)
	return p.opts.Client.SubscriptionAdminClient.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{
		Subscription: p.opts.Subscription.Name, AckIds: ackIDs, AckDeadlineSeconds: secs})
}

func (p *Pusher) deadLetter(ctx context.Context, rm *pubsubpb.ReceivedMessage, attempts int) {
	m := rm.GetMessage()
	attrs := maps.Clone(m.GetAttributes())
	if attrs == nil {
		attrs = map[string]string{}
	}
	// As Pub/Sub adds to a forwarded message.
	attrs["CloudPubSubDeadLetterSourceSubscription"] = p.opts.Subscription.Name
	attrs["CloudPubSubDeadLetterSourceDeliveryCount"] = strconv.Itoa(attempts)
	if _, err := p.dlt.Publish(ctx, &pubsub.Message{Data: m.GetData(), Attributes: attrs, OrderingKey: m.GetOrderingKey()}).Get(ctx); err != nil {
		p.log.Error("pushd dead-letter publish", "message_id", m.GetMessageId(), "error", err.Error())
		return // not acknowledged: it comes back and is forwarded again
	}
	if err := p.opts.Client.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{
		Subscription: p.opts.Subscription.Name, AckIds: []string{rm.GetAckId()}}); err != nil {
		p.log.Warn("pushd ack dead letter", "message_id", m.GetMessageId(), "error", err.Error())
	}
	p.deadLetters.Add(1)
	p.mu.Lock()
	delete(p.tries, m.GetMessageId())
	p.mu.Unlock()
	p.log.Warn("pushd dead-lettered", "message_id", m.GetMessageId(), "attempts", attempts, "topic", p.opts.Subscription.DeadLetterTopic)
}

type pushResult struct {
	ok         bool
	overloaded bool   // 429, 503 or a crashed instance: shrink the window
	key        string // the counter of a refusal
}

// push posts body to an instance, retrying on another one when the first is not listening (the
// request never reached a function, as Cloud Run routes around an instance it is restarting).
func (p *Pusher) push(ctx context.Context, body []byte) pushResult {
	sub := p.opts.Subscription
	pool := p.opts.Pool
	avoid := -1
	for try := 0; ; try++ {
		i := pool.pick(avoid)
		p.deliveries.Add(1)
		expired := time.AfterFunc(sub.AckDeadline, func() { p.expiries.Add(1) })
		res, refused := p.post(ctx, pool.urls[i]+"/"+sub.Topic, body)
		expired.Stop()
		pool.done(i, refused)
		if !refused || try >= len(pool.urls) {
			return res
		}
		p.deliveries.Add(-1) // never reached a function
		avoid = i
		sleep(ctx, 100*time.Millisecond)
	}
}

// post sends one push; refused reports a connection that was never made.
func (p *Pusher) post(ctx context.Context, url string, body []byte) (res pushResult, refused bool) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return pushResult{key: "error"}, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "APIs-Google; (drivesync pushd)")
	resp, err := p.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return pushResult{overloaded: true, key: "crashed"}, true
		}
		if ctx.Err() != nil {
			return pushResult{key: "timeout"}, false
		}
		// The instance died with the request in it; Cloud Run answers 503 then.
		return pushResult{overloaded: true, key: "crashed"}, false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case 102, 200, 201, 202, 204: // the codes Pub/Sub push takes as an acknowledgement
		return pushResult{ok: true}, false
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return pushResult{overloaded: true, key: strconv.Itoa(resp.StatusCode)}, false
	default:
		return pushResult{key: strconv.Itoa(resp.StatusCode)}, false
	}
}

// pushBody is the JSON Pub/Sub posts to a push endpoint (the wrapped format).
func pushBody(rm *pubsubpb.ReceivedMessage, subscription string, attempt int) ([]byte, error) {
	m := rm.GetMessage()
	publish := m.GetPublishTime()
	if publish == nil {
		publish = timestamppb.Now()
	}
	when := publish.AsTime().UTC().Format(time.RFC3339Nano)
	type message struct {
		Attributes   map[string]string `json:"attributes,omitempty"`
		Data         string            `json:"data"`
		MessageID    string            `json:"messageId"`
		MessageID2   string            `json:"message_id"`
		PublishTime  string            `json:"publishTime"`
		PublishTime2 string            `json:"publish_time"`
		OrderingKey  string            `json:"orderingKey,omitempty"`
	}
	return json.Marshal(struct {
		Message         message `json:"message"`
		Subscription    string  `json:"subscription"`
		DeliveryAttempt int     `json:"deliveryAttempt"`
	}{
		Message: message{Attributes: m.GetAttributes(), Data: base64.StdEncoding.EncodeToString(m.GetData()),
			MessageID: m.GetMessageId(), MessageID2: m.GetMessageId(), PublishTime: when, PublishTime2: when,
			OrderingKey: m.GetOrderingKey()},
		Subscription:    subscription,
		DeliveryAttempt: attempt,
	})
}
