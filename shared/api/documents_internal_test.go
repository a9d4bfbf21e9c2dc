package api

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/efactori/drivesync/shared/problem"
	"github.com/efactori/drivesync/shared/store"
)

// A page token continues only the listing it was given for: same connection, state and number;
// any change to it is refused.
func TestPageTokenIsBoundToItsListing(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)
	for _, q := range []documentQuery{{state: store.MappingFailed}, {number: " F2026 "}, {}} {
		c := &store.MappingCursor{UpdatedAt: at, NumberKey: "f2026-0001", DocumentID: "doc-1"}
		tok := encodePageToken("c1", q, c)
		got, ok := decodePageToken("c1", tok, q)
		if !ok {
			t.Fatalf("%+v: own token refused", q)
		}
		if q.number == "" && (!got.UpdatedAt.Equal(at) || got.DocumentID != "doc-1") {
			t.Errorf("%+v: cursor %+v, want %v doc-1", q, got, at)
		}
		if q.number != "" && (got.NumberKey != "f2026-0001" || got.DocumentID != "doc-1") {
			t.Errorf("%+v: cursor %+v, want by number", q, got)
		}
		if _, ok := decodePageToken("c2", tok, q); ok {
			t.Errorf("%+v: token of connection c1 accepted for c2", q)
		}
		other := q
		other.state = store.MappingPending
		if _, ok := decodePageToken("c1", tok, other); ok {
			t.Errorf("%+v: token accepted for another state", q)
		}
		other = q
		other.number = "X"
		if _, ok := decodePageToken("c1", tok, other); ok {
			t.Errorf("%+v: token accepted for another number", q)
		}
		for i := range len(tok) {
			b := []byte(tok)
			b[i] ^= 1
			if _, ok := decodePageToken("c1", string(b), q); ok {
				t.Errorf("%+v: token with byte %d changed accepted", q, i)
			}
		}
	}
}

// FuzzDecodeDocumentQuery checks that whatever query a caller sends is either refused with a
// 400 problem or gives a query the store can take.
func FuzzDecodeDocumentQuery(f *testing.F) {
	tok := encodePageToken("c1", documentQuery{state: store.MappingFailed},
		&store.MappingCursor{UpdatedAt: time.Unix(1, 2), DocumentID: "d"})
	for _, s := range []string{"", "state=failed&pageSize=5", "number=F20&pageSize=100", "pageSize=0", "x=1",
		"state=failed&pageToken=" + url.QueryEscape(tok), "pageToken=" + url.QueryEscape(tok), "number=%00", "pageSize=007"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		values, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := decodeDocumentQuery("c1", values)
		if err != nil {
			var p *problem.Problem
			if !errors.As(err, &p) || p.Status != 400 {
				t.Fatalf("%q: %v, want a 400 problem", raw, err)
			}
			return
		}
		if q.size < 1 || q.size > store.MaxMappingPage {
			t.Fatalf("%q: page size %d", raw, q.size)
		}
		switch q.state {
		case "", store.MappingSynced, store.MappingPending, store.MappingFailed:
		default:
			t.Fatalf("%q: state %q", raw, q.state)
		}
		if q.number != "" && strings.TrimSpace(q.number) == "" {
			t.Fatalf("%q: blank number accepted", raw)
		}
		if q.after != nil && !validDocumentID(q.after.DocumentID) {
			t.Fatalf("%q: cursor document %q", raw, q.after.DocumentID)
		}
	})
}
