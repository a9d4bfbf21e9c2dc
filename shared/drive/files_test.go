package drive

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/layout"
)

// create makes a file of body under parent through the adapter and fails the test on error.
func create(t *testing.T, c *Client, parent, name string, body []byte, props map[string]string) File {
	t.Helper()
	nf := newFile(t, c, parent, name, body)
	nf.AppProperties = props
	f, err := c.CreateFile(t.Context(), nf)
	if err != nil {
		t.Fatalf("CreateFile(%q): %v", name, err)
	}
	return f
}

func TestUpdateFileContent(t *testing.T) {
	t.Parallel()
	for _, size := range []int64{100 << 10, MultipartMaxSize + 300<<10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			c, _ := s.client(t)
			parent := mkdir(t, c, RootID, "2024")
			props := map[string]string{"drivesyncDocumentId": "doc-1", "drivesyncRevision": "1"}
			old := create(t, c, parent.ID, "F1.pdf", bytesOf(t, 10<<10, 1), props)

			body := bytesOf(t, size, 2)
			got, err := c.UpdateFile(t.Context(), old.ID, FileUpdate{Content: bytes.NewReader(body), Size: size,
				MimeType: pdf, AppProperties: map[string]string{"drivesyncRevision": "2"}})
			if err != nil {
				t.Fatalf("UpdateFile: %v", err)
			}
			want := File{ID: old.ID, Name: "F1.pdf", MimeType: pdf, Parents: []string{parent.ID}, MD5: md5hex(body),
				Size: size, Version: old.Version + 1,
				AppProperties: map[string]string{"drivesyncDocumentId": "doc-1", "drivesyncRevision": "2"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("UpdateFile (-want +got):\n%s", diff)
			}
			assertStored(t, s, old.ID, body)
		})
	}
}

func TestUpdateFileRenameAndMove(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)
	from := mkdir(t, c, RootID, "2024")
	to := mkdir(t, c, RootID, "2025")
	body := bytesOf(t, 1000, 3)
	old := create(t, c, from.ID, "F1.pdf", body, map[string]string{"drivesyncDocumentId": "doc-1"})

	name := "F1 (corrigée).pdf"
	got, err := c.UpdateFile(t.Context(), old.ID, FileUpdate{Name: &name, AddParents: []string{to.ID},
		RemoveParents: []string{from.ID}})
	if err != nil {
		t.Fatalf("UpdateFile: %v", err)
	}
	want := File{ID: old.ID, Name: name, MimeType: pdf, Parents: []string{to.ID}, MD5: old.MD5, Size: old.Size,
		Version: old.Version + 1, AppProperties: old.AppProperties}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UpdateFile (-want +got):\n%s", diff)
	}
	tree, err := s.emu.Drive.Tree(alice)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := findNode(tree.Root, from.ID); len(n.Children) != 0 {
		t.Errorf("old folder still holds %+v", n.Children)
	}
	if n, _ := findNode(tree.Root, to.ID); len(n.Children) != 1 || n.Children[0].ID != old.ID || n.Children[0].Name != name {
		t.Errorf("new folder holds %+v, want the renamed file", n.Children)
	}
	assertStored(t, s, old.ID, body)
}

func TestUpdateFileFailures(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)
	f := create(t, c, RootID, "F1.pdf", bytesOf(t, 1000, 4), nil)
	empty := ""
	name := "x.pdf"
	tests := []struct {
		name     string
		id       string
		u        FileUpdate
		want     class
		notFound bool
	}{
		{"missing file", "1NoSuchFile", FileUpdate{Name: &name}, class{drivesync.Permanent, "notFound"}, true},
		{"missing new parent", f.ID, FileUpdate{AddParents: []string{"1NoSuchFolder"}, RemoveParents: []string{RootID}},
			class{drivesync.Permanent, "notFound"}, true},
		{"nothing to change", f.ID, FileUpdate{}, class{drivesync.Permanent, CodeInvalidArgument}, false},
		{"empty name", f.ID, FileUpdate{Name: &empty}, class{drivesync.Permanent, CodeInvalidArgument}, false},
		{"content without type", f.ID, FileUpdate{Content: bytes.NewReader(nil)}, class{drivesync.Permanent, CodeInvalidArgument}, false},
		{"no id", "", FileUpdate{Name: &name}, class{drivesync.Permanent, CodeInvalidArgument}, false},
		{"content shorter than declared", f.ID, FileUpdate{Content: bytes.NewReader(make([]byte, 10)), Size: 11, MimeType: pdf},
			class{drivesync.Retryable, CodeSizeMismatch}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.UpdateFile(t.Context(), tt.id, tt.u)
			if got := classOf(err); got != tt.want {
				t.Fatalf("UpdateFile error %v is %+v, want %+v", err, got, tt.want)
			}
			if got := errors.Is(err, ErrNotFound); got != tt.notFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tt.notFound)
			}
		})
	}
}

func TestTrashFile(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)
	f := create(t, c, RootID, "F1.pdf", bytesOf(t, 1000, 5), nil)
	for i := range 2 { // trashing twice is fine
		if err := c.TrashFile(t.Context(), f.ID); err != nil {
			t.Fatalf("TrashFile #%d: %v", i+1, err)
		}
	}
	got, err := c.GetFile(t.Context(), f.ID)
	if err != nil {
		t.Fatalf("GetFile: %v", err)
	}
	if !got.Trashed || got.ID != f.ID {
		t.Errorf("GetFile after TrashFile = %+v, want it trashed", got)
	}
	tree, err := s.emu.Drive.Tree(alice)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := findNode(tree.Root, f.ID); !ok || !n.Trashed {
		t.Errorf("emulator has %+v, want the file in the trash", n)
	}

	for _, call := range []func() error{
		func() error { return c.TrashFile(t.Context(), "1NoSuchFile") },
		func() error { _, err := c.GetFile(t.Context(), "1NoSuchFile"); return err },
	} {
		if err := call(); !errors.Is(err, ErrNotFound) || classOf(err) != (class{drivesync.Permanent, "notFound"}) {
			t.Errorf("missing file: error %v (%+v), want ErrNotFound, permanent notFound", err, classOf(err))
		}
	}
}

func TestFindByAppProperty(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)
	a := mkdir(t, c, RootID, "2024")
	b := mkdir(t, c, RootID, "2025")
	const key = "drivesyncDocumentId"
	tricky := `doc 'quoted' \ slash`
	first := create(t, c, a.ID, "first.pdf", bytesOf(t, 10, 1), map[string]string{key: tricky})
	second := create(t, c, b.ID, "second.pdf", bytesOf(t, 10, 2), map[string]string{key: tricky})
	trashed := create(t, c, b.ID, "trashed.pdf", bytesOf(t, 10, 3), map[string]string{key: tricky})
	create(t, c, a.ID, "other.pdf", bytesOf(t, 10, 4), map[string]string{key: "doc-2"})
	if err := s.emu.Drive.TrashAsUser(alice, trashed.ID); err != nil {
		t.Fatal(err)
	}
	trashed.Trashed, trashed.Version = true, trashed.Version+1

	tests := []struct {
		name, parent, value string
		want                []File
	}{
		{"anywhere, oldest first, trashed included", "", tricky, []File{first, second, trashed}},
		{"under a folder", a.ID, tricky, []File{first}},
		{"no match", "", "doc-3", []File{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.FindByAppProperty(t.Context(), "", tt.parent, key, tt.value)
			if err != nil {
				t.Fatalf("FindByAppProperty: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FindByAppProperty (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := c.FindByAppProperty(t.Context(), "", "", "", "x"); classOf(err) != (class{drivesync.Permanent, CodeInvalidArgument}) {
		t.Errorf("FindByAppProperty with no key: error %v, want %s", err, CodeInvalidArgument)
	}
}

// TestRebuildFromLayoutProperties writes documents the way the sync engine will (names and app
// properties from package layout) and finds each again from Drive alone, long IDs included.
func TestRebuildFromLayoutProperties(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)
	folder := mkdir(t, c, RootID, "2024")
	docs := []drivesync.Document{
		{ID: "doc-1", Revision: 3, FileName: "Facture 2024/001 é 🧾", ContentType: pdf, SHA256: strings.Repeat("a", 64)},
		{ID: strings.Repeat("🧾", drivesync.MaxIDLength/4), Revision: 1, Number: strings.Repeat("N", 300), ContentType: pdf,
			SHA256: strings.Repeat("b", 64)},
	}
	for _, d := range docs {
		body := bytesOf(t, 100, uint64(d.Revision))
		nf := NewFile{ID: newID(t, c), ParentID: folder.ID, Name: layout.FileName(d), MimeType: pdf,
			AppProperties: layout.AppProperties(d, "acme", "conn-1"), Size: int64(len(body)), Content: bytes.NewReader(body)}
		created, err := c.CreateFile(t.Context(), nf)
		if err != nil {
			t.Fatalf("CreateFile(%q): %v", nf.Name, err)
		}
		found, err := c.FindByAppProperty(t.Context(), "", "", layout.PropDocumentID, layout.DocumentIDValue(d.ID))
		if err != nil {
			t.Fatalf("FindByAppProperty: %v", err)
		}
		if diff := cmp.Diff([]File{created}, found); diff != "" {
			t.Errorf("FindByAppProperty for %q (-want +got):\n%s", d.ID, diff)
		}
		if got, want := found[0].AppProperties[layout.PropRevision], fmt.Sprint(d.Revision); got != want {
			t.Errorf("revision property = %q, want %q", got, want)
		}
	}
}
