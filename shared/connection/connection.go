// Package connection is drivesync's connection service: what a company does with its Google
// Drive connections, from creating one through Google's consent screen and the choice of a
// target folder to starting, restarting and ending the copy of its documents. It holds the rules
// (statuses, names, tenant scoping); Firestore, Google OAuth, Drive and Pub/Sub are reached
// through their adapters.
//
// Every method that takes a company ID reads and writes only that company's connections: an ID
// of another company's connection gets drivesync.ErrNotFound, exactly like an ID no one has.
package connection

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/oauth"
	"github.com/efactori/drivesync/shared/store"
	"github.com/efactori/drivesync/shared/tokencrypt"
)

// CopyStarter asks the copy engine to copy a connection's existing documents.
type CopyStarter interface {
	// StartCopy requests the initial copy of conn for run conn.InitialCopy.RunID. Its errors are
	// classified: drivesync.Retryable means the request may not have been sent.
	StartCopy(ctx context.Context, conn drivesync.Connection) error
}

// Options configure New.
type Options struct {
	Store  *store.Store
	OAuth  *oauth.Config
	Cipher *tokencrypt.Cipher
	// Drive holds the Drive endpoint override for the emulator; the zero value means Google.
	Drive drive.Options
	// DriveScope is "drive" (folders browsed in the app) or "drive.file" (folders picked with
	// the Google Picker, so Folders is unavailable).
	DriveScope string
	Copies     CopyStarter
	Logger     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID makes connection and run IDs; nil means NewID.
	NewID func() string
	// MaxConnections is the most connections a company may have (Create refuses more); 0 means
	// DefaultMaxConnections.
	MaxConnections int
	// WriteBudget paces the service's own Drive writes (a folder the customer creates, the
	// company folder of a new target) by their Google account's write budget, which the
	// account's copies draw from too; nil writes unpaced.
	WriteBudget WriteBudget
}

// WriteBudget waits for a slot of rec's Google account's Drive write budget: *pacing.Gate.
type WriteBudget interface {
	Wait(ctx context.Context, rec store.ConnectionRecord) error
}

// DefaultMaxConnections is how many connections a company may have unless configured otherwise:
// a few Drives per company is the use, and the cap keeps the unpaginated list small.
const DefaultMaxConnections = 20

// Service is the connection service. It is safe for concurrent use; create one per instance.
type Service struct {
	store     *store.Store
	oauth     *oauth.Config
	cipher    *tokencrypt.Cipher
	drive     drive.Options
	browse    bool
	copies    CopyStarter
	log       *slog.Logger
	now       func() time.Time
	newID     func() string
	maxConns  int
	budget    WriteBudget
	transport http.RoundTripper // shared by every connection's Drive client, to reuse connections

	targets sync.Map // company ID → *sync.Mutex serialising company-folder creation
	clients sync.Map // connection ID → driveEntry, the copy engine's Drive clients
}

// Results of an OAuth callback, passed on to the frontend.
const (
	ResultOK     = "ok"
	ResultDenied = "denied"
	ResultError  = "error"
)

// ErrFolderBrowsingUnavailable is returned by Folders when drivesync holds only the drive.file
// scope: it then sees only what it created or what the customer picked, so the folder must be
// chosen with the Google Picker.
var ErrFolderBrowsingUnavailable = errors.New("folder browsing is unavailable with the drive.file scope; pick the folder with the Google Picker")

var _ oauth.Persister = (*Service)(nil)

// New returns a Service; it reports every missing dependency at once.
func New(opts Options) (*Service, error) {
	var errs []error
	if opts.Store == nil {
		errs = append(errs, errors.New("nil store"))
	}
	if opts.OAuth == nil {
		errs = append(errs, errors.New("nil oauth config"))
	}
	if opts.Cipher == nil {
		errs = append(errs, errors.New("nil token cipher"))
	}
	if opts.Copies == nil {
		errs = append(errs, errors.New("nil copy starter"))
	}
	if opts.Logger == nil {
		errs = append(errs, errors.New("nil logger"))
	}
	if opts.DriveScope != "drive" && opts.DriveScope != "drive.file" {
		errs = append(errs, fmt.Errorf("drive scope must be drive or drive.file, not %q", opts.DriveScope))
	}
	if opts.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("max connections %d is negative", opts.MaxConnections))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new connection service: %w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = NewID
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = DefaultMaxConnections
	}
	return &Service{
		store: opts.Store, oauth: opts.OAuth, cipher: opts.Cipher, drive: opts.Drive,
		browse: opts.DriveScope == "drive", copies: opts.Copies, log: opts.Logger,
		now: opts.Now, newID: opts.NewID, maxConns: opts.MaxConnections, budget: opts.WriteBudget, transport: oauth.NewTransport(),
	}, nil
}

// idEncoding is lower-case base32 without padding: URL-safe, and unlike base64 it cannot make
// the __x__ IDs Firestore reserves.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random ID of 26 characters (128 bits), for connections and copy runs.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return idEncoding.EncodeToString(b)
}

// CreateInput is a new connection as the customer describes it.
type CreateInput struct {
	Name         string
	FolderLayout drivesync.FolderLayout
	Locale       drivesync.Locale // "" means French
}

// UpdateInput changes the fields that are set and leaves the others.
type UpdateInput struct {
	Name         *string
	FolderLayout *drivesync.FolderLayout
	Locale       *drivesync.Locale
	OnDelete     *drivesync.OnDelete
}

func fieldErr(field, reason string) error { return &drivesync.FieldError{Field: field, Reason: reason} }

// checkName returns name trimmed, or why it is not a valid name of at most max characters.
func checkName(field, name string, max int) (string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		return "", fieldErr(field, "is not valid UTF-8")
	case n == 0:
		return "", fieldErr(field, "is required")
	case n > max:
		return "", fieldErr(field, fmt.Sprintf("is longer than %d characters", max))
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", fieldErr(field, "contains control characters")
	}
	return name, nil
}

func checkLayout(l drivesync.FolderLayout) error {
	if !l.Valid() {
		return fieldErr("folderLayout", fmt.Sprintf("must be one of %q, %q or %q",
			drivesync.LayoutYear, drivesync.LayoutYearMonth, drivesync.LayoutYearKind))
	}
	return nil
}

func checkLocale(l drivesync.Locale) error {
	if !l.Valid() {
		return fieldErr("locale", fmt.Sprintf("must be one of %q, %q or %q", drivesync.LocaleFR, drivesync.LocaleNL, drivesync.LocaleEN))
	}
	return nil
}

func checkOnDelete(o drivesync.OnDelete) error {
	if o != drivesync.OnDeleteKeep && o != drivesync.OnDeleteTrash {
		return fieldErr("onDelete", fmt.Sprintf("must be %q or %q", drivesync.OnDeleteKeep, drivesync.OnDeleteTrash))
	}
	return nil
}

// Integration returns the company's integration switch and its number of connections.
func (s *Service) Integration(ctx context.Context, companyID string) (store.Integration, error) {
	return s.store.Integration(ctx, companyID)
}

// SetIntegration switches the company's integration on or off and returns it as it now is.
// Switching off keeps the connections; document events are ignored meanwhile. Switching back on
// starts a new run of every active connection, which copies what changed while it was off.
func (s *Service) SetIntegration(ctx context.Context, companyID string, enabled bool) (store.Integration, error) {
	before, err := s.store.Integration(ctx, companyID)
	if err != nil {
		return store.Integration{}, err
	}
	if err := s.store.SetIntegration(ctx, companyID, enabled); err != nil {
		return store.Integration{}, err
	}
	if enabled && !before.Enabled && before.ConnectionCount > 0 {
		if err := s.catchUp(ctx, companyID); err != nil {
			return store.Integration{}, err
		}
	}
	return s.store.Integration(ctx, companyID)
}

// catchUp starts a new run of each active connection of companyID. A connection whose target
// is gone turns to error on the way (Resync says so); that is the customer's to fix and does not
// fail the switch.
func (s *Service) catchUp(ctx context.Context, companyID string) error {
	recs, err := s.store.Connections(ctx, companyID)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if rec.Status != drivesync.StatusActive {
			continue // a new consent or folder choice starts its run
		}
		if _, err := s.Resync(ctx, companyID, rec.ID); err != nil {
			if c := drivesync.ClassOf(err); c == drivesync.NeedsCustomer || c == drivesync.NeedsReauthorization {
				s.log.WarnContext(ctx, "connection not caught up after the integration was switched on",
					"companyId", companyID, "connectionId", rec.ID, "err", err)
				continue
			}
			return fmt.Errorf("catch up connection %s: %w", rec.ID, err)
		}
	}
	return nil
}

// List returns the company's connections, oldest first.
func (s *Service) List(ctx context.Context, companyID string) ([]drivesync.Connection, error) {
	recs, err := s.store.Connections(ctx, companyID)
	if err != nil {
		return nil, err
	}
	out := make([]drivesync.Connection, 0, len(recs))
	for _, r := range recs {
		c, err := s.withProgress(ctx, r.Connection)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Create adds a connection awaiting the customer's consent and returns it with the URL of
// Google's consent page. companyName names the folder drivesync will create in the Drive. The
// name must be 1 to drivesync.MaxConnectionNameLength characters and unique in the company,
// case aside (drivesync.ErrNameTaken). A company that already has Options.MaxConnections
// connections gets a *drivesync.ConnectionLimitError, however many are created at once.
func (s *Service) Create(ctx context.Context, companyID, companyName string, in CreateInput) (drivesync.Connection, string, error) {
	var errs []error
	name, err := checkName("name", in.Name, drivesync.MaxConnectionNameLength)
	errs = append(errs, err, checkLayout(in.FolderLayout))
	if in.Locale == "" {
		in.Locale = drivesync.LocaleFR
	}
	errs = append(errs, checkLocale(in.Locale))
	if err := errors.Join(errs...); err != nil {
		return drivesync.Connection{}, "", err
	}
	now := s.now()
	rec := store.ConnectionRecord{Connection: drivesync.Connection{
		ID: s.newID(), CompanyID: companyID, Name: name, FolderLayout: in.FolderLayout, Locale: in.Locale,
		OnDelete: drivesync.OnDeleteKeep, Status: drivesync.StatusAwaitingAuthorization,
		CreatedAt: now, UpdatedAt: now,
	}}
	if err := s.store.CreateConnection(ctx, strings.TrimSpace(companyName), rec, s.maxConns); err != nil {
		return drivesync.Connection{}, "", err
	}
	s.log.InfoContext(ctx, "connection created", "companyId", companyID, "connectionId", rec.ID)
	authURL, err := s.authorize(ctx, rec.Connection)
	if err != nil {
		return drivesync.Connection{}, "", err
	}
	return rec.Connection, authURL, nil
}

// Get returns one connection of the company.
func (s *Service) Get(ctx context.Context, companyID, id string) (drivesync.Connection, error) {
	rec, err := s.store.Connection(ctx, companyID, id)
	if err != nil {
		return drivesync.Connection{}, err
	}
	return s.withProgress(ctx, rec.Connection)
}

// Update changes a connection's settings. When the folder layout or the locale of an active
// connection actually changes, what is already in Drive must move to the new folders: Update
// starts a new run, as Resync does, which the copy engine carries out as a reconcile (files are
// moved, not uploaded again); its progress shows in InitialCopy. Other changes, the same values
// again, or a connection that is not active start nothing (the run that makes a connection
// active copies with the settings of then). Should requesting the run fail, the settings are
// saved, the run stays pending, the error is returned, and Resync requests it anew.
func (s *Service) Update(ctx context.Context, companyID, id string, in UpdateInput) (drivesync.Connection, error) {
	var errs []error
	var name string
	if in.Name != nil {
		var err error
		name, err = checkName("name", *in.Name, drivesync.MaxConnectionNameLength)
		errs = append(errs, err)
	}
	if in.FolderLayout != nil {
		errs = append(errs, checkLayout(*in.FolderLayout))
	}
	if in.Locale != nil {
		errs = append(errs, checkLocale(*in.Locale))
	}
	if in.OnDelete != nil {
		errs = append(errs, checkOnDelete(*in.OnDelete))
	}
	if err := errors.Join(errs...); err != nil {
		return drivesync.Connection{}, err
	}
	runID := s.newID()
	var reorganise bool
	rec, err := s.store.UpdateConnection(ctx, companyID, id, func(r *store.ConnectionRecord) error {
		before := r.Connection
		if in.Name != nil {
			r.Name = name
		}
		if in.FolderLayout != nil {
			r.FolderLayout = *in.FolderLayout
		}
		if in.Locale != nil {
			r.Locale = *in.Locale
		}
		if in.OnDelete != nil {
			r.OnDelete = *in.OnDelete
		}
		reorganise = r.Status == drivesync.StatusActive &&
			(r.FolderLayout != before.FolderLayout || r.Locale != before.Locale)
		if reorganise {
			r.InitialCopy = drivesync.InitialCopy{State: drivesync.CopyPending, RunID: runID, Kind: drivesync.RunLayoutChange}
			if r.LastError != nil && r.LastError.Code == drivesync.CodeCopyFailed {
				r.LastError = nil
			}
		}
		return nil
	})
	if err != nil {
		return drivesync.Connection{}, err
	}
	if !reorganise {
		return rec.Connection, nil
	}
	s.log.InfoContext(ctx, "layout or locale changed: reconcile requested", "companyId", companyID, "connectionId", id,
		"folderLayout", rec.FolderLayout, "locale", rec.Locale, "runId", runID)
	return s.startCopy(ctx, rec.Connection)
}

// Delete ends a connection: it revokes drivesync's access at Google (unless another connection
// uses the same grant) and deletes the connection with everything drivesync kept about it. The
// files already copied stay in the customer's Drive.
func (s *Service) Delete(ctx context.Context, companyID, id string) error {
	rec, err := s.store.Connection(ctx, companyID, id)
	if err != nil {
		return err
	}
	if err := s.revoke(ctx, rec); err != nil {
		return err
	}
	if err := s.store.DeleteConnection(ctx, companyID, id); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "connection deleted", "companyId", companyID, "connectionId", id)
	return nil
}

// revoke ends rec's grant at Google. Google keeps ONE grant per Google account and OAuth client,
// whatever the number of refresh tokens it issued: revoking any of them ends it for every
// connection to that account, in this company or another. So when another connection holds a
// grant of the same account, nothing is revoked; the last one to go revokes it.
func (s *Service) revoke(ctx context.Context, rec store.ConnectionRecord) error {
	if !rec.HasGrant() {
		return nil
	}
	holders, err := s.store.GrantHolders(ctx, rec.GoogleSubject, 3)
	if err != nil {
		return fmt.Errorf("delete connection %s: %w", rec.ID, err)
	}
	for _, h := range holders {
		if h != (store.ConnectionKey{CompanyID: rec.CompanyID, ID: rec.ID}) {
			s.log.InfoContext(ctx, "grant kept: another connection uses the same google account",
				"companyId", rec.CompanyID, "connectionId", rec.ID)
			return nil
		}
	}
	rt, err := s.cipher.Decrypt(rec.RefreshToken, []byte(rec.ID))
	if err != nil {
		// Nothing to revoke with; the customer can still remove drivesync from their account.
		s.log.ErrorContext(ctx, "stored refresh token does not decrypt; grant not revoked",
			"companyId", rec.CompanyID, "connectionId", rec.ID, "err", err)
		return nil
	}
	err = s.oauth.Revoke(ctx, string(rt))
	switch drivesync.ClassOf(err) {
	case drivesync.Permanent:
		// Google refuses for good; deleting the connection must not depend on it.
		s.log.WarnContext(ctx, "grant not revoked", "companyId", rec.CompanyID, "connectionId", rec.ID, "err", err)
	default:
		if err != nil {
			return fmt.Errorf("delete connection %s: %w", rec.ID, err)
		}
		s.log.InfoContext(ctx, "grant revoked", "companyId", rec.CompanyID, "connectionId", rec.ID)
	}
	return nil
}
