package demo_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/demo"
	"github.com/efactori/drivesync/local/devstack"
	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
)

// small is the sample company of the tests: generated documents only, no large showcase PDFs.
var small = efactori.CompanySpec{ID: efactori.Acme.ID, Name: efactori.Acme.Name, Documents: 15}

// The tests run one after the other: devstack.Start points this process's Pub/Sub clients at
// its emulator through the environment.

func TestStoryEndsWithDriveMatchingEFactori(t *testing.T) {
	var out strings.Builder
	res, err := run(t, &out, nil)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	// 15 generated documents and the one added in step 7.
	if got, want := res.Documents, 16; got != want {
		t.Errorf("Documents = %d, want %d", got, want)
	}
	if len(res.Problems) != 0 {
		t.Errorf("Problems = %q, want none", res.Problems)
	}
	if res.DriveCalls == 0 {
		t.Error("DriveCalls = 0, want the calls of the copy")
	}
	for _, want := range []string{"done    15 of 15 copied", "Drive updated the same file", "← changed (revision", "← new",
		"DELETE /v1/connections/", "→ 204", "She selects \"Factures eFactori\", the folder of before", "done    16 of 16 in Drive",
		"all 16 documents were already there", "0 file uploads, 0 writes.", "after the reconnection, checked again"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the narration lacks %q:\n%s", want, out.String())
		}
	}
	// Both checks, before and after the reconnection, pass.
	if got := strings.Count(out.String(), "The Drive matches eFactori exactly."); got != 2 {
		t.Errorf("the narration says the Drive matches %d times, want 2:\n%s", got, out.String())
	}
	checkStatusEvents(t, res, out.String())
	if res.Reconnect == nil {
		t.Fatal("Reconnect = nil, want the Drive calls of the reconnection")
	}
	for method, n := range res.Reconnect {
		switch {
		case strings.HasPrefix(method, "upload:"), method == "files.create", method == "files.update", method == "files.delete":
			t.Errorf("the reconnection made %d %s calls, want none (all calls: %v)", n, method, res.Reconnect)
		}
	}
}

func TestTamperedDriveFailsTheCheck(t *testing.T) {
	var out strings.Builder
	var deleted string
	res, err := run(t, &out, func(ctx context.Context, s *devstack.Stack) error {
		tree, err := s.Google.Drive.Tree(devstack.GoogleAccount)
		if err != nil {
			return err
		}
		f := firstFile(tree.Root)
		if f == nil {
			return errors.New("no file in Drive to delete")
		}
		deleted = f.Name
		return s.Google.Drive.DeleteAsUser(devstack.GoogleAccount, f.ID)
	})
	if !errors.Is(err, demo.ErrMismatch) {
		t.Fatalf("Run after deleting %q = %v, want ErrMismatch\n%s", deleted, err, out.String())
	}
	if got, want := len(res.Problems), 1; got != want {
		t.Errorf("Problems = %q, want %d", res.Problems, want)
	}
	if !strings.Contains(out.String(), "in Drive 0 times, want once") || !strings.Contains(out.String(), "does NOT match") {
		t.Errorf("the narration does not report the missing file:\n%s", out.String())
	}
}

func run(t *testing.T, out *strings.Builder, beforeCheck func(context.Context, *devstack.Stack) error) (demo.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return demo.Run(ctx, demo.Options{
		Stack:       devstack.Options{Dir: t.TempDir()},
		Company:     small,
		Out:         out,
		BeforeCheck: beforeCheck,
	})
}

func firstFile(n driveemu.Node) *driveemu.Node {
	for i := range n.Children {
		c := &n.Children[i]
		if !c.Folder {
			return c
		}
		if f := firstFile(*c); f != nil {
			return f
		}
	}
	return nil
}
