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
	Description string
}

// Entry point names, as registered in the root package and deployed by Terraform.
const (
	FunctionConnections = "Connections"
)

// Variables lists every environment variable drivesync reads.
var Variables = []Variable{
	{Name: "GOOGLE_CLOUD_PROJECT", Required: true, Functions: []string{FunctionConnections},
		Description: "Google Cloud project ID; selects the Firestore database and qualifies trace IDs in logs."},
	{Name: "LOG_LEVEL", Default: "INFO", Functions: []string{FunctionConnections},
		Description: "Lowest log severity written: DEBUG, INFO, WARNING or ERROR."},
	{Name: "FIRESTORE_DATABASE", Default: "(default)", Functions: []string{FunctionConnections},
		Description: "Firestore database ID."},
	{Name: "EFACTORI_ISSUER", Required: true, Functions: []string{FunctionConnections},
		Description: "Issuer URL of the eFactori tokens the frontend sends; its OIDC discovery document gives the signing keys."},
	{Name: "EFACTORI_AUDIENCE", Required: true, Functions: []string{FunctionConnections},
		Description: "Audience (aud) eFactori tokens must carry to be accepted."},
	{Name: "FRONTEND_ORIGINS", Required: true, Functions: []string{FunctionConnections},
		Description: "Comma-separated origins (scheme://host[:port]) allowed to call the API from a browser (CORS)."},
}

// Common is read by every function.
type Common struct {
	ProjectID         string
	LogLevel          slog.Level
	FirestoreDatabase string
}

// Connections configures the Connections HTTP function.
type Connections struct {
	Common
	EFactoriIssuer   string
	EFactoriAudience string
	FrontendOrigins  []string
}

// LoadConnections reads and validates the Connections function's configuration.
func LoadConnections(lookup Lookup) (Connections, error) {
	r := reader{lookup: lookup}
	c := Connections{
		Common:           r.common(),
		EFactoriIssuer:   r.url("EFACTORI_ISSUER"),
		EFactoriAudience: r.required("EFACTORI_AUDIENCE"),
		FrontendOrigins:  r.origins("FRONTEND_ORIGINS"),
	}
	if err := r.err(); err != nil {
		return Connections{}, fmt.Errorf("load %s config: %w", FunctionConnections, err)
	}
	return c, nil
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
	panic("config: undeclared variable " + name)
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
