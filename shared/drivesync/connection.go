package drivesync

import (
	"errors"
	"time"
)

// Status is where a connection stands in its lifecycle.
type Status string

// The statuses of a connection.
const (
	// StatusAwaitingAuthorization: created; the customer has not consented on Google's screen yet.
	StatusAwaitingAuthorization Status = "awaiting_authorization"
	// StatusAwaitingFolder: consented; the customer has not chosen the target folder yet.
	StatusAwaitingFolder Status = "awaiting_folder"
	// StatusActive: documents are being copied.
	StatusActive Status = "active"
	// StatusNeedsReauthorization: Google refused the grant (revoked or expired); consent again.
	StatusNeedsReauthorization Status = "needs_reauthorization"
	// StatusError: the customer must act in Drive (target folder gone, quota, permissions).
	StatusError Status = "error"
)

// FolderLayout is how documents are arranged under the company folder.
type FolderLayout string

// The three folder layouts a customer chooses from.
const (
	LayoutYear      FolderLayout = "year"       // <company>/<year>/<file>
	LayoutYearMonth FolderLayout = "year_month" // <company>/<year>/<MM>/<file>
	LayoutYearKind  FolderLayout = "year_kind"  // <company>/<year>/<kind label>/<file>
)

// Valid reports whether l is one of the three layouts.
func (l FolderLayout) Valid() bool {
	return l == LayoutYear || l == LayoutYearMonth || l == LayoutYearKind
}

// Locale picks the language of kind folder labels.
type Locale string

// The supported locales; French is the default.
const (
	LocaleFR Locale = "fr"
	LocaleNL Locale = "nl"
	LocaleEN Locale = "en"
)

// Valid reports whether l is a supported locale.
func (l Locale) Valid() bool { return l == LocaleFR || l == LocaleNL || l == LocaleEN }

// OnDelete says what happens in Drive when a document is deleted in eFactori.
type OnDelete string

// The deletion policies; keep is the default, Drive being a backup.
const (
	OnDeleteKeep  OnDelete = "keep"
	OnDeleteTrash OnDelete = "trash"
)

// Target is the Drive folder a connection copies into, chosen by the customer.
type Target struct {
	FolderID string
	DriveID  string   // empty for My Drive
	Path     []string // folder names from the Drive root down to the target, for display
	// CompanyFolderID is the <company name> folder drivesync created (or reused) inside FolderID.
	CompanyFolderID string
}

// CopyState is the progress of a connection's initial copy.
type CopyState string

// The states of an initial copy.
const (
	CopyNone    CopyState = ""
	CopyPending CopyState = "pending" // requested; the copy engine has not started it
	CopyRunning CopyState = "running"
	CopyDone    CopyState = "done"
	// CopyFailed: eFactori's document list could not be read for good (the connection's
	// lastError says why); documents already copied stay, a resync starts over.
	CopyFailed CopyState = "failed"
)

// CodeCopyFailed is the lastError code of a connection whose initial copy failed; a new run
// clears it.
const CodeCopyFailed = "initial_copy_failed"

// RunKind is why a run was started; status events report it when the run ends.
type RunKind string

// The kinds of run.
const (
	RunFirstCopy    RunKind = "first_copy"    // a target folder was chosen
	RunResync       RunKind = "resync"        // the customer asked to copy everything again, or switched the integration back on
	RunReconsent    RunKind = "reconsent"     // a new consent after the grant was refused
	RunLayoutChange RunKind = "layout_change" // the folder layout or the locale changed
	RunScheduled    RunKind = "scheduled"     // the daily reconcile
)

// InitialCopy is the progress of copying every existing document once.
type InitialCopy struct {
	State      CopyState
	RunID      string // a resync starts a new run, superseding the previous one
	Kind       RunKind
	Listed     int
	Synced     int
	Failed     int
	StartedAt  time.Time
	FinishedAt time.Time
}

// LastError is the most recent failure that needs the customer's attention, in plain words.
type LastError struct {
	Code    string
	Message string
	At      time.Time
}

// Connection is one Google Drive a company copies its documents into.
type Connection struct {
	ID                 string
	CompanyID          string
	Name               string
	FolderLayout       FolderLayout
	Locale             Locale
	OnDelete           OnDelete
	Status             Status
	GoogleAccountEmail string
	Target             Target
	InitialCopy        InitialCopy
	LastSyncAt         time.Time
	LastError          *LastError
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Limits on what a customer names things.
const (
	MaxConnectionNameLength = 100 // characters
	MaxFolderNameLength     = 255 // characters
)

// Errors the connection service returns; the HTTP layer maps each to one problem type.
var (
	// ErrNotFound: no such resource in the caller's company (another company's looks the same).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request clashes with existing state (a duplicate name, a wrong status).
	ErrConflict = errors.New("conflict")
	// ErrInvalidState: an OAuth state that is unknown, expired, replayed or tampered with.
	ErrInvalidState = errors.New("invalid or expired authorization state")
)
