package rpccount_test

import (
	"context"
	"os"
	"testing"

	"cloud.google.com/go/firestore"

	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/local/rpccount"
)

func TestMain(m *testing.M) { emulators.Main(m) }

// A Firestore client pointed at the proxy works as on the emulator, and its calls, reads and
// writes are counted.
func TestProxyCountsFirestoreCalls(t *testing.T) {
	emulators.Firestore(t) // starts the emulators and exports their addresses
	p, err := rpccount.Start(os.Getenv(emulators.FirestoreEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	t.Setenv(emulators.FirestoreEnv, p.Host)
	ctx := context.Background()
	fs, err := firestore.NewClient(ctx, emulators.ProjectID(t))
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	before := p.Counts()
	for i, id := range []string{"c/a", "c/b"} {
		if _, err := fs.Doc(id).Set(ctx, map[string]any{"n": i + 1}); err != nil {
			t.Fatalf("set %s through the proxy: %v", id, err)
		}
	}
	docs, err := fs.GetAll(ctx, []*firestore.DocumentRef{fs.Doc("c/a"), fs.Doc("c/b"), fs.Doc("c/none")})
	if err != nil {
		t.Fatalf("get through the proxy: %v", err)
	}
	if len(docs) != 3 || !docs[1].Exists() || docs[2].Exists() {
		t.Fatalf("GetAll = %v, want a, b and a missing c", docs)
	}
	if _, err := fs.Collection("c").Where("n", "==", 2).Documents(ctx).GetAll(); err != nil {
		t.Fatalf("query through the proxy: %v", err)
	}
	c := p.Counts().Sub(before)
	if c.RPCs != 4 || c.Calls["Commit"] != 2 || c.Calls["BatchGetDocuments"] != 1 || c.Calls["RunQuery"] != 1 {
		t.Errorf("calls %+v, want two Commits, one BatchGetDocuments, one RunQuery", c)
	}
	if c.Writes != 2 || c.Reads != 4 {
		t.Errorf("writes %d reads %d, want 2 and 4 (3 documents asked, 1 query)", c.Writes, c.Reads)
	}
}
