// Package efactori is drivesync's client of eFactori's document API (docs/efactori-contract.md):
// it lists a company's documents page by page and streams one revision's content, checking the
// size and SHA-256 eFactori announced. Every error it returns is classified
// (drivesync.ClassifiedError) where the call happens.
//
// The stand-in in local/efactori implements the same API for tests and the local stack; nothing
// here imports it.
package efactori

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxPageSize is the largest page the list endpoint returns.
const MaxPageSize = 1000

// ContentSHA256Header carries the lowercase hex SHA-256 of a content response.
const ContentSHA256Header = "X-Content-SHA256"

// Codes this package puts on classified errors.
const (
	CodeUnauthorized     = "efactori_unauthorized" // eFactori refused our identity: a configuration problem
	CodeContentGone      = "content_gone"          // the document or this revision no longer exists
	CodeUnknownRevision  = "unknown_revision"      // eFactori's replica does not know the revision yet
	CodeUnknownCompany   = "unknown_company"       // eFactori has no such company
	CodeInvalidPageToken = "invalid_page_token"    // eFactori rejected the page token
	CodeChecksumMismatch = "checksum_mismatch"     // the content's SHA-256 is not the announced one
	CodeSizeMismatch     = "size_mismatch"         // the content's length is not the announced size
	CodeForeignURL       = "foreign_content_url"   // a contentUrl other than the document's own content on the configured eFactori API
	CodeInvalidArgument  = "invalid_argument"      // the caller passed something eFactori cannot take
	CodeInvalidDocument  = "invalid_document"      // a listed document drivesync cannot copy
	CodeBadResponse      = "bad_response"          // eFactori answered 2xx with something unusable
	CodeRateLimited      = "rate_limited"          // 429
	CodeUnavailable      = "efactori_unavailable"  // 5xx
	CodeNetwork          = "network"               // no (complete) answer from eFactori
	CodeTimeout          = "timeout"               // the caller's deadline passed
	CodeCanceled         = "canceled"              // the caller gave up
)

// maxListBytes bounds a list response: a full page of documents at their largest fields is about
// 4 MB of JSON, so anything much bigger is not a page.
const maxListBytes = 32 << 20

// maxProblemBytes bounds how much of an error body is read to find its problem type.
const maxProblemBytes = 16 << 10

// maxRetryAfter caps the wait eFactori can ask for, so a garbled header cannot park work for
// years (or overflow a Duration).
const maxRetryAfter = time.Hour

// Options are the optional settings of a Client.
type Options struct {
	// Logger receives the authorization failures that need an operator; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock, for Retry-After dates; nil means time.Now.
	Now func() time.Time
}

// Client calls eFactori's document API. It is safe for concurrent use.
type Client struct {
	base *url.URL
	hc   *http.Client
	log  *slog.Logger
	now  func() time.Time
}

// New returns a client of the document API at baseURL (e.g. https://api.efactori.example).
// httpClient carries the authentication: in production an ID-token client (NewIDTokenClient),
// locally a static dev token (NewStaticTokenClient). Because that client attaches the token to
// every request, the Client only ever sends requests to baseURL's scheme and host, and follows no
// redirect elsewhere.
func New(baseURL string, httpClient *http.Client, opts Options) (*Client, error) {
	if httpClient == nil {
		return nil, errors.New("new efactori client: nil http client")
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("new efactori client: base url: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("new efactori client: base url %q must be an absolute http(s) URL without credentials, query or fragment", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	c := &Client{base: u, log: opts.Logger, now: opts.Now}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	// A copy, so the caller's client keeps its own redirect policy.
	hc := *httpClient
	next := httpClient.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := c.checkURL(req.URL); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 5 {
			return errors.New("stopped after 5 redirects")
		}
		return nil
	}
	c.hc = &hc
	return c, nil
}

// errForeignURL is what checkURL and contentURL report; it is classified where the request
// would have been made.
var errForeignURL = errors.New("url is outside the configured eFactori API")

// errOtherContentURL is what contentURL reports for a URL on the API that is not the document's
// own content.
var errOtherContentURL = errors.New("url is not the content of this document revision")

// checkURL refuses any URL but one under the configured base. A contentUrl comes from a message
// anyone with publish rights on a topic could write; without this check it could make drivesync
// fetch, with its eFactori identity token attached, any URL it can reach (SSRF).
func (c *Client) checkURL(u *url.URL) error {
	if u.Scheme != c.base.Scheme || !strings.EqualFold(u.Host, c.base.Host) || u.User != nil || u.Opaque != "" {
		return errForeignURL
	}
	if !strings.HasPrefix(u.EscapedPath(), c.base.EscapedPath()+"/") {
		return errForeignURL
	}
	return nil
}

// contentPath is the escaped path of document id's content, as the contract builds contentUrl
// (<base>/v1/documents/{id}/content). Dot segments are refused: escaping leaves them as they
// are, and a client or proxy would resolve them into another endpoint.
func (c *Client) contentPath(id string) (string, error) {
	if id == "" || id == "." || id == ".." {
		return "", fmt.Errorf("document id %q cannot name a content URL", id)
	}
	return c.base.EscapedPath() + "/v1/documents/" + url.PathEscape(id) + "/content", nil
}

// contentURL checks that doc.ContentURL is the content of doc itself on the configured API —
// <base>/v1/documents/{doc.ID}/content, with at most a revision query naming doc.Revision — and
// returns it parsed. Being on eFactori's host is not enough: a message naming another
// document's content (of another company, say) would copy that document into this company's
// Drive under this document's name.
func (c *Client) contentURL(doc drivesync.Document) (*url.URL, error) {
	u, err := url.Parse(doc.ContentURL)
	if err != nil {
		return nil, errForeignURL
	}
	if err := c.checkURL(u); err != nil {
		return nil, err
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return nil, errOtherContentURL
	}
	// The document id may be escaped in more than one way (%2F or %2f, an escaped letter): its
	// one segment is compared once unescaped, and must hold no raw slash.
	prefix := c.base.EscapedPath() + "/v1/documents/"
	rest, ok := strings.CutPrefix(u.EscapedPath(), prefix)
	if !ok {
		return nil, errOtherContentURL
	}
	seg, ok := strings.CutSuffix(rest, "/content")
	if !ok || strings.Contains(seg, "/") {
		return nil, errOtherContentURL
	}
	if id, err := url.PathUnescape(seg); err != nil || id != doc.ID || id == "." || id == ".." {
		return nil, errOtherContentURL
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, errOtherContentURL
	}
	for k, vs := range q {
		if k != "revision" || len(vs) != 1 || vs[0] != strconv.FormatInt(doc.Revision, 10) {
			return nil, errOtherContentURL
		}
	}
	return u, nil
}

// Page is one page of a company's documents.
type Page struct {
	// Documents are the valid documents of the page, in eFactori's order (by id).
	Documents []drivesync.Document
	// Invalid are the documents of the page drivesync cannot copy; they are reported rather
	// than dropped so that the copy can count them as failed.
	Invalid []InvalidDocument
	// NextPageToken continues the listing; empty on the last page.
	NextPageToken string
}

// InvalidDocument is a listed document that failed validation.
type InvalidDocument struct {
	// ID is the document's id as listed, possibly empty or itself the invalid field.
	ID  string
	Err error
}

// ListDocuments returns one page of the live documents of companyID, starting after pageToken
// (empty for the first page). pageSize is 1 to MaxPageSize.
//
// Errors are classified: Retryable for 429 (with RetryAfter), 5xx, network failures and, with
// CodeUnauthorized, 401/403 (drivesync's own configuration, fixed by an operator); Permanent
// with CodeUnknownCompany for 404, CodeInvalidPageToken for a rejected token, CodeBadResponse
// for an unreadable page, and Permanent otherwise.
func (c *Client) ListDocuments(ctx context.Context, companyID, pageToken string, pageSize int) (Page, error) {
	op := fmt.Sprintf("list documents of company %s", companyID)
	if companyID == "" {
		return Page{}, drivesync.Classify(fmt.Errorf("%s: empty company id", op), drivesync.Permanent, CodeInvalidArgument)
	}
	if pageSize < 1 || pageSize > MaxPageSize {
		return Page{}, drivesync.Classify(fmt.Errorf("%s: page size %d is not between 1 and %d", op, pageSize, MaxPageSize),
			drivesync.Permanent, CodeInvalidArgument)
	}
	if companyID == "." || companyID == ".." {
		// Escaping leaves dot segments as they are; they would name another endpoint.
		return Page{}, drivesync.Classify(fmt.Errorf("%s: company id is a dot segment", op), drivesync.Permanent, CodeInvalidArgument)
	}
	u := *c.base
	u.Path = c.base.Path + "/v1/companies/" + companyID + "/documents"
	u.RawPath = c.base.EscapedPath() + "/v1/companies/" + url.PathEscape(companyID) + "/documents"
	q := url.Values{"pageSize": {strconv.Itoa(pageSize)}}
	if pageToken != "" {
		q.Set("pageToken", pageToken)
	}
	u.RawQuery = q.Encode()

	resp, err := c.get(ctx, op, &u)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Page{}, c.statusError(ctx, op, resp, false)
	}
	var body struct {
		Documents     []json.RawMessage `json:"documents"`
		NextPageToken string            `json:"nextPageToken"`
	}
	// Unknown fields are ignored: the contract lets eFactori add them to the list response.
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxListBytes)).Decode(&body); err != nil {
		return Page{}, decodeError(op+": decode page", err)
	}
	if body.Documents == nil {
		return Page{}, drivesync.Classify(fmt.Errorf("%s: the page has no documents array", op), drivesync.Permanent, CodeBadResponse)
	}
	if body.NextPageToken != "" && body.NextPageToken == pageToken {
		// Following it would loop forever.
		return Page{}, drivesync.Classify(fmt.Errorf("%s: eFactori returned the request's own page token", op), drivesync.Permanent, CodeBadResponse)
	}
	page := Page{Documents: make([]drivesync.Document, 0, len(body.Documents)), NextPageToken: body.NextPageToken}
	for i, raw := range body.Documents {
		doc, err := c.document(raw)
		if err != nil {
			page.Invalid = append(page.Invalid, InvalidDocument{
				ID:  doc.ID,
				Err: drivesync.Classify(fmt.Errorf("%s: document %d (%q): %w", op, i, doc.ID, err), drivesync.Permanent, CodeInvalidDocument),
			})
			continue
		}
		page.Documents = append(page.Documents, doc)
	}
	return page, nil
}

// documentJSON reads a listed document as strictly as DecodeEvent reads an event's (names
// match exactly, none twice, valid UTF-8), except that unknown members are ignored: the contract
// lets eFactori add fields to the list response.
var documentJSON = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(false),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

// document decodes and validates one listed document. On error, the returned document holds
// whatever could be decoded, so the caller can name it.
func (c *Client) document(raw json.RawMessage) (drivesync.Document, error) {
	var doc drivesync.Document
	if err := jsonv2.Unmarshal(raw, &doc, documentJSON); err != nil {
		var id struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(raw, &id) // best effort, for the report only
		return drivesync.Document{ID: id.ID}, err
	}
	if err := doc.Validate(); err != nil {
		return doc, err
	}
	if _, err := c.contentURL(doc); err != nil {
		return doc, &drivesync.FieldError{Field: "document.contentUrl", Reason: "is not this document's content on the configured eFactori API"}
	}
	return doc, nil
}

// OpenContent starts streaming the content of doc at doc.ContentURL. It checks the announced
// length and SHA-256 against doc before returning; the returned body hashes what it yields, and
// at the end of the stream reports a mismatch instead of io.EOF, so a consumer that reads to EOF
// never takes tampered or truncated content for good. Memory use does not depend on the size.
// The caller must close the body.
//
// Errors are classified: Permanent with CodeForeignURL for a contentUrl that is not doc's own
// content on the configured API (checked before any request; see contentURL), CodeContentGone for 404/410 (the document or revision is
// gone); Retryable with CodeUnauthorized for 401/403, with CodeUnknownRevision when eFactori's
// replica does not know the revision yet, for 429 (with RetryAfter), 5xx, network failures, and
// CodeSizeMismatch / CodeChecksumMismatch when the content is not what was announced.
func (c *Client) OpenContent(ctx context.Context, doc drivesync.Document) (io.ReadCloser, error) {
	op := fmt.Sprintf("open content of document %s revision %d", doc.ID, doc.Revision)
	u, err := c.contentURL(doc)
	if err != nil {
		return nil, drivesync.Classify(fmt.Errorf("%s: content url: %w", op, err), drivesync.Permanent, CodeForeignURL)
	}
	if doc.Size < 0 || doc.Size > drivesync.MaxDocumentSize {
		return nil, drivesync.Classify(fmt.Errorf("%s: size %d out of range", op, doc.Size), drivesync.Permanent, CodeInvalidArgument)
	}
	want, err := parseSHA256(doc.SHA256)
	if err != nil {
		return nil, drivesync.Classify(fmt.Errorf("%s: document sha256: %w", op, err), drivesync.Permanent, CodeInvalidArgument)
	}
	resp, err := c.get(ctx, op, u)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, c.statusError(ctx, op, resp, true)
	}
	// A mismatch here means eFactori serves other bytes than it listed for the same revision,
	// most likely a replica in the middle of catching up; a later attempt can succeed.
	if resp.ContentLength != doc.Size {
		resp.Body.Close()
		return nil, drivesync.Classify(fmt.Errorf("%s: eFactori announced %d bytes, the document says %d", op, resp.ContentLength, doc.Size),
			drivesync.Retryable, CodeSizeMismatch)
	}
	if got := resp.Header.Get(ContentSHA256Header); got != doc.SHA256 {
		resp.Body.Close()
		return nil, drivesync.Classify(fmt.Errorf("%s: eFactori announced sha256 %q, the document says %s", op, got, doc.SHA256),
			drivesync.Retryable, CodeChecksumMismatch)
	}
	return newVerifyingReader(op, resp.Body, doc.Size, want), nil
}

// get sends a GET to u, which the caller has checked with checkURL.
func (c *Client) get(ctx context.Context, op string, u *url.URL) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Permanent, CodeInvalidArgument)
	}
	req.Header.Set("Accept", "application/json, application/problem+json, */*")
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, errForeignURL) {
			return nil, drivesync.Classify(fmt.Errorf("%s: redirected: %w", op, errForeignURL), drivesync.Permanent, CodeForeignURL)
		}
		return nil, classifyTransport(op, err)
	}
	return resp, nil
}

// classifyTransport classifies an error of the HTTP exchange itself. An error already
// classified (by a token source under the HTTP client) keeps its class.
func classifyTransport(op string, err error) error {
	var ce *drivesync.ClassifiedError
	switch {
	case errors.As(err, &ce):
		return fmt.Errorf("%s: %w", op, err)
	case errors.Is(err, context.DeadlineExceeded):
		return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Retryable, CodeTimeout)
	case errors.Is(err, context.Canceled):
		return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Retryable, CodeCanceled)
	}
	return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Retryable, CodeNetwork)
}

// decodeError classifies an error decoding a 200 answer: malformed JSON is eFactori's fault and
// will come back the same, a body cut short is the network's.
func decodeError(op string, err error) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	if errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.EOF) {
		return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Permanent, CodeBadResponse)
	}
	return classifyTransport(op, err)
}

// statusError classifies a non-200 answer. content says whether it answered a content request,
// where 404 and 410 mean the document or revision is gone.
func (c *Client) statusError(ctx context.Context, op string, resp *http.Response, content bool) error {
	ptype := problemType(resp)
	msg := fmt.Sprintf("%s: eFactori answered %d", op, resp.StatusCode)
	if ptype != "" {
		msg += " " + ptype
	}
	err := errors.New(msg)
	status := resp.StatusCode
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// The identity drivesync presents is wrong or not allowed: no document will copy until
		// an operator fixes the configuration (audience, service account allowed by eFactori).
		// Retryable, not permanent: the documents are fine, and recording them as failed would
		// lose them once the configuration is fixed; Pub/Sub retries, then dead-letters (which
		// alerts) what outlasts its attempts.
		c.log.ErrorContext(ctx, "eFactori refused drivesync's credentials; check EFACTORI audience and the service account eFactori allows",
			"status", status, "problemType", ptype, "operation", op)
		return drivesync.Classify(err, drivesync.Retryable, CodeUnauthorized)
	case status == http.StatusTooManyRequests:
		return &drivesync.ClassifiedError{Class: drivesync.Retryable, Code: CodeRateLimited, RetryAfter: c.retryAfter(resp.Header), Err: err}
	case status >= 500:
		return &drivesync.ClassifiedError{Class: drivesync.Retryable, Code: CodeUnavailable, RetryAfter: c.retryAfter(resp.Header), Err: err}
	case content && status == http.StatusNotFound && ptype == "unknown-revision":
		// Events can overtake eFactori's replication; the revision appears shortly.
		return &drivesync.ClassifiedError{Class: drivesync.Retryable, Code: CodeUnknownRevision, RetryAfter: c.retryAfter(resp.Header), Err: err}
	case content && (status == http.StatusNotFound || status == http.StatusGone):
		return drivesync.Classify(err, drivesync.Permanent, CodeContentGone)
	case !content && status == http.StatusNotFound:
		return drivesync.Classify(err, drivesync.Permanent, CodeUnknownCompany)
	case !content && status == http.StatusBadRequest && ptype == "invalid-page-token":
		return drivesync.Classify(err, drivesync.Permanent, CodeInvalidPageToken)
	}
	return drivesync.Classify(err, drivesync.Permanent, "http_"+strconv.Itoa(status))
}

// problemType returns the last path segment of an RFC 9457 problem's type, the stable code the
// contract says to switch on; empty when the body is not a problem.
func problemType(resp *http.Response) string {
	var p struct {
		Type string `json:"type"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxProblemBytes)).Decode(&p); err != nil {
		return ""
	}
	t := p.Type[strings.LastIndexByte(p.Type, '/')+1:]
	// The code goes into error messages; keep it to what the contract's codes look like.
	for _, r := range t {
		if (r < 'a' || r > 'z') && r != '-' && (r < '0' || r > '9') {
			return ""
		}
	}
	if len(t) > 64 {
		return ""
	}
	return t
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date; 0 when absent or
// unreadable, at most maxRetryAfter.
func (c *Client) retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(c.now())
	}
	return max(0, min(d, maxRetryAfter))
}

// DocumentGone asks eFactori whether document id is deleted (or never existed), with a HEAD of
// its current content. A reconcile calls it before trashing a file whose document is missing
// from the list: a document created during the list walk may be missing too, and must not lose
// its file. Errors are classified as for OpenContent.
func (c *Client) DocumentGone(ctx context.Context, id string) (bool, error) {
	op := "check document " + id
	if id == "" {
		return false, drivesync.Classify(errors.New(op+": empty id"), drivesync.Permanent, CodeInvalidArgument)
	}
	path, err := c.contentPath(id)
	if err != nil {
		return false, drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Permanent, CodeInvalidArgument)
	}
	u := *c.base
	u.RawPath = path
	u.Path, _ = url.PathUnescape(path)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return false, drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Permanent, CodeInvalidArgument)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, errForeignURL) {
			return false, drivesync.Classify(fmt.Errorf("%s: redirected: %w", op, errForeignURL), drivesync.Permanent, CodeForeignURL)
		}
		return false, classifyTransport(op, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return false, nil
	case http.StatusNotFound, http.StatusGone:
		// A HEAD has no problem body to tell unknown-revision apart, but no revision was asked.
		return true, nil
	}
	return false, c.statusError(ctx, op, resp, true)
}
