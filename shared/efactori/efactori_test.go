package efactori_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	standin "github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/efactori"
)

const devToken = "dev-token-for-efactori-client-tests"

// signingKey is shared by every stand-in: RSA key generation is slow under -race.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fixture is a stand-in on a loopback port and a client of it.
type fixture struct {
	server *standin.Server
	url    string
	client *efactori.Client
	logs   *bytes.Buffer
}

// newFixture starts a stand-in holding companies. wrap, when set, sits between the client and
// the stand-in, to spoil answers the stand-in never spoils on its own.
func newFixture(t *testing.T, wrap func(http.Handler) http.Handler, companies ...standin.CompanySpec) *fixture {
	t.Helper()
	s, err := standin.New(standin.Options{
		DevToken: devToken, Audience: "drivesync", SigningKey: signingKey(), Seed: 7, Companies: companies,
	})
	if err != nil {
		t.Fatalf("stand-in: %v", err)
	}
	var h http.Handler = s
	if wrap != nil {
		h = wrap(s)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	if err := s.SetBaseURL(hs.URL); err != nil {
		t.Fatal(err)
	}
	f := &fixture{server: s, url: hs.URL, logs: &bytes.Buffer{}}
	f.client = newClient(t, hs.URL, devToken, f.logs)
	return f
}

func newClient(t *testing.T, baseURL, token string, logs io.Writer) *efactori.Client {
	t.Helper()
	hc, err := efactori.NewStaticTokenClient(token, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := efactori.New(baseURL, hc, efactori.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// classified is what a test compares about a classified error.
type classified struct {
	Class      drivesync.Class
	Code       string
	RetryAfter time.Duration
}

func classOf(t *testing.T, err error) classified {
	t.Helper()
	var ce *drivesync.ClassifiedError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not classified", err)
	}
	return classified{ce.Class, ce.Code, ce.RetryAfter}
}

func documents(t *testing.T, s *standin.Server, company string) []drivesync.Document {
	t.Helper()
	docs, err := s.Documents(company)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func TestListDocumentsPagesThroughBulk(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, standin.Bulk)
	var got []drivesync.Document
	token, pages := "", 0
	for {
		page, err := f.client.ListDocuments(t.Context(), "bulk", token, 1000)
		if err != nil {
			t.Fatalf("ListDocuments page %d: %v", pages, err)
		}
		pages++
		if len(page.Invalid) != 0 {
			t.Errorf("page %d: %d invalid documents: %v", pages, len(page.Invalid), page.Invalid[0].Err)
		}
		if len(page.Documents) > 1000 {
			t.Fatalf("page %d holds %d documents", pages, len(page.Documents))
		}
		got = append(got, page.Documents...)
		if page.NextPageToken == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		token = page.NextPageToken
	}
	if got, want := pages, 5; got != want {
		t.Errorf("pages = %d, want %d", got, want)
	}
	if got, want := f.server.Requests(standin.EndpointList), int64(5); got != want {
		t.Errorf("list requests = %d, want %d", got, want)
	}
	if diff := cmp.Diff(documents(t, f.server, "bulk"), got); diff != "" {
		t.Errorf("listed documents (-stand-in +client):\n%s", diff)
	}
}

func TestListDocumentsEmptyCompany(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, standin.Empty)
	page, err := f.client.ListDocuments(t.Context(), "empty", "", 100)
	if err != nil {
		t.Fatalf("ListDocuments: %v", err)
	}
	if diff := cmp.Diff(efactori.Page{Documents: []drivesync.Document{}}, page); diff != "" {
		t.Errorf("page (-want +got):\n%s", diff)
	}
}

func TestListDocumentsErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, standin.Empty)
	tests := []struct {
		name      string
		client    *efactori.Client
		company   string
		token     string
		pageSize  int
		want      classified
		wantCalls int64
	}{
		{name: "page size zero", company: "empty", pageSize: 0, want: classified{drivesync.Permanent, efactori.CodeInvalidArgument, 0}},
		{name: "page size too large", company: "empty", pageSize: 1001, want: classified{drivesync.Permanent, efactori.CodeInvalidArgument, 0}},
		{name: "no company", company: "", pageSize: 10, want: classified{drivesync.Permanent, efactori.CodeInvalidArgument, 0}},
		{name: "dot segment company", company: "..", pageSize: 10, want: classified{drivesync.Permanent, efactori.CodeInvalidArgument, 0}},
		{name: "unknown company", company: "nobody", pageSize: 10, want: classified{drivesync.Permanent, efactori.CodeUnknownCompany, 0}, wantCalls: 1},
		{name: "forged page token", company: "empty", token: "not-a-token", pageSize: 10, want: classified{drivesync.Permanent, efactori.CodeInvalidPageToken, 0}, wantCalls: 1},
		{name: "wrong dev token", client: newClient(t, f.url, "wrong-token", io.Discard), company: "empty", pageSize: 10,
			want: classified{drivesync.Retryable, efactori.CodeUnauthorized, 0}, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: each case counts the stand-in's list requests.
			c := tt.client
			if c == nil {
				c = f.client
			}
			before := f.server.Requests(standin.EndpointList)
			_, err := c.ListDocuments(t.Context(), tt.company, tt.token, tt.pageSize)
			if err == nil {
				t.Fatal("ListDocuments succeeded")
			}
			if diff := cmp.Diff(tt.want, classOf(t, err)); diff != "" {
				t.Errorf("classification (-want +got):\n%s (error: %v)", diff, err)
			}
			if got := f.server.Requests(standin.EndpointList) - before; got != tt.wantCalls {
				t.Errorf("list requests = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

// rewriteList applies edit to the documents of every list response of the stand-in, to give the
// client documents the stand-in itself never lists.
func rewriteList(t *testing.T, edit func(docs []map[string]any)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/documents") {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body struct {
				Documents     []map[string]any `json:"documents"`
				NextPageToken string           `json:"nextPageToken,omitempty"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Errorf("rewriteList: %v", err)
			}
			edit(body.Documents)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(body)
		})
	}
}

func TestListDocumentsReportsInvalidDocuments(t *testing.T) {
	t.Parallel()
	f := newFixture(t, rewriteList(t, func(docs []map[string]any) {
		docs[1]["kind"] = "receipt"
		docs[2]["contentUrl"] = "http://169.254.169.254/computeMetadata/v1/"
		docs[3]["revision"] = "three"
		docs[4]["contentUrl"] = docs[5]["contentUrl"] // another document's content
	}), standin.CompanySpec{ID: "small", Documents: 6})
	page, err := f.client.ListDocuments(t.Context(), "small", "", 100)
	if err != nil {
		t.Fatalf("ListDocuments: %v", err)
	}
	all := documents(t, f.server, "small")
	if diff := cmp.Diff([]drivesync.Document{all[0], all[5]}, page.Documents); diff != "" {
		t.Errorf("valid documents (-want +got):\n%s", diff)
	}
	var ids []string
	for _, inv := range page.Invalid {
		ids = append(ids, inv.ID)
		if got := drivesync.ClassOf(inv.Err); got != drivesync.Permanent {
			t.Errorf("invalid %s: class %v, want permanent", inv.ID, got)
		}
	}
	if diff := cmp.Diff([]string{all[1].ID, all[2].ID, all[3].ID, all[4].ID}, ids); diff != "" {
		t.Errorf("invalid ids (-want +got):\n%s", diff)
	}
}

// readAll hashes what r yields, and returns the first error other than EOF.
func readAll(r io.Reader) (n int64, sum string, err error) {
	h := sha256.New()
	// A small buffer, so the test reads as a Drive upload would, in many chunks.
	n, err = io.CopyBuffer(h, r, make([]byte, 32<<10))
	return n, hex.EncodeToString(h.Sum(nil)), err
}

func TestOpenContentVerifiesDocuments(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, standin.Acme)
	all := documents(t, f.server, "acme")
	// A zero-byte document, which the generated companies do not have.
	if _, err := f.server.Upsert("acme", "acme-empty", standin.Upsert{
		Kind: drivesync.KindOther, FileName: "vide.txt", Date: "2026-01-01", Content: []byte{}, ContentType: "text/plain",
	}); err != nil {
		t.Fatal(err)
	}
	empty, _, err := f.server.Document("acme-empty")
	if err != nil {
		t.Fatal(err)
	}
	var largest, csv drivesync.Document
	for _, d := range all {
		if d.Size > largest.Size {
			largest = d
		}
		if strings.HasPrefix(d.ContentType, "text/csv") {
			csv = d
		}
	}
	if largest.Size < 20<<20 {
		t.Fatalf("largest acme document is %d bytes; the test wants one of at least 20 MB", largest.Size)
	}
	tests := []struct {
		name string
		doc  drivesync.Document
	}{
		{"first", all[0]},
		{"second", all[1]},
		{"csv", csv},
		{"zero bytes", empty},
		{"largest", largest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, err := f.client.OpenContent(t.Context(), tt.doc)
			if err != nil {
				t.Fatalf("OpenContent(%s): %v", tt.doc.ID, err)
			}
			defer body.Close()
			n, sum, err := readAll(body)
			if err != nil {
				t.Fatalf("read %s: %v", tt.doc.ID, err)
			}
			if got, want := n, tt.doc.Size; got != want {
				t.Errorf("read %d bytes, want %d", got, want)
			}
			if got, want := sum, tt.doc.SHA256; got != want {
				t.Errorf("sha256 = %s, want %s", got, want)
			}
			// The stream ended: reading again must not yield more.
			if n, err := body.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Errorf("Read after EOF = %d, %v; want 0, EOF", n, err)
			}
		})
	}
}

func TestOpenContentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup prepares the stand-in and returns the document to open.
		setup        func(t *testing.T, s *standin.Server, doc drivesync.Document) drivesync.Document
		token        string
		want         classified
		wantRequests int64
	}{
		{
			name:  "unavailable",
			setup: fail(1, http.StatusServiceUnavailable),
			want:  classified{drivesync.Retryable, efactori.CodeUnavailable, time.Second}, wantRequests: 1,
		},
		{
			name:  "rate limited",
			setup: fail(1, http.StatusTooManyRequests),
			want:  classified{drivesync.Retryable, efactori.CodeRateLimited, time.Second}, wantRequests: 1,
		},
		{
			name:  "internal error without retry-after",
			setup: fail(1, http.StatusInternalServerError),
			want:  classified{drivesync.Retryable, efactori.CodeUnavailable, 0}, wantRequests: 1,
		},
		{
			name:  "gone",
			setup: fail(1, http.StatusGone),
			want:  classified{drivesync.Permanent, efactori.CodeContentGone, 0}, wantRequests: 1,
		},
		{
			name:  "bad request",
			setup: fail(1, http.StatusBadRequest),
			want:  classified{drivesync.Permanent, "http_400", 0}, wantRequests: 1,
		},
		{
			name: "deleted",
			setup: func(t *testing.T, s *standin.Server, doc drivesync.Document) drivesync.Document {
				if _, err := s.Delete("acme", doc.ID); err != nil {
					t.Fatal(err)
				}
				return doc
			},
			want: classified{drivesync.Permanent, efactori.CodeContentGone, 0}, wantRequests: 1,
		},
		{
			name: "superseded revision",
			setup: func(t *testing.T, s *standin.Server, doc drivesync.Document) drivesync.Document {
				if _, err := s.Upsert("acme", doc.ID, standin.Upsert{Title: "corrigée"}); err != nil {
					t.Fatal(err)
				}
				return doc
			},
			want: classified{drivesync.Permanent, efactori.CodeContentGone, 0}, wantRequests: 1,
		},
		{
			name: "unknown document",
			setup: func(t *testing.T, s *standin.Server, doc drivesync.Document) drivesync.Document {
				doc.ContentURL = strings.Replace(doc.ContentURL, doc.ID, "acme-999999", 1)
				doc.ID = "acme-999999"
				return doc
			},
			want: classified{drivesync.Permanent, efactori.CodeContentGone, 0}, wantRequests: 1,
		},
		{
			name: "revision not replicated yet",
			setup: func(t *testing.T, s *standin.Server, doc drivesync.Document) drivesync.Document {
				doc.ContentURL = strings.Replace(doc.ContentURL, "revision=1", "revision=2", 1)
				doc.Revision = 2
				return doc
			},
			want: classified{drivesync.Retryable, efactori.CodeUnknownRevision, 0}, wantRequests: 1,
		},
		{
			name:  "wrong dev token",
			token: "wrong-token",
			want:  classified{drivesync.Retryable, efactori.CodeUnauthorized, 0}, wantRequests: 1,
		},
		{
			name: "tampered sha256",
			setup: func(t *testing.T, s *standin.Server, doc drivesync.Document) drivesync.Document {
				doc.SHA256 = strings.Repeat("ab", 32)
				return doc
			},
			want: classified{drivesync.Retryable, efactori.CodeChecksumMismatch, 0}, wantRequests: 1,
		},
		{
			name: "wrong size",
			setup: func(t *testing.T, s *standin.Server, doc drivesync.Document) drivesync.Document {
				doc.Size++
				return doc
			},
			want: classified{drivesync.Retryable, efactori.CodeSizeMismatch, 0}, wantRequests: 1,
		},
		{
			name: "malformed sha256",
			setup: func(t *testing.T, s *standin.Server, doc drivesync.Document) drivesync.Document {
				doc.SHA256 = strings.ToUpper(doc.SHA256)
				return doc
			},
			want: classified{drivesync.Permanent, efactori.CodeInvalidArgument, 0},
		},
		// SSRF: a message names the URL; only the configured eFactori API may be fetched, and no
		// request may leave for anywhere else.
		{name: "ssrf metadata server", setup: contentURL("http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/identity"),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "ssrf other loopback port", setup: contentURL("http://127.0.0.1:1/v1/documents/acme-000001/content"),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "ssrf other scheme", setup: rewriteURL(func(u string) string { return strings.Replace(u, "http://", "https://", 1) }),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "ssrf userinfo", setup: rewriteURL(func(u string) string { return strings.Replace(u, "http://", "http://evil@", 1) }),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "ssrf host prefix", setup: rewriteURL(func(u string) string { return strings.Replace(u, "/v1/", ".evil.example/v1/", 1) }),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "ssrf file scheme", setup: contentURL("file:///etc/passwd"),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "ssrf not a url", setup: contentURL("http://[::1"),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		// On eFactori's API but not this document's content: a message could otherwise copy
		// another document (of another company) into this one's Drive under this one's name.
		{name: "another document's content", setup: rewriteURL(func(u string) string { return strings.Replace(u, "acme-000001", "acme-000002", 1) }),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "another endpoint", setup: rewriteURL(func(u string) string { return u[:strings.Index(u, "/v1/")] + "/v1/companies/acme/documents" }),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "extra segment", setup: rewriteURL(func(u string) string { return strings.Replace(u, "/content", "/x/content", 1) }),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "escaped slash in the id", setup: rewriteURL(func(u string) string { return strings.Replace(u, "acme-000001", "acme-000001%2F..%2Facme-000002", 1) }),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "dot segments", setup: rewriteURL(func(u string) string { return strings.Replace(u, "/v1/documents/", "/v1/documents/acme-000002/../", 1) }),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "another revision", setup: rewriteURL(func(u string) string { return strings.Replace(u, "revision=1", "revision=7", 1) }),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "revision twice", setup: rewriteURL(func(u string) string { return u + "&revision=1" }),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "another query parameter", setup: rewriteURL(func(u string) string { return u + "&companyId=other" }),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
		{name: "fragment", setup: rewriteURL(func(u string) string { return u + "#x" }),
			want: classified{drivesync.Permanent, efactori.CodeForeignURL, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A stand-in per case: injected faults are server-wide.
			f := newFixture(t, nil, standin.CompanySpec{ID: "acme", Documents: 3})
			doc := documents(t, f.server, "acme")[0]
			if tt.setup != nil {
				doc = tt.setup(t, f.server, doc)
			}
			c := f.client
			if tt.token != "" {
				c = newClient(t, f.url, tt.token, f.logs)
			}
			body, err := c.OpenContent(t.Context(), doc)
			if err == nil {
				body.Close()
				t.Fatal("OpenContent succeeded")
			}
			if diff := cmp.Diff(tt.want, classOf(t, err)); diff != "" {
				t.Errorf("classification (-want +got):\n%s (error: %v)", diff, err)
			}
			if got := f.server.Requests(standin.EndpointContent); got != tt.wantRequests {
				t.Errorf("content requests = %d, want %d", got, tt.wantRequests)
			}
		})
	}
}

func fail(n, status int) func(*testing.T, *standin.Server, drivesync.Document) drivesync.Document {
	return func(t *testing.T, s *standin.Server, doc drivesync.Document) drivesync.Document {
		if err := s.FailContent(n, status); err != nil {
			t.Fatal(err)
		}
		return doc
	}
}

func contentURL(u string) func(*testing.T, *standin.Server, drivesync.Document) drivesync.Document {
	return rewriteURL(func(string) string { return u })
}

func rewriteURL(f func(string) string) func(*testing.T, *standin.Server, drivesync.Document) drivesync.Document {
	return func(_ *testing.T, _ *standin.Server, doc drivesync.Document) drivesync.Document {
		doc.ContentURL = f(doc.ContentURL)
		return doc
	}
}

func TestOpenContentRetryableFaultThenSuccess(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, standin.CompanySpec{ID: "acme", Documents: 1})
	doc := documents(t, f.server, "acme")[0]
	if err := f.server.FailContent(1, http.StatusServiceUnavailable); err != nil {
		t.Fatal(err)
	}
	_, err := f.client.OpenContent(t.Context(), doc)
	if got, want := drivesync.ClassOf(err), drivesync.Retryable; got != want {
		t.Fatalf("first attempt: class %v, want %v (%v)", got, want, err)
	}
	body, err := f.client.OpenContent(t.Context(), doc)
	if err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	defer body.Close()
	if _, sum, err := readAll(body); err != nil || sum != doc.SHA256 {
		t.Errorf("second attempt read: sha256 %s, error %v; want %s, nil", sum, err, doc.SHA256)
	}
}

func TestUnauthorizedIsLoggedWithoutToken(t *testing.T) {
	t.Parallel()
	const wrong = "wrong-token-that-must-not-be-logged"
	f := newFixture(t, nil, standin.CompanySpec{ID: "acme", Documents: 1})
	var logs bytes.Buffer
	c := newClient(t, f.url, wrong, &logs)
	if _, err := c.ListDocuments(t.Context(), "acme", "", 10); err == nil {
		t.Fatal("ListDocuments with a wrong token succeeded")
	}
	var entry struct {
		Level  string `json:"level"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal(logs.Bytes(), &entry); err != nil {
		t.Fatalf("log entry %q: %v", logs.String(), err)
	}
	if diff := cmp.Diff(struct {
		Level  string `json:"level"`
		Status int    `json:"status"`
	}{"ERROR", 401}, entry); diff != "" {
		t.Errorf("log entry (-want +got):\n%s", diff)
	}
	for _, secret := range []string{wrong, devToken} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs hold a token: %s", logs.String())
		}
	}
}

// corruptContent flips one byte in the middle of every content body, keeping the headers: what a
// faulty proxy or disk would do, and what only hashing the stream can catch.
func corruptContent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/content") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if len(body) > 0 {
			body[len(body)/2] ^= 0xff
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// truncateContent sends half of every content body and then drops the connection.
func truncateContent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/content") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes()[:rec.Body.Len()/2])
		panic(http.ErrAbortHandler)
	})
}

func TestOpenContentVerifiesTheStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		wrap func(http.Handler) http.Handler
		want classified
	}{
		{"corrupted body", corruptContent, classified{drivesync.Retryable, efactori.CodeChecksumMismatch, 0}},
		{"truncated body", truncateContent, classified{drivesync.Retryable, efactori.CodeNetwork, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.wrap, standin.CompanySpec{ID: "acme", Documents: 1})
			doc := documents(t, f.server, "acme")[0]
			body, err := f.client.OpenContent(t.Context(), doc)
			if err != nil {
				t.Fatalf("OpenContent: %v", err)
			}
			defer body.Close()
			_, _, err = readAll(body)
			if err == nil {
				t.Fatal("reading a spoiled body to the end succeeded")
			}
			if diff := cmp.Diff(tt.want, classOf(t, err)); diff != "" {
				t.Errorf("classification (-want +got):\n%s (error: %v)", diff, err)
			}
		})
	}
}

func TestOpenContentRefusesRedirectElsewhere(t *testing.T) {
	t.Parallel()
	hits := make(chan string, 1)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- r.Header.Get("Authorization")
	}))
	t.Cleanup(other.Close)
	f := newFixture(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/content") {
				http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, standin.CompanySpec{ID: "acme", Documents: 1})
	doc := documents(t, f.server, "acme")[0]
	_, err := f.client.OpenContent(t.Context(), doc)
	if diff := cmp.Diff(classified{drivesync.Permanent, efactori.CodeForeignURL, 0}, classOf(t, err)); diff != "" {
		t.Errorf("classification (-want +got):\n%s (error: %v)", diff, err)
	}
	select {
	case <-hits:
		t.Error("the client followed a redirect to another host")
	default:
	}
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	t.Parallel()
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close() // nothing listens there any more
	c := newClient(t, url, devToken, io.Discard)
	_, err := c.ListDocuments(t.Context(), "acme", "", 10)
	if diff := cmp.Diff(classified{drivesync.Retryable, efactori.CodeNetwork, 0}, classOf(t, err)); diff != "" {
		t.Errorf("classification (-want +got):\n%s (error: %v)", diff, err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.ListDocuments(ctx, "acme", "", 10)
	if diff := cmp.Diff(classified{drivesync.Retryable, efactori.CodeCanceled, 0}, classOf(t, err)); diff != "" {
		t.Errorf("canceled: classification (-want +got):\n%s (error: %v)", diff, err)
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	hc := http.DefaultClient
	tests := []struct {
		name    string
		baseURL string
		hc      *http.Client
	}{
		{"nil client", "http://127.0.0.1:8085", nil},
		{"relative url", "/v1", hc},
		{"other scheme", "ftp://127.0.0.1", hc},
		{"credentials", "http://user:pw@127.0.0.1:8085", hc},
		{"query", "http://127.0.0.1:8085?x=1", hc},
		{"unparsable", "http://[::1", hc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := efactori.New(tt.baseURL, tt.hc, efactori.Options{}); err == nil {
				t.Errorf("New(%q) succeeded", tt.baseURL)
			}
		})
	}
	if _, err := efactori.NewStaticTokenClient("", nil); err == nil {
		t.Error("NewStaticTokenClient with an empty token succeeded")
	}
	if _, err := efactori.NewIDTokenClient(t.Context(), "", nil); err == nil {
		t.Error("NewIDTokenClient with an empty audience succeeded")
	}
}

// A listed document is read as strictly as an event: a name given twice, a name in another case
// or a string that is not UTF-8 once unescaped make it invalid, where encoding/json would have
// taken the last value, matched the name anyway, or put U+FFFD in the file name.
func TestListDocumentsReadsDocumentsStrictly(t *testing.T) {
	t.Parallel()
	spoil := []func(string) string{
		1: func(doc string) string { return `{"kind":"quote",` + doc[1:] },
		2: func(doc string) string { return strings.Replace(doc, `"kind":`, `"Kind":`, 1) },
		3: func(doc string) string { return strings.Replace(doc, `"fileName":"`, `"fileName":"\ud800`, 1) },
		4: func(doc string) string { return strings.Replace(doc, `"revision":`, `"revision":1,"revision":`, 1) },
	}
	var standinDocs []drivesync.Document
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/documents") {
				next.ServeHTTP(w, r)
				return
			}
			var parts []string
			for i, d := range standinDocs {
				b, err := json.Marshal(d)
				if err != nil {
					t.Error(err)
				}
				doc := string(b)
				if i < len(spoil) && spoil[i] != nil {
					doc = spoil[i](doc)
				}
				parts = append(parts, doc)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"documents":[`+strings.Join(parts, ",")+`]}`)
		})
	}
	f := newFixture(t, wrap, standin.CompanySpec{ID: "small", Documents: 6})
	standinDocs = documents(t, f.server, "small")
	page, err := f.client.ListDocuments(t.Context(), "small", "", 100)
	if err != nil {
		t.Fatalf("ListDocuments: %v", err)
	}
	if diff := cmp.Diff([]drivesync.Document{standinDocs[0], standinDocs[5]}, page.Documents); diff != "" {
		t.Errorf("valid documents (-want +got):\n%s", diff)
	}
	var ids []string
	for _, inv := range page.Invalid {
		ids = append(ids, inv.ID)
	}
	if diff := cmp.Diff([]string{standinDocs[1].ID, standinDocs[2].ID, standinDocs[3].ID, standinDocs[4].ID}, ids); diff != "" {
		t.Errorf("invalid ids (-want +got):\n%s", diff)
	}
}

// The contentUrl of the document itself is accepted however its id is escaped, and with or
// without the revision query.
func TestOpenContentAcceptsItsOwnURL(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, standin.CompanySpec{ID: "acme", Documents: 1})
	doc := documents(t, f.server, "acme")[0]
	for name, u := range map[string]string{
		"as listed":         doc.ContentURL,
		"without revision":  strings.TrimSuffix(doc.ContentURL, "?revision=1"),
		"escaped character": strings.Replace(doc.ContentURL, "acme-", "acme%2D", 1),
	} {
		d := doc
		d.ContentURL = u
		body, err := f.client.OpenContent(t.Context(), d)
		if err != nil {
			t.Errorf("%s (%s): %v", name, u, err)
			continue
		}
		if _, _, err := readAll(body); err != nil {
			t.Errorf("%s: read: %v", name, err)
		}
		body.Close()
	}
}

func TestDocumentGone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, standin.CompanySpec{ID: "acme", Documents: 2})
	docs := documents(t, f.server, "acme")
	if _, err := f.server.Delete("acme", docs[1].ID); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id   string
		want bool
	}{{docs[0].ID, false}, {docs[1].ID, true}, {"acme-999999", true}, {"a/b", true}} {
		got, err := f.client.DocumentGone(t.Context(), tt.id)
		if err != nil || got != tt.want {
			t.Errorf("DocumentGone(%q) = %v, %v; want %v", tt.id, got, err, tt.want)
		}
	}
	before := f.server.Requests(standin.EndpointContent)
	for _, id := range []string{"", ".", ".."} {
		_, err := f.client.DocumentGone(t.Context(), id)
		if diff := cmp.Diff(classified{drivesync.Permanent, efactori.CodeInvalidArgument, 0}, classOf(t, err)); diff != "" {
			t.Errorf("DocumentGone(%q) (-want +got):\n%s", id, diff)
		}
	}
	if got := f.server.Requests(standin.EndpointContent) - before; got != 0 {
		t.Errorf("%d requests for ids that name no document", got)
	}
}
