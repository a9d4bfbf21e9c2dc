package synctest

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http/httptest"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	apiv1 "cloud.google.com/go/firestore/apiv1"
	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/local/googleemu"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/local/googleemu/oauthemu"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	efclient "github.com/efactori/drivesync/shared/efactori"
	"github.com/efactori/drivesync/shared/engine"
	"github.com/efactori/drivesync/shared/fanout"
	"github.com/efactori/drivesync/shared/oauth"
	"github.com/efactori/drivesync/shared/queue"
	"github.com/efactori/drivesync/shared/store"
	"github.com/efactori/drivesync/shared/tokencrypt"
)

// rpcCounter counts the Firestore RPCs a client makes, by method, and the documents they read
// and write.
type rpcCounter struct {
	mu     sync.Mutex
	calls  map[string]int
	reads  int // documents asked for by BatchGetDocuments, plus one per query
	writes int // writes in Commit requests
}

func (c *rpcCounter) note(method string, req any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[path.Base(method)]++
	switch r := req.(type) {
	case *firestorepb.CommitRequest:
		c.writes += len(r.Writes)
	case *firestorepb.BatchGetDocumentsRequest:
		c.reads += len(r.Documents)
	case *firestorepb.RunQueryRequest, *firestorepb.RunAggregationQueryRequest:
		c.reads++ // at least one read is billed per query; the queries here return 0 or 1 document
	}
}

func (c *rpcCounter) snapshot() (map[string]int, int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls), c.reads, c.writes
}

type countingStream struct {
	grpc.ClientStream
	c      *rpcCounter
	method string
}

func (s countingStream) SendMsg(m any) error {
	s.c.note(s.method, m)
	return s.ClientStream.SendMsg(m)
}

// countingFirestore returns a Firestore client on the emulator that counts its RPCs, and the
// store option that sends the store's own API calls (a lease's increment) through the same
// counted connection.
func countingFirestore(b testing.TB) (*firestore.Client, store.Option, *rpcCounter) {
	b.Helper()
	c := &rpcCounter{calls: map[string]int{}}
	fs, conn := emulators.FirestoreConn(b,
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			c.note(method, req)
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			s, err := streamer(ctx, desc, cc, method, opts...)
			if err != nil {
				return nil, err
			}
			return countingStream{ClientStream: s, c: c, method: method}, nil
		}),
	)
	api, err := apiv1.NewClient(context.Background(), option.WithGRPCConn(conn))
	if err != nil {
		b.Fatal(err)
	}
	return fs, store.WithFirestoreAPI(api), c
}

// engineWorld is the engine in this process, on counted Firestore, for per-document costs.
type engineWorld struct {
	ef      *efactori.Server
	google  *googleemu.Emulator
	engine  *engine.Engine
	svc     *connection.Service
	fsCalls *rpcCounter
	conn    drivesync.Connection
	account string
	ps      *pubsub.Client
	project string
	opts    engine.Options // of engine
}

func newEngineWorld(b testing.TB, company efactori.CompanySpec) *engineWorld {
	b.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	w := &engineWorld{account: accounts[0]}
	fs, counted, counter := countingFirestore(b)
	w.fsCalls = counter
	ps := emulators.PubSub(b)
	project := emulators.ProjectID(b)
	w.ps, w.project = ps, project
	for _, topic := range []string{config.TopicCopyTasks, config.TopicCopyRequests} {
		if _, err := ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/" + project + "/topics/" + topic}); err != nil {
			b.Fatal(err)
		}
	}
	var err error
	w.ef, err = efactori.New(efactori.Options{DevToken: devToken, Audience: "drivesync", Companies: []efactori.CompanySpec{company}, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	efTS := httptest.NewServer(w.ef)
	b.Cleanup(efTS.Close)
	if err := w.ef.SetBaseURL(efTS.URL); err != nil {
		b.Fatal(err)
	}
	w.google, err = googleemu.New(googleemu.Options{Accounts: []googleemu.Account{{Email: w.account}}, Logger: quiet,
		Clients: []oauthemu.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}}})
	if err != nil {
		b.Fatal(err)
	}
	gTS := httptest.NewServer(w.google.Handler())
	b.Cleanup(gTS.Close)
	if err := w.google.SetBaseURL(gTS.URL); err != nil {
		b.Fatal(err)
	}
	keyset, _ := tokencrypt.NewDevKeyset()
	cipher, err := tokencrypt.Open(keyset, tokencrypt.Options{AllowCleartext: true})
	if err != nil {
		b.Fatal(err)
	}
	oc, err := oauth.New(oauth.Options{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL, Provider: oauth.EmulatorProvider(gTS.URL)})
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.New(fs, nil, counted)
	if err != nil {
		b.Fatal(err)
	}
	copies, err := queue.NewPublisher(ps.Publisher(config.TopicCopyRequests))
	if err != nil {
		b.Fatal(err)
	}
	w.svc, err = connection.New(connection.Options{Store: st, OAuth: oc, Cipher: cipher,
		Drive: drive.Options{Endpoint: w.google.DriveEndpoint()}, DriveScope: "drive", Copies: copies, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	hc, err := efclient.NewStaticTokenClient(devToken, nil)
	if err != nil {
		b.Fatal(err)
	}
	docs, err := efclient.New(efTS.URL, hc, efclient.Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	tasks, _ := fanout.NewTaskPublisher(ps, config.TopicCopyTasks)
	requests, _ := fanout.NewRequestPublisher(ps, config.TopicCopyRequests)
	fo, err := fanout.New(docs, tasks, requests, 500)
	if err != nil {
		b.Fatal(err)
	}
	w.opts = engine.Options{Store: st, Connections: w.svc, Documents: docs, Fanout: fo, Logger: quiet,
		MaxEventAge: 24 * time.Hour, WritesPerSecond: 1000, IDBlockSize: 1000}
	w.engine, err = engine.New(w.opts)
	if err != nil {
		b.Fatal(err)
	}
	// The connection, through the service as the API would set it up.
	if _, err := w.svc.SetIntegration(ctx, company.ID, true); err != nil {
		b.Fatal(err)
	}
	conn, authURL, err := w.svc.Create(ctx, company.ID, company.Name, connection.CreateInput{Name: "Compta", FolderLayout: drivesync.LayoutYearMonth})
	if err != nil {
		b.Fatal(err)
	}
	if err := consentAs(ctx, w.svc, w.google, authURL, w.account); err != nil {
		b.Fatal(err)
	}
	if w.conn, err = w.svc.SetTarget(ctx, company.ID, conn.ID, "root"); err != nil {
		b.Fatal(err)
	}
	return w
}

// costs are what one phase cost per document.
type costs struct {
	drive      map[string]int64
	driveWrite float64 // files.create + files.update + files.delete per document
	generate   float64 // files.generateIds per document
	driveAll   float64
	fsCalls    map[string]int
	fsRPCs     float64
	fsReads    float64
	fsWrites   float64
}

func (c costs) String() string {
	return fmt.Sprintf("drive %.3f calls/doc (writes %.3f, generateIds %.4f) %v; firestore %.2f RPCs/doc (%.2f doc reads, %.2f doc writes) %v",
		c.driveAll, c.driveWrite, c.generate, c.drive, c.fsRPCs, c.fsReads, c.fsWrites, c.fsCalls)
}

// measure runs phase over n documents and returns its costs per document.
func (w *engineWorld) measure(b testing.TB, n int, phase func(i int)) costs {
	b.Helper()
	w.google.Drive.ResetCounters(w.account)
	calls0, reads0, writes0 := w.fsCalls.snapshot()
	for i := range n {
		phase(i)
	}
	calls1, reads1, writes1 := w.fsCalls.snapshot()
	c := costs{drive: w.google.Drive.Counters(w.account), fsCalls: map[string]int{}}
	for k, v := range c.drive {
		if strings.HasPrefix(k, "upload:") {
			continue // the same requests as files.create/update, by upload type
		}
		c.driveAll += float64(v)
	}
	c.driveAll /= float64(n)
	c.driveWrite = float64(c.drive["files.create"]+c.drive["files.update"]+c.drive["files.delete"]) / float64(n)
	c.generate = float64(c.drive["files.generateIds"]) / float64(n)
	total := 0
	for k, v := range calls1 {
		if d := v - calls0[k]; d > 0 {
			c.fsCalls[k] = d
			total += d
		}
	}
	c.fsRPCs = float64(total) / float64(n)
	c.fsReads = float64(reads1-reads0) / float64(n)
	c.fsWrites = float64(writes1-writes0) / float64(n)
	return c
}

// BenchmarkPerDocumentCosts measures the Drive calls and Firestore operations of one document
// event, by the engine in this process: a new document in a folder that exists, the same event
// delivered again, a new revision of it with new content, and a new document whose file name
// another document of the folder holds already. Drive writes are paced per Google account
// (DRIVE_PACING=account), whose budget leases are Firestore RPCs too: at L=1000 a lease covers
// many documents; at L=3 a lease is minLease (5) slots, the most pacing costs per document.
//
//	go test ./functions/synctest/ -run '^$' -bench BenchmarkPerDocumentCosts -benchtime 1x
func BenchmarkPerDocumentCosts(b *testing.B) {
	for _, bc := range []struct {
		name string
		wps  float64
		n    int
	}{{"L=1000", 1000, 200}, {"L=3", 3, 30}} {
		b.Run(bc.name, func(b *testing.B) { benchmarkPerDocumentCosts(b, bc.wps, bc.n) })
	}
}

func benchmarkPerDocumentCosts(b *testing.B, wps float64, n int) {
	company := efactori.CompanySpec{ID: "costs", Name: "Costs SRL"}
	for range b.N {
		w := newEngineWorld(b, company)
		w.opts.WritesPerSecond = wps
		var err error
		if w.engine, err = engine.New(w.opts); err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		newDoc := func(i int) drivesync.Event {
			ev, err := w.ef.Upsert(company.ID, fmt.Sprintf("costs-new-%04d", i), efactori.Upsert{Kind: drivesync.KindSalesInvoice,
				Number: fmt.Sprintf("F-2026-%05d", i), Date: "2026-11-20", Title: "Facture", Size: 8 << 10})
			if err != nil {
				b.Fatal(err)
			}
			return ev
		}
		handle := func(ev drivesync.Event) {
			if err := w.engine.HandleEvent(ctx, ev); err != nil {
				b.Fatalf("HandleEvent: %v", err)
			}
		}
		// The folders 2026/11 and the engine's caches, first.
		handle(newDoc(n))
		events := make([]drivesync.Event, n)
		created := w.measure(b, n, func(i int) { events[i] = newDoc(i); handle(events[i]) })
		redelivered := w.measure(b, n, func(i int) { handle(events[i]) })
		changed := w.measure(b, n, func(i int) {
			ev, err := w.ef.Upsert(company.ID, events[i].Document.ID, efactori.Upsert{Title: "Facture corrigée"})
			if err != nil {
				b.Fatal(err)
			}
			handle(ev)
		})
		// New documents all named "Facture.pdf" in one folder: the first keeps the name, every
		// other's first claim fails, so it reads the claim and takes its number as a suffix.
		colliding := w.measure(b, n, func(i int) {
			ev, err := w.ef.Upsert(company.ID, fmt.Sprintf("costs-same-%04d", i), efactori.Upsert{Kind: drivesync.KindSalesInvoice,
				Number: fmt.Sprintf("F-2026-%05d", n+1+i), Date: "2026-11-20", FileName: "Facture.pdf", Size: 8 << 10})
			if err != nil {
				b.Fatal(err)
			}
			handle(ev)
		})
		b.Logf("new document in an existing folder: %v", created)
		b.Logf("new document whose name collides: %v", colliding)
		b.Logf("unchanged redelivery: %v", redelivered)
		b.Logf("new content: %v", changed)
		b.ReportMetric(created.driveWrite, "new-drive-writes/doc")
		b.ReportMetric(created.generate, "new-generateIds/doc")
		b.ReportMetric(created.fsRPCs, "new-firestore-rpcs/doc")
		b.ReportMetric(redelivered.driveAll, "redelivery-drive-calls/doc")
		b.ReportMetric(redelivered.fsRPCs, "redelivery-firestore-rpcs/doc")
		b.ReportMetric(changed.driveWrite, "changed-drive-writes/doc")
		b.ReportMetric(changed.fsRPCs, "changed-firestore-rpcs/doc")
		b.ReportMetric(colliding.driveWrite, "colliding-drive-writes/doc")
		b.ReportMetric(colliding.fsRPCs, "colliding-firestore-rpcs/doc")
	}
}

// BenchmarkInitialCopy runs initial copies through the push path and reports throughput. With
// a Drive write limit L (the emulator answers 403 userRateLimitExceeded above it) the functions
// pace themselves with DRIVE_WRITES_PER_SECOND = L.
//
//	go test ./functions/synctest/ -run '^$' -bench BenchmarkInitialCopy -benchtime 1x -timeout 60m
func BenchmarkInitialCopy(b *testing.B) {
	for _, bc := range []struct {
		name  string
		docs  int
		limit float64 // Drive writes per second; 0 = none
	}{
		{"5000docs/no-limit", 5000, 0},
		{"300docs/L=3", 300, 3},
		{"5000docs/L=50", 5000, 50},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				company := efactori.CompanySpec{ID: "bench", Name: "Bench NV", Documents: bc.docs}
				s := newStack(b, options{companies: []efactori.CompanySpec{company}, writesPerSecond: bc.limit})
				if bc.limit > 0 {
					if err := s.google.Drive.SetWriteRate(accounts[0], bc.limit, max(1, int(bc.limit))); err != nil {
						b.Fatal(err)
					}
				}
				start := time.Now()
				conn := s.connect(company.ID, "Compta", accounts[0], drivesync.LayoutYearMonth, "")
				done := s.waitDone(company.ID, conn.ID, 50*time.Minute)
				// The run's own span, from the first copy request to the last document.
				span := done.InitialCopy.FinishedAt.Sub(done.InitialCopy.StartedAt)
				total := time.Since(start)
				if p := s.checkCopy(done, accounts[0]); len(p) > 0 {
					b.Errorf("copy:\n%s", joinProblems(p))
				}
				c := s.google.Drive.Counters(accounts[0])
				writes := c["files.create"] + c["files.update"] + c["files.delete"]
				folders := s.folderCount(conn, accounts[0])
				accepted := int64(bc.docs + folders + 2) // + the target and company folders the service created
				refused := max(0, writes-accepted)
				b.ReportMetric(float64(bc.docs)/span.Seconds(), "docs/s")
				b.ReportMetric(float64(accepted)/span.Seconds(), "writes/s")
				b.ReportMetric(float64(refused)/float64(max(1, writes)), "refused-share")
				b.Logf("%s: %d documents in %v (run span %v), %d writes (%d refused with 403/429), counters %v",
					bc.name, bc.docs, total.Round(time.Second), span.Round(time.Second), writes, refused, c)
			}
		})
	}
}

// folderCount counts the layout folders under the connection's company folder.
func (s *stack) folderCount(conn drivesync.Connection, account string) int {
	s.t.Helper()
	tree, err := s.google.Drive.Tree(account)
	if err != nil {
		s.t.Fatal(err)
	}
	n := 0
	var walk func(nd driveemu.Node, inside bool)
	walk = func(nd driveemu.Node, inside bool) {
		if inside && nd.Folder {
			n++
		}
		for _, c := range nd.Children {
			walk(c, inside || nd.ID == conn.Target.CompanyFolderID)
		}
	}
	walk(tree.Root, false)
	return n
}

// BenchmarkStreamingMemory publishes the event of a 200 MB document to a SyncDocument process
// and reports how far its peak resident memory rose above its resident memory once warm.
//
//	go test ./functions/synctest/ -run '^$' -bench BenchmarkStreamingMemory -benchtime 1x
func BenchmarkStreamingMemory(b *testing.B) {
	const size = 200 << 20
	for range b.N {
		company := efactori.CompanySpec{ID: "big", Name: "Big SA", Documents: 3}
		s := newStack(b, options{companies: []efactori.CompanySpec{company}})
		conn := s.connect(company.ID, "Compta", accounts[0], drivesync.LayoutYear, "")
		s.waitDone(company.ID, conn.ID, 5*time.Minute)
		pid := functionPID(b, s.sync.URL)
		idle := procStatus(b, pid, "VmRSS")
		// VmHWM is the peak since start; reset it to the current RSS (Linux ≥ 4.0).
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
			b.Fatalf("reset peak RSS: %v", err)
		}
		ev, err := s.ef.Upsert(company.ID, "big-200mb", efactori.Upsert{Kind: drivesync.KindOther, Number: "BIG-1",
			Date: "2026-11-20", Title: "Archive", Size: size})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		s.publish(ev, 1)
		s.eventually("200 MB document copied", 10*time.Minute, func() string {
			if fs := s.files(conn, accounts[0], false)[ev.Document.ID]; len(fs) != 1 || fs[0].node.Size != ev.Document.Size {
				return "not there"
			}
			return ""
		})
		elapsed := time.Since(start)
		peak := procStatus(b, pid, "VmHWM")
		b.ReportMetric(float64(idle)/(1<<20), "idle-MiB")
		b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		b.ReportMetric(float64(peak-idle)/(1<<20), "above-idle-MiB")
		b.Logf("%d MB document streamed in %v; RSS idle %d MiB, peak %d MiB (+%d MiB)", size>>20, elapsed.Round(time.Millisecond),
			idle>>20, peak>>20, (peak-idle)>>20)
	}
}

// functionPID finds the process serving the function at baseURL by the PORT in its environment.
func functionPID(b testing.TB, baseURL string) int {
	b.Helper()
	port := baseURL[strings.LastIndex(baseURL, ":")+1:]
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		vars := strings.Split(string(env), "\x00")
		if slices.Contains(vars, "PORT="+port) && slices.Contains(vars, "FUNCTION_TARGET="+config.FunctionSyncDocument) {
			return pid
		}
	}
	b.Fatalf("no process serves %s", baseURL)
	return 0
}

// procStatus reads a memory figure (kB in the file) of /proc/pid/status, in bytes.
func procStatus(b testing.TB, pid int, field string) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
