// Package efactori is a stand-in for eFactori, the invoicing app whose documents drivesync copies
// into customers' Google Drives. It serves the document API drivesync reads in production
// (docs/efactori-contract.md), with deterministic sample companies whose PDFs are generated while
// they stream, admin endpoints that change documents and return the events eFactori would
// publish, fault injection, and an OIDC token issuer for eFactori's own frontend tokens.
//
// Nothing in production imports this package; tests and the local stack run against it.
package efactori

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
)

// Options configures a Server.
type Options struct {
	// DevToken is the bearer token the document and admin endpoints accept. Required: in
	// production these endpoints take a Google ID token, which the stand-in does not check.
	DevToken string
	// Seed picks the sample data; the same seed gives byte-identical documents.
	Seed uint64
	// Companies are created at start, in order.
	Companies []CompanySpec
	// BaseURL is the URL the server is reached at; it prefixes contentUrl and is the default
	// token issuer. It may be set later with SetBaseURL, once the listener's port is known.
	BaseURL string
	// Issuer is the iss of minted tokens and of the discovery document; empty means BaseURL.
	Issuer string
	// Audience is the aud of minted tokens. Required.
	Audience string
	// SigningKey signs minted tokens; nil means a fresh RSA 2048 key. Tests share one key to
	// save the key generation.
	SigningKey *rsa.PrivateKey
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID returns event ids; nil means random 128-bit hex ids.
	NewID func() string
	// Logger receives request failures; nil means slog.Default().
	Logger *slog.Logger
}

// Endpoint names one group of routes for the request counters.
type Endpoint string

// The counted endpoints.
const (
	EndpointList    Endpoint = "list"
	EndpointContent Endpoint = "content"
	EndpointAdmin   Endpoint = "admin"
	EndpointOIDC    Endpoint = "oidc"
)

var endpoints = []Endpoint{EndpointList, EndpointContent, EndpointAdmin, EndpointOIDC}

// Errors the mutation methods return.
var (
	ErrUnknownCompany  = errors.New("unknown company")
	ErrUnknownDocument = errors.New("unknown document")
	ErrConflict        = errors.New("conflict")
	ErrInvalid         = errors.New("invalid request")
)

// Server is the eFactori stand-in. It is an http.Handler; all its methods are safe for
// concurrent use.
type Server struct {
	seed     uint64
	devToken string
	now      func() time.Time
	newID    func() string
	log      *slog.Logger
	mux      *http.ServeMux
	issuer   *issuer
	counters map[Endpoint]*atomic.Int64

	mu           sync.RWMutex
	baseURL      string
	companies    map[string]*company
	docs         map[string]*record // by document id, deleted ones included
	faults       faults
	statusEvents statusInbox // drivesync's status events, as eFactori's subscriber received them
}

type company struct {
	id, name string
	live     []string // ids of documents not deleted, sorted
}

// record is one revision of one document. A mutation replaces the record, so the content
// digest cached in it never goes stale.
type record struct {
	companyID   string
	doc         drivesync.Document // Size, SHA256 and ContentURL are filled on the way out
	amountCents int64
	targetSize  int64
	raw         []byte
	padKey      [32]byte
	companyName string
	deleted     bool
	digest      func() (int64, string) // computed on first use, then cached
}

type faults struct {
	failLeft   int
	failStatus int
	delayLeft  int
	delay      time.Duration
}

// New returns a Server holding opts.Companies. Generating a company's documents does not
// generate their content; a document's size and sha256 are computed the first time it is
// listed or fetched.
func New(opts Options) (*Server, error) {
	var errs []error
	if opts.DevToken == "" {
		errs = append(errs, errors.New("DevToken is required"))
	}
	if opts.Audience == "" {
		errs = append(errs, errors.New("Audience is required"))
	}
	if opts.BaseURL != "" {
		if err := checkBaseURL(opts.BaseURL); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new efactori stand-in: %w", err)
	}
	s := &Server{
		seed:      opts.Seed,
		devToken:  opts.DevToken,
		now:       opts.Now,
		newID:     opts.NewID,
		log:       opts.Logger,
		baseURL:   strings.TrimSuffix(opts.BaseURL, "/"),
		companies: map[string]*company{},
		docs:      map[string]*record{},
		counters:  map[Endpoint]*atomic.Int64{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = randomID
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, e := range endpoints {
		s.counters[e] = new(atomic.Int64)
	}
	iss, err := newIssuer(opts.Issuer, opts.Audience, opts.SigningKey, s.now)
	if err != nil {
		return nil, fmt.Errorf("new efactori stand-in: %w", err)
	}
	s.issuer = iss
	for _, c := range opts.Companies {
		if err := s.AddCompany(c); err != nil {
			return nil, fmt.Errorf("new efactori stand-in: %w", err)
		}
	}
	s.routes()
	return s, nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func checkBaseURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("base URL %q must be an absolute http(s) URL", u)
	}
	return nil
}

// SetBaseURL sets the URL the server is reached at, e.g. once an httptest server has a port.
func (s *Server) SetBaseURL(u string) error {
	if err := checkBaseURL(u); err != nil {
		return fmt.Errorf("set base url: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimSuffix(u, "/")
	return nil
}

// BaseURL returns the URL set by Options.BaseURL or SetBaseURL.
func (s *Server) BaseURL() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.baseURL
}

// AddCompany creates a company with generated documents. It fails with ErrConflict if the
// company exists.
func (s *Server) AddCompany(c CompanySpec) error {
	if err := validCompanyID(c.ID); err != nil {
		return fmt.Errorf("add company: %w: %w", ErrInvalid, err)
	}
	if c.Documents < 0 || c.Documents > MaxCompanyDocuments {
		return fmt.Errorf("add company %s: %w: documents must be between 0 and %d", c.ID, ErrInvalid, MaxCompanyDocuments)
	}
	if c.Name == "" {
		c.Name = "Company " + c.ID
	}
	drafts := generate(s.seed, c) // outside the lock: a large company takes a moment
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.companies[c.ID]; ok {
		return fmt.Errorf("add company %s: %w: it exists", c.ID, ErrConflict)
	}
	for _, d := range drafts {
		if _, taken := s.docs[d.doc.ID]; taken {
			return fmt.Errorf("add company %s: %w: document id %s is taken", c.ID, ErrConflict, d.doc.ID)
		}
	}
	co := &company{id: c.ID, name: c.Name, live: make([]string, 0, len(drafts))}
	for _, d := range drafts {
		s.docs[d.doc.ID] = s.newRecord(co, d)
		co.live = append(co.live, d.doc.ID)
	}
	slices.Sort(co.live)
	s.companies[c.ID] = co
	return nil
}

func rawDigest(b []byte) (int64, string) {
	sum := sha256.Sum256(b)
	return int64(len(b)), hex.EncodeToString(sum[:])
}

func (s *Server) newRecord(co *company, d draft) *record {
	r := &record{
		companyID:   co.id,
		companyName: co.name,
		doc:         d.doc,
		amountCents: d.amountCents,
		targetSize:  d.targetSize,
		raw:         d.raw,
		padKey:      padKey(s.seed, d.doc.ID, d.doc.Revision),
	}
	r.digest = sync.OnceValues(func() (int64, string) {
		if r.raw != nil {
			return rawDigest(r.raw)
		}
		return r.layout().digest()
	})
	return r
}

func (r *record) layout() pdfLayout {
	d := r.doc
	lines := []string{
		strings.ToUpper(kindLabel(d.Kind)),
		r.companyName,
		"",
		"Numéro : " + d.Number,
		"Date : " + d.Date,
		"Montant : " + formatCents(r.amountCents),
		fmt.Sprintf("Révision : %d", d.Revision),
		"Document : " + d.ID,
		"",
	}
	lines = append(lines, wrapText(d.Title, 80)...)
	return layoutPDF(pdfSpec{Title: d.Title, Lines: lines, TargetSize: r.targetSize, PadKey: r.padKey})
}

func (r *record) writeContent(w io.Writer) error {
	if r.raw != nil {
		_, err := w.Write(r.raw)
		return err
	}
	return r.layout().writeTo(w)
}

// document returns the published form of r, computing its digest if needed.
func (r *record) document(baseURL string) drivesync.Document {
	d := r.doc
	d.Size, d.SHA256 = r.digest()
	d.ContentURL = fmt.Sprintf("%s/v1/documents/%s/content?revision=%d", baseURL, url.PathEscape(d.ID), d.Revision)
	return d
}

// warmDigests computes the digests of many records on every CPU, so that a first listing of a
// large company is not bound to one core.
func warmDigests(recs []*record) {
	workers := min(runtime.GOMAXPROCS(0), len(recs)/64)
	if workers < 2 {
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(recs)); i = next.Add(1) - 1 {
				recs[i].digest()
			}
		})
	}
	wg.Wait()
}

// Companies returns the ids of all companies, sorted.
func (s *Server) Companies() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, 0, len(s.companies))
	for id := range s.companies {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Documents returns every live document of a company in id order, as the list endpoint would.
// It computes the digest of each, so it is slow the first time on large companies.
func (s *Server) Documents(companyID string) ([]drivesync.Document, error) {
	recs, base, err := s.page(companyID, "", -1)
	if err != nil {
		return nil, err
	}
	warmDigests(recs)
	out := make([]drivesync.Document, len(recs))
	for i, r := range recs {
		out[i] = r.document(base)
	}
	return out, nil
}

// Document returns the current revision of a document; deleted documents are reported too,
// with the revision of their deletion.
func (s *Server) Document(documentID string) (doc drivesync.Document, deleted bool, err error) {
	s.mu.RLock()
	r, ok := s.docs[documentID]
	base := s.baseURL
	s.mu.RUnlock()
	if !ok {
		return drivesync.Document{}, false, fmt.Errorf("get document %s: %w", documentID, ErrUnknownDocument)
	}
	return r.document(base), r.deleted, nil
}

// WriteContent streams the content of the current revision of a document to w, as the content
// endpoint would send it. It fails with ErrUnknownDocument for unknown and deleted documents.
func (s *Server) WriteContent(w io.Writer, documentID string) error {
	s.mu.RLock()
	r, ok := s.docs[documentID]
	s.mu.RUnlock()
	if !ok || r.deleted {
		return fmt.Errorf("write content of %s: %w", documentID, ErrUnknownDocument)
	}
	if err := r.writeContent(w); err != nil {
		return fmt.Errorf("write content of %s: %w", documentID, err)
	}
	return nil
}

// page returns up to n (all if n < 0) live records of a company with ids after after.
func (s *Server) page(companyID, after string, n int) ([]*record, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	co, ok := s.companies[companyID]
	if !ok {
		return nil, "", fmt.Errorf("list %s: %w", companyID, ErrUnknownCompany)
	}
	i := 0
	if after != "" {
		j, found := slices.BinarySearch(co.live, after)
		if found {
			j++
		}
		i = j
	}
	ids := co.live[i:]
	if n >= 0 && n < len(ids) {
		ids = ids[:n]
	}
	recs := make([]*record, len(ids))
	for k, id := range ids {
		recs[k] = s.docs[id]
	}
	return recs, s.baseURL, nil
}

// Upsert describes a new revision of a document. For an existing document, zero fields keep
// their current value; every upsert makes a new revision with new content.
type Upsert struct {
	Kind        drivesync.Kind `json:"kind,omitempty"`
	Number      string         `json:"number,omitempty"`
	Date        string         `json:"date,omitempty"`
	Title       string         `json:"title,omitempty"`
	FileName    string         `json:"fileName,omitempty"`
	AmountCents int64          `json:"amountCents,omitempty"`
	// Size is the approximate size of the generated PDF; zero keeps the current one (or 8 KB).
	Size int64 `json:"size,omitempty"`
	// Content, when set, is served as is instead of a generated PDF, with ContentType.
	Content     []byte `json:"content,omitempty"`
	ContentType string `json:"contentType,omitempty"`
}

// maxUpsertSize bounds a generated document; it is streamed, but the digest still costs time.
const maxUpsertSize = 1 << 30

// Upsert creates a document or makes a new revision of it, and returns the document.upserted
// event eFactori would publish. It fails with ErrUnknownCompany, ErrConflict (the id belongs to
// another company) or ErrInvalid.
func (s *Server) Upsert(companyID, documentID string, u Upsert) (drivesync.Event, error) {
	p, err := s.upsert(companyID, documentID, u)
	if err != nil {
		return drivesync.Event{}, err
	}
	return p.event(), nil
}

func (s *Server) upsert(companyID, documentID string, u Upsert) (pendingEvent, error) {
	if u.Size < 0 || u.Size > maxUpsertSize {
		return pendingEvent{}, fmt.Errorf("upsert %s: %w: size must be between 0 and %d", documentID, ErrInvalid, maxUpsertSize)
	}
	if (u.Content == nil) != (u.ContentType == "") {
		return pendingEvent{}, fmt.Errorf("upsert %s: %w: content and contentType go together", documentID, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	co, ok := s.companies[companyID]
	if !ok {
		return pendingEvent{}, fmt.Errorf("upsert %s: %w %s", documentID, ErrUnknownCompany, companyID)
	}
	d := draft{doc: drivesync.Document{ID: documentID, Revision: 1, ContentType: "application/pdf"}, targetSize: 8 << 10}
	old, exists := s.docs[documentID]
	if exists {
		if old.companyID != companyID {
			return pendingEvent{}, fmt.Errorf("upsert %s: %w: the document belongs to another company", documentID, ErrConflict)
		}
		d = draft{doc: old.doc, amountCents: old.amountCents, targetSize: old.targetSize}
		d.doc.Revision = old.doc.Revision + 1
		d.doc.ContentType = "application/pdf" // unless new raw content comes with its own type
	}
	setIf := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	if u.Kind != "" {
		d.doc.Kind = u.Kind
	}
	setIf(&d.doc.Number, u.Number)
	setIf(&d.doc.Date, u.Date)
	setIf(&d.doc.Title, u.Title)
	setIf(&d.doc.FileName, u.FileName)
	if u.AmountCents != 0 {
		d.amountCents = u.AmountCents
	}
	if u.Size != 0 {
		d.targetSize = u.Size
	}
	if u.Content != nil {
		d.raw = u.Content
		d.doc.ContentType = u.ContentType
	}
	if d.doc.FileName == "" && d.doc.Number != "" && d.raw == nil {
		d.doc.FileName = d.doc.Number + ".pdf"
	}
	// Check with placeholders for what the store fills in, so only the caller's fields can fail.
	check := d.doc
	check.SHA256, check.ContentURL = strings.Repeat("0", 64), "http://placeholder"
	if err := check.Validate(); err != nil {
		return pendingEvent{}, fmt.Errorf("upsert %s: %w: %w", documentID, ErrInvalid, err)
	}
	r := s.newRecord(co, d)
	s.docs[documentID] = r
	if i, found := slices.BinarySearch(co.live, documentID); !found {
		co.live = slices.Insert(co.live, i, documentID)
	}
	return s.event(drivesync.EventUpserted, r), nil
}

// Delete deletes a document and returns the document.deleted event eFactori would publish. The
// event carries the document as it was, with its revision incremented, so the deletion orders
// after every earlier upsert. It fails with ErrUnknownCompany or ErrUnknownDocument.
func (s *Server) Delete(companyID, documentID string) (drivesync.Event, error) {
	p, err := s.delete(companyID, documentID)
	if err != nil {
		return drivesync.Event{}, err
	}
	return p.event(), nil
}

func (s *Server) delete(companyID, documentID string) (pendingEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	co, ok := s.companies[companyID]
	if !ok {
		return pendingEvent{}, fmt.Errorf("delete %s: %w %s", documentID, ErrUnknownCompany, companyID)
	}
	old, ok := s.docs[documentID]
	if !ok || old.companyID != companyID || old.deleted {
		return pendingEvent{}, fmt.Errorf("delete %s: %w", documentID, ErrUnknownDocument)
	}
	r := &record{}
	*r = *old
	r.deleted = true
	r.doc.Revision++
	r.digest = old.digest // the deleted revision has no content; the event describes the last one
	s.docs[documentID] = r
	if i, found := slices.BinarySearch(co.live, documentID); found {
		co.live = slices.Delete(co.live, i, i+1)
	}
	return s.event(drivesync.EventDeleted, r), nil
}

// pendingEvent is an event whose document is not filled in yet: that may hash a large file,
// which must not happen under s.mu.
type pendingEvent struct {
	e    drivesync.Event
	r    *record
	base string
}

func (p pendingEvent) event() drivesync.Event {
	p.e.Document = p.r.document(p.base)
	return p.e
}

// event must be called with s.mu held.
func (s *Server) event(eventType string, r *record) pendingEvent {
	return pendingEvent{
		e: drivesync.Event{
			SchemaVersion: drivesync.SchemaVersion,
			EventID:       s.newID(),
			EventType:     eventType,
			OccurredAt:    s.now().UTC(),
			CompanyID:     r.companyID,
		},
		r:    r,
		base: s.baseURL,
	}
}

// FailContent makes the next n content requests fail with status (4xx or 5xx) before any
// content is sent. It replaces an earlier failure setting.
func (s *Server) FailContent(n, status int) error {
	if n < 0 || status < 400 || status > 599 {
		return fmt.Errorf("fail content: %w: n must be ≥ 0 and status 4xx or 5xx", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failLeft, s.faults.failStatus = n, status
	return nil
}

// DelayContent makes the next n content requests wait d before answering (or until the client
// gives up). It replaces an earlier delay setting.
func (s *Server) DelayContent(n int, d time.Duration) error {
	if n < 0 || d < 0 {
		return fmt.Errorf("delay content: %w: n and d must be ≥ 0", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.delayLeft, s.faults.delay = n, d
	return nil
}

// ResetFaults cancels every injected failure and delay.
func (s *Server) ResetFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = faults{}
}

// takeFault consumes one injected failure and one delay, if any are left.
func (s *Server) takeFault() (status int, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.failLeft > 0 {
		s.faults.failLeft--
		status = s.faults.failStatus
	}
	if s.faults.delayLeft > 0 {
		s.faults.delayLeft--
		delay = s.faults.delay
	}
	return status, delay
}

// Requests returns how many requests an endpoint has received, rejected ones included.
func (s *Server) Requests(e Endpoint) int64 {
	if c, ok := s.counters[e]; ok {
		return c.Load()
	}
	return 0
}

// authorized reports whether r carries the dev token, in constant time.
func (s *Server) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.devToken)) == 1
}
