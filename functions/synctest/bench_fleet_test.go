package synctest

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/rpccount"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
)

// BenchmarkFleet runs the fleet scenarios of issue 11 on production-shaped delivery (local/pushd
// with terraform/delivery.json's settings, K = 5 SyncDocument instances × 8 concurrent requests,
// supervised), each printing ratios measured in its own run. A scenario whose copy cannot finish
// in its time box reports what it did by then and says so.
//
//	go test ./functions/synctest/ -run '^$' -bench BenchmarkFleet -benchtime 1x -timeout 20m
//
// FLEET_SCENARIOS (comma-separated names) runs some of them.
func BenchmarkFleet(b *testing.B) {
	only := os.Getenv("FLEET_SCENARIOS")
	run := func(name string, fn func(b *testing.B)) {
		if only != "" && !slices.Contains(strings.Split(only, ","), name) {
			return
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				fn(b)
			}
		})
	}
	run("one-account", func(b *testing.B) { benchOneAccount(b, nil, true) })
	run("one-account-today", func(b *testing.B) {
		benchOneAccount(b, []string{"DRIVE_PACING=" + config.PacingInstance, "COPY_WINDOW=" + config.CopyWindowAll}, false)
	})
	run("ten-companies-one-account", benchTenCompaniesOneAccount)
	run("twenty-accounts", benchTwentyAccounts)
	run("bulk-and-small", benchBulkAndSmall)
}

const fleetL = 10.0 // writes/s per account in the one-account scenarios

// benchOneAccount copies one company into one account limited to L, optionally SIGKILLing one
// instance every 60 s, and reports the accepted rate against L, the refusals, exactly once and
// the costs per new document.
func benchOneAccount(b *testing.B, env []string, kill bool) {
	docs, box := 700, 110*time.Second
	if !kill {
		docs, box = 300, 60*time.Second // today's engine, for contrast: a shorter run says enough
	}
	company := efactori.CompanySpec{ID: "one", Name: "One SA", Documents: docs}
	f := newFleet(b, fleetOptions{limit: fleetL, companies: []efactori.CompanySpec{company}, env: env})
	fs0 := f.fsCalls.Counts()
	stop := make(chan struct{})
	kills := func() <-chan int { c := make(chan int, 1); c <- 0; return c }()
	if kill {
		kills = f.killEvery(30*time.Second, 60*time.Second, stop)
	}
	rs := f.connectAll([]efactori.CompanySpec{company}, func(int) string { return accounts[0] })
	rs = f.waitCopies(rs, box)
	close(stop)
	killed := <-kills
	r := rs[0]
	accepted, refused := f.writes(accounts[0])
	fsc := f.fsCalls.Counts().Sub(fs0)
	span := r.span().Seconds()
	copied := len(f.files(f.get(r.conn.CompanyID, r.conn.ID), r.account, false))
	folders := f.folderCount(f.get(r.conn.CompanyID, r.conn.ID), r.account)
	docWrites := accepted - int64(folders) - 2 // the target and company folders the service created
	if r.done {
		f.checkExactlyOnce(rs)
	}
	b.ReportMetric(float64(accepted)/span/fleetL, "accepted/L")
	b.ReportMetric(100*float64(refused)/float64(max(1, accepted+refused)), "refused-%")
	perDoc := documentPathRPCs(fsc)
	b.ReportMetric(float64(perDoc)/float64(max(1, copied)), "firestore-rpcs/new-doc")
	b.ReportMetric(float64(fsc.RPCs)/float64(max(1, copied)), "firestore-rpcs-all/doc")
	b.ReportMetric(float64(docWrites)/float64(max(1, copied)), "drive-writes/doc")
	f.t.Logf("one account, L = %v/s, K×C = %d, %s: %d/%d documents copied in %.1f s (done: %v), exactly once checked: %v; "+
		"%d writes accepted = %.2f/s = %.2f L, %d refused (%.2f %% of writes); %d instances SIGKILLed, restarts %v; "+
		"Firestore %d RPCs (%.2f/doc, %.2f reads/doc, %.2f writes/doc) %v; Drive writes per new document %.3f; Drive calls %v; %s",
		fleetL, f.pools[config.FunctionSyncDocument].Capacity(), pacingName(env), copied, docs, span, r.done, r.done,
		accepted, float64(accepted)/span, float64(accepted)/span/fleetL, refused, 100*float64(refused)/float64(max(1, accepted+refused)),
		killed, f.restarts(), fsc.RPCs, float64(fsc.RPCs)/float64(max(1, copied)), float64(fsc.Reads)/float64(max(1, copied)),
		float64(fsc.Writes)/float64(max(1, copied)), fsc.Calls, float64(docWrites)/float64(max(1, copied)), f.google.Drive.Counters(accounts[0]), f.pushdSummary())
	f.logCosts(copied, fsc)
	f.t.Logf("Firestore RPCs per new document, pacing included (its read, its writes, the account budget's leases): %.2f; "+
		"every RPC of the run over its documents (layout folders, await requests, target choice included): %.2f",
		float64(perDoc)/float64(max(1, copied)), float64(fsc.RPCs)/float64(max(1, copied)))
	f.logTargets(copied, fsc)
	f.t.Logf("one account: %s", f.timeline(accounts[0], r.started, 5*time.Second))
}

func pacingName(env []string) string {
	if len(env) == 0 {
		return "pacing per account (this engine)"
	}
	return "today's engine (" + strings.Join(env, " ") + ")"
}

// logCosts prints the counters a cost per million documents is computed from.
func (f *fleet) logCosts(docs int, fsc rpccount.Counts) {
	var deliveries, acks int64
	for _, p := range f.pushers {
		c := p.Counters()
		deliveries += c.Deliveries
		acks += c.Acks
	}
	var driveCalls int64
	for _, a := range f.accounts {
		for k, v := range f.google.Drive.Counters(a) {
			if !strings.HasPrefix(k, "upload:") {
				driveCalls += v
			}
		}
	}
	busy := f.pools[config.FunctionSyncDocument].BusyTime() + f.pools[config.FunctionInitialCopy].BusyTime()
	n := float64(max(1, docs))
	f.t.Logf("costs per document (%d documents): Drive calls %.3f, Firestore reads %.3f writes %.3f RPCs %.3f, "+
		"Pub/Sub messages delivered %.3f (acknowledged %.3f), function invocations %.3f, instance-seconds %.4f (GB-s at 0.5 GB %.4f)",
		docs, float64(driveCalls)/n, float64(fsc.Reads)/n, float64(fsc.Writes)/n, float64(fsc.RPCs)/n,
		float64(deliveries)/n, float64(acks)/n, float64(deliveries)/n, busy.Seconds()/n, 0.5*busy.Seconds()/n)
}

// documentPathRPCs counts the RPCs of the documents' own path in c: the reads and writes of
// their mappings (with the name claims that ride on them) and the leases of the account's
// write budget. What is left is per folder (the layout folders' cache) or per run.
func documentPathRPCs(c rpccount.Counts) int64 {
	var n int64
	for k, v := range c.Targets {
		method, target, _ := strings.Cut(k, " ")
		if method != "BatchGetDocuments" && method != "Commit" {
			continue
		}
		if strings.Contains(target, "driveAccounts") || strings.HasSuffix(target, "connections/mappings") ||
			strings.HasSuffix(target, "connections/mappings+companies/connections/names") {
			n += v
		}
	}
	return n
}

// logTargets prints the Firestore RPCs per document by what they touch, most first.
func (f *fleet) logTargets(docs int, fsc rpccount.Counts) {
	keys := slices.Collect(maps.Keys(fsc.Targets))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(fsc.Targets[b], fsc.Targets[a]) })
	var lines []string
	for _, k := range keys {
		lines = append(lines, fmt.Sprintf("%.3f %s (%d)", float64(fsc.Targets[k])/float64(max(1, docs)), k, fsc.Targets[k]))
	}
	f.t.Logf("Firestore RPCs per document by target:\n\t%s", strings.Join(lines, "\n\t"))
}

// benchTenCompaniesOneAccount: 10 companies connected to one Google account copy at once.
func benchTenCompaniesOneAccount(b *testing.B) {
	companies := companySpecs("firm", 10, 60)
	f := newFleet(b, fleetOptions{limit: fleetL, companies: companies})
	fs0 := f.fsCalls.Counts()
	rs := f.connectAll(companies, func(int) string { return accounts[0] })
	rs = f.waitCopies(rs, 90*time.Second)
	f.checkExactlyOnce(rs)
	accepted, refused := f.writes(accounts[0])
	first := slices.MinFunc(rs, func(a, b copyResult) int { return a.started.Compare(b.started) }).started
	last := slices.MaxFunc(rs, func(a, b copyResult) int { return a.finished.Compare(b.finished) }).finished
	span := last.Sub(first).Seconds()
	done := 0
	var spans []string
	for _, r := range rs {
		if r.done {
			done++
		}
		spans = append(spans, fmt.Sprintf("%.0fs", r.span().Seconds()))
	}
	b.ReportMetric(float64(accepted)/span/fleetL, "accepted/L")
	b.ReportMetric(100*float64(refused)/float64(max(1, accepted+refused)), "refused-%")
	f.t.Logf("10 companies × 60 documents on one account, L = %v/s: %d/10 done in %.1f s, copy times %v; %d writes accepted = %.2f/s = %.2f L, %d refused (%.2f %%); Firestore %v; %s",
		fleetL, done, span, spans, accepted, float64(accepted)/span, float64(accepted)/span/fleetL, refused,
		100*float64(refused)/float64(max(1, accepted+refused)), f.fsCalls.Counts().Sub(fs0).Calls, f.pushdSummary())
}

// benchTwentyAccounts: 20 companies each with its own account copy at once; each at ≥ 0.8 L.
func benchTwentyAccounts(b *testing.B) {
	const limit = 2.0 // 20 × 2 = 40 writes/s in all: what the 2-core machine sustains with room
	companies := companySpecs("solo", 20, 60)
	var accts []string
	for i := range companies {
		accts = append(accts, fmt.Sprintf("solo%02d@example.com", i+1))
	}
	f := newFleet(b, fleetOptions{limit: limit, companies: companies, accounts: accts})
	rs := f.connectAll(companies, func(i int) string { return accts[i] })
	rs = f.waitCopies(rs, 90*time.Second)
	f.checkExactlyOnce(rs)
	// Two measures of each account's rate: over the copy as the customer sees it (from the
	// target choice to the run's end, planning included), and while Drive was being written
	// (from the account's first write of the run to its last).
	var rates, writing []float64
	done, worst := 0, 0
	for i, r := range rs {
		accepted, _ := f.writes(r.account)
		rates = append(rates, float64(accepted)/r.span().Seconds()/limit)
		first, last := f.writeSpan(r.account, r.started)
		writing = append(writing, float64(accepted-1)/last.Sub(first).Seconds()/limit) // n writes span n-1 intervals
		if rates[i] < rates[worst] {
			worst = i
		}
		if r.done {
			done++
		}
	}
	first, _ := f.writeSpan(rs[worst].account, rs[worst].started)
	f.t.Logf("slowest account (%s, %.2f L): first write %v after the target choice; %s", rs[worst].conn.CompanyID, rates[worst],
		first.Sub(rs[worst].started).Round(100*time.Millisecond), f.timeline(rs[worst].account, rs[worst].started, 5*time.Second))
	slices.Sort(rates)
	slices.Sort(writing)
	var refused, total int64
	for _, a := range accts {
		acc, ref := f.writes(a)
		refused, total = refused+ref, total+acc+ref
	}
	b.ReportMetric(rates[0], "min-accepted/L")
	b.ReportMetric(rates[len(rates)/2], "median-accepted/L")
	b.ReportMetric(writing[0], "min-accepted-while-writing/L")
	f.t.Logf("20 companies × 60 documents, each its own account at L = %v/s: %d/20 done; accepted rate / L from the target choice to the run's end: min %.2f, median %.2f, max %.2f; "+
		"from the account's first write to its last: min %.2f, median %.2f, max %.2f; %d of %d writes refused; %s",
		limit, done, rates[0], rates[len(rates)/2], rates[len(rates)-1], writing[0], writing[len(writing)/2], writing[len(writing)-1], refused, total, f.pushdSummary())
}

// benchBulkAndSmall: a 20,000-document company starts; 30 s later 10 companies of 50 documents
// start, each on its own account; live events are published during the bulk copy.
func benchBulkAndSmall(b *testing.B) {
	big := efactori.CompanySpec{ID: "bulk", Name: "Bulk NV", Documents: 20000}
	live := efactori.CompanySpec{ID: "live", Name: "Live BV", Documents: 5}
	small := companySpecs("small", 10, 50)
	var accts []string
	for i := range small {
		accts = append(accts, fmt.Sprintf("small%02d@example.com", i+1))
	}
	f := newFleet(b, fleetOptions{limit: fleetL, companies: append([]efactori.CompanySpec{big, live}, small...), accounts: accts})
	// The live company is connected and copied before the bulk copy starts.
	lr := f.waitCopies(f.connectAll([]efactori.CompanySpec{live}, func(int) string { return accounts[2] }), time.Minute)
	if !lr[0].done {
		b.Fatalf("the live company's copy did not finish; %s", f.pushdSummary())
	}
	bulk := f.connectAll([]efactori.CompanySpec{big}, func(int) string { return accounts[1] })[0]

	// Live events: one new document every second, for the bulk company and the live one in turn.
	type liveEvent struct {
		conn    drivesync.Connection
		account string
		id      string
		at      time.Time
	}
	var mu sync.Mutex
	var events []liveEvent
	stopLive := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopLive:
				return
			case <-time.After(time.Second):
			}
			c, acct := lr[0].conn, accounts[2]
			if i%2 == 0 {
				c, acct = bulk.conn, accounts[1]
			}
			id := fmt.Sprintf("%s-live-%03d", c.CompanyID, i)
			ev, err := f.ef.Upsert(c.CompanyID, id, efactori.Upsert{Kind: drivesync.KindSalesInvoice, Number: "L-" + id, Date: "2026-12-01", Title: "Live", Size: 4 << 10})
			if err != nil {
				f.t.Errorf("upsert: %v", err)
				return
			}
			at := time.Now()
			if _, err := f.events.Publish(context.Background(), ev); err != nil {
				f.t.Errorf("publish: %v", err)
				return
			}
			mu.Lock()
			events = append(events, liveEvent{conn: c, account: acct, id: id, at: at})
			mu.Unlock()
		}
	}()

	// Lags: each company's Drive is polled every 300 ms for the live events' documents; a lag is
	// an upper bound by the poll interval and the walk of the Drive tree.
	lags := map[string]time.Duration{}
	stopPoll := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-stopPoll:
				return
			case <-time.After(300 * time.Millisecond):
			}
			mu.Lock()
			evs := slices.Clone(events)
			mu.Unlock()
			for _, who := range []struct {
				conn    drivesync.Connection
				account string
			}{{bulk.conn, accounts[1]}, {lr[0].conn, accounts[2]}} {
				got := f.files(f.get(who.conn.CompanyID, who.conn.ID), who.account, false)
				now := time.Now()
				mu.Lock()
				for _, ev := range evs {
					if _, ok := lags[ev.id]; !ok && ev.conn.CompanyID == who.conn.CompanyID && len(got[ev.id]) > 0 {
						lags[ev.id] = now.Sub(ev.at)
					}
				}
				mu.Unlock()
			}
		}
	}()

	time.Sleep(30 * time.Second)
	rs := f.connectAll(small, func(i int) string { return accts[i] })
	bound := 2 * (50/fleetL + 10)
	rs = f.waitCopies(rs, 60*time.Second)
	close(stopLive)
	wg.Wait()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		mu.Lock()
		all := len(lags) == len(events)
		mu.Unlock()
		if all {
			break
		}
	}
	close(stopPoll)
	<-polled
	f.checkExactlyOnce(rs)

	var ls []float64
	for _, l := range lags {
		ls = append(ls, l.Seconds())
	}
	slices.Sort(ls)
	p95 := math.Inf(1)
	if len(lags) == len(events) && len(ls) > 0 {
		p95 = ls[int(math.Ceil(0.95*float64(len(ls))))-1]
	}
	var spans []string
	worst, done := 0.0, 0
	for _, r := range rs {
		spans = append(spans, fmt.Sprintf("%.0fs", r.span().Seconds()))
		worst = max(worst, r.span().Seconds())
		if r.done {
			done++
		}
	}
	bulkDone := f.get(bulk.conn.CompanyID, bulk.conn.ID).InitialCopy
	b.ReportMetric(worst/bound, "worst-small-copy/bound")
	b.ReportMetric(p95, "live-lag-p95-s")
	f.t.Logf("bulk 20,000 documents + after 30 s 10 × 50-document companies (own accounts, L = %v/s): small copies %d/10 done, times %v, worst %.0f s vs bound 2 × (50/L + 10 s) = %.0f s; "+
		"live events: %d published, %d in Drive, lag p95 %.1f s (max %.1f s); bulk copy progress %+v; %s",
		fleetL, done, spans, worst, bound, len(events), len(lags), p95, slices.Max(append(ls, 0)), bulkDone, f.pushdSummary())
}
