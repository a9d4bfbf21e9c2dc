package efactori

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/efactori/drivesync/shared/drivesync"
)

// Paging limits of the list endpoint.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// ContentSHA256Header carries the lowercase hex sha256 of a content response, the same value
// as the document's sha256 in the listing.
const ContentSHA256Header = "X-Content-SHA256"

// ProblemTypePrefix starts the type of every problem+json error; the rest is a stable code. The
// URIs identify; they need not resolve.
const ProblemTypePrefix = "https://api.efactori.example/problems/"

// Problem is an RFC 9457 problem detail, the body of every error response.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Instance is the request path.
	Instance string `json:"instance,omitempty"`
}

// ListResponse is the body of the list endpoint.
type ListResponse struct {
	Documents     []drivesync.Document `json:"documents"`
	NextPageToken string               `json:"nextPageToken,omitempty"`
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /v1/companies/{companyId}/documents", s.counted(EndpointList, s.authed(s.handleList)))
	s.mux.HandleFunc("GET /v1/documents/{documentId}/content", s.counted(EndpointContent, s.authed(s.handleContent)))
	s.mux.HandleFunc("GET /.well-known/openid-configuration", s.counted(EndpointOIDC, s.handleDiscovery))
	s.mux.HandleFunc("GET /.well-known/jwks.json", s.counted(EndpointOIDC, s.handleJWKS))
	s.mux.HandleFunc("POST /admin/companies", s.counted(EndpointAdmin, s.authed(s.handleAddCompany)))
	s.mux.HandleFunc("PUT /admin/companies/{companyId}/documents/{documentId}", s.counted(EndpointAdmin, s.authed(s.handleUpsert)))
	s.mux.HandleFunc("DELETE /admin/companies/{companyId}/documents/{documentId}", s.counted(EndpointAdmin, s.authed(s.handleDelete)))
	s.mux.HandleFunc("PUT /admin/faults/content", s.counted(EndpointAdmin, s.authed(s.handleFaults)))
	s.mux.HandleFunc("DELETE /admin/faults", s.counted(EndpointAdmin, s.authed(s.handleResetFaults)))
	s.mux.HandleFunc("GET /admin/stats", s.counted(EndpointAdmin, s.authed(s.handleStats)))
	s.mux.HandleFunc("POST /admin/tokens", s.counted(EndpointAdmin, s.authed(s.handleMint)))
	s.mux.HandleFunc("GET /admin/status-events", s.counted(EndpointAdmin, s.authed(s.handleStatusEvents)))
	s.mux.HandleFunc("POST "+StatusEventsPushPath, s.counted(EndpointAdmin, s.handleStatusPush))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "not-found", "no such endpoint")
	})
}

// ServeHTTP serves the document API, the admin API and the OIDC discovery endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) counted(e Endpoint, h http.HandlerFunc) http.HandlerFunc {
	c := s.counters[e]
	return func(w http.ResponseWriter, r *http.Request) {
		c.Add(1)
		h(w, r)
	}
}

func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="efactori"`)
			writeProblem(w, r, http.StatusUnauthorized, "unauthenticated", "a valid bearer token is required")
			return
		}
		h(w, r)
	}
}

func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Problem{
		Type: ProblemTypePrefix + code, Title: http.StatusText(status), Status: status, Detail: detail,
		Instance: r.URL.Path,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError maps the errors of the mutation methods to a status; anything else is a bug of the
// stand-in and is only logged.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrUnknownCompany):
		writeProblem(w, r, http.StatusNotFound, "unknown-company", err.Error())
	case errors.Is(err, ErrUnknownDocument):
		writeProblem(w, r, http.StatusNotFound, "unknown-document", err.Error())
	case errors.Is(err, ErrConflict):
		writeProblem(w, r, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, ErrInvalid):
		writeProblem(w, r, http.StatusBadRequest, "invalid-request", err.Error())
	default:
		s.log.ErrorContext(r.Context(), "efactori stand-in request", "path", r.URL.Path, "error", err)
		writeProblem(w, r, http.StatusInternalServerError, "internal", "internal error")
	}
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	companyID := r.PathValue("companyId")
	q := r.URL.Query()
	size := DefaultPageSize
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			writeProblem(w, r, http.StatusBadRequest, "invalid-page-size",
				fmt.Sprintf("pageSize must be an integer from 1 to %d", MaxPageSize))
			return
		}
		size = n
	}
	var after string
	if v := q.Get("pageToken"); v != "" {
		tok, err := decodePageToken(v)
		if err == nil && tok.Company != companyID {
			err = errors.New("the token belongs to another company")
		}
		if err != nil {
			writeProblem(w, r, http.StatusBadRequest, "invalid-page-token", "pageToken is not a token this endpoint returned")
			return
		}
		after = tok.After
	}
	recs, base, err := s.page(companyID, after, size+1)
	if err != nil {
		writeProblem(w, r, http.StatusNotFound, "unknown-company", "no company "+strconv.Quote(companyID))
		return
	}
	resp := ListResponse{Documents: make([]drivesync.Document, 0, min(size, len(recs)))}
	if len(recs) > size {
		recs = recs[:size]
		resp.NextPageToken = encodePageToken(pageToken{Company: companyID, After: recs[size-1].doc.ID})
	}
	warmDigests(recs)
	for _, rec := range recs {
		resp.Documents = append(resp.Documents, rec.document(base))
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleContent(w http.ResponseWriter, r *http.Request) {
	status, delay := s.takeFault()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if status != 0 {
		if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		writeProblem(w, r, status, "injected-fault", "failure injected by the test")
		return
	}
	id := r.PathValue("documentId")
	s.mu.RLock()
	rec, ok := s.docs[id]
	s.mu.RUnlock()
	if !ok {
		writeProblem(w, r, http.StatusNotFound, "unknown-document", "no document "+strconv.Quote(id))
		return
	}
	rev := rec.doc.Revision
	if v := r.URL.Query().Get("revision"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			writeProblem(w, r, http.StatusBadRequest, "invalid-revision", "revision must be a positive integer")
			return
		}
		rev = n
	}
	switch {
	case rec.deleted:
		writeProblem(w, r, http.StatusGone, "document-deleted", "the document was deleted")
		return
	case rev < rec.doc.Revision:
		writeProblem(w, r, http.StatusGone, "revision-superseded",
			fmt.Sprintf("revision %d was replaced by revision %d", rev, rec.doc.Revision))
		return
	case rev > rec.doc.Revision:
		writeProblem(w, r, http.StatusNotFound, "unknown-revision", fmt.Sprintf("revision %d does not exist yet", rev))
		return
	}
	size, sum := rec.digest()
	h := w.Header()
	h.Set("Content-Type", rec.doc.ContentType)
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set(ContentSHA256Header, sum)
	h.Set("ETag", `"`+sum+`"`)
	h.Set("Cache-Control", "private, no-store")
	if cd := mime.FormatMediaType("attachment", map[string]string{"filename": rec.doc.FileName}); rec.doc.FileName != "" && cd != "" {
		h.Set("Content-Disposition", cd)
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if err := rec.writeContent(w); err != nil {
		// The client went away mid-stream; the status is already sent.
		s.log.DebugContext(r.Context(), "efactori stand-in content stream ended early", "documentId", id, "error", err)
	}
}

type companyRequest struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Documents int    `json:"documents"`
	Showcase  bool   `json:"showcase"`
}

const maxAdminBody = 64 << 20

func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", ErrInvalid, err)
	}
	return nil
}

func (s *Server) handleAddCompany(w http.ResponseWriter, r *http.Request) {
	var req companyRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.AddCompany(CompanySpec(req)); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, req)
}

func (s *Server) handleUpsert(w http.ResponseWriter, r *http.Request) {
	var u Upsert
	if err := decodeBody(w, r, &u); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.Upsert(r.PathValue("companyId"), r.PathValue("documentId"), u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	e, err := s.Delete(r.PathValue("companyId"), r.PathValue("documentId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// FaultRequest is the body of PUT /admin/faults/content.
type FaultRequest struct {
	FailNext  int    `json:"failNext,omitempty"`
	Status    int    `json:"status,omitempty"`
	DelayNext int    `json:"delayNext,omitempty"`
	Delay     string `json:"delay,omitempty"` // a Go duration, e.g. "1.5s"
}

func (s *Server) handleFaults(w http.ResponseWriter, r *http.Request) {
	var req FaultRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.FailNext > 0 {
		if err := s.FailContent(req.FailNext, req.Status); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if req.DelayNext > 0 {
		d, err := time.ParseDuration(req.Delay)
		if err == nil {
			err = s.DelayContent(req.DelayNext, d)
		} else {
			err = fmt.Errorf("%w: delay: %v", ErrInvalid, err)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleResetFaults(w http.ResponseWriter, r *http.Request) {
	s.ResetFaults()
	w.WriteHeader(http.StatusNoContent)
}

// Stats is the body of GET /admin/stats.
type Stats struct {
	Requests map[Endpoint]int64 `json:"requests"`
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	st := Stats{Requests: map[Endpoint]int64{}}
	for _, e := range endpoints {
		st.Requests[e] = s.Requests(e)
	}
	writeJSON(w, http.StatusOK, st)
}

// TokenRequest is the body of POST /admin/tokens: the claims, and a lifetime as a Go duration
// (empty means one hour).
type TokenRequest struct {
	Claims
	TTL string `json:"ttl,omitempty"`
}

// TokenResponse is the answer of POST /admin/tokens.
type TokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func (s *Server) handleMint(w http.ResponseWriter, r *http.Request) {
	var req TokenRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 {
			s.writeError(w, r, fmt.Errorf("%w: ttl must be a positive Go duration", ErrInvalid))
			return
		}
		req.Claims.TTL = d
	}
	tok, exp, err := s.mint(req.Claims)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, TokenResponse{Token: tok, ExpiresAt: exp})
}

// pageToken is the decoded form of the list endpoint's opaque page token. It binds the token to
// its company and names the last id returned, so pages stay stable while documents change.
type pageToken struct {
	V       int    `json:"v"`
	Company string `json:"c"`
	After   string `json:"a"`
}

const maxPageTokenLength = 1024

func encodePageToken(t pageToken) string {
	t.V = 1
	b, _ := json.Marshal(t) // a struct of strings always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken parses a page token from a client; anything it did not produce is an error.
func decodePageToken(s string) (pageToken, error) {
	if len(s) > maxPageTokenLength {
		return pageToken{}, errors.New("page token too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return pageToken{}, fmt.Errorf("page token: %w", err)
	}
	var t pageToken
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return pageToken{}, fmt.Errorf("page token: %w", err)
	}
	if dec.More() {
		return pageToken{}, errors.New("page token: trailing data")
	}
	switch {
	case t.V != 1:
		return pageToken{}, fmt.Errorf("page token: version %d", t.V)
	case t.Company == "" || t.After == "":
		return pageToken{}, errors.New("page token: missing company or position")
	case len(t.After) > drivesync.MaxIDLength || !utf8.ValidString(t.After) || !utf8.ValidString(t.Company):
		return pageToken{}, errors.New("page token: bad position")
	}
	return t, nil
}
