// Package config loads each function's configuration from its environment and checks it, so a
// misconfigured deployment fails at its first request with every problem listed at once.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Lookup reads one environment variable; os.LookupEnv in production, a map in tests.
type Lookup func(name string) (value string, ok bool)

// Environment is the production Lookup.
var Environment Lookup = os.LookupEnv

// Variable documents one environment variable. Variables lists them all, so README.md and the
// Terraform drift test can be checked against the code.
type Variable struct {
	Name        string
	Required    bool
	Default     string
	Functions   []string // entry points that read it
	Secret      bool     // comes from Secret Manager in production, never a plain variable
	Description string
}

// Entry point names, as registered in the root package and deployed by Terraform.
const (
	FunctionConnections   = "Connections"
	FunctionOAuthCallback = "OAuthCallback"
	// FunctionSyncDocument copies documents into Drive: triggered by TopicDocumentEvents and
	// TopicCopyTasks.
	FunctionSyncDocument = "SyncDocument"
	// FunctionInitialCopy fans an initial copy or a reconcile run out page by page, and starts
	// the scheduled reconcile runs: triggered by TopicCopyRequests.
	FunctionInitialCopy = "InitialCopy"
)

// Pub/Sub topics drivesync is triggered by or publishes to. Terraform creates them (eFactori's
// may already exist) and a test keeps the two in step.
const (
	// TopicDocumentEvents carries eFactori's document events (docs/efactori-contract.md).
	TopicDocumentEvents = "efactori-document-events"
	// TopicCopyRequests asks for one page of a connection's initial copy or reconcile run; Cloud
	// Scheduler's scheduled request, which starts a reconcile run of every active connection,
	// comes the same way.
	TopicCopyRequests = "drivesync-copy-requests"
	// TopicCopyTasks carries one document to copy to one connection.
	TopicCopyTasks = "drivesync-copy-tasks"
	// TopicStatusEvents carries drivesync's status events for eFactori: a connection's status
	// changed or one of its runs ended (docs/status-events.md, shared/statusevent).
	TopicStatusEvents = "drivesync-status-events"
)

// Variables lists every environment variable drivesync reads.
var Variables = []Variable{
	{Name: "GOOGLE_CLOUD_PROJECT", Required: true, Functions: allFunctions,
		Description: "Google Cloud project ID; selects the Firestore database and qualifies trace IDs in logs."},
	{Name: "LOG_LEVEL", Default: "INFO", Functions: allFunctions,
		Description: "Lowest log severity written: DEBUG, INFO, WARNING or ERROR."},
	{Name: "FIRESTORE_DATABASE", Default: "(default)", Functions: allFunctions,
		Description: "Firestore database ID."},
	{Name: "EFACTORI_ISSUER", Required: true, Functions: []string{FunctionConnections},
		Description: "Issuer URL of the eFactori tokens the frontend sends; its OIDC discovery document gives the signing keys."},
	{Name: "EFACTORI_AUDIENCE", Required: true, Functions: []string{FunctionConnections},
		Description: "Audience (aud) eFactori tokens must carry to be accepted."},
	{Name: "FRONTEND_ORIGINS", Required: true, Functions: []string{FunctionConnections},
		Description: "Comma-separated origins (scheme://host[:port]) allowed to call the API from a browser (CORS)."},
	{Name: "MAX_CONNECTIONS_PER_COMPANY", Default: "20", Functions: []string{FunctionConnections},
		Description: "Most Google Drive connections one company may have, 1 to 100; POST /v1/connections beyond it answers 409 connection-limit-reached."},
	{Name: "PICKER_APP_ID", Functions: []string{FunctionConnections},
		Description: "Cloud project number of the OAuth client, the Google Picker's app ID (setAppId), without which a picked folder is not granted to drivesync. Required with DRIVE_SCOPE=drive.file, refused otherwise."},
	{Name: "PICKER_API_KEY", Functions: []string{FunctionConnections},
		Description: "Browser API key of the same project with the Google Picker API enabled, restricted to the frontend's origins (setDeveloperKey); not a secret, the browser gets it. Required with DRIVE_SCOPE=drive.file, refused otherwise."},
	{Name: "FRONTEND_URL", Required: true, Functions: []string{FunctionOAuthCallback},
		Description: "eFactori page the OAuth callback sends the browser back to, with ?connection=<id>&result=ok|denied|error."},
	{Name: "OAUTH_CLIENT_ID", Required: true, Functions: googleFunctions,
		Description: "Google OAuth client ID (a Web application client)."},
	{Name: "OAUTH_CLIENT_SECRET", Required: true, Secret: true, Functions: googleFunctions,
		Description: "Google OAuth client secret; from Secret Manager in production."},
	{Name: "OAUTH_REDIRECT_URL", Required: true, Functions: googleFunctions,
		Description: "URL of the OAuthCallback function, registered as an authorized redirect URI on the OAuth client; the authorization links the API returns are this URL followed by /start."},
	{Name: "DRIVE_SCOPE", Default: "drive", Functions: googleFunctions,
		Description: "drive (browse and pick folders in the app; a restricted scope that needs Google's verification) or drive.file (folders picked with the Google Picker)."},
	{Name: "TOKEN_KEYSET", Required: true, Secret: true, Functions: googleFunctions,
		Description: "Tink keyset (JSON) that encrypts refresh tokens, itself encrypted under TOKEN_KEK_URI; from Secret Manager in production."},
	{Name: "TOKEN_KEK_URI", Functions: googleFunctions,
		Description: "Cloud KMS key wrapping TOKEN_KEYSET (gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K). Empty only with TOKEN_KEYSET_CLEARTEXT=true."},
	{Name: "TOKEN_KEYSET_CLEARTEXT", Default: "false", Functions: googleFunctions,
		Description: "true accepts a cleartext TOKEN_KEYSET; for local development only."},
	{Name: "GOOGLE_EMULATOR_URL", Functions: googleFunctions,
		Description: "Base URL of the project's Google OAuth + Drive emulator (local/); when set, Google is never called. Local only."},
	{Name: "EFACTORI_DOCUMENTS_URL", Required: true, Functions: copyFunctions,
		Description: "Base URL of eFactori's document API (docs/efactori-contract.md), e.g. https://api.efactori.example."},
	{Name: "EFACTORI_API_AUDIENCE", Functions: copyFunctions,
		Description: "Audience of the Google ID token the functions present to eFactori's document API. Required unless EFACTORI_DEV_TOKEN is set (local only)."},
	{Name: "EFACTORI_DEV_TOKEN", Secret: true, Functions: copyFunctions,
		Description: "Static bearer token for the eFactori stand-in (local/efactori) instead of an ID token. Local only."},
	{Name: "MAX_EVENT_AGE", Default: "24h", Functions: []string{FunctionSyncDocument},
		Description: "Document events older than this (a Go duration) are dropped and recorded as failed instead of being applied."},
	{Name: "DOCUMENT_LEASE", Default: "20s", Functions: copyFunctions,
		Description: "How long a delivery that died keeps a document locked (a Go duration, at most a few minutes); a live one extends its lease every third of it."},
	{Name: "DRIVE_WRITES_PER_SECOND", Default: "3", Functions: pacedFunctions,
		Description: "Drive writes per second per Google account, across every instance, connection and company writing to it (per connection and instance with DRIVE_PACING=instance); Drive allows about 3 sustained writes per second per user."},
	{Name: "DRIVE_PACING", Default: PacingAccount, Functions: pacedFunctions,
		Description: "account: one write budget per Google account shared by the whole fleet, leased in batches from Firestore (driveAccounts/{sha256}); instance: a token bucket per connection in each instance, as before (for comparison only: K instances send K times the rate)."},
	{Name: "DRIVE_BUDGET_WAIT", Default: "5s", Functions: pacedFunctions,
		Description: "How long a copy task waits in place for its Google account's next write slot before it is answered busy and left to Pub/Sub's backoff (a Go duration up to 10s, below the subscription's minimum backoff); live document events may wait 2.5 s longer."},
	{Name: "COPY_WINDOW", Default: CopyWindowAuto, Functions: []string{FunctionInitialCopy},
		Description: "Drive writes of a run's copy tasks published ahead of its progress (a task weighs one write plus the layout folders it is the first to need): auto (what the Google account writes in 3 s, or in DRIVE_BUDGET_WAIT if shorter, published at its pace and divided among the runs copying to it, at least 2 tasks), a number from 1 to 1000000, or all (every task at once, the design before windows)."},
	{Name: "COPY_PAGE_SIZE", Default: "500", Functions: []string{FunctionInitialCopy},
		Description: "Documents asked of eFactori per list call while a run reconciles (1–1000)."},
	{Name: "STALL_TIMEOUT", Default: "2m", Functions: []string{FunctionInitialCopy},
		Description: "How long an initial copy or reconcile run may make no progress, with documents left, before drivesync publishes its remaining copy tasks again; after 3 such repairs without progress the run ends failed."},
}

var (
	allFunctions    = []string{FunctionConnections, FunctionOAuthCallback, FunctionSyncDocument, FunctionInitialCopy}
	googleFunctions = []string{FunctionConnections, FunctionOAuthCallback, FunctionSyncDocument, FunctionInitialCopy}
	copyFunctions   = []string{FunctionSyncDocument, FunctionInitialCopy}
	// pacedFunctions write to Drive, so they share each Google account's write budget: the
	// copies, and the connection API's folder creations.
	pacedFunctions = []string{FunctionConnections, FunctionSyncDocument, FunctionInitialCopy}
)

// DRIVE_PACING values.
const (
	PacingAccount  = "account"
	PacingInstance = "instance"
)

// COPY_WINDOW's words; CopyWindow holds 0 for auto and -1 for all.
const (
	CopyWindowAuto = "auto"
	CopyWindowAll  = "all"
	maxCopyWindow  = 1000000
)

// MaxBudgetWait is the longest DRIVE_BUDGET_WAIT: the subscriptions' minimum retry backoff
// (terraform/delivery.json), past which waiting in place costs more than a redelivery.
const MaxBudgetWait = 10 * time.Second

// Common is read by every function.
type Common struct {
	ProjectID         string
	LogLevel          slog.Level
	FirestoreDatabase string
}

// Google configures the OAuth client, Drive access and token encryption, which every function
// needs: the API starts consents and browses folders, the callback finishes consents,
// SyncDocument writes documents to Drive and InitialCopy reads a connection's Drive to reconcile
// it.
type Google struct {
	OAuthClientID     string
	OAuthClientSecret string
	OAuthRedirectURL  string
	// DriveScope is "drive" or "drive.file".
	DriveScope string
	// TokenKeyset, TokenKEKURI and TokenKeysetCleartext say how refresh tokens are encrypted.
	TokenKeyset          string
	TokenKEKURI          string
	TokenKeysetCleartext bool
	// EmulatorURL, when set, points OAuth and Drive at the local emulator.
	EmulatorURL string
}

// Connections configures the Connections HTTP function.
type Connections struct {
	Common
	Google
	EFactoriIssuer   string
	EFactoriAudience string
	FrontendOrigins  []string
	// MaxConnectionsPerCompany caps each company's connections.
	MaxConnectionsPerCompany int
	// PickerAppID and PickerAPIKey open the Google Picker (DriveScope drive.file only): the
	// project number and a browser API key of the OAuth client's project.
	PickerAppID  string
	PickerAPIKey string
	// WritesPerSecond, Pacing and BudgetWait pace the folders the API creates as the copies
	// are paced: by the Google account's write budget.
	WritesPerSecond float64
	Pacing          string
	BudgetWait      time.Duration
}

// MaxConnectionsLimit is the largest MAX_CONNECTIONS_PER_COMPANY: the list of a company's
// connections is not paginated, and the cap is what keeps it small.
const MaxConnectionsLimit = 100

// LoadConnections reads and validates the Connections function's configuration.
func LoadConnections(lookup Lookup) (Connections, error) {
	r := reader{lookup: lookup}
	c := Connections{
		Common:           r.common(),
		Google:           r.google(),
		EFactoriIssuer:   r.url("EFACTORI_ISSUER"),
		EFactoriAudience: r.required("EFACTORI_AUDIENCE"),
		FrontendOrigins:  r.origins("FRONTEND_ORIGINS"),

		MaxConnectionsPerCompany: r.intRange("MAX_CONNECTIONS_PER_COMPANY", 1, MaxConnectionsLimit),
		WritesPerSecond:          r.rate("DRIVE_WRITES_PER_SECOND"),
		Pacing:                   r.pacing(),
		BudgetWait:               r.budgetWait(),
	}
	c.PickerAppID, c.PickerAPIKey = r.picker(c.DriveScope)
	if err := r.err(); err != nil {
		return Connections{}, fmt.Errorf("load %s config: %w", FunctionConnections, err)
	}
	return c, nil
}

// OAuthCallback configures the OAuthCallback HTTP function.
type OAuthCallback struct {
	Common
	Google
	FrontendURL string
}

// LoadOAuthCallback reads and validates the OAuthCallback function's configuration.
func LoadOAuthCallback(lookup Lookup) (OAuthCallback, error) {
	r := reader{lookup: lookup}
	c := OAuthCallback{
		Common:      r.common(),
		Google:      r.google(),
		FrontendURL: r.url("FRONTEND_URL"),
	}
	if err := r.err(); err != nil {
		return OAuthCallback{}, fmt.Errorf("load %s config: %w", FunctionOAuthCallback, err)
	}
	return c, nil
}

// Documents configures access to eFactori's document API: in production every request carries a
// Google ID token for Audience; locally a static DevToken for the stand-in.
type Documents struct {
	URL      string
	Audience string
	DevToken string
}

// SyncDocument configures the SyncDocument event function, which copies documents into Drive
// for document events and copy tasks.
type SyncDocument struct {
	Common
	Google
	Documents
	MaxEventAge     time.Duration
	DocumentLease   time.Duration
	WritesPerSecond float64
	// Pacing is PacingAccount or PacingInstance.
	Pacing string
	// BudgetWait is DRIVE_BUDGET_WAIT.
	BudgetWait time.Duration
}

// LoadSyncDocument reads and validates the SyncDocument function's configuration.
func LoadSyncDocument(lookup Lookup) (SyncDocument, error) {
	r := reader{lookup: lookup}
	c := SyncDocument{
		Common:          r.common(),
		Google:          r.google(),
		Documents:       r.documents(),
		MaxEventAge:     r.duration("MAX_EVENT_AGE"),
		DocumentLease:   r.duration("DOCUMENT_LEASE"),
		WritesPerSecond: r.rate("DRIVE_WRITES_PER_SECOND"),
		Pacing:          r.pacing(),
		BudgetWait:      r.budgetWait(),
	}
	if err := r.err(); err != nil {
		return SyncDocument{}, fmt.Errorf("load %s config: %w", FunctionSyncDocument, err)
	}
	return c, nil
}

// InitialCopy configures the InitialCopy event function, which runs initial copies and
// reconcile runs: it lists a company's documents a page at a time and publishes a copy task per
// document, and for a reconcile it takes an inventory of the connection's Drive, trashes stray
// duplicate files and records mappings. It reaches Drive with the connection's refresh token,
// so it needs the Google configuration, the document lease and the Drive write rate as
// SyncDocument does.
type InitialCopy struct {
	Common
	Google
	Documents
	PageSize        int
	DocumentLease   time.Duration
	WritesPerSecond float64
	// StallTimeout is how long a run may make no progress before its remaining copy tasks are
	// published again.
	StallTimeout time.Duration
	// Pacing is PacingAccount or PacingInstance.
	Pacing string
	// CopyWindow is COPY_WINDOW: 0 for auto, -1 for all, else the number of tasks.
	CopyWindow int
	// BudgetWait is DRIVE_BUDGET_WAIT.
	BudgetWait time.Duration
}

// MaxPageSize is the largest COPY_PAGE_SIZE: eFactori's largest page.
const MaxPageSize = 1000

// LoadInitialCopy reads and validates the InitialCopy function's configuration.
func LoadInitialCopy(lookup Lookup) (InitialCopy, error) {
	r := reader{lookup: lookup}
	c := InitialCopy{
		Common:          r.common(),
		Google:          r.google(),
		Documents:       r.documents(),
		PageSize:        r.intRange("COPY_PAGE_SIZE", 1, MaxPageSize),
		DocumentLease:   r.duration("DOCUMENT_LEASE"),
		WritesPerSecond: r.rate("DRIVE_WRITES_PER_SECOND"),
		StallTimeout:    r.duration("STALL_TIMEOUT"),
		Pacing:          r.pacing(),
		CopyWindow:      r.copyWindow(),
		BudgetWait:      r.budgetWait(),
	}
	if err := r.err(); err != nil {
		return InitialCopy{}, fmt.Errorf("load %s config: %w", FunctionInitialCopy, err)
	}
	return c, nil
}

func (r *reader) documents() Documents {
	d := Documents{URL: r.url("EFACTORI_DOCUMENTS_URL")}
	d.Audience, _ = r.get("EFACTORI_API_AUDIENCE")
	d.DevToken, _ = r.get("EFACTORI_DEV_TOKEN")
	switch {
	case d.Audience == "" && d.DevToken == "":
		r.fail("EFACTORI_API_AUDIENCE", "is required (or EFACTORI_DEV_TOKEN, for local runs only)")
	case d.Audience != "" && d.DevToken != "":
		r.fail("EFACTORI_DEV_TOKEN", "must not be set with EFACTORI_API_AUDIENCE: it is for local runs only")
	}
	return d
}

// picker reads the Google Picker's settings, which only the drive.file scope uses: there they
// are required, elsewhere refused, so a deployment cannot believe it picks while it browses.
func (r *reader) picker(driveScope string) (appID, apiKey string) {
	if driveScope != "drive.file" {
		for _, name := range []string{"PICKER_APP_ID", "PICKER_API_KEY"} {
			if _, ok := r.get(name); ok {
				r.fail(name, "is used only with DRIVE_SCOPE=drive.file, not %q", driveScope)
			}
		}
		return "", ""
	}
	appID, apiKey = r.required("PICKER_APP_ID"), r.required("PICKER_API_KEY")
	if appID != "" && !isProjectNumber(appID) {
		r.fail("PICKER_APP_ID", "must be the Cloud project number (digits), not %q", appID)
	}
	if strings.ContainsFunc(apiKey, func(c rune) bool { return c <= ' ' || c > '~' }) {
		r.fail("PICKER_API_KEY", "must be printable ASCII without spaces")
	}
	return appID, apiKey
}

func isProjectNumber(s string) bool {
	if len(s) > 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func (r *reader) duration(name string) time.Duration {
	v := r.optional(name)
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, "must be a positive Go duration such as 24h or 90m, not %q", v)
		return 0
	}
	return d
}

func (r *reader) rate(name string) float64 {
	v := r.optional(name)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1000 {
		r.fail(name, "must be a number above 0 and at most 1000, not %q", v)
		return 0
	}
	return f
}

func (r *reader) pacing() string {
	v := r.optional("DRIVE_PACING")
	if v != PacingAccount && v != PacingInstance {
		r.fail("DRIVE_PACING", "must be %s or %s, not %q", PacingAccount, PacingInstance, v)
		return ""
	}
	return v
}

func (r *reader) budgetWait() time.Duration {
	d := r.duration("DRIVE_BUDGET_WAIT")
	if d > MaxBudgetWait {
		r.fail("DRIVE_BUDGET_WAIT", "must be at most %v (the subscriptions' minimum retry backoff), not %v", MaxBudgetWait, d)
		return 0
	}
	return d
}

func (r *reader) copyWindow() int {
	switch v := r.optional("COPY_WINDOW"); v {
	case CopyWindowAuto:
		return 0
	case CopyWindowAll:
		return -1
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxCopyWindow {
			r.fail("COPY_WINDOW", "must be %s, %s or an integer from 1 to %d, not %q", CopyWindowAuto, CopyWindowAll, maxCopyWindow, v)
			return 0
		}
		return n
	}
}

func (r *reader) intRange(name string, lo, hi int) int {
	v := r.optional(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, "must be an integer from %d to %d, not %q", lo, hi, v)
		return 0
	}
	return n
}

func (r *reader) google() Google {
	g := Google{
		OAuthClientID:     r.required("OAUTH_CLIENT_ID"),
		OAuthClientSecret: r.required("OAUTH_CLIENT_SECRET"),
		OAuthRedirectURL:  r.url("OAUTH_REDIRECT_URL"),
		DriveScope:        r.optional("DRIVE_SCOPE"),
		TokenKeyset:       r.required("TOKEN_KEYSET"),
		TokenKEKURI:       r.optional("TOKEN_KEK_URI"),
	}
	if g.DriveScope != "drive" && g.DriveScope != "drive.file" {
		r.fail("DRIVE_SCOPE", "must be drive or drive.file, not %q", g.DriveScope)
	}
	switch v := r.optional("TOKEN_KEYSET_CLEARTEXT"); v {
	case "true":
		g.TokenKeysetCleartext = true
	case "false":
	default:
		r.fail("TOKEN_KEYSET_CLEARTEXT", "must be true or false, not %q", v)
	}
	if g.TokenKEKURI == "" && !g.TokenKeysetCleartext {
		r.fail("TOKEN_KEK_URI", "is required unless TOKEN_KEYSET_CLEARTEXT=true (development only)")
	}
	if g.TokenKEKURI != "" && !strings.HasPrefix(g.TokenKEKURI, "gcp-kms://projects/") {
		r.fail("TOKEN_KEK_URI", "must look like gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K")
	}
	if v, ok := r.get("GOOGLE_EMULATOR_URL"); ok {
		if u, err := url.Parse(v); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			r.fail("GOOGLE_EMULATOR_URL", "must be an absolute http(s) URL, not %q", v)
		} else {
			g.EmulatorURL = strings.TrimRight(v, "/")
		}
	}
	return g
}

// reader collects every problem instead of stopping at the first, so one deploy shows them all.
type reader struct {
	lookup Lookup
	errs   []error
}

func (r *reader) err() error { return errors.Join(r.errs...) }

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s %s", name, fmt.Sprintf(format, args...)))
}

func (r *reader) get(name string) (string, bool) {
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (r *reader) required(name string) string {
	v, ok := r.get(name)
	if !ok {
		r.fail(name, "is required")
	}
	return v
}

func (r *reader) optional(name string) string {
	if v, ok := r.get(name); ok {
		return v
	}
	for _, d := range Variables {
		if d.Name == name {
			return d.Default
		}
	}
	panic("config: undeclared variable " + name) // a programming error, caught by any test

}

func (r *reader) common() Common {
	c := Common{
		ProjectID:         r.required("GOOGLE_CLOUD_PROJECT"),
		FirestoreDatabase: r.optional("FIRESTORE_DATABASE"),
	}
	lvl := r.optional("LOG_LEVEL")
	if lvl == "WARNING" { // Cloud Logging's spelling
		lvl = "WARN"
	}
	if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
		r.fail("LOG_LEVEL", "must be DEBUG, INFO, WARNING or ERROR, not %q", lvl)
	}
	return c
}

func (r *reader) url(name string) string {
	v := r.required(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		r.fail(name, "must be an absolute http(s) URL, not %q", v)
		return ""
	}
	return v
}

func (r *reader) origins(name string) []string {
	var out []string
	for _, o := range strings.Split(r.required(name), ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			r.fail(name, "holds %q, which is not an origin like https://app.example.com", o)
			continue
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out
}
