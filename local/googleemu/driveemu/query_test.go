package driveemu

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/drive/v3"
)

func TestListQueries(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	a := v.mkdir(t, svc, "A", "root")
	sub := v.mkdir(t, svc, "Sub", a.Id)
	put := func(name, mime string, props map[string]string) *drive.File {
		return v.upload(t, svc, &drive.File{Name: name, MimeType: mime, Parents: []string{a.Id}, AppProperties: props}, []byte(name))
	}
	put("Invoice 2024.pdf", "application/pdf", map[string]string{"docId": "d1", "kind": "sales_invoice"})
	put("invoice-2025.pdf", "application/pdf", map[string]string{"docId": "d2", "kind": "sales_invoice"})
	put("notes.txt", "text/plain", nil)
	put("O'Brien.txt", "text/plain", nil)
	put(`back\slash.txt`, "text/plain", nil)
	old := put("old.pdf", "application/pdf", map[string]string{"docId": "d3"})
	if _, err := svc.Files.Update(old.Id, &drive.File{Trashed: true}).Do(); err != nil {
		t.Fatal(err)
	}
	v.upload(t, svc, &drive.File{Name: "deep.pdf", MimeType: "application/pdf", Parents: []string{sub.Id}}, []byte("d"))

	in := fmt.Sprintf("'%s' in parents", a.Id)
	tests := []struct {
		q    string
		want []string
	}{
		{"name = 'notes.txt'", []string{"notes.txt"}},
		{"name != 'notes.txt' and " + in, []string{`back\slash.txt`, "Invoice 2024.pdf", "invoice-2025.pdf", "O'Brien.txt", "old.pdf", "Sub"}},
		{"name contains 'invoice'", []string{"Invoice 2024.pdf", "invoice-2025.pdf"}},
		{"name contains '2025'", []string{"invoice-2025.pdf"}},
		{"name contains 'voice'", nil},
		{in, []string{`back\slash.txt`, "Invoice 2024.pdf", "invoice-2025.pdf", "notes.txt", "O'Brien.txt", "old.pdf", "Sub"}},
		{"'root' in parents", []string{"A"}},
		{"mimeType = 'application/pdf'", []string{"deep.pdf", "Invoice 2024.pdf", "invoice-2025.pdf", "old.pdf"}},
		{"mimeType != 'application/pdf' and " + in, []string{`back\slash.txt`, "notes.txt", "O'Brien.txt", "Sub"}},
		{"mimeType = 'application/vnd.google-apps.folder'", []string{"A", "Sub"}},
		{"trashed = true", []string{"old.pdf"}},
		{"trashed = false and mimeType = 'application/pdf'", []string{"deep.pdf", "Invoice 2024.pdf", "invoice-2025.pdf"}},
		{"appProperties has { key='docId' and value='d1' }", []string{"Invoice 2024.pdf"}},
		{"appProperties has {key='kind' and value='sales_invoice'} and appProperties has {key='docId' and value='d2'}", []string{"invoice-2025.pdf"}},
		{"appProperties has { key='docId' and value='d3' } and trashed = false", nil},
		{"not name contains 'invoice' and " + in + " and trashed = false", []string{`back\slash.txt`, "notes.txt", "O'Brien.txt", "Sub"}},
		{"(name = 'notes.txt' or name = 'Sub') and " + in, []string{"notes.txt", "Sub"}},
		{"name = 'notes.txt' or name = 'Sub' and trashed = true", []string{"notes.txt"}},
		{`name = 'O\'Brien.txt'`, []string{"O'Brien.txt"}},
		{`name = 'back\\slash.txt'`, []string{`back\slash.txt`}},
		{"NOT (trashed = false) AND mimeType contains 'pdf'", []string{"old.pdf"}},
		{"modifiedTime > '2026-01-01T00:00:00Z' and name = 'A'", []string{"A"}},
		{"modifiedTime < '2026-01-01T00:00:00Z'", nil},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			t.Parallel()
			l, err := svc.Files.List().Q(tc.q).OrderBy("name").Fields("files(name)").Do()
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if diff := cmp.Diff(want, names(l.Files)); diff != "" {
				t.Errorf("q %s (-want +got):\n%s", tc.q, diff)
			}
		})
	}

	invalid := []string{
		"name = ",
		"name = 'unterminated",
		"foo = 'x'",
		"name < 'x'",
		"trashed = maybe",
		"(name = 'x'",
		"name = 'x' and",
		"appProperties has { key='k' }",
		"'x' in nothing",
	}
	for _, q := range invalid {
		t.Run("invalid "+q, func(t *testing.T) {
			t.Parallel()
			_, err := svc.Files.List().Q(q).Do()
			if code, reason := apiReason(t, err); code != 400 || reason != "invalid" {
				t.Errorf("q %q = %d %s, want 400 invalid", q, code, reason)
			}
		})
	}
}

func TestAppPropertiesArePrivateToTheApp(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	f := v.upload(t, svc, &drive.File{Name: "x", AppProperties: map[string]string{"docId": "1"}}, []byte("x"))
	if err := v.emu.GrantToClient(alice, other, f.Id); err != nil {
		t.Fatal(err)
	}
	otherApp := v.service(t, tokAliceOtherApp)
	got, err := otherApp.Files.Get(f.Id).Fields("appProperties").Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.AppProperties) != 0 {
		t.Errorf("other app sees appProperties %v, want none", got.AppProperties)
	}
	l, err := otherApp.Files.List().Q("appProperties has { key='docId' and value='1' }").Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Files) != 0 {
		t.Errorf("other app's query matched %v, want nothing", names(l.Files))
	}
}

func TestPagingWithOrderBy(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	dir := v.mkdir(t, svc, "paged", "root")
	var all []string
	for i := range 25 {
		name := fmt.Sprintf("file-%02d", i)
		all = append(all, name)
		v.clock.Advance(time.Second)
		v.upload(t, svc, &drive.File{Name: name, Parents: []string{dir.Id}}, []byte{byte(i)})
	}
	v.clock.Advance(time.Second)
	v.mkdir(t, svc, "zz-folder", dir.Id)
	q := fmt.Sprintf("'%s' in parents", dir.Id)

	collect := func(t *testing.T, orderBy string, pageSize int64, between func(page int)) ([]string, []int) {
		t.Helper()
		var got []string
		var sizes []int
		token := ""
		for page := 0; ; page++ {
			call := svc.Files.List().Q(q).OrderBy(orderBy).PageSize(pageSize).Fields("nextPageToken,files(name)")
			if token != "" {
				call = call.PageToken(token)
			}
			l, err := call.Do()
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			got = append(got, names(l.Files)...)
			sizes = append(sizes, len(l.Files))
			if l.NextPageToken == "" {
				return got, sizes
			}
			token = l.NextPageToken
			if between != nil {
				between(page)
			}
		}
	}

	desc := slices.Clone(all)
	desc = append(desc, "zz-folder")
	slices.Reverse(desc)
	folderFirst := append([]string{"zz-folder"}, all...)
	newestFirst := slices.Clone(desc[1:])
	newestFirst = append([]string{"zz-folder"}, newestFirst...)
	tests := []struct {
		orderBy   string
		pageSize  int64
		want      []string
		wantSizes []int
	}{
		{"name desc", 10, desc, []int{10, 10, 6}},
		{"folder,name", 10, folderFirst, []int{10, 10, 6}},
		{"modifiedTime desc", 7, newestFirst, []int{7, 7, 7, 5}},
		{"createdTime", 26, append(slices.Clone(all), "zz-folder"), []int{26}},
	}
	for _, tc := range tests {
		t.Run(tc.orderBy, func(t *testing.T) {
			got, sizes := collect(t, tc.orderBy, tc.pageSize, nil)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantSizes, sizes); diff != "" {
				t.Errorf("page sizes (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("stable across changes", func(t *testing.T) {
		// An item added before the cursor neither shifts nor repeats what is left.
		got, _ := collect(t, "name", 10, func(page int) {
			if page == 0 {
				v.upload(t, svc, &drive.File{Name: "file-00a", Parents: []string{dir.Id}}, []byte("n"))
			}
		})
		if diff := cmp.Diff(append(slices.Clone(all), "zz-folder"), got); diff != "" {
			t.Errorf("names (-want +got):\n%s", diff)
		}
	})

	_, err := svc.Files.List().OrderBy("size").Do()
	if code, reason := apiReason(t, err); code != 400 || reason != "invalid" {
		t.Errorf("orderBy size = %d %s, want 400 invalid", code, reason)
	}
	_, err = svc.Files.List().PageToken("garbage!").Do()
	if code, _ := apiReason(t, err); code != 400 {
		t.Errorf("bad pageToken code = %d, want 400", code)
	}
	_, err = svc.Files.List().PageSize(1001).Do()
	if code, _ := apiReason(t, err); code != 400 {
		t.Errorf("pageSize 1001 code = %d, want 400", code)
	}
}
