package api

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/problem"
)

func ptr[T any](v T) *T { return &v }

// pointers returns the status of err, which must be a *problem.Problem, and its field pointers.
func pointers(t *testing.T, err error) (int, []string) {
	t.Helper()
	var p *problem.Problem
	if !errors.As(err, &p) {
		t.Fatalf("error %v (%T) is not a problem", err, err)
	}
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Pointer)
	}
	return p.Status, out
}

func TestDecodeCreate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		want     connection.CreateInput
		status   int
		pointers []string
	}{
		{name: "minimal", body: `{"name":" Compta ","folderLayout":"year"}`,
			want: connection.CreateInput{Name: "Compta", FolderLayout: drivesync.LayoutYear}},
		{name: "with locale", body: `{"name":"Compta","folderLayout":"year_kind","locale":"nl"}`,
			want: connection.CreateInput{Name: "Compta", FolderLayout: drivesync.LayoutYearKind, Locale: drivesync.LocaleNL}},
		{name: "empty object", body: `{}`, status: 400, pointers: []string{"/name", "/folderLayout"}},
		{name: "blank name bad layout bad locale", body: `{"name":"  ","folderLayout":"flat","locale":"de"}`,
			status: 400, pointers: []string{"/name", "/folderLayout", "/locale"}},
		{name: "name too long", body: `{"name":"` + strings.Repeat("é", drivesync.MaxConnectionNameLength+1) + `","folderLayout":"year"}`,
			status: 400, pointers: []string{"/name"}},
		{name: "control character", body: `{"name":"a\u0007b","folderLayout":"year"}`, status: 400, pointers: []string{"/name"}},
		{name: "name is a number", body: `{"name":42,"folderLayout":"year"}`, status: 400, pointers: []string{"/name"}},
		{name: "unknown field", body: `{"name":"a","folderLayout":"year","color":"red"}`, status: 400},
		{name: "malformed", body: `{"name":`, status: 400},
		{name: "empty body", body: ``, status: 400},
		{name: "array", body: `[]`, status: 400},
		{name: "two values", body: `{"name":"a","folderLayout":"year"} {}`, status: 400},
		{name: "trailing garbage", body: `{"name":"a","folderLayout":"year"}x`, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeCreate(strings.NewReader(tt.body))
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("decodeCreate: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("decodeCreate (-want +got):\n%s", diff)
				}
				return
			}
			status, ptrs := pointers(t, err)
			if got, want := status, tt.status; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if tt.pointers != nil {
				if diff := cmp.Diff(tt.pointers, ptrs); diff != "" {
					t.Errorf("pointers (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestDecodeUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		want     connection.UpdateInput
		pointers []string
	}{
		{name: "nothing", body: `{}`},
		{name: "everything", body: `{"name":"B","folderLayout":"year_month","locale":"en","onDelete":"trash"}`,
			want: connection.UpdateInput{Name: ptr("B"), FolderLayout: ptr(drivesync.LayoutYearMonth),
				Locale: ptr(drivesync.LocaleEN), OnDelete: ptr(drivesync.OnDeleteTrash)}},
		{name: "every field bad", body: `{"name":"","folderLayout":"x","locale":"x","onDelete":"x"}`,
			pointers: []string{"/name", "/folderLayout", "/locale", "/onDelete"}},
		{name: "wrong type", body: `{"onDelete":true}`, pointers: []string{"/onDelete"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeUpdate(strings.NewReader(tt.body))
			if tt.pointers == nil {
				if err != nil {
					t.Fatalf("decodeUpdate: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("decodeUpdate (-want +got):\n%s", diff)
				}
				return
			}
			_, ptrs := pointers(t, err)
			if diff := cmp.Diff(tt.pointers, ptrs); diff != "" {
				t.Errorf("pointers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeSmallBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		decode   func(string) (any, error)
		body     string
		want     any
		pointers []string
	}{
		{name: "integration on", decode: wrap(decodeIntegration), body: `{"enabled":true}`, want: true},
		{name: "integration missing", decode: wrap(decodeIntegration), body: `{}`, pointers: []string{"/enabled"}},
		{name: "integration string", decode: wrap(decodeIntegration), body: `{"enabled":"yes"}`, pointers: []string{"/enabled"}},
		{name: "integration null", decode: wrap(decodeIntegration), body: `{"enabled":null}`, pointers: []string{"/enabled"}},
		{name: "folder", decode: wrap(decodeNewFolder), body: `{"parentId":"root","name":" Factures "}`,
			want: newFolder{ParentID: "root", Name: "Factures"}},
		{name: "folder bad", decode: wrap(decodeNewFolder), body: `{"parentId":"../x","name":""}`, pointers: []string{"/parentId", "/name"}},
		{name: "folder missing", decode: wrap(decodeNewFolder), body: `{}`, pointers: []string{"/parentId", "/name"}},
		{name: "folder name too long", decode: wrap(decodeNewFolder),
			body: `{"parentId":"root","name":"` + strings.Repeat("a", drivesync.MaxFolderNameLength+1) + `"}`, pointers: []string{"/name"}},
		{name: "target", decode: wrap(decodeTarget), body: `{"folderId":"1AbC_d-9"}`, want: "1AbC_d-9"},
		{name: "target drives", decode: wrap(decodeTarget), body: `{"folderId":"drives"}`, pointers: []string{"/folderId"}},
		{name: "target quote", decode: wrap(decodeTarget), body: `{"folderId":"a' or '1'='1"}`, pointers: []string{"/folderId"}},
		{name: "target missing", decode: wrap(decodeTarget), body: `{}`, pointers: []string{"/folderId"}},
		{name: "target too long", decode: wrap(decodeTarget), body: `{"folderId":"` + strings.Repeat("a", drivesync.MaxIDLength+1) + `"}`, pointers: []string{"/folderId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.decode(tt.body)
			if tt.pointers == nil {
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("decode (-want +got):\n%s", diff)
				}
				return
			}
			status, ptrs := pointers(t, err)
			if got, want := status, http.StatusBadRequest; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if diff := cmp.Diff(tt.pointers, ptrs); diff != "" {
				t.Errorf("pointers (-want +got):\n%s", diff)
			}
		})
	}
}

func wrap[T any](f func(io.Reader) (T, error)) func(string) (any, error) {
	return func(s string) (any, error) { return f(strings.NewReader(s)) }
}

func TestDecodeFolderQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, parent, token string
		want                folderQuery
		pointers            []string
	}{
		{name: "default", want: folderQuery{Parent: "root"}},
		{name: "drives", parent: "drives", token: "abc~", want: folderQuery{Parent: "drives", PageToken: "abc~"}},
		{name: "path traversal", parent: "../../etc", pointers: []string{"/parent"}},
		{name: "token with newline", token: "a\nb", pointers: []string{"/pageToken"}},
		{name: "token too long", token: strings.Repeat("t", maxPageTokenLength+1), pointers: []string{"/pageToken"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeFolderQuery(tt.parent, tt.token)
			if tt.pointers == nil {
				if err != nil {
					t.Fatalf("decodeFolderQuery: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("decodeFolderQuery (-want +got):\n%s", diff)
				}
				return
			}
			_, ptrs := pointers(t, err)
			if diff := cmp.Diff(tt.pointers, ptrs); diff != "" {
				t.Errorf("pointers (-want +got):\n%s", diff)
			}
		})
	}
}

// checkDecoded is what every fuzz target asserts: a decoder either fails with a 4xx problem, or
// returns values the service may be given.
func checkDecoded(t *testing.T, err error, ok func()) {
	t.Helper()
	if err == nil {
		ok()
		return
	}
	var p *problem.Problem
	if !errors.As(err, &p) {
		t.Fatalf("error %v (%T) is not a problem", err, err)
	}
	if p.Status < 400 || p.Status > 499 {
		t.Fatalf("status %d for a bad body", p.Status)
	}
}

func checkName(t *testing.T, name string, max int) {
	t.Helper()
	if strings.TrimSpace(name) != name || name == "" || len([]rune(name)) > max {
		t.Fatalf("accepted name %q", name)
	}
}

func FuzzDecodeCreate(f *testing.F) {
	f.Add(`{"name":"Compta","folderLayout":"year","locale":"fr"}`)
	f.Add(`{"name":"` + strings.Repeat("x", 101) + `"}`)
	f.Add(`{"name":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		in, err := decodeCreate(strings.NewReader(body))
		checkDecoded(t, err, func() {
			checkName(t, in.Name, drivesync.MaxConnectionNameLength)
			if !in.FolderLayout.Valid() || (in.Locale != "" && !in.Locale.Valid()) {
				t.Fatalf("accepted %+v", in)
			}
		})
	})
}

func FuzzDecodeUpdate(f *testing.F) {
	f.Add(`{"name":"B","folderLayout":"year_month","locale":"en","onDelete":"trash"}`)
	f.Add(`{"onDelete":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		in, err := decodeUpdate(strings.NewReader(body))
		checkDecoded(t, err, func() {
			if in.Name != nil {
				checkName(t, *in.Name, drivesync.MaxConnectionNameLength)
			}
			if (in.FolderLayout != nil && !in.FolderLayout.Valid()) || (in.Locale != nil && !in.Locale.Valid()) ||
				(in.OnDelete != nil && !validOnDelete(*in.OnDelete)) {
				t.Fatalf("accepted %+v", in)
			}
		})
	})
}

func FuzzDecodeNewFolder(f *testing.F) {
	f.Add(`{"parentId":"root","name":"Factures"}`)
	f.Add(`{"parentId":"a/b","name":"\u0000"}`)
	f.Fuzz(func(t *testing.T, body string) {
		nf, err := decodeNewFolder(strings.NewReader(body))
		checkDecoded(t, err, func() {
			checkName(t, nf.Name, drivesync.MaxFolderNameLength)
			if !validID(nf.ParentID) {
				t.Fatalf("accepted parent %q", nf.ParentID)
			}
		})
	})
}

func FuzzDecodeTarget(f *testing.F) {
	f.Add(`{"folderId":"1AbC"}`)
	f.Add(`{"folderId":"drives"}`)
	f.Fuzz(func(t *testing.T, body string) {
		id, err := decodeTarget(strings.NewReader(body))
		checkDecoded(t, err, func() {
			if !validID(id) || id == parentDrives {
				t.Fatalf("accepted folder %q", id)
			}
		})
	})
}

func FuzzDecodeIntegration(f *testing.F) {
	f.Add(`{"enabled":false}`)
	f.Add(`{"enabled":0}`)
	f.Fuzz(func(t *testing.T, body string) {
		_, err := decodeIntegration(strings.NewReader(body))
		checkDecoded(t, err, func() {})
	})
}

func FuzzDecodeFolderQuery(f *testing.F) {
	f.Add("root", "")
	f.Add("drives", "tok")
	f.Add("a/b", "x\x00")
	f.Fuzz(func(t *testing.T, parent, token string) {
		q, err := decodeFolderQuery(parent, token)
		checkDecoded(t, err, func() {
			if !validID(q.Parent) || !validPageToken(q.PageToken) {
				t.Fatalf("accepted %+v", q)
			}
		})
	})
}
