package efactori

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func FuzzDecodePageToken(f *testing.F) {
	f.Add(encodePageToken(pageToken{Company: "acme", After: "acme-000001"}))
	f.Add(encodePageToken(pageToken{Company: "é", After: strings.Repeat("x", 128)}))
	f.Add("")
	f.Add("!!!")
	f.Add("eyJ2IjoxfQ")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := decodePageToken(s)
		if err != nil {
			return
		}
		if tok.V != 1 || tok.Company == "" || tok.After == "" || !utf8.ValidString(tok.After) {
			t.Fatalf("decodePageToken(%q) accepted %+v", s, tok)
		}
		again, err := decodePageToken(encodePageToken(tok))
		if err != nil {
			t.Fatalf("re-encoded token %+v does not decode: %v", tok, err)
		}
		if diff := cmp.Diff(tok, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func TestLayoutHitsTargetSize(t *testing.T) {
	t.Parallel()
	for _, target := range []int64{0, 100, 5000, 99_990, 100_000, 1 << 20, 9_999_999} {
		l := layoutPDF(pdfSpec{Title: "t", Lines: []string{"a", "b"}, TargetSize: target})
		var n byteCounter
		if err := l.writeTo(&n); err != nil {
			t.Fatal(err)
		}
		if got, want := int64(n), l.size(); got != want {
			t.Errorf("target %d: wrote %d bytes, size() says %d", target, got, want)
		}
		if minSize := int64(len(l.head) + len(l.tail)); target > minSize+20 {
			// Exact, but for a digit boundary of /Length or startxref.
			if got := l.size(); got < target || got > target+2 {
				t.Errorf("target %d: size %d", target, got)
			}
		}
	}
}

type byteCounter int64

func (c *byteCounter) Write(b []byte) (int, error) { *c += byteCounter(len(b)); return len(b), nil }

func TestPDFText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Facture (été)", `(Facture \(\351t\351\))`},
		{`a\b`, `(a\\b)`},
		{"€ 🍳", `(\200 ?)`},
	}
	for _, tt := range tests {
		if got := pdfLiteral(tt.in); got != tt.want {
			t.Errorf("pdfLiteral(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got, want := pdfTextString("é🍳"), "<FEFF00E9D83CDF73>"; got != want {
		t.Errorf("pdfTextString = %s, want %s", got, want)
	}
	if diff := cmp.Diff([]string{"aaa bb", "cccccc", "cc d"}, wrapText("aaa bb cccccccc d", 6)); diff != "" {
		t.Errorf("wrapText (-want +got):\n%s", diff)
	}
	if got, want := formatCents(-123456789), "-1 234 567,89 EUR"; got != want {
		t.Errorf("formatCents = %s, want %s", got, want)
	}
}
