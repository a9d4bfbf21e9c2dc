package synctest

import (
	"context"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/engine"
	"github.com/efactori/drivesync/shared/store"
)

// deliveries is how many messages of each subscription the bench's in-process delivery loop
// hands the engine at once: one function instance with Terraform's concurrency of 8.
const deliveries = 8

// runToEnd plays the connection's current run with en as one function instance would: its
// request, then every copy task and await request through pull subscriptions, until the run
// ends. It returns the run's span.
func (w *engineWorld) runToEnd(b testing.TB, en *engine.Engine) time.Duration {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Read and polled on a client of its own, so the bench's polling is not counted as the
	// engine's work.
	watcher, err := store.New(emulators.Firestore(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	c, err := watcher.Connection(ctx, w.conn.CompanyID, w.conn.ID)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	req := drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: c.CompanyID,
		ConnectionID: c.ID, RunID: c.InitialCopy.RunID}
	for attempt := 0; ; attempt++ {
		err := en.HandleCopyRequest(ctx, req)
		if err == nil {
			break
		}
		if attempt == 5 {
			b.Fatalf("copy request: %v", err)
		}
	}
	recv := func(topic string, handle func(context.Context, []byte) error) {
		sub := "projects/" + w.project + "/subscriptions/bench-" + topic
		s := w.ps.Subscriber(sub)
		s.ReceiveSettings.MaxOutstandingMessages = deliveries
		s.ReceiveSettings.NumGoroutines = 1
		go func() {
			_ = s.Receive(ctx, func(ctx context.Context, m *pubsub.Message) {
				if err := handle(ctx, m.Data); err != nil {
					m.Nack()
					return
				}
				m.Ack()
			})
		}()
	}
	recv(config.TopicCopyTasks, func(ctx context.Context, data []byte) error {
		t, err := drivesync.DecodeCopyTask(data)
		if err != nil {
			return nil
		}
		return en.HandleTask(ctx, t)
	})
	recv(config.TopicCopyRequests, func(ctx context.Context, data []byte) error {
		r, err := drivesync.DecodeCopyRequest(data)
		if err != nil {
			return nil
		}
		return en.HandleCopyRequest(ctx, r)
	})
	for deadline := time.Now().Add(45 * time.Minute); ; {
		c, err := watcher.Connection(ctx, c.CompanyID, c.ID)
		if err != nil {
			b.Fatal(err)
		}
		switch c.InitialCopy.State {
		case drivesync.CopyDone:
			return time.Since(start)
		case drivesync.CopyFailed:
			b.Fatalf("run failed: %+v %+v", c.InitialCopy, c.LastError)
		}
		if time.Now().After(deadline) {
			b.Fatalf("run not done: %+v", c.InitialCopy)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// subscribe makes the pull subscriptions runToEnd delivers from.
func (w *engineWorld) subscribe(b testing.TB) {
	b.Helper()
	for _, topic := range []string{config.TopicCopyTasks, config.TopicCopyRequests} {
		_, err := w.ps.SubscriptionAdminClient.CreateSubscription(context.Background(), &pubsubpb.Subscription{
			Name:  "projects/" + w.project + "/subscriptions/bench-" + topic,
			Topic: "projects/" + w.project + "/topics/" + topic, AckDeadlineSeconds: 60,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// resync starts a new run of the world's connection.
func (w *engineWorld) resync(b testing.TB) {
	b.Helper()
	if _, err := w.svc.Resync(context.Background(), w.conn.CompanyID, w.conn.ID); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReconcile measures reconcile runs by the engine in this process (one instance, 8
// deliveries at a time, on counted Firestore): of a Drive that already matches eFactori, and
// after a layout change (year/month → year/kind) with the Drive write limit L set on the
// emulator and the engine paced at L.
//
//	go test ./functions/synctest/ -run '^$' -bench BenchmarkReconcile -benchtime 1x -timeout 60m
func BenchmarkReconcile(b *testing.B) {
	for _, bc := range []struct {
		name  string
		docs  int
		limit float64
	}{
		{"5000docs/L=50", 5000, 50},
		{"300docs/L=3", 300, 3},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				company := efactori.CompanySpec{ID: "rec", Name: "Reconcile SA", Documents: bc.docs}
				w := newEngineWorld(b, company)
				w.subscribe(b)
				copySpan := w.runToEnd(b, w.engine)

				// A Drive that matches: one invocation, reads only.
				w.resync(b)
				var span time.Duration
				unchanged := w.measure(b, bc.docs, func(i int) {
					if i == 0 {
						span = w.runToEnd(b, w.engine)
					}
				})
				b.Logf("%s: initial copy %v; reconcile of %d unchanged documents in %v: %v", bc.name,
					copySpan.Round(time.Millisecond), bc.docs, span.Round(time.Millisecond), unchanged)
				b.ReportMetric(unchanged.driveAll*float64(bc.docs), "unchanged-drive-calls")
				b.ReportMetric(unchanged.driveWrite, "unchanged-drive-writes/doc")
				b.ReportMetric(unchanged.fsReads, "unchanged-firestore-reads/doc")
				b.ReportMetric(unchanged.fsWrites, "unchanged-firestore-writes/doc")

				// A layout change at the account's write limit.
				if err := w.google.Drive.SetWriteRate(w.account, bc.limit, max(1, int(bc.limit))); err != nil {
					b.Fatal(err)
				}
				opts := w.opts
				opts.WritesPerSecond = bc.limit
				paced, err := engine.New(opts)
				if err != nil {
					b.Fatal(err)
				}
				l := drivesync.LayoutYearKind
				c, err := w.svc.Update(context.Background(), w.conn.CompanyID, w.conn.ID, connection.UpdateInput{FolderLayout: &l})
				if err != nil {
					b.Fatal(err)
				}
				if c.InitialCopy.State != drivesync.CopyPending {
					b.Fatalf("the layout change started no run: %+v", c.InitialCopy)
				}
				moved := w.measure(b, bc.docs, func(i int) {
					if i == 0 {
						span = w.runToEnd(b, paced)
					}
				})
				uploads := int64(0)
				for k, v := range moved.drive {
					if strings.HasPrefix(k, "upload:") {
						uploads += v
					}
				}
				if uploads != 0 {
					b.Errorf("the layout change uploaded %d files", uploads)
				}
				b.Logf("%s: layout change of %d documents in %v (%.1f documents/s at L=%g): %v", bc.name, bc.docs,
					span.Round(time.Millisecond), float64(bc.docs)/span.Seconds(), bc.limit, moved)
				b.ReportMetric(moved.driveWrite, "moved-drive-writes/doc")
				b.ReportMetric(float64(bc.docs)/span.Seconds(), "moved-docs/s")
				b.ReportMetric(moved.fsReads, "moved-firestore-reads/doc")
				b.ReportMetric(moved.fsWrites, "moved-firestore-writes/doc")
			}
		})
	}
}
