// Package oauth is drivesync's client side of Google's OAuth 2.0: the consent URL a company is
// sent to when it connects a Google Drive, the code exchange that yields the connection's refresh
// token and account email, revocation, and per-connection access tokens refreshed from the stored
// refresh token.
//
// Every call to Google is classified here (see drivesync.Class): a grant that is gone is
// drivesync.NeedsReauthorization, Google's 5xx, 429 and network failures are drivesync.Retryable,
// other refusals are drivesync.Permanent. Error messages never contain tokens, codes or secrets.
package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// Scopes drivesync asks for.
const (
	ScopeOpenID = "openid"
	ScopeEmail  = "email"
	// ScopeDrive lets drivesync write into folders the customer chooses anywhere in their Drive.
	ScopeDrive = "https://www.googleapis.com/auth/drive"
)

// DefaultScopes returns the scopes drivesync asks for: an ID token with the account's email, and
// Drive.
func DefaultScopes() []string { return []string{ScopeOpenID, ScopeEmail, ScopeDrive} }

// Provider says where the OAuth server's endpoints are: Google's in production (Google), the
// emulator's in tests and the local dev stack.
type Provider struct {
	// Endpoint holds the authorization and token URLs.
	Endpoint oauth2.Endpoint
	// RevokeURL is the token revocation endpoint.
	RevokeURL string
	// Issuer is the iss every ID token must carry.
	Issuer string
	// JWKSURL serves the keys that sign ID tokens. Naming it here, rather than discovering it from
	// the issuer, keeps New free of I/O.
	JWKSURL string
}

// Google returns Google's production endpoints.
func Google() Provider {
	return Provider{
		Endpoint:  google.Endpoint,
		RevokeURL: "https://oauth2.googleapis.com/revoke",
		Issuer:    "https://accounts.google.com",
		JWKSURL:   "https://www.googleapis.com/oauth2/v3/certs",
	}
}

// EmulatorProvider returns the endpoints of a Google OAuth emulator (local/googleemu) reached at
// baseURL, for the local dev stack: the emulator serves Google's paths under one base URL,
// which is also its issuer.
func EmulatorProvider(baseURL string) Provider {
	base := strings.TrimSuffix(baseURL, "/")
	return Provider{
		Endpoint: oauth2.Endpoint{
			AuthURL:   base + "/o/oauth2/v2/auth",
			TokenURL:  base + "/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RevokeURL: base + "/revoke",
		Issuer:    base,
		JWKSURL:   base + "/oauth2/v3/certs",
	}
}

// Options configure New.
type Options struct {
	// ClientID and ClientSecret identify drivesync's OAuth client ("Web application").
	ClientID     string
	ClientSecret string
	// RedirectURL is drivesync's OAuth callback; it must be registered with the client exactly.
	RedirectURL string
	// Scopes default to DefaultScopes(). They must include openid and email, which Exchange needs
	// to learn the account's email.
	Scopes []string
	// Provider is Google() in production.
	Provider Provider
	// HTTPClient carries the calls to the token, revocation and key endpoints; nil means
	// NewHTTPClient().
	HTTPClient *http.Client
	// Now is the clock for token expiry and ID token checks; nil means time.Now.
	Now func() time.Time
}

// Config talks to Google's OAuth endpoints for one OAuth client. It is safe for concurrent use
// and meant to be created once per instance.
type Config struct {
	oauth2   *oauth2.Config
	provider Provider
	http     *http.Client
	now      func() time.Time
	ids      *oidc.IDTokenVerifier
}

// New returns a Config for opts. It reports every problem with opts at once and does no I/O.
func New(opts Options) (*Config, error) {
	if opts.Scopes == nil {
		opts.Scopes = DefaultScopes()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = NewHTTPClient()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var errs []error
	if opts.ClientID == "" {
		errs = append(errs, errors.New("client ID is empty"))
	}
	if opts.ClientSecret == "" {
		errs = append(errs, errors.New("client secret is empty"))
	}
	if err := checkURL("redirect URL", opts.RedirectURL); err != nil {
		errs = append(errs, err)
	}
	for _, s := range []string{ScopeOpenID, ScopeEmail} {
		if !slices.Contains(opts.Scopes, s) {
			errs = append(errs, fmt.Errorf("scopes lack %q, which Exchange needs to read the account's email", s))
		}
	}
	p := opts.Provider
	for _, u := range []struct{ name, url string }{
		{"provider authorization URL", p.Endpoint.AuthURL},
		{"provider token URL", p.Endpoint.TokenURL},
		{"provider revoke URL", p.RevokeURL},
		{"provider issuer", p.Issuer},
		{"provider JWKS URL", p.JWKSURL},
	} {
		if err := checkURL(u.name, u.url); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("oauth config: %w", err)
	}

	// The key set outlives any one request, so it gets a context of its own that only carries
	// our HTTP client.
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), opts.HTTPClient), p.JWKSURL)
	return &Config{
		oauth2: &oauth2.Config{
			ClientID:     opts.ClientID,
			ClientSecret: opts.ClientSecret,
			Endpoint:     p.Endpoint,
			RedirectURL:  opts.RedirectURL,
			Scopes:       slices.Clone(opts.Scopes),
		},
		provider: p,
		http:     opts.HTTPClient,
		now:      opts.Now,
		ids:      oidc.NewVerifier(p.Issuer, keys, &oidc.Config{ClientID: opts.ClientID, Now: opts.Now}),
	}, nil
}

func checkURL(name, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", name)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s %q is not an absolute http(s) URL", name, s)
	}
	return nil
}

// httpContext makes golang.org/x/oauth2 use our client for the calls it makes under ctx.
func (c *Config) httpContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.http)
}

// AuthorizationURL returns the consent page URL to send the browser to. state comes back
// verbatim on the callback; verifier (from NewVerifier) must be kept, server side or in a
// signed cookie, for Exchange. The URL asks for offline access and forces the consent screen,
// because only then does Google issue a refresh token again to an account that connected
// before.
func (c *Config) AuthorizationURL(state, verifier string) string {
	return c.oauth2.AuthCodeURL(state,
		oauth2.AccessTypeOffline,
		oauth2.ApprovalForce,
		oauth2.SetAuthURLParam("include_granted_scopes", "true"),
		oauth2.S256ChallengeOption(verifier),
	)
}

// RedirectURL returns the redirect URI the Config sends Google (Options.RedirectURL).
func (c *Config) RedirectURL() string { return c.oauth2.RedirectURL }

// NewState returns an unguessable state parameter: 32 random bytes, base64url without padding.
func NewState() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails since Go 1.24; it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewVerifier returns a PKCE code verifier (RFC 7636) for AuthorizationURL and Exchange.
func NewVerifier() string { return oauth2.GenerateVerifier() }
