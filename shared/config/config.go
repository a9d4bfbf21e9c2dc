// Package config loads each function's configuration from its environment and checks it, so a
// misconfigured deployment fails at its first request with every problem listed at once.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
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
)

// Pub/Sub topics drivesync is triggered by or publishes to. Terraform creates them (eFactori's
// may already exist) and a test keeps the two in step.
const (
	// TopicDocumentEvents carries eFactori's document events (docs/efactori-contract.md).
	TopicDocumentEvents = "efactori-document-events"
	// TopicCopyRequests asks for one page of a company's initial copy.
	TopicCopyRequests = "drivesync-copy-requests"
	// TopicCopyTasks carries one document to copy to one connection.
	TopicCopyTasks = "drivesync-copy-tasks"
)

// Variables lists every environment variable drivesync reads.
var Variables = []Variable{
	{Name: "GOOGLE_CLOUD_PROJECT", Required: true, Functions: httpFunctions,
		Description: "Google Cloud project ID; selects the Firestore database and qualifies trace IDs in logs."},
	{Name: "LOG_LEVEL", Default: "INFO", Functions: httpFunctions,
		Description: "Lowest log severity written: DEBUG, INFO, WARNING or ERROR."},
	{Name: "FIRESTORE_DATABASE", Default: "(default)", Functions: httpFunctions,
		Description: "Firestore database ID."},
	{Name: "EFACTORI_ISSUER", Required: true, Functions: []string{FunctionConnections},
		Description: "Issuer URL of the eFactori tokens the frontend sends; its OIDC discovery document gives the signing keys."},
	{Name: "EFACTORI_AUDIENCE", Required: true, Functions: []string{FunctionConnections},
		Description: "Audience (aud) eFactori tokens must carry to be accepted."},
	{Name: "FRONTEND_ORIGINS", Required: true, Functions: []string{FunctionConnections},
		Description: "Comma-separated origins (scheme://host[:port]) allowed to call the API from a browser (CORS)."},
	{Name: "FRONTEND_URL", Required: true, Functions: []string{FunctionOAuthCallback},
		Description: "eFactori page the OAuth callback sends the browser back to, with ?connection=<id>&result=ok|denied|error."},
	{Name: "OAUTH_CLIENT_ID", Required: true, Functions: httpFunctions,
		Description: "Google OAuth client ID (a Web application client)."},
	{Name: "OAUTH_CLIENT_SECRET", Required: true, Secret: true, Functions: httpFunctions,
		Description: "Google OAuth client secret; from Secret Manager in production."},
	{Name: "OAUTH_REDIRECT_URL", Required: true, Functions: httpFunctions,
		Description: "URL of the OAuthCallback function, registered as an authorized redirect URI on the OAuth client."},
	{Name: "DRIVE_SCOPE", Default: "drive", Functions: httpFunctions,
		Description: "drive (browse and pick folders in the app; a restricted scope that needs Google's verification) or drive.file (folders picked with the Google Picker)."},
	{Name: "TOKEN_KEYSET", Required: true, Secret: true, Functions: httpFunctions,
		Description: "Tink keyset (JSON) that encrypts refresh tokens, itself encrypted under TOKEN_KEK_URI; from Secret Manager in production."},
	{Name: "TOKEN_KEK_URI", Functions: httpFunctions,
		Description: "Cloud KMS key wrapping TOKEN_KEYSET (gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K). Empty only with TOKEN_KEYSET_CLEARTEXT=true."},
	{Name: "TOKEN_KEYSET_CLEARTEXT", Default: "false", Functions: httpFunctions,
		Description: "true accepts a cleartext TOKEN_KEYSET; for local development only."},
	{Name: "GOOGLE_EMULATOR_URL", Functions: httpFunctions,
		Description: "Base URL of the project's Google OAuth + Drive emulator (local/); when set, Google is never called. Local only."},
}

var httpFunctions = []string{FunctionConnections, FunctionOAuthCallback}

// Common is read by every function.
type Common struct {
	ProjectID         string
	LogLevel          slog.Level
	FirestoreDatabase string
}

// Google configures the OAuth client, Drive access and token encryption, which both HTTP
// functions need: the API starts consents and browses folders, the callback finishes consents.
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
}

// LoadConnections reads and validates the Connections function's configuration.
func LoadConnections(lookup Lookup) (Connections, error) {
	r := reader{lookup: lookup}
	c := Connections{
		Common:           r.common(),
		Google:           r.google(),
		EFactoriIssuer:   r.url("EFACTORI_ISSUER"),
		EFactoriAudience: r.required("EFACTORI_AUDIENCE"),
		FrontendOrigins:  r.origins("FRONTEND_ORIGINS"),
	}
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
