package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/efactori/drivesync/shared/auth"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/history"
	"github.com/efactori/drivesync/shared/layout"
	"github.com/efactori/drivesync/shared/problem"
	"github.com/efactori/drivesync/shared/store"
)

// Documents is what the API needs of the document history (shared/history). Every method is
// scoped to companyID: a connection of another company, or a document it has no mapping of, is
// drivesync.ErrNotFound. RetryDocument and RetryFailed also return history.ErrNotActive,
// history.ErrIntegrationOff, history.ErrNothingToRetry (RetryDocument) and history.ErrNotRetryable;
// Pub/Sub's failures are classified (drivesync.ClassifiedError).
type Documents interface {
	ListDocuments(ctx context.Context, companyID, id string, q history.Query) (history.Page, error)
	Document(ctx context.Context, companyID, id, documentID string) (store.Mapping, error)
	RetryDocument(ctx context.Context, companyID, id, documentID string) (store.Mapping, error)
	RetryFailed(ctx context.Context, companyID, id string) (history.Retried, error)
}

var _ Documents = (*history.Service)(nil)

// Problems of the document history.
var (
	problemNotActive = problem.New("connection-not-active", http.StatusConflict, "Connection not active",
		"Documents can only be retried on an active connection; finish what the connection's status asks for (consent, folder, re-authorization or an action in Google Drive) first.")
	problemIntegrationOff = problem.New("integration-disabled", http.StatusConflict, "Integration switched off",
		"The Google Drive integration is switched off for this company; switch it on (PUT /v1/integration) to retry documents.")
	problemNothingToRetry = problem.New("nothing-to-retry", http.StatusConflict, "Nothing to retry",
		"This document is already in Google Drive at its latest revision (or its deletion was applied); there is nothing to retry.")
	problemRetryUnavailable = problem.New("retry-unavailable", http.StatusConflict, "Document cannot be retried alone",
		"drivesync recorded this document before it kept what a retry needs; sync the whole connection again (POST /v1/connections/{id}/resync) instead.")
)

// historyProblem maps the history's own errors to their problems; others go on to problemFor.
func historyProblem(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, history.ErrNotActive):
		return problemNotActive
	case errors.Is(err, history.ErrIntegrationOff):
		return problemIntegrationOff
	case errors.Is(err, history.ErrNothingToRetry):
		return problemNothingToRetry
	case errors.Is(err, history.ErrNotRetryable):
		return problemRetryUnavailable
	}
	return err
}

// Query parameters of GET /v1/connections/{id}/documents.
const (
	defaultDocumentPage  = 20
	maxNumberSearchRunes = 100
	maxDocumentPageToken = 1024
)

// validDocumentID accepts what can be an eFactori document ID and a Firestore document name:
// 1 to 128 bytes of UTF-8 without control characters or slashes, not "." or "..", not __x__.
// Anything else is answered as an unknown document.
func validDocumentID(id string) bool {
	return id != "" && len(id) <= drivesync.MaxIDLength && utf8.ValidString(id) &&
		!strings.ContainsFunc(id, func(r rune) bool { return r == '/' || unicode.IsControl(r) }) &&
		id != "." && id != ".." && !(len(id) >= 4 && strings.HasPrefix(id, "__") && strings.HasSuffix(id, "__"))
}

// withDocument adds a well-formed documentId to withID's connection ID.
func withDocument(h func(w http.ResponseWriter, r *http.Request, c auth.Caller, id, documentID string) error) handlerFunc {
	return withID(func(w http.ResponseWriter, r *http.Request, c auth.Caller, id string) error {
		documentID := r.PathValue("documentId")
		if !validDocumentID(documentID) {
			return problem.NotFound
		}
		return h(w, r, c, id, documentID)
	})
}

// documentQuery is GET /v1/connections/{id}/documents's query, checked.
type documentQuery struct {
	state  store.MappingState
	number string
	size   int
	after  *store.MappingCursor
}

// pageTokenJSON is what a page token of the document history holds: the query it continues
// (state and number key, so a token cannot be replayed on another query) and the cursor.
type pageTokenJSON struct {
	V         int    `json:"v"`
	State     string `json:"s"`
	Number    string `json:"n"`
	UpdatedAt int64  `json:"u,omitempty"` // Unix nanoseconds, when ordered by last change
	NumberKey string `json:"k,omitempty"` // when ordered by number
	Document  string `json:"d"`
}

const pageTokenVersion = 1

// pageTokenSum binds a token's payload to its connection. It is a checksum, not a secret: a
// caller can only ever page through its own company's connection (the path and the token's
// company decide that), so a forged cursor reaches nothing more than another position in the
// same list; the sum turns a damaged, truncated or other connection's token into a 400.
func pageTokenSum(connectionID string, payload []byte) []byte {
	h := sha256.New()
	h.Write([]byte("drivesync document history page token\x00" + connectionID + "\x00"))
	h.Write(payload)
	return h.Sum(nil)[:12]
}

func encodePageToken(connectionID string, q documentQuery, c *store.MappingCursor) string {
	t := pageTokenJSON{V: pageTokenVersion, State: string(q.state), Number: store.NumberKey(q.number), Document: c.DocumentID}
	if t.Number != "" {
		t.NumberKey = c.NumberKey
	} else {
		t.UpdatedAt = c.UpdatedAt.UnixNano()
	}
	payload, _ := json.Marshal(t) // strings and integers only: cannot fail
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(pageTokenSum(connectionID, payload))
}

// decodePageToken checks a page token against its connection and the query it must continue.
func decodePageToken(connectionID, raw string, q documentQuery) (*store.MappingCursor, bool) {
	if len(raw) > maxDocumentPageToken {
		return nil, false
	}
	p, s, ok := strings.Cut(raw, ".")
	if !ok {
		return nil, false
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	sum, err2 := enc.DecodeString(s)
	if err1 != nil || err2 != nil || !bytes.Equal(sum, pageTokenSum(connectionID, payload)) {
		return nil, false
	}
	var t pageTokenJSON
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil || t.V != pageTokenVersion || !validDocumentID(t.Document) ||
		t.State != string(q.state) || t.Number != store.NumberKey(q.number) {
		return nil, false
	}
	c := &store.MappingCursor{DocumentID: t.Document, NumberKey: t.NumberKey}
	if t.Number == "" {
		c.UpdatedAt = time.Unix(0, t.UpdatedAt).UTC()
	}
	return c, true
}

// decodeDocumentQuery checks the query of a document listing: only the parameters it takes, each
// at most once, every bad one listed at once.
func decodeDocumentQuery(connectionID string, values url.Values) (documentQuery, error) {
	var fe fieldErrors
	for name, vs := range values {
		switch name {
		case "state", "number", "pageSize", "pageToken":
			if len(vs) > 1 {
				fe.add("/"+name, "is given more than once")
			}
		default:
			fe.add(queryPointer(name), "is not a parameter of this request")
		}
	}
	q := documentQuery{size: defaultDocumentPage}
	switch st := values.Get("state"); st {
	case "":
	case string(store.MappingSynced), string(store.MappingPending), string(store.MappingFailed):
		q.state = store.MappingState(st)
	default:
		fe.add("/state", "must be synced, pending or failed")
	}
	// An empty number or page token is the same as none: a search box or a first page.
	if n := values.Get("number"); n != "" {
		switch {
		case strings.TrimSpace(n) == "":
			fe.add("/number", "must not be blank")
		case !utf8.ValidString(n) || strings.ContainsFunc(n, unicode.IsControl):
			fe.add("/number", "must not contain control characters")
		case utf8.RuneCountInString(n) > maxNumberSearchRunes:
			fe.add("/number", "must be at most "+strconv.Itoa(maxNumberSearchRunes)+" characters")
		default:
			q.number = n
		}
	}
	if values.Has("pageSize") {
		raw := values.Get("pageSize")
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > store.MaxMappingPage || strings.TrimLeft(raw, "0123456789") != "" {
			fe.add("/pageSize", "must be an integer from 1 to "+strconv.Itoa(store.MaxMappingPage))
		} else {
			q.size = n
		}
	}
	if err := fe.err(); err != nil {
		return documentQuery{}, problem.Validation("Some query parameters are invalid.", fe)
	}
	if raw := values.Get("pageToken"); raw != "" {
		c, ok := decodePageToken(connectionID, raw, q)
		if !ok {
			return documentQuery{}, problem.Validation("Some query parameters are invalid.", []problem.FieldError{{
				Pointer: "/pageToken", Detail: "is not a page token this API gave for this listing (same connection, state and number)"}})
		}
		q.after = c
	}
	return q, nil
}

// queryPointer names a query parameter the way field errors name members: a JSON pointer
// (RFC 6901) of one token, cut to maxPointerBytes since the name is the caller's.
func queryPointer(name string) string {
	p := "/" + strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")
	if len(p) > maxPointerBytes {
		p = strings.ToValidUTF8(p[:maxPointerBytes], "") + "…"
	}
	return p
}

// The JSON shapes of the document history (docs/api/openapi.yaml, DocumentList and Document).

type failureJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type driveFileJSON struct {
	ID          string `json:"id"`
	WebViewLink string `json:"webViewLink"`
}

type documentJSON struct {
	DocumentID   string         `json:"documentId"`
	Number       *string        `json:"number"`
	Kind         *string        `json:"kind"`
	FileName     *string        `json:"fileName"`
	State        string         `json:"state"`
	Deleted      bool           `json:"deleted"`
	Failure      *failureJSON   `json:"failure"`
	Revision     *int64         `json:"revision"`
	DriveFile    *driveFileJSON `json:"driveFile"`
	LastSyncedAt *time.Time     `json:"lastSyncedAt"`
	UpdatedAt    *time.Time     `json:"updatedAt"`
}

type documentListJSON struct {
	Documents     []documentJSON `json:"documents"`
	NextPageToken *string        `json:"nextPageToken"`
}

type retriedJSON struct {
	Retried      int  `json:"retried"`
	NotRetryable int  `json:"notRetryable"`
	More         bool `json:"more"`
}

// webViewLink is the address a browser opens a Drive file at; it is fixed by the file ID, so it
// needs no Drive call.
func webViewLink(fileID string) string {
	return "https://drive.google.com/file/d/" + url.PathEscape(fileID) + "/view"
}

func documentOf(m store.Mapping) documentJSON {
	out := documentJSON{
		DocumentID:   m.DocumentID,
		State:        string(m.State),
		Deleted:      m.Deleted,
		LastSyncedAt: timeOf(m.SyncedAt),
		UpdatedAt:    timeOf(m.UpdatedAt),
	}
	if out.State == "" {
		out.State = string(store.MappingPending)
	}
	src := m.Source
	if src.Revision != 0 {
		out.Number, out.Kind = stringOf(src.Number), stringOf(string(src.Kind))
	}
	switch {
	case m.Name != "":
		out.FileName = &m.Name
	case src.Revision != 0:
		// Not in Drive yet: the name it will have there.
		out.FileName = stringOf(layout.FileName(src))
	}
	if rev := m.Revision; rev != 0 {
		out.Revision = &rev
	} else if src.Revision != 0 {
		rev := src.Revision
		out.Revision = &rev
	}
	if m.Code != "" && m.State != store.MappingSynced {
		out.Failure = &failureJSON{Code: m.Code, Message: history.FailureMessage(m.Code)}
	}
	if m.Created && m.FileID != "" {
		out.DriveFile = &driveFileJSON{ID: m.FileID, WebViewLink: webViewLink(m.FileID)}
	}
	return out
}

func (s *Server) listDocuments(w http.ResponseWriter, r *http.Request, c auth.Caller, id string) error {
	q, err := decodeDocumentQuery(id, r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.opts.Documents.ListDocuments(r.Context(), c.CompanyID, id, history.Query{State: q.state, Number: q.number, Size: q.size, After: q.after})
	if err != nil {
		return err
	}
	out := documentListJSON{Documents: make([]documentJSON, 0, len(page.Documents))}
	for _, m := range page.Documents {
		out.Documents = append(out.Documents, documentOf(m))
	}
	if page.Next != nil {
		t := encodePageToken(id, q, page.Next)
		out.NextPageToken = &t
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getDocument(w http.ResponseWriter, r *http.Request, c auth.Caller, id, documentID string) error {
	m, err := s.opts.Documents.Document(r.Context(), c.CompanyID, id, documentID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, documentOf(m))
}

func (s *Server) retryDocument(w http.ResponseWriter, r *http.Request, c auth.Caller, id, documentID string) error {
	m, err := s.opts.Documents.RetryDocument(r.Context(), c.CompanyID, id, documentID)
	if err != nil {
		return historyProblem(err)
	}
	s.opts.Logger.InfoContext(r.Context(), "document retry requested", "companyId", c.CompanyID, "connectionId", id,
		"documentId", documentID, "state", string(m.State), "errorCode", m.Code, "by", c.Subject)
	return writeJSON(w, http.StatusAccepted, documentOf(m))
}

func (s *Server) retryFailed(w http.ResponseWriter, r *http.Request, c auth.Caller, id string) error {
	res, err := s.opts.Documents.RetryFailed(r.Context(), c.CompanyID, id)
	if err != nil {
		return historyProblem(err)
	}
	s.opts.Logger.InfoContext(r.Context(), "failed documents retry requested", "companyId", c.CompanyID, "connectionId", id,
		"retried", res.Retried, "notRetryable", res.NotRetryable, "more", res.More, "by", c.Subject)
	return writeJSON(w, http.StatusAccepted, retriedJSON{Retried: res.Retried, NotRetryable: res.NotRetryable, More: res.More})
}

// documentRoutes are the document history's routes. Retrying changes state (it publishes copy
// tasks), so it needs the manage role, as a resync does.
func (s *Server) documentRoutes() []route {
	return []route{
		{Path: "/v1/connections/{id}/documents", handlers: map[string]handlerFunc{
			http.MethodGet: withID(s.listDocuments),
		}},
		{Path: "/v1/connections/{id}/documents/{documentId}", handlers: map[string]handlerFunc{
			http.MethodGet: withDocument(s.getDocument),
		}},
		{Path: "/v1/connections/{id}/documents/{documentId}/retry", handlers: map[string]handlerFunc{
			http.MethodPost: manage(withDocument(s.retryDocument)),
		}},
		{Path: "/v1/connections/{id}/documents:retryFailed", handlers: map[string]handlerFunc{
			http.MethodPost: manage(withID(s.retryFailed)),
		}},
	}
}
