package engine_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// A lease's write whose answer is lost (the delivery's request ended, a timeout) may still have
// landed, storing the file ID it reserved in the document's mapping. That ID must not go back
// to the instance's pool: the document given it next would share one Drive file with the first,
// and one of them would be lost. (The clean-clone CI lost a document of a 5,000-document copy
// this way.) The first document's lease write lands and its answer is replaced by an error; the
// instance then copies a pool's worth of documents and more, and the first one, redelivered once
// its lease is over, still gets a file of its own.
func TestReservedIDOfAWriteWithoutAnswerIsNotUsedAgain(t *testing.T) {
	t.Parallel()
	var (
		once sync.Once
		lost string // the file ID the unanswered write stored
	)
	fault := grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		commit, ok := req.(*firestorepb.CommitRequest)
		if err != nil || !ok {
			return err
		}
		for _, w := range commit.GetWrites() {
			doc := w.GetUpdate()
			if doc == nil || !strings.Contains(doc.GetName(), "/"+store.ColMappings+"/") {
				continue
			}
			if id := doc.GetFields()["fileId"].GetStringValue(); id != "" {
				injected := false
				once.Do(func() { lost, injected = id, true })
				if injected {
					return status.Error(codes.DeadlineExceeded, "test: the write landed, its answer was lost")
				}
			}
		}
		return nil
	})
	// 20 IDs are reserved at a time (envOptions' IDBlockSize): 30 documents use the first block
	// and part of the next.
	e := newEnv(t, envOptions{documents: 30, firestoreDial: []grpc.DialOption{fault}})
	docs := e.documents(t)
	if err := e.engine.HandleEvent(e.ctx, event(docs[0], e.clock.Now())); err == nil || drivesync.ClassOf(err) != drivesync.Retryable {
		t.Fatalf("the delivery whose write went unanswered: err = %v, want a retryable error", err)
	}
	if m := e.mapping(t, docs[0].ID); lost == "" || m.FileID != lost {
		t.Fatalf("the unanswered write stored file ID %q, the test saw %q: the fault was not injected as meant", m.FileID, lost)
	}
	for _, d := range docs[1:] {
		if err := e.engine.HandleEvent(e.ctx, event(d, e.clock.Now())); err != nil {
			t.Fatalf("document %s: %v", d.ID, err)
		}
		if id := e.mapping(t, d.ID).FileID; id == lost {
			t.Fatalf("document %s was given file ID %s, which document %s's mapping holds", d.ID, id, docs[0].ID)
		}
	}
	e.clock.Advance(time.Minute) // the first document's lease is over: its redelivery goes ahead
	if err := e.engine.HandleEvent(e.ctx, event(docs[0], e.clock.Now())); err != nil {
		t.Fatalf("the redelivery of document %s: %v", docs[0].ID, err)
	}
	e.checkExactlyOnce(t, docs)
}
