package synctest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/local/proc"
	"github.com/efactori/drivesync/local/pushd"
	"github.com/efactori/drivesync/local/rpccount"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/terraform"
)

// fleetOptions shape a fleet: production delivery (local/pushd with terraform/delivery.json's
// settings) to K SyncDocument instances of C concurrent requests and InitialCopy's declared
// instances.
type fleetOptions struct {
	instances int     // K; 0 = delivery.json's max_instances
	limit     float64 // the Drive emulator's write limit L per account, and DRIVE_WRITES_PER_SECOND
	companies []efactori.CompanySpec
	accounts  []string // Google accounts besides the harness's three
	env       []string // added to the functions' environment (DRIVE_PACING=instance, …)
	// minBackoff and maxBackoff replace delivery.json's retry backoff when set: a test that
	// asserts exactly once and the write ceiling, not the time, need not wait out 10 s and more
	// per retried delivery (the bench keeps the declared values).
	minBackoff, maxBackoff time.Duration
}

// fleet is a stack whose functions run as production runs them: supervised instances behind
// pushd, their Firestore calls counted.
type fleet struct {
	*stack
	sync     []*proc.Supervisor
	initialP []*proc.Supervisor
	pushers  map[string]*pushd.Pusher // by topic ID
	pools    map[string]*pushd.Pool   // by function
	fsCalls  *rpccount.Proxy
	delivery terraform.Delivery
	accounts []string // every account, each limited to L
}

func newFleet(tb testing.TB, o fleetOptions) *fleet {
	tb.Helper()
	delivery, err := terraform.LoadDelivery()
	if err != nil {
		tb.Fatal(err)
	}
	k := o.instances
	if k == 0 {
		k = delivery.Functions[config.FunctionSyncDocument].MaxInstances
	}
	// FLEET_LOG_LEVEL=INFO logs every delivery (its lag and how long it held its request) to the
	// functions' log file, to see where a scenario's time goes.
	s := newStack(tb, options{companies: o.companies, writesPerSecond: o.limit, extraAccounts: o.accounts,
		env: o.env, noFunctions: true, logLevel: os.Getenv("FLEET_LOG_LEVEL")})
	f := &fleet{stack: s, delivery: delivery, pushers: map[string]*pushd.Pusher{}, pools: map[string]*pushd.Pool{},
		accounts: append(slices.Clone(accounts), o.accounts...)}
	for _, a := range f.accounts {
		if err := s.google.Drive.SetWriteRate(a, o.limit, max(1, int(o.limit))); err != nil {
			tb.Fatal(err)
		}
	}
	if f.fsCalls, err = rpccount.Start(os.Getenv(emulators.FirestoreEnv)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.fsCalls.Close() })

	// The functions' logs go to a file: five instances at INFO would drown the test log.
	logs, err := os.CreateTemp("", "drivesync-fleet-*.log")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { logs.Close() })
	tb.Logf("fleet: function logs in %s", logs.Name())
	bin := emulators.FunctionBinary(tb, module)
	env := append([]string{"GOOGLE_CLOUD_PROJECT=" + s.project}, s.env...)
	env = append(env, "FIRESTORE_EMULATOR_HOST="+f.fsCalls.Host)
	start := func(name, target string) (*proc.Supervisor, string) {
		port, err := proc.FreePort()
		if err != nil {
			tb.Fatal(err)
		}
		host := proc.HostPort(port)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		sup, err := proc.Supervise(ctx, name, []string{bin}, append(slices.Clone(env), "FUNCTION_TARGET="+target, "PORT="+strconv.Itoa(port)),
			logs, func(ctx context.Context, p *proc.Process) error { return p.WaitTCP(ctx, host) })
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = sup.Stop() })
		return sup, "http://" + host
	}
	var syncURLs []string
	for i := range k {
		sup, url := start(fmt.Sprintf("SyncDocument#%d", i+1), config.FunctionSyncDocument)
		f.sync, syncURLs = append(f.sync, sup), append(syncURLs, url)
	}
	// InitialCopy runs as many instances as it is declared with: its await requests top up every
	// copying run's window, and one instance would queue twenty runs' requests behind each other.
	var initialURLs []string
	for i := range delivery.Functions[config.FunctionInitialCopy].MaxInstances {
		sup, url := start(fmt.Sprintf("InitialCopy#%d", i+1), config.FunctionInitialCopy)
		f.initialP, initialURLs = append(f.initialP, sup), append(initialURLs, url)
	}
	f.initial = initialURLs[0]

	for fn, urls := range map[string][]string{config.FunctionSyncDocument: syncURLs, config.FunctionInitialCopy: initialURLs} {
		if f.pools[fn], err = pushd.NewPool(fn, urls, delivery.Functions[fn].Concurrency); err != nil {
			tb.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tb.Cleanup(func() { cancel(); wg.Wait() }) // before the functions stop: cleanups run last first
	dlt := s.topic("drivesync-dead-letter")
	if _, err := s.ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: dlt}); err != nil {
		tb.Fatal(err)
	}
	for _, topic := range []string{config.TopicDocumentEvents, config.TopicCopyTasks, config.TopicCopyRequests} {
		_, d, ok := delivery.SubscriptionFor(topic)
		if !ok {
			tb.Fatalf("delivery.json: no subscription for %s", topic)
		}
		sub := "projects/" + s.project + "/subscriptions/" + topic + "-pushd"
		if _, err := s.ps.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name: sub, Topic: s.topic(topic), AckDeadlineSeconds: int32(d.AckDeadlineSeconds)}); err != nil {
			tb.Fatal(err)
		}
		minB, maxB := d.MinBackoff(), d.MaxBackoff()
		if o.maxBackoff > 0 {
			minB, maxB = o.minBackoff, o.maxBackoff
		}
		p, err := pushd.New(pushd.Options{Client: s.ps, Pool: f.pools[d.Function], RequestTimeout: delivery.Functions[d.Function].Timeout(),
			Subscription: pushd.Subscription{Name: sub, Topic: s.topic(topic), DeadLetterTopic: dlt, AckDeadline: d.AckDeadline(),
				MinBackoff: minB, MaxBackoff: maxB, MaxAttempts: d.MaxDeliveryAttempts}})
		if err != nil {
			tb.Fatal(err)
		}
		f.pushers[topic] = p
		wg.Add(1)
		go func() { defer wg.Done(); _ = p.Run(ctx) }()
	}
	return f
}

// killEvery SIGKILLs one SyncDocument instance (in turn) every period, the first after first,
// until stop is closed; it returns how many it killed, once stopped.
func (f *fleet) killEvery(first, period time.Duration, stop <-chan struct{}) <-chan int {
	out := make(chan int, 1)
	go func() {
		n := 0
		defer func() { out <- n }()
		wait := first
		for {
			select {
			case <-stop:
				return
			case <-time.After(wait):
			}
			if err := f.sync[n%len(f.sync)].Kill(); err != nil {
				f.t.Errorf("kill: %v", err)
				return
			}
			n++
			wait = period
		}
	}()
	return out
}

// writes returns account's accepted and refused Drive writes so far.
func (f *fleet) writes(account string) (accepted, refused int64) {
	c := f.google.Drive.Counters(account)
	refused = f.google.Drive.RefusedWrites(account)
	return driveWrites(c) - refused, refused
}

// copyResult is one company's copy.
type copyResult struct {
	conn     drivesync.Connection
	account  string
	docs     int
	started  time.Time // when the test chose the target (the run's copy request)
	finished time.Time
	done     bool
}

func (r copyResult) span() time.Duration { return r.finished.Sub(r.started) }

// waitCopies polls the connections until every copy is done or timeout passes; unfinished ones
// are returned with done false and finished at the timeout.
func (f *fleet) waitCopies(rs []copyResult, timeout time.Duration) []copyResult {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := 0
		for i := range rs {
			if rs[i].done {
				continue
			}
			c := f.get(rs[i].conn.CompanyID, rs[i].conn.ID)
			if c.InitialCopy.State == drivesync.CopyDone {
				rs[i].conn, rs[i].done, rs[i].finished = c, true, c.InitialCopy.FinishedAt
				continue
			}
			if c.Status != drivesync.StatusActive {
				f.t.Fatalf("connection %s of %s is %s: %+v", c.ID, c.CompanyID, c.Status, c.LastError)
			}
			left++
		}
		if left == 0 {
			return rs
		}
		if time.Now().After(deadline) {
			for i := range rs {
				if !rs[i].done {
					rs[i].finished = time.Now()
				}
			}
			return rs
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// connectAll connects every company to its account at once (a goroutine each, as customers
// would) and returns their copies, started.
func (f *fleet) connectAll(companies []efactori.CompanySpec, accountOf func(i int) string) []copyResult {
	f.t.Helper()
	rs := make([]copyResult, len(companies))
	folders := make([]string, len(companies))
	// Consent and a new folder first (not part of the copy), then choose every target at once.
	// The folder picker's writes are not paced (a person clicks): on an account at its limit
	// they are retried as the person would click again.
	for i, c := range companies {
		rs[i] = copyResult{conn: f.consent(c.ID, "Compta", accountOf(i), drivesync.LayoutYearMonth, ""), account: accountOf(i), docs: c.Documents}
		err := retryClick(func() error {
			folder, err := f.svc.CreateFolder(context.Background(), rs[i].conn.CompanyID, rs[i].conn.ID, "root", "Comptabilité "+rs[i].conn.CompanyID)
			folders[i] = folder.ID
			return err
		})
		if err != nil {
			f.t.Fatalf("CreateFolder: %v", err)
		}
	}
	var wg sync.WaitGroup
	for i := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs[i].started = time.Now()
			err := retryClick(func() error {
				conn, err := f.svc.SetTarget(context.Background(), rs[i].conn.CompanyID, rs[i].conn.ID, folders[i])
				if err == nil {
					rs[i].conn = conn
				}
				return err
			})
			if err != nil {
				f.t.Errorf("SetTarget: %v", err)
			}
		}()
	}
	wg.Wait()
	if f.t.Failed() {
		f.t.FailNow()
	}
	return rs
}

// retryClick runs click up to 10 times, a second apart, until it succeeds.
func retryClick(click func() error) error {
	var err error
	for range 10 {
		if err = click(); err == nil {
			return nil
		}
		time.Sleep(time.Second)
	}
	return err
}

// checkExactlyOnce fails the test for any company whose Drive copy is not exactly its documents.
func (f *fleet) checkExactlyOnce(rs []copyResult) {
	f.t.Helper()
	for _, r := range rs {
		if !r.done {
			continue
		}
		if p := f.checkCopy(r.conn, r.account); len(p) > 0 {
			f.t.Errorf("copy of %s not exactly once:\n%s", r.conn.CompanyID, joinProblems(p))
		}
	}
}

// pushdSummary formats what the pushers did.
func (f *fleet) pushdSummary() string {
	var b strings.Builder
	for _, topic := range []string{config.TopicDocumentEvents, config.TopicCopyTasks, config.TopicCopyRequests} {
		c := f.pushers[topic].Counters()
		fmt.Fprintf(&b, "%s: %d deliveries, %d acks, nacks %v, %d deadline expiries, %d dead letters; ",
			topic, c.Deliveries, c.Acks, c.Nacks, c.DeadlineExpiries, c.DeadLetters)
	}
	fmt.Fprintf(&b, "SyncDocument max in flight per instance %v, restarts %v", f.pools[config.FunctionSyncDocument].MaxInFlight(), f.restarts())
	return b.String()
}

func (f *fleet) restarts() []int {
	var out []int
	for _, s := range f.sync {
		out = append(out, s.Restarts())
	}
	return out
}

func companySpecs(prefix string, n, docs int) []efactori.CompanySpec {
	out := make([]efactori.CompanySpec, n)
	for i := range out {
		out[i] = efactori.CompanySpec{ID: fmt.Sprintf("%s%02d", prefix, i+1), Name: fmt.Sprintf("%s %02d SRL", prefix, i+1), Documents: docs}
	}
	return out
}

// TestFleetAccountCeiling runs a small fleet (2 instances of delivery.json's concurrency behind
// pushd, with a retry backoff of 1–5 s instead of the declared 10–600 s to keep it short)
// copying two companies connected to one Google account limited to L writes/s: each document
// lands exactly once, the account's accepted writes stay under its ceiling, and hardly any
// write is refused.
func TestFleetAccountCeiling(t *testing.T) {
	// K × C / L stays under the engine's longest wait for budget (2.5 s), so deliveries wait for
	// their slot instead of being answered busy and backed off by Pub/Sub's retry policy.
	const limit = 10.0
	companies := companySpecs("ceil", 2, 12)
	f := newFleet(t, fleetOptions{instances: 2, limit: limit, companies: companies, minBackoff: time.Second, maxBackoff: 5 * time.Second})
	rs := f.connectAll(companies, func(int) string { return accounts[0] })
	rs = f.waitCopies(rs, 3*time.Minute)
	for _, r := range rs {
		if !r.done {
			t.Fatalf("copy of %s not done after 3 minutes; %s", r.conn.CompanyID, f.pushdSummary())
		}
	}
	f.checkExactlyOnce(rs)
	accepted, refused := f.writes(accounts[0])
	first := slices.MinFunc(rs, func(a, b copyResult) int { return a.started.Compare(b.started) }).started
	last := slices.MaxFunc(rs, func(a, b copyResult) int { return a.finished.Compare(b.finished) }).finished
	span := last.Sub(first).Seconds()
	// The ceiling: L per second plus the emulator's burst of L, and a second of slack for the
	// clocks of the two measures.
	if ceiling := limit*(span+1) + limit; float64(accepted) > ceiling {
		t.Errorf("account accepted %d writes in %.1f s, above its ceiling %.0f (L = %v/s)", accepted, span, ceiling, limit)
	}
	if share := float64(refused) / float64(accepted+refused); share > 0.05 {
		t.Errorf("%d of %d writes refused (%.1f %%), want at most 5 %%", refused, accepted+refused, 100*share)
	}
	t.Logf("%d documents in %.1f s: %d writes accepted (%.2f/s, L = %v), %d refused; %s",
		24, span, accepted, float64(accepted)/span, limit, refused, f.pushdSummary())
}

// writeSpan returns the times of account's first and last write (files and folders Drive last
// modified) after from.
func (f *fleet) writeSpan(account string, from time.Time) (first, last time.Time) {
	f.t.Helper()
	tree, err := f.google.Drive.Tree(account)
	if err != nil {
		f.t.Fatal(err)
	}
	var walk func(n driveemu.Node)
	walk = func(n driveemu.Node) {
		if n.Modified.After(from) {
			if first.IsZero() || n.Modified.Before(first) {
				first = n.Modified
			}
			if n.Modified.After(last) {
				last = n.Modified
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(tree.Root)
	return first, last
}

// timeline says how many of account's items (files and folders) Drive last modified in each
// bucket after from: where a copy's rate went, second by second, without any log.
func (f *fleet) timeline(account string, from time.Time, bucket time.Duration) string {
	f.t.Helper()
	tree, err := f.google.Drive.Tree(account)
	if err != nil {
		f.t.Fatal(err)
	}
	var counts []int
	var walk func(n driveemu.Node)
	walk = func(n driveemu.Node) {
		if i := int(n.Modified.Sub(from) / bucket); n.Modified.After(from) {
			for len(counts) <= i {
				counts = append(counts, 0)
			}
			counts[i]++
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(tree.Root)
	return fmt.Sprintf("writes per %v from the start: %v", bucket, counts)
}
