package drive

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	drivev3 "google.golang.org/api/drive/v3"

	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/shared/drivesync"
)

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"plain", `'plain'`},
		{"O'Brien", `'O\'Brien'`},
		{`C:\docs`, `'C:\\docs'`},
		{`\'`, `'\\\''`},
		{"", `''`},
	}
	for _, tt := range tests {
		if got := quote(tt.in); got != tt.want {
			t.Errorf("quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestListFolders(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, tok := s.client(t)
	ctx := t.Context()

	// 260 folders created out of name order, so the order of the listing is Drive's doing.
	const n = 260
	ids := map[string]string{}
	for i := range n {
		name := fmt.Sprintf("Folder %03d", i*7%n)
		ids[name] = mkdir(t, c, RootID, name).ID
	}
	trashed := []string{"Folder 000", "Folder 128", "Folder 259"}
	for _, name := range trashed {
		if err := s.emu.Drive.TrashAsUser(alice, ids[name]); err != nil {
			t.Fatal(err)
		}
	}
	// Neither a file in the root nor a folder further down is a folder under the root.
	if _, err := s.raw(t, tok).Files.Create(&drivev3.File{Name: "Folder 100.pdf", Parents: []string{RootID}}).
		Context(ctx).Do(); err != nil {
		t.Fatal(err)
	}
	sub := ids["Folder 001"]
	mkdir(t, c, sub, "b-sub")
	mkdir(t, c, sub, "a-sub")
	if err := s.emu.Drive.TrashAsUser(alice, mkdir(t, c, sub, "c-sub").ID); err != nil {
		t.Fatal(err)
	}

	var want []Folder
	for i := range n {
		if name := fmt.Sprintf("Folder %03d", i); !slices.Contains(trashed, name) {
			want = append(want, Folder{ID: ids[name], Name: name})
		}
	}
	s.emu.Drive.ResetCounters(alice)
	var got []Folder
	var tokens []bool
	for pageToken := ""; ; {
		p, err := c.ListFolders(ctx, "", RootID, pageToken, 100)
		if err != nil {
			t.Fatalf("ListFolders(root, page %d): %v", len(tokens), err)
		}
		got = append(got, p.Folders...)
		tokens = append(tokens, p.NextPageToken != "")
		if pageToken = p.NextPageToken; pageToken == "" {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("folders under root (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true, false}, tokens); diff != "" {
		t.Errorf("pages with a next page token (-want +got):\n%s", diff)
	}
	if got, want := s.emu.Drive.Counters(alice)["files.list"], int64(3); got != want {
		t.Errorf("files.list calls = %d, want %d", got, want)
	}

	p, err := c.ListFolders(ctx, "", sub, "", 10)
	if err != nil {
		t.Fatalf("ListFolders(sub): %v", err)
	}
	if diff := cmp.Diff([]string{"a-sub", "b-sub"}, folderNames(p.Folders)); diff != "" || p.NextPageToken != "" {
		t.Errorf("folders under a subfolder (-want +got):\n%s, next page %q", diff, p.NextPageToken)
	}

	if _, err := c.ListFolders(ctx, "", RootID, "", 0); classOf(err) != (class{drivesync.Permanent, CodeInvalidArgument}) {
		t.Errorf("ListFolders with page size 0: error %v, want %s", err, CodeInvalidArgument)
	}
}

func folderNames(fs []Folder) []string {
	names := []string{}
	for _, f := range fs {
		names = append(names, f.Name)
	}
	return names
}

func TestListFoldersInSharedDrive(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)
	driveID, err := s.emu.Drive.AddSharedDrive(alice, "Finance")
	if err != nil {
		t.Fatal(err)
	}
	mkdir(t, c, driveID, "2026")
	mkdir(t, c, driveID, "2025")
	p, err := c.ListFolders(t.Context(), driveID, driveID, "", 100)
	if err != nil {
		t.Fatalf("ListFolders(shared drive): %v", err)
	}
	if diff := cmp.Diff([]string{"2025", "2026"}, folderNames(p.Folders)); diff != "" {
		t.Errorf("folders in the shared drive (-want +got):\n%s", diff)
	}
}

func TestFolderAndPath(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, tok := s.client(t)
	ctx := t.Context()
	root := s.rootID(t)
	a := mkdir(t, c, RootID, "Invoices")
	b := mkdir(t, c, a.ID, "2026")
	d := mkdir(t, c, b.ID, "Q1")
	driveID, err := s.emu.Drive.AddSharedDrive(alice, "Finance")
	if err != nil {
		t.Fatal(err)
	}
	x := mkdir(t, c, driveID, "eFactori")
	y := mkdir(t, c, x.ID, "Sent")
	file, err := s.raw(t, tok).Files.Create(&drivev3.File{Name: "a.pdf", Parents: []string{a.ID}}).Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		id   string
		want []Folder
	}{
		{"my drive", d.ID, []Folder{{root, "My Drive"}, a, b, d}},
		{"my drive root", RootID, []Folder{{root, "My Drive"}}},
		{"shared drive", y.ID, []Folder{{driveID, "Finance"}, x, y}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.Path(ctx, tt.id)
			if err != nil {
				t.Fatalf("Path: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Path (-want +got):\n%s", diff)
			}
		})
	}

	info, err := c.Folder(ctx, y.ID)
	if err != nil {
		t.Fatalf("Folder(shared drive folder): %v", err)
	}
	want := FolderInfo{ID: y.ID, Name: "Sent", MimeType: FolderMimeType, Parents: []string{x.ID}, DriveID: driveID,
		CanAddChildren: true}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("Folder (-want +got):\n%s", diff)
	}

	if _, err := c.Folder(ctx, file.Id); classOf(err) != (class{drivesync.Permanent, CodeNotFolder}) {
		t.Errorf("Folder(a file): error %v, want permanent %s", err, CodeNotFolder)
	}
	for _, call := range []func() error{
		func() error { _, err := c.Folder(ctx, "1NoSuchFolder"); return err },
		func() error { _, err := c.Path(ctx, "1NoSuchFolder"); return err },
	} {
		err := call()
		if !errors.Is(err, ErrNotFound) || classOf(err) != (class{drivesync.Permanent, "notFound"}) {
			t.Errorf("missing folder: error %v (%+v), want ErrNotFound, permanent notFound", err, classOf(err))
		}
	}
}

func TestCreateFolder(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)
	parent := mkdir(t, c, RootID, "eFactori")
	props := map[string]string{"drivesyncKey": "customer-42", "kind": "year"}
	f, err := c.CreateFolder(t.Context(), parent.ID, "2026", props)
	if err != nil {
		t.Fatalf("CreateFolder: %v", err)
	}
	if got, want := f.Name, "2026"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	tree, err := s.emu.Drive.Tree(alice)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := findNode(tree.Root, parent.ID)
	if len(p.Children) != 1 || p.Children[0].ID != f.ID || !p.Children[0].Folder {
		t.Fatalf("children of the parent = %+v, want the one new folder %s", p.Children, f.ID)
	}
	if diff := cmp.Diff(map[string]map[string]string{clientID: props}, p.Children[0].AppProperties); diff != "" {
		t.Errorf("app properties (-want +got):\n%s", diff)
	}

	if _, err := c.CreateFolder(t.Context(), parent.ID, "", nil); classOf(err) != (class{drivesync.Permanent, CodeInvalidArgument}) {
		t.Errorf("CreateFolder with no name: error %v, want %s", err, CodeInvalidArgument)
	}
}

func TestEnsureFolder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key string
	}{
		{"Invoices", "customer-42/invoices"},
		// Quotes and backslashes must survive the query language on the way in.
		{`O'Brien \ Söhne`, `key with ' and \ inside`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			c, _ := s.client(t)
			ctx := t.Context()
			parent := mkdir(t, c, RootID, "eFactori")
			// A folder with the same name but no key is the customer's own, not ours.
			mkdir(t, c, parent.ID, tt.name+" (mine)")

			first, err := c.EnsureFolder(ctx, "", parent.ID, tt.name, tt.key)
			if err != nil {
				t.Fatalf("first EnsureFolder: %v", err)
			}
			second, err := c.EnsureFolder(ctx, "", parent.ID, tt.name, tt.key)
			if err != nil {
				t.Fatalf("second EnsureFolder: %v", err)
			}
			if diff := cmp.Diff(first, second); diff != "" {
				t.Errorf("second EnsureFolder (-first +second):\n%s", diff)
			}
			if got, want := first.Name, tt.name; got != want {
				t.Errorf("name = %q, want %q", got, want)
			}
			tree, err := s.emu.Drive.Tree(alice)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := countFolders(tree.Root, tt.name), 1; got != want {
				t.Errorf("folders named %q = %d, want %d:\n%s", tt.name, got, want, tree)
			}

			// The customer renames it: the key still finds it.
			if err := s.emu.Drive.RenameAsUser(alice, first.ID, "Renamed by Alice"); err != nil {
				t.Fatal(err)
			}
			renamed, err := c.EnsureFolder(ctx, "", parent.ID, tt.name, tt.key)
			if err != nil {
				t.Fatalf("EnsureFolder after rename: %v", err)
			}
			if diff := cmp.Diff(Folder{ID: first.ID, Name: "Renamed by Alice"}, renamed); diff != "" {
				t.Errorf("EnsureFolder after rename (-want +got):\n%s", diff)
			}

			// Another key under the same parent is another folder, even with the same name.
			other, err := c.EnsureFolder(ctx, "", parent.ID, tt.name, tt.key+"-other")
			if err != nil {
				t.Fatalf("EnsureFolder with another key: %v", err)
			}
			if other.ID == first.ID {
				t.Errorf("another key found the same folder %s", first.ID)
			}

			// The customer trashes it: a new one is made rather than writing into the trash.
			if err := s.emu.Drive.TrashAsUser(alice, first.ID); err != nil {
				t.Fatal(err)
			}
			fresh, err := c.EnsureFolder(ctx, "", parent.ID, tt.name, tt.key)
			if err != nil {
				t.Fatalf("EnsureFolder after trash: %v", err)
			}
			if fresh.ID == first.ID || fresh.Name != tt.name {
				t.Errorf("EnsureFolder after trash = %+v, want a new folder named %q", fresh, tt.name)
			}
			if got, want := s.emu.Drive.Counters(alice)["files.create"], int64(5); got != want {
				t.Errorf("files.create calls = %d, want %d (2 fixtures, first, other, fresh)", got, want)
			}
		})
	}
}

func TestCheckTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup returns the target to check, arranged with the full-scope client c.
		setup    func(t *testing.T, s *stack, c *Client) string
		readOnly bool // check with a drive.readonly grant
		want     class
		notFound bool
	}{
		{
			name:  "my drive folder",
			setup: func(t *testing.T, s *stack, c *Client) string { return mkdir(t, c, RootID, "Target").ID },
		},
		{
			name: "shared drive folder",
			setup: func(t *testing.T, s *stack, c *Client) string {
				id, err := s.emu.Drive.AddSharedDrive(alice, "Finance")
				if err != nil {
					t.Fatal(err)
				}
				return mkdir(t, c, id, "Target").ID
			},
		},
		{
			name:     "missing",
			setup:    func(t *testing.T, s *stack, c *Client) string { return "1NoSuchFolderEver" },
			want:     class{drivesync.NeedsCustomer, CodeTargetNotFound},
			notFound: true,
		},
		{
			name: "deleted",
			setup: func(t *testing.T, s *stack, c *Client) string {
				id := mkdir(t, c, RootID, "Target").ID
				if err := s.emu.Drive.DeleteAsUser(alice, id); err != nil {
					t.Fatal(err)
				}
				return id
			},
			want:     class{drivesync.NeedsCustomer, CodeTargetNotFound},
			notFound: true,
		},
		{
			name: "a file",
			setup: func(t *testing.T, s *stack, c *Client) string {
				f, err := c.svc.Files.Create(&drivev3.File{Name: "Target.pdf"}).Fields("id").Context(t.Context()).Do()
				if err != nil {
					t.Fatal(err)
				}
				return f.Id
			},
			want: class{drivesync.NeedsCustomer, CodeTargetNotFolder},
		},
		{
			name: "trashed",
			setup: func(t *testing.T, s *stack, c *Client) string {
				id := mkdir(t, c, RootID, "Target").ID
				if err := s.emu.Drive.TrashAsUser(alice, id); err != nil {
					t.Fatal(err)
				}
				return id
			},
			want: class{drivesync.NeedsCustomer, CodeTargetTrashed},
		},
		{
			name: "inside a trashed folder",
			setup: func(t *testing.T, s *stack, c *Client) string {
				parent := mkdir(t, c, RootID, "Parent").ID
				id := mkdir(t, c, parent, "Target").ID
				if err := s.emu.Drive.TrashAsUser(alice, parent); err != nil {
					t.Fatal(err)
				}
				return id
			},
			want: class{drivesync.NeedsCustomer, CodeTargetTrashed},
		},
		{
			name:     "read only",
			setup:    func(t *testing.T, s *stack, c *Client) string { return mkdir(t, c, RootID, "Target").ID },
			readOnly: true,
			want:     class{drivesync.NeedsCustomer, CodeTargetReadOnly},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			c, _ := s.client(t)
			id := tt.setup(t, s, c)
			if tt.readOnly {
				tok := s.login(t, driveemu.ScopeDriveReadonly)
				c = s.clientFor(t, s.config(driveemu.ScopeDriveReadonly).TokenSource(s.ctx, tok))
			}
			info, err := c.CheckTarget(t.Context(), id)
			if got := classOf(err); got != tt.want {
				t.Fatalf("CheckTarget error %v is %+v, want %+v", err, got, tt.want)
			}
			if got := errors.Is(err, ErrNotFound); got != tt.notFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tt.notFound)
			}
			if err != nil {
				if !strings.Contains(err.Error(), id) {
					t.Errorf("error %q does not name the target %s", err, id)
				}
				return
			}
			if info.ID != id || !info.CanAddChildren || info.Trashed {
				t.Errorf("CheckTarget = %+v, want the writable folder %s", info, id)
			}
		})
	}
}

// FuzzQuote checks that any name, quoted, is one literal of Drive's query language that reads
// back as the name: a quote inside can never end it early.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "O'Brien", `a\b`, `\'`, `'\''`, "x' or name != '"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := quote(s)
		if len(q) < 2 || q[0] != '\'' || q[len(q)-1] != '\'' {
			t.Fatalf("quote(%q) = %s, not a quoted literal", s, q)
		}
		var b strings.Builder
		body := q[1 : len(q)-1]
		for i := 0; i < len(body); i++ {
			switch body[i] {
			case '\\':
				if i+1 == len(body) {
					t.Fatalf("quote(%q) = %s ends in a lone backslash", s, q)
				}
				i++
				b.WriteByte(body[i])
			case '\'':
				t.Fatalf("quote(%q) = %s has an unescaped quote at %d", s, q, i+1)
			default:
				b.WriteByte(body[i])
			}
		}
		if got := b.String(); got != s {
			t.Fatalf("quote(%q) = %s reads back as %q", s, q, got)
		}
	})
}
