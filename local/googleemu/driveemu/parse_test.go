package driveemu

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseContentRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    contentRange
		wantErr bool
	}{
		{in: "bytes 0-9/10", want: contentRange{0, 9, 10}},
		{in: "bytes 0-262143/*", want: contentRange{0, 262143, -1}},
		{in: "bytes */*", want: contentRange{-1, -1, -1}},
		{in: "bytes */100", want: contentRange{-1, -1, 100}},
		{in: "bytes 5-4/10", wantErr: true},
		{in: "bytes 0-10/10", wantErr: true},
		{in: "bytes 0-9", wantErr: true},
		{in: "0-9/10", wantErr: true},
		{in: "bytes -1-9/10", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseContentRange(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseContentRange(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("parseContentRange(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    fieldMask
		wantErr bool
	}{
		{in: "id,name", want: fieldMask{"id": nil, "name": nil}},
		{in: "files(id,name),nextPageToken", want: fieldMask{"files": {"id": nil, "name": nil}, "nextPageToken": nil}},
		{in: "capabilities/canEdit, id", want: fieldMask{"capabilities": {"canEdit": nil}, "id": nil}},
		{in: "*", want: fieldMask{"*": nil}},
		{in: "files(", wantErr: true},
		{in: "id,,name", wantErr: true},
		{in: "a)", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseFields(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseFields(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); err == nil && diff != "" {
				t.Errorf("parseFields(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestBlob(t *testing.T) {
	t.Parallel()
	content := pattern(3*blobSegment+123, 4)
	b, err := readBlob(bytes.NewReader(content), -1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.size(), int64(len(content)); got != want {
		t.Fatalf("size = %d, want %d", got, want)
	}
	for _, off := range []int64{0, 1, blobSegment - 1, blobSegment, 2*blobSegment + 7, int64(len(content)) - 3} {
		buf := make([]byte, 5000)
		n, err := b.ReadAt(buf, off)
		end := min(off+5000, int64(len(content)))
		if n != int(end-off) || (err != nil && err != io.EOF) {
			t.Errorf("ReadAt(%d) = %d, %v; want %d bytes", off, n, err, end-off)
		}
		if !bytes.Equal(buf[:n], content[off:end]) {
			t.Errorf("ReadAt(%d) returned the wrong bytes", off)
		}
	}
	for _, n := range []int64{2*blobSegment + 5, 2 * blobSegment, 10, 0} {
		b.truncate(n)
		if got := b.bytes(); !bytes.Equal(got, content[:n]) {
			t.Errorf("after truncate(%d) content has %d bytes, want the first %d", n, len(got), n)
		}
	}
	if _, err := readBlob(bytes.NewReader(content), 100); err != errTooLarge {
		t.Errorf("readBlob over the limit error = %v, want errTooLarge", err)
	}
	if _, err := readBlob(io.MultiReader(bytes.NewReader(content[:10]), errReader{}), -1); err == nil {
		t.Error("readBlob of a body cut short succeeded")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"name = 'a' and not trashed = true",
		`name contains 'O\'B' or ('x' in parents and mimeType != 'y')`,
		"appProperties has { key='k' and value='v' }",
		"modifiedTime > '2026-01-01T00:00:00Z'",
	} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	files := []*file{
		{ID: "1", Name: "Hello World", MimeType: "text/plain", Parents: []string{"root-id"}, Modified: now,
			AppProperties: map[string]map[string]string{"c": {"k": "v"}}},
		{ID: "2", Name: "", MimeType: FolderMimeType, Trashed: true},
	}
	ctx := &queryCtx{acct: &account{rootID: "root-id"}, client: "c"}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := parseQuery(s, "me@example.com")
		if err != nil {
			return
		}
		// Parenthesising a valid query keeps it valid and changes no answer; "not" flips them.
		wrapped, err := parseQuery("("+s+")", "me@example.com")
		if err != nil {
			t.Fatalf("(%s) does not parse: %v", s, err)
		}
		negated, err := parseQuery("not ("+s+")", "me@example.com")
		if err != nil {
			t.Fatalf("not (%s) does not parse: %v", s, err)
		}
		for _, fl := range files {
			if q.match(ctx, fl) != wrapped.match(ctx, fl) || q.match(ctx, fl) == negated.match(ctx, fl) {
				t.Fatalf("query %q: parentheses or negation change the answer for file %s", s, fl.ID)
			}
		}
	})
}

func FuzzParseFields(f *testing.F) {
	for _, s := range []string{"id,name", "files(id,capabilities/canEdit),nextPageToken", "*", "a(b(c)),d/e/f"} {
		f.Add(s)
	}
	res := map[string]any{"id": "x", "files": []any{map[string]any{"id": "y", "capabilities": map[string]any{"canEdit": true}}}}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseFields(s)
		if err != nil {
			return
		}
		out, ok := m.apply(res).(map[string]any)
		if !ok {
			t.Fatalf("apply(%q) did not return an object", s)
		}
		if _, all := m["*"]; all {
			return
		}
		for k := range out {
			if _, selected := m[k]; !selected {
				t.Fatalf("apply(%q) kept unselected %q", s, k)
			}
		}
	})
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-9/10", "bytes */*", "bytes 0-262143/*", "bytes */100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cr, err := parseContentRange(s)
		if err != nil {
			return
		}
		if (cr.first < 0) != (cr.last < 0) || cr.last < cr.first || (cr.total >= 0 && cr.last >= cr.total) {
			t.Fatalf("parseContentRange(%q) = %+v: inconsistent", s, cr)
		}
	})
}

func FuzzDecodeToken(f *testing.F) {
	f.Add(encodeToken(pageToken{Q: "name = 'x'", Order: "name", After: sortPoint{Name: "x", ID: "1"}}))
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		tok, ok := decodeToken(s)
		if !ok {
			return
		}
		if again, ok := decodeToken(encodeToken(tok)); !ok || !again.After.Modified.Equal(tok.After.Modified) || again.Q != tok.Q {
			t.Fatalf("token %q does not survive a round trip", s)
		}
	})
}
