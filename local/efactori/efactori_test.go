package efactori_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/drivesync"
)

func TestMain(m *testing.M) { emulators.Main(m) }

const (
	devToken = "dev-token-for-tests"
	audience = "drivesync-test"
)

// signingKey is shared by every test server: RSA key generation is slow under -race.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// newServer starts a stand-in on a loopback port; it is closed when the test ends.
func newServer(t *testing.T, seed uint64, companies ...efactori.CompanySpec) (*efactori.Server, string) {
	t.Helper()
	s, err := efactori.New(efactori.Options{
		DevToken: devToken, Seed: seed, Companies: companies, Audience: audience, SigningKey: signingKey(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	if err := s.SetBaseURL(hs.URL); err != nil {
		t.Fatalf("SetBaseURL: %v", err)
	}
	return s, hs.URL
}

func do(t *testing.T, method, url, token string, body any) *http.Response {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func decode[T any](t *testing.T, resp *http.Response) T {
	t.Helper()
	var v T
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("decode %T: %v", v, err)
	}
	return v
}

func list(t *testing.T, base, company string, query string) efactori.ListResponse {
	t.Helper()
	resp := do(t, "GET", base+"/v1/companies/"+company+"/documents?"+query, devToken, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list %s?%s: status %d", company, query, resp.StatusCode)
	}
	return decode[efactori.ListResponse](t, resp)
}

func listAll(t *testing.T, base, company string, pageSize int) []drivesync.Document {
	t.Helper()
	var docs []drivesync.Document
	token := ""
	for pages := 0; ; pages++ {
		if pages > 10_000 {
			t.Fatal("paging does not end")
		}
		page := list(t, base, company, fmt.Sprintf("pageSize=%d&pageToken=%s", pageSize, token))
		if len(page.Documents) > pageSize {
			t.Fatalf("page of %d documents, pageSize %d", len(page.Documents), pageSize)
		}
		docs = append(docs, page.Documents...)
		if page.NextPageToken == "" {
			return docs
		}
		token = page.NextPageToken
	}
}

func TestListWalksEveryDocumentOnceInOrder(t *testing.T) {
	t.Parallel()
	s, base := newServer(t, 7, efactori.Bulk)
	docs := listAll(t, base, "bulk", 137)
	if got, want := len(docs), 5000; got != want {
		t.Fatalf("walked %d documents, want %d", got, want)
	}
	for i, d := range docs {
		if got, want := d.ID, fmt.Sprintf("bulk-%06d", i+1); got != want {
			t.Fatalf("document %d is %s, want %s", i, got, want)
		}
		if err := d.Validate(); err != nil {
			t.Errorf("document %s does not validate: %v", d.ID, err)
		}
		if got, want := d.ContentURL, fmt.Sprintf("%s/v1/documents/%s/content?revision=%d", base, d.ID, d.Revision); got != want {
			t.Errorf("contentUrl = %s, want %s", got, want)
		}
	}
	all, err := s.Documents("bulk")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all, docs); diff != "" {
		t.Errorf("walk differs from Documents (-Documents +walk):\n%s", diff)
	}
}

func TestListPagesStayStableWhileDocumentsChange(t *testing.T) {
	t.Parallel()
	s, base := newServer(t, 7, efactori.CompanySpec{ID: "small", Documents: 10})
	first := list(t, base, "small", "pageSize=4")
	// Delete a document already seen and one not seen yet, and add one before the cursor.
	for _, id := range []string{"small-000002", "small-000006"} {
		if _, err := s.Delete("small", id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Upsert("small", "small-000001a", efactori.Upsert{Kind: drivesync.KindQuote, Number: "D-1", Date: "2024-01-01"}); err != nil {
		t.Fatal(err)
	}
	var rest []string
	token := first.NextPageToken
	for token != "" {
		page := list(t, base, "small", "pageSize=4&pageToken="+token)
		for _, d := range page.Documents {
			rest = append(rest, d.ID)
		}
		token = page.NextPageToken
	}
	want := []string{"small-000005", "small-000007", "small-000008", "small-000009", "small-000010"}
	if diff := cmp.Diff(want, rest); diff != "" {
		t.Errorf("pages after the first (-want +got):\n%s", diff)
	}
}

func TestListShapes(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, 7, efactori.Empty, efactori.Bulk)

	empty := list(t, base, "empty", "")
	if empty.Documents == nil || len(empty.Documents) != 0 || empty.NextPageToken != "" {
		t.Errorf("empty company: %+v, want no documents and no token", empty)
	}
	// The JSON must carry [] rather than null, which some clients choke on.
	resp := do(t, "GET", base+"/v1/companies/empty/documents", devToken, nil)
	body, _ := io.ReadAll(resp.Body)
	if !bytes.Contains(body, []byte(`"documents":[]`)) {
		t.Errorf("empty list body = %s, want documents: []", body)
	}
	if got, want := resp.Header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}

	def := list(t, base, "bulk", "")
	if got, want := len(def.Documents), efactori.DefaultPageSize; got != want {
		t.Errorf("default page holds %d documents, want %d", got, want)
	}
	if def.NextPageToken == "" {
		t.Error("default page of bulk has no nextPageToken")
	}
	max := list(t, base, "bulk", "pageSize=1000")
	if got, want := len(max.Documents), efactori.MaxPageSize; got != want {
		t.Errorf("largest page holds %d documents, want %d", got, want)
	}
}

func TestListErrors(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, 7, efactori.Empty, efactori.Bulk)
	other := list(t, base, "bulk", "pageSize=3").NextPageToken
	tests := []struct {
		name, path, token string
		status            int
		problem           string
	}{
		{"no token", "/v1/companies/bulk/documents", "", 401, "unauthenticated"},
		{"wrong token", "/v1/companies/bulk/documents", "nope", 401, "unauthenticated"},
		{"unknown company", "/v1/companies/nobody/documents", devToken, 404, "unknown-company"},
		{"page size zero", "/v1/companies/bulk/documents?pageSize=0", devToken, 400, "invalid-page-size"},
		{"page size too large", "/v1/companies/bulk/documents?pageSize=1001", devToken, 400, "invalid-page-size"},
		{"page size not a number", "/v1/companies/bulk/documents?pageSize=ten", devToken, 400, "invalid-page-size"},
		{"negative page size", "/v1/companies/bulk/documents?pageSize=-5", devToken, 400, "invalid-page-size"},
		{"garbage page token", "/v1/companies/bulk/documents?pageToken=%21%21%21", devToken, 400, "invalid-page-token"},
		{"page token of another company", "/v1/companies/empty/documents?pageToken=" + other, devToken, 400, "invalid-page-token"},
		{"unknown route", "/v2/anything", devToken, 404, "not-found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := do(t, "GET", base+tt.path, tt.token, nil)
			if got, want := resp.StatusCode, tt.status; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if got, want := resp.Header.Get("Content-Type"), "application/problem+json"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			p := decode[efactori.Problem](t, resp)
			want := efactori.Problem{Type: efactori.ProblemTypePrefix + tt.problem, Title: http.StatusText(tt.status), Status: tt.status}
			if diff := cmp.Diff(want, p, cmpopts.IgnoreFields(efactori.Problem{}, "Detail", "Instance")); diff != "" {
				t.Errorf("problem (-want +got):\n%s", diff)
			}
			if tt.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// fetch streams a document's content through sha256 and checks it against the listing.
func fetch(t *testing.T, d drivesync.Document, keep bool) []byte {
	t.Helper()
	resp := do(t, "GET", d.ContentURL, devToken, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("content of %s: status %d", d.ID, resp.StatusCode)
	}
	for h, want := range map[string]string{
		"Content-Type":               d.ContentType,
		"Content-Length":             strconv.FormatInt(d.Size, 10),
		efactori.ContentSHA256Header: d.SHA256,
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %s = %q, want %q", d.ID, h, got, want)
		}
	}
	h := sha256.New()
	var buf *bytes.Buffer
	w := io.Writer(h)
	if keep {
		// One allocation of the final size: growing a 20 MB buffer step by step costs close to
		// a second under -race.
		buf = bytes.NewBuffer(make([]byte, 0, d.Size))
		w = io.MultiWriter(h, buf)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		t.Fatalf("read content of %s: %v", d.ID, err)
	}
	if got, want := n, d.Size; got != want {
		t.Errorf("%s: read %d bytes, listing says %d", d.ID, got, want)
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), d.SHA256; got != want {
		t.Errorf("%s: content sha256 %s, listing says %s", d.ID, got, want)
	}
	if buf == nil {
		return nil
	}
	return buf.Bytes()
}

func TestAcmeContentMatchesListing(t *testing.T) {
	t.Parallel()
	s, base := newServer(t, 7, efactori.Acme)
	docs := listAll(t, base, "acme", 1000)
	if got := len(docs); got < 35 || got > 50 {
		t.Errorf("acme holds %d documents, want about 40", got)
	}
	kinds := map[drivesync.Kind]bool{}
	years := map[int]bool{}
	var large []drivesync.Document
	var sawEmoji, sawSlash, saw300, sawCSV bool
	for _, d := range docs {
		if err := d.Validate(); err != nil {
			t.Errorf("document %s does not validate: %v", d.ID, err)
		}
		kinds[d.Kind], years[d.Year()] = true, true
		sawEmoji = sawEmoji || strings.Contains(d.Title, "🍳")
		sawSlash = sawSlash || strings.Contains(d.FileName, "/")
		saw300 = saw300 || len([]rune(d.Title)) == 300
		sawCSV = sawCSV || strings.HasPrefix(d.ContentType, "text/csv")
		if d.Size >= 20<<20 {
			large = append(large, d)
		}
	}
	if got, want := len(kinds), len(drivesync.Kinds); got != want {
		t.Errorf("acme has %d kinds, want all %d", got, want)
	}
	for y := 2021; y <= 2026; y++ {
		if !years[y] {
			t.Errorf("acme has no document dated %d", y)
		}
	}
	if !sawEmoji || !sawSlash || !saw300 || !sawCSV {
		t.Errorf("acme lacks an awkward document: emoji %v, slash %v, 300-character title %v, csv %v", sawEmoji, sawSlash, saw300, sawCSV)
	}
	if got, want := len(large), 3; got != want {
		t.Fatalf("acme has %d documents of 20 MB or more, want %d", got, want)
	}
	if got := large[len(large)-1].Size; got < 50<<20 || got > 51<<20 {
		t.Errorf("largest acme document is %d bytes, want about 50 MB", got)
	}

	// Small documents, one of each content type, checked as PDFs where they are.
	for _, d := range docs[:13] {
		b := fetch(t, d, true)
		if d.ContentType == "application/pdf" {
			checkPDF(t, d.ID, b)
		}
	}
	// The 21 MB document is checked in full; the 50 MB one only through the hash, so the test
	// never holds it.
	checkPDF(t, large[0].ID, fetch(t, large[0], true))
	fetch(t, large[len(large)-1], false)

	// WriteContent streams the same bytes in process, and HEAD gives the same headers.
	var inProcess bytes.Buffer
	if err := s.WriteContent(&inProcess, docs[0].ID); err != nil {
		t.Fatalf("WriteContent(%s): %v", docs[0].ID, err)
	}
	if !bytes.Equal(inProcess.Bytes(), fetch(t, docs[0], true)) {
		t.Errorf("%s: WriteContent and the content endpoint differ", docs[0].ID)
	}
	big := large[len(large)-1]
	resp := do(t, "HEAD", big.ContentURL, devToken, nil)
	if got, want := resp.Header.Get("Content-Length"), strconv.FormatInt(big.Size, 10); got != want {
		t.Errorf("%s: HEAD Content-Length = %s, want %s", big.ID, got, want)
	}
	if got, want := resp.Header.Get(efactori.ContentSHA256Header), big.SHA256; got != want {
		t.Errorf("%s: HEAD sha256 = %s, want %s", big.ID, got, want)
	}
}

var (
	objRE    = regexp.MustCompile(`^(\d+) 0 obj\n`)
	streamRE = regexp.MustCompile(`^\d+ 0 obj\n<< /Length (\d+) >>\nstream\n`)
	xrefRE   = regexp.MustCompile(`^xref\n0 (\d+)\n`)
)

// checkPDF checks the structure a PDF reader relies on: header, trailer, that startxref points
// at the xref table, that every xref offset points at its object, and that every stream is as
// long as its /Length says.
func checkPDF(t *testing.T, name string, b []byte) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(b, []byte("\n%%EOF\n")) {
		t.Errorf("%s: no PDF header or %%%%EOF trailer", name)
		return
	}
	i := bytes.LastIndex(b, []byte("startxref\n"))
	if i < 0 {
		t.Errorf("%s: no startxref", name)
		return
	}
	xref, err := strconv.Atoi(string(bytes.TrimSuffix(b[i+len("startxref\n"):], []byte("\n%%EOF\n"))))
	if err != nil || xref <= 0 || xref >= len(b) {
		t.Errorf("%s: bad startxref: %v", name, err)
		return
	}
	m := xrefRE.FindSubmatch(b[xref:])
	if m == nil {
		t.Errorf("%s: startxref %d does not point at an xref table", name, xref)
		return
	}
	n, _ := strconv.Atoi(string(m[1]))
	entries := b[xref+len(m[0]):]
	if len(entries) < 20*n || !bytes.HasPrefix(entries, []byte("0000000000 65535 f \n")) {
		t.Errorf("%s: xref table too short or without the free entry", name)
		return
	}
	for obj := 1; obj < n; obj++ {
		e := string(entries[20*obj : 20*obj+20])
		if !strings.HasSuffix(e, " 00000 n \n") {
			t.Errorf("%s: xref entry %d = %q", name, obj, e)
			continue
		}
		off, _ := strconv.Atoi(e[:10])
		om := objRE.FindSubmatch(b[off:])
		if om == nil || string(om[1]) != strconv.Itoa(obj) {
			t.Errorf("%s: xref offset %d of object %d does not point at it", name, off, obj)
			continue
		}
		if sm := streamRE.FindSubmatch(b[off:]); sm != nil {
			l, _ := strconv.Atoi(string(sm[1]))
			end := off + len(sm[0]) + l
			if !bytes.HasPrefix(b[end:], []byte("\nendstream\nendobj\n")) {
				t.Errorf("%s: stream of object %d is not %d bytes long", name, obj, l)
			}
		}
	}
	if !bytes.Contains(b[xref:], []byte(fmt.Sprintf("trailer\n<< /Size %d /Root 1 0 R", n))) {
		t.Errorf("%s: trailer does not match the xref table", name)
	}
}

func TestSameSeedSameDocuments(t *testing.T) {
	t.Parallel()
	small := efactori.CompanySpec{ID: "det", Documents: 60}
	_, a := newServer(t, 42, efactori.Acme, small)
	_, b := newServer(t, 42, efactori.Acme, small)
	_, c := newServer(t, 43, small)
	ignoreURL := cmpopts.IgnoreFields(drivesync.Document{}, "ContentURL")
	docsA, docsB := listAll(t, a, "det", 1000), listAll(t, b, "det", 1000)
	if diff := cmp.Diff(docsA, docsB, ignoreURL); diff != "" {
		t.Errorf("same seed, different documents (-a +b):\n%s", diff)
	}
	acmeA, acmeB := listAll(t, a, "acme", 1000), listAll(t, b, "acme", 1000)
	if diff := cmp.Diff(acmeA, acmeB, ignoreURL); diff != "" {
		t.Errorf("same seed, different acme documents (-a +b):\n%s", diff)
	}
	// The digests in the listings are computed by each server; the bytes must agree too.
	for _, i := range []int{0, 2, 12} {
		if !bytes.Equal(fetch(t, acmeA[i], true), fetch(t, acmeB[i], true)) {
			t.Errorf("same seed, different bytes for %s", acmeA[i].ID)
		}
	}
	docsC := listAll(t, c, "det", 1000)
	same := 0
	for i := range docsA {
		if docsA[i].SHA256 == docsC[i].SHA256 {
			same++
		}
	}
	if same != 0 {
		t.Errorf("seeds 42 and 43 share %d of %d digests, want none", same, len(docsA))
	}
}

func TestContentStatuses(t *testing.T) {
	t.Parallel()
	s, base := newServer(t, 7, efactori.CompanySpec{ID: "co", Documents: 3})
	first, _, err := s.Document("co-000001")
	if err != nil {
		t.Fatal(err)
	}
	up, err := s.Upsert("co", "co-000001", efactori.Upsert{Title: "Nouveau titre"})
	if err != nil {
		t.Fatal(err)
	}
	del, err := s.Delete("co", "co-000002")
	if err != nil {
		t.Fatal(err)
	}
	content := func(id string, rev int64) string {
		return fmt.Sprintf("%s/v1/documents/%s/content?revision=%d", base, id, rev)
	}
	cur := up.Document.Revision
	tests := []struct {
		name, url, token string
		status           int
		problem          string
	}{
		{"current revision", content("co-000001", cur), devToken, 200, ""},
		{"no revision means current", base + "/v1/documents/co-000001/content", devToken, 200, ""},
		{"older revision", content("co-000001", first.Revision), devToken, 410, "revision-superseded"},
		{"future revision", content("co-000001", cur+1), devToken, 404, "unknown-revision"},
		{"unknown document", content("co-999999", 1), devToken, 404, "unknown-document"},
		{"deleted document", content("co-000002", del.Document.Revision-1), devToken, 410, "document-deleted"},
		{"bad revision", base + "/v1/documents/co-000001/content?revision=x", devToken, 400, "invalid-revision"},
		{"no token", content("co-000003", 1), "", 401, "unauthenticated"},
		{"wrong token", content("co-000003", 1), devToken + "x", 401, "unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := do(t, "GET", tt.url, tt.token, nil)
			if got, want := resp.StatusCode, tt.status; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			if tt.status == 200 {
				if got, want := resp.Header.Get(efactori.ContentSHA256Header), up.Document.SHA256; got != want {
					t.Errorf("sha256 = %s, want %s", got, want)
				}
				return
			}
			if got, want := decode[efactori.Problem](t, resp).Type, efactori.ProblemTypePrefix+tt.problem; got != want {
				t.Errorf("problem type = %s, want %s", got, want)
			}
		})
	}
}

func TestMutationsReturnEvents(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	n := 0
	s, err := efactori.New(efactori.Options{
		DevToken: devToken, Audience: audience, SigningKey: signingKey(), BaseURL: "http://127.0.0.1:1",
		Companies: []efactori.CompanySpec{{ID: "co", Name: "Société Ça Va", Documents: 2}},
		Now:       func() time.Time { return now },
		NewID:     func() string { n++; return fmt.Sprintf("evt-%d", n) },
	})
	if err != nil {
		t.Fatal(err)
	}
	created, err := s.Upsert("co", "new-doc", efactori.Upsert{
		Kind: drivesync.KindSalesInvoice, Number: "F 2026/077", Date: "2026-05-06", Title: "Façade 🚧", AmountCents: 12345, Size: 20 << 10,
	})
	if err != nil {
		t.Fatalf("Upsert new: %v", err)
	}
	want := drivesync.Event{
		SchemaVersion: 1, EventID: "evt-1", EventType: drivesync.EventUpserted, OccurredAt: now, CompanyID: "co",
		Document: drivesync.Document{
			ID: "new-doc", Revision: 1, Kind: drivesync.KindSalesInvoice, Number: "F 2026/077", Date: "2026-05-06",
			Title: "Façade 🚧", FileName: "F 2026/077.pdf", ContentType: "application/pdf",
			ContentURL: "http://127.0.0.1:1/v1/documents/new-doc/content?revision=1",
		},
	}
	if diff := cmp.Diff(want, created, cmpopts.IgnoreFields(drivesync.Document{}, "Size", "SHA256")); diff != "" {
		t.Errorf("created event (-want +got):\n%s", diff)
	}
	if created.Document.Size < 20<<10 || created.Document.Size > 21<<10 {
		t.Errorf("created document is %d bytes, asked for about 20 KB", created.Document.Size)
	}

	updated, err := s.Upsert("co", "new-doc", efactori.Upsert{Kind: drivesync.KindCreditNote})
	if err != nil {
		t.Fatalf("Upsert again: %v", err)
	}
	if got, want := updated.Document.Revision, int64(2); got != want {
		t.Errorf("revision after update = %d, want %d", got, want)
	}
	if updated.Document.SHA256 == created.Document.SHA256 {
		t.Error("a new revision kept the old content")
	}
	if got, want := updated.Document.Title, "Façade 🚧"; got != want {
		t.Errorf("update without title changed it to %q", got)
	}

	deleted, err := s.Delete("co", "new-doc")
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got, want := deleted.EventType, drivesync.EventDeleted; got != want {
		t.Errorf("event type = %s, want %s", got, want)
	}
	if got, want := deleted.Document.Revision, int64(3); got != want {
		t.Errorf("deletion revision = %d, want %d", got, want)
	}
	docs, err := s.Documents("co")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(docs), 2; got != want {
		t.Errorf("co lists %d documents after the deletion, want %d", got, want)
	}
	again, err := s.Upsert("co", "new-doc", efactori.Upsert{})
	if err != nil {
		t.Fatalf("Upsert after delete: %v", err)
	}
	if got, want := again.Document.Revision, int64(4); got != want {
		t.Errorf("revision after re-creation = %d, want %d", got, want)
	}

	// Every event must be one drivesync accepts, with matching attributes.
	for _, e := range []drivesync.Event{created, updated, deleted, again} {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := drivesync.DecodeEvent(data)
		if err != nil {
			t.Errorf("DecodeEvent(%s): %v", e.EventID, err)
		}
		if diff := cmp.Diff(e, got); diff != "" {
			t.Errorf("event %s round trip (-want +got):\n%s", e.EventID, diff)
		}
	}
}

func TestMutationErrors(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, 7, efactori.CompanySpec{ID: "a", Documents: 1}, efactori.CompanySpec{ID: "b", Documents: 1})
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"upsert in unknown company", func() error { _, err := s.Upsert("zz", "x", efactori.Upsert{}); return err }, efactori.ErrUnknownCompany},
		{"upsert another company's document", func() error { _, err := s.Upsert("b", "a-000001", efactori.Upsert{}); return err }, efactori.ErrConflict},
		{"new document without kind or date", func() error { _, err := s.Upsert("a", "x", efactori.Upsert{Number: "1"}); return err }, efactori.ErrInvalid},
		{"bad kind", func() error { _, err := s.Upsert("a", "a-000001", efactori.Upsert{Kind: "invoice"}); return err }, efactori.ErrInvalid},
		{"content without type", func() error { _, err := s.Upsert("a", "a-000001", efactori.Upsert{Content: []byte("x")}); return err }, efactori.ErrInvalid},
		{"delete unknown document", func() error { _, err := s.Delete("a", "nope"); return err }, efactori.ErrUnknownDocument},
		{"delete another company's document", func() error { _, err := s.Delete("a", "b-000001"); return err }, efactori.ErrUnknownDocument},
		{"add existing company", func() error { return s.AddCompany(efactori.CompanySpec{ID: "a"}) }, efactori.ErrConflict},
		{"add company with bad id", func() error { return s.AddCompany(efactori.CompanySpec{ID: "a/b"}) }, efactori.ErrInvalid},
		{"add company whose ids are taken", func() error {
			if _, err := s.Upsert("a", "c-000001", efactori.Upsert{Kind: drivesync.KindOther, Number: "1", Date: "2024-01-01"}); err != nil {
				return err
			}
			return s.AddCompany(efactori.CompanySpec{ID: "c", Documents: 1})
		}, efactori.ErrConflict},
		{"fail content with status 200", func() error { return s.FailContent(1, 200) }, efactori.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFaultsAndCounters(t *testing.T) {
	t.Parallel()
	s, base := newServer(t, 7, efactori.CompanySpec{ID: "co", Documents: 1})
	url := base + "/v1/documents/co-000001/content"
	if err := s.FailContent(2, http.StatusServiceUnavailable); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		resp := do(t, "GET", url, devToken, nil)
		if got, want := resp.StatusCode, http.StatusServiceUnavailable; got != want {
			t.Errorf("request %d: status %d, want %d", i, got, want)
		}
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("request %d: 503 without Retry-After", i)
		}
	}
	if got, want := do(t, "GET", url, devToken, nil).StatusCode, http.StatusOK; got != want {
		t.Errorf("after the injected failures: status %d, want %d", got, want)
	}

	const delay = 300 * time.Millisecond
	if err := s.DelayContent(1, delay); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if got, want := do(t, "GET", url, devToken, nil).StatusCode, http.StatusOK; got != want {
		t.Errorf("delayed request: status %d, want %d", got, want)
	}
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("delayed request took %v, want at least %v", elapsed, delay)
	}

	// Faults set over HTTP, then reset.
	if got, want := do(t, "PUT", base+"/admin/faults/content", devToken, efactori.FaultRequest{FailNext: 5, Status: 500}).StatusCode, http.StatusNoContent; got != want {
		t.Fatalf("PUT faults: status %d, want %d", got, want)
	}
	if got, want := do(t, "GET", url, devToken, nil).StatusCode, http.StatusInternalServerError; got != want {
		t.Errorf("after PUT faults: status %d, want %d", got, want)
	}
	if got, want := do(t, "DELETE", base+"/admin/faults", devToken, nil).StatusCode, http.StatusNoContent; got != want {
		t.Fatalf("DELETE faults: status %d, want %d", got, want)
	}
	if got, want := do(t, "GET", url, devToken, nil).StatusCode, http.StatusOK; got != want {
		t.Errorf("after DELETE faults: status %d, want %d", got, want)
	}
	do(t, "GET", url, "", nil) // rejected requests count too

	stats := decode[efactori.Stats](t, do(t, "GET", base+"/admin/stats", devToken, nil))
	if got, want := stats.Requests[efactori.EndpointContent], int64(7); got != want {
		t.Errorf("content requests = %d, want %d", got, want)
	}
	if got, want := s.Requests(efactori.EndpointList), int64(0); got != want {
		t.Errorf("list requests = %d, want %d", got, want)
	}
	if got, want := s.Requests(efactori.EndpointAdmin), int64(3); got != want {
		t.Errorf("admin requests = %d, want %d", got, want)
	}
}

func TestAdminHTTP(t *testing.T) {
	t.Parallel()
	s, base := newServer(t, 7, efactori.Empty)
	if got, want := do(t, "POST", base+"/admin/companies", "", map[string]any{"id": "x"}).StatusCode, http.StatusUnauthorized; got != want {
		t.Errorf("admin without token: status %d, want %d", got, want)
	}
	resp := do(t, "POST", base+"/admin/companies", devToken, map[string]any{"id": "made", "name": "Fabriqué SA", "documents": 250})
	if got, want := resp.StatusCode, http.StatusCreated; got != want {
		t.Fatalf("POST companies: status %d, want %d", got, want)
	}
	if got, want := len(listAll(t, base, "made", 1000)), 250; got != want {
		t.Errorf("made company lists %d documents, want %d", got, want)
	}
	if got, want := do(t, "POST", base+"/admin/companies", devToken, map[string]any{"id": "made"}).StatusCode, http.StatusConflict; got != want {
		t.Errorf("POST existing company: status %d, want %d", got, want)
	}

	csv := []byte("a;b\n1;2\n")
	resp = do(t, "PUT", base+"/admin/companies/empty/documents/e-1", devToken, efactori.Upsert{
		Kind: drivesync.KindOther, Date: "2021-02-03", FileName: "export.csv", Content: csv, ContentType: "text/csv",
	})
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("PUT document: status %d, want %d", got, want)
	}
	up := decode[drivesync.Event](t, resp)
	sum := sha256.Sum256(csv)
	if got, want := up.Document.SHA256, hex.EncodeToString(sum[:]); got != want {
		t.Errorf("sha256 of uploaded content = %s, want %s", got, want)
	}
	if got := fetch(t, up.Document, true); !bytes.Equal(got, csv) {
		t.Errorf("content = %q, want %q", got, csv)
	}
	if got, want := do(t, "PUT", base+"/admin/companies/empty/documents/e-2", devToken, map[string]any{"kind": "nope"}).StatusCode, http.StatusBadRequest; got != want {
		t.Errorf("PUT invalid document: status %d, want %d", got, want)
	}
	if got, want := do(t, "PUT", base+"/admin/companies/empty/documents/e-2", devToken, map[string]any{"unknownField": 1}).StatusCode, http.StatusBadRequest; got != want {
		t.Errorf("PUT unknown field: status %d, want %d", got, want)
	}

	resp = do(t, "DELETE", base+"/admin/companies/empty/documents/e-1", devToken, nil)
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("DELETE document: status %d, want %d", got, want)
	}
	if got, want := decode[drivesync.Event](t, resp).EventType, drivesync.EventDeleted; got != want {
		t.Errorf("DELETE event type = %s, want %s", got, want)
	}
	if got, want := do(t, "DELETE", base+"/admin/companies/empty/documents/e-1", devToken, nil).StatusCode, http.StatusNotFound; got != want {
		t.Errorf("second DELETE: status %d, want %d", got, want)
	}
	if _, deleted, err := s.Document("e-1"); err != nil || !deleted {
		t.Errorf("Document(e-1) = deleted %v, %v; want deleted", deleted, err)
	}
	if got := s.Companies(); !slices.Equal(got, []string{"empty", "made"}) {
		t.Errorf("Companies() = %v", got)
	}
}

func TestParseCompanies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		want    []efactori.CompanySpec
		wantErr bool
	}{
		{spec: "default", want: efactori.DefaultCompanies()},
		{spec: "acme, bulk=10 ,fan=100000", want: []efactori.CompanySpec{
			efactori.Acme,
			{ID: "bulk", Name: efactori.Bulk.Name, Documents: 10},
			{ID: "fan", Name: "Company fan", Documents: 100000},
		}},
		{spec: "", want: nil},
		{spec: "stranger", wantErr: true},
		{spec: "x=-1", wantErr: true},
		{spec: "x=1000000", wantErr: true},
		{spec: "x=abc", wantErr: true},
		{spec: "a b=1", wantErr: true},
		{spec: "acme,acme", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			got, err := efactori.ParseCompanies(tt.spec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseCompanies(%q) error = %v, want error %v", tt.spec, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseCompanies(%q) (-want +got):\n%s", tt.spec, diff)
			}
		})
	}
}

func TestNewRejectsMissingOptions(t *testing.T) {
	t.Parallel()
	_, err := efactori.New(efactori.Options{BaseURL: "ftp://x"})
	if err == nil {
		t.Fatal("New with no DevToken, no Audience and a bad base URL succeeded")
	}
	for _, want := range []string{"DevToken", "Audience", "ftp://x"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestAdminClient(t *testing.T) {
	t.Parallel()
	s, base := newServer(t, 7, efactori.CompanySpec{ID: "co", Documents: 1})
	c, err := efactori.NewAdminClient(base, devToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	up, err := c.Upsert(ctx, "co", "co-000001", efactori.Upsert{Title: "Révisé"})
	if err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	cur, _, err := s.Document("co-000001")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cur, up.Document); diff != "" {
		t.Errorf("upsert event document differs from the stored one (-stored +event):\n%s", diff)
	}
	del, err := c.Delete(ctx, "co", "co-000001")
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got, want := del.EventType, drivesync.EventDeleted; got != want {
		t.Errorf("event type = %s, want %s", got, want)
	}
	if _, err := c.Delete(ctx, "co", "co-000001"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("second Delete error = %v, want a 404", err)
	}
	tr, err := c.MintToken(ctx, efactori.TokenRequest{Claims: efactori.Claims{Subject: "u", CompanyID: "co"}})
	if err != nil || strings.Count(tr.Token, ".") != 2 {
		t.Errorf("MintToken = %q, %v; want a JWT", tr.Token, err)
	}
	bad, err := efactori.NewAdminClient(base, "wrong", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Delete(ctx, "co", "co-000001"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("Delete with a wrong token: error = %v, want a 401", err)
	}
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, 7, efactori.Empty)
	for _, header := range []string{"bearer " + devToken, "BEARER " + devToken, "Bearer  " + devToken} {
		req, err := http.NewRequestWithContext(t.Context(), "GET", base+"/v1/companies/empty/documents", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("Authorization %q: status %d, want %d", strings.Fields(header)[0], got, want)
		}
	}
}
