package drive

import (
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/shared/drivesync"
)

// listScopes records the corpora and driveId of every files.list the stack serves.
type listScopes struct {
	mu  sync.Mutex
	got []string
}

func (l *listScopes) hook(r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/drive/v3/files" {
		return
	}
	q := r.URL.Query()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, q.Get("corpora")+":"+q.Get("driveId"))
}

func (l *listScopes) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := slices.Compact(l.got)
	l.got = nil
	return got
}

// Drive may answer a search of every drive (corpora=allDrives) with incompleteSearch and the
// items of some shared drives left out, which once made a second company folder. Every list
// searches the one drive that holds what it lists, and finds everything even while allDrives
// searches come back incomplete.
func TestListsSearchTheDriveOfTheirParent(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)
	ctx := t.Context()
	finance, err := s.emu.Drive.AddSharedDrive(alice, "Finance")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.emu.Drive.SetIncompleteSearch(alice, true); err != nil {
		t.Fatal(err)
	}
	scopes := &listScopes{}
	s.setHook(scopes.hook)

	for _, tt := range []struct {
		name    string
		driveID string
		root    string
		scope   string
	}{
		{"shared drive", finance, finance, "drive:" + finance},
		{"my drive", "", RootID, "user:"},
	} {
		company, err := c.EnsureFolder(ctx, tt.driveID, tt.root, "ACME SRL", "company-acme")
		if err != nil {
			t.Fatalf("%s: EnsureFolder: %v", tt.name, err)
		}
		again, err := c.EnsureFolder(ctx, tt.driveID, tt.root, "ACME SRL", "company-acme")
		if err != nil || again.ID != company.ID {
			t.Fatalf("%s: second EnsureFolder = %+v, %v; want %s again, not a second company folder", tt.name, again, err, company.ID)
		}
		year, err := c.EnsureFolder(ctx, tt.driveID, company.ID, "2026", "year-2026")
		if err != nil {
			t.Fatal(err)
		}
		file := create(t, c, year.ID, "F-1.pdf", bytesOf(t, 10, 1), map[string]string{"drivesyncCompanyId": "acme"})

		page, err := c.ListFolders(ctx, tt.driveID, tt.root, "", 10)
		if err != nil {
			t.Fatalf("%s: ListFolders: %v", tt.name, err)
		}
		if diff := cmp.Diff([]Folder{company}, page.Folders); diff != "" {
			t.Errorf("%s: ListFolders (-want +got):\n%s", tt.name, diff)
		}
		tree, err := c.FolderTree(ctx, tt.driveID, company.ID)
		if err != nil {
			t.Fatalf("%s: FolderTree: %v", tt.name, err)
		}
		if diff := cmp.Diff([]TreeFolder{{ID: year.ID, Name: "2026", Parent: company.ID, Key: "year-2026"}}, tree); diff != "" {
			t.Errorf("%s: FolderTree (-want +got):\n%s", tt.name, diff)
		}
		files, err := c.DocumentFiles(ctx, tt.driveID, "drivesyncCompanyId", "acme")
		if err != nil {
			t.Fatalf("%s: DocumentFiles: %v", tt.name, err)
		}
		if len(files) != 1 || files[0].ID != file.ID {
			t.Errorf("%s: DocumentFiles = %+v, want only %s: each drive is searched on its own", tt.name, files, file.ID)
		}
		found, err := c.FindByAppProperty(ctx, tt.driveID, "", "drivesyncCompanyId", "acme")
		if err != nil || len(found) != 1 || found[0].ID != file.ID {
			t.Errorf("%s: FindByAppProperty = %+v, %v; want only %s", tt.name, found, err, file.ID)
		}
		if diff := cmp.Diff([]string{tt.scope}, scopes.take()); diff != "" {
			t.Errorf("%s: files.list corpora:driveId (-want +got):\n%s", tt.name, diff)
		}
	}
	tree, err := s.emu.Drive.Tree(alice)
	if err != nil {
		t.Fatal(err)
	}
	if n := countFolders(tree.SharedDrives[0], "ACME SRL") + countFolders(tree.Root, "ACME SRL"); n != 2 {
		t.Errorf("%d company folders, want one per drive:\n%s", n, tree)
	}
}

// An answer that says it may be incomplete is never acted on: the call fails Retryable, and
// EnsureFolder creates nothing.
func TestIncompleteSearchIsRetryable(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)
	ctx := t.Context()
	parent := mkdir(t, c, RootID, "eFactori")
	calls := map[string]func() error{
		"ListFolders": func() error { _, err := c.ListFolders(ctx, "", parent.ID, "", 10); return err },
		"EnsureFolder": func() error {
			_, err := c.EnsureFolder(ctx, "", parent.ID, "2026", "year-2026")
			return err
		},
		"FolderTree":        func() error { _, err := c.FolderTree(ctx, "", parent.ID); return err },
		"DocumentFiles":     func() error { _, err := c.DocumentFiles(ctx, "", "k", "v"); return err },
		"FindByAppProperty": func() error { _, err := c.FindByAppProperty(ctx, "", "", "k", "v"); return err },
	}
	for name, call := range calls {
		if err := s.emu.Drive.FailNext("files.list", 1, driveemu.Fault{Kind: driveemu.FaultIncompleteSearch}); err != nil {
			t.Fatal(err)
		}
		if got, want := classOf(call()), (class{drivesync.Retryable, CodeIncompleteSearch}); got != want {
			t.Errorf("%s on an incomplete answer: %+v, want %+v", name, got, want)
		}
	}
	if got := s.emu.Drive.Counters(alice)["files.create"]; got != 1 {
		t.Errorf("files.create calls = %d, want 1 (the fixture): EnsureFolder acted on an incomplete search", got)
	}
}
