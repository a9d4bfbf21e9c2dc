// Package oauthemu emulates Google's OAuth 2.0 and OpenID Connect endpoints (consent page,
// token, revoke, userinfo, discovery and JWKS) so that tests and the local dev stack can run the
// real golang.org/x/oauth2 and go-oidc clients against something that behaves like Google,
// including its failures: expired and revoked grants, PKCE mismatches, replayed codes.
package oauthemu

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Paths the emulator serves; they are the paths Google uses, all under one base URL.
const (
	AuthPath      = "/o/oauth2/v2/auth"
	ConsentPath   = "/signin/oauth/consent"
	TokenPath     = "/token"
	RevokePath    = "/revoke"
	UserinfoPath  = "/oauth2/v3/userinfo"
	CertsPath     = "/oauth2/v3/certs"
	DiscoveryPath = "/.well-known/openid-configuration"
)

// Lifetimes Google uses.
const (
	defaultAccessTokenTTL = time.Hour
	codeTTL               = 10 * time.Minute
	idTokenTTL            = time.Hour
)

// ErrInvalidToken is returned (wrapped) by Authenticate for an access token that is unknown,
// expired or revoked. Google answers such a token with 401 UNAUTHENTICATED.
var ErrInvalidToken = errors.New("invalid access token")

// Account is a Google account that can sign in on the consent page.
type Account struct {
	Email       string
	DisplayName string
}

// Client is a registered OAuth client (a "Web application" client in the Google Cloud console).
type Client struct {
	ID     string
	Secret string
	// RedirectURIs must match the redirect_uri parameter exactly, as Google requires.
	RedirectURIs []string
}

// Grant is what an access token speaks for.
type Grant struct {
	Account  string // email
	ClientID string
	Scopes   []string
	Expiry   time.Time
}

// Options configure a Server.
type Options struct {
	Accounts []Account
	Clients  []Client
	// AccessTokenTTL is the lifetime of access tokens; 0 means Google's one hour.
	AccessTokenTTL time.Duration
	// Now is the clock for token, code and ID token lifetimes; nil means time.Now.
	Now func() time.Time
	// Issuer is the base URL the server is reached at, e.g. http://127.0.0.1:PORT. It can be set
	// later with SetIssuer, once a listener has picked its port.
	Issuer string
	// AutoConsent, if set, makes the auth endpoint skip the page and consent as this account,
	// for headless demos.
	AutoConsent string
	// Rand is the source of tokens and codes; nil means crypto/rand.
	Rand io.Reader
	// SigningKey signs ID tokens; nil means a 2048-bit key generated on first use.
	SigningKey *rsa.PrivateKey
	// Logger receives grant lifecycle events (never tokens); nil discards them.
	Logger *slog.Logger
}

// grantKey names the grant of one account to one client. Google keeps one grant per pair;
// revoking any token of it ends all of it.
type grantKey struct {
	account  string
	clientID string
}

// grantState is what the account has consented to for the client.
type grantState struct {
	scopes map[string]bool
	// refreshIssued records that a refresh token was handed out, after which Google issues
	// another only when the user is prompted again (prompt=consent).
	refreshIssued bool
}

type authCode struct {
	key           grantKey
	scopes        []string
	redirectURI   string
	challenge     string
	method        string
	offline       bool
	promptConsent bool
	nonce         string
	expiry        time.Time
}

type accessToken struct {
	key    grantKey
	scopes []string
	expiry time.Time
}

type refreshToken struct {
	key    grantKey
	scopes []string
}

// Server is the emulator. It is safe for concurrent use.
type Server struct {
	accounts    []Account
	clients     map[string]Client
	ttl         time.Duration
	now         func() time.Time
	rand        io.Reader
	autoConsent string
	log         *slog.Logger

	mu      sync.Mutex
	issuer  string
	key     *rsa.PrivateKey
	keyID   string
	grants  map[grantKey]*grantState
	codes   map[string]*authCode
	access  map[string]*accessToken
	refresh map[string]*refreshToken
}

// New returns a Server for opts. It reports every problem with opts at once.
func New(opts Options) (*Server, error) {
	var errs []error
	if len(opts.Accounts) == 0 {
		errs = append(errs, errors.New("no accounts"))
	}
	seen := map[string]bool{}
	for i, a := range opts.Accounts {
		if _, err := mail.ParseAddress(a.Email); err != nil || strings.ContainsAny(a.Email, "<> ") {
			errs = append(errs, fmt.Errorf("account %d: email %q is not an address", i, a.Email))
		}
		if seen[a.Email] {
			errs = append(errs, fmt.Errorf("account %d: duplicate email %q", i, a.Email))
		}
		seen[a.Email] = true
	}
	if len(opts.Clients) == 0 {
		errs = append(errs, errors.New("no clients"))
	}
	clients := map[string]Client{}
	for i, c := range opts.Clients {
		if c.ID == "" {
			errs = append(errs, fmt.Errorf("client %d: empty id", i))
		}
		if _, dup := clients[c.ID]; dup {
			errs = append(errs, fmt.Errorf("client %d: duplicate id %q", i, c.ID))
		}
		if len(c.RedirectURIs) == 0 {
			errs = append(errs, fmt.Errorf("client %q: no redirect URIs", c.ID))
		}
		for _, ru := range c.RedirectURIs {
			if u, err := url.Parse(ru); err != nil || !u.IsAbs() || u.Fragment != "" {
				errs = append(errs, fmt.Errorf("client %q: redirect URI %q must be absolute without fragment", c.ID, ru))
			}
		}
		c.RedirectURIs = slices.Clone(c.RedirectURIs)
		clients[c.ID] = c
	}
	if opts.AutoConsent != "" && !seen[opts.AutoConsent] {
		errs = append(errs, fmt.Errorf("auto-consent account %q is not among the accounts", opts.AutoConsent))
	}
	if opts.AccessTokenTTL < 0 {
		errs = append(errs, fmt.Errorf("negative access token TTL %v", opts.AccessTokenTTL))
	}
	if opts.Issuer != "" {
		if err := checkIssuer(opts.Issuer); err != nil {
			errs = append(errs, err)
		}
	}
	if opts.SigningKey != nil && opts.SigningKey.N.BitLen() < 2048 {
		errs = append(errs, errors.New("signing key shorter than 2048 bits"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("oauth emulator options: %w", err)
	}

	s := &Server{
		accounts:    slices.Clone(opts.Accounts),
		clients:     clients,
		ttl:         opts.AccessTokenTTL,
		now:         opts.Now,
		rand:        opts.Rand,
		autoConsent: opts.AutoConsent,
		log:         opts.Logger,
		issuer:      strings.TrimSuffix(opts.Issuer, "/"),
		grants:      map[grantKey]*grantState{},
		codes:       map[string]*authCode{},
		access:      map[string]*accessToken{},
		refresh:     map[string]*refreshToken{},
	}
	if s.ttl == 0 {
		s.ttl = defaultAccessTokenTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.SigningKey != nil {
		if err := s.setKey(opts.SigningKey); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("issuer %q must be an http(s) base URL", issuer)
	}
	return nil
}

// SetIssuer sets the base URL the server is reached at, for when it is known only after
// listening.
func (s *Server) SetIssuer(issuer string) error {
	if err := checkIssuer(issuer); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issuer = strings.TrimSuffix(issuer, "/")
	return nil
}

// Issuer returns the base URL set in Options or by SetIssuer.
func (s *Server) Issuer() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issuer
}

// Endpoint returns the endpoint for an oauth2.Config. Like golang.org/x/oauth2/google it sends
// client credentials in the body; the server accepts HTTP Basic as well.
func (s *Server) Endpoint() oauth2.Endpoint {
	iss := s.Issuer()
	return oauth2.Endpoint{
		AuthURL:   iss + AuthPath,
		TokenURL:  iss + TokenPath,
		AuthStyle: oauth2.AuthStyleInParams,
	}
}

// RevokeURL returns the token revocation endpoint.
func (s *Server) RevokeURL() string { return s.Issuer() + RevokePath }

// Handler returns the HTTP handler serving every emulated endpoint at Google's paths.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+AuthPath, s.handleAuth)
	mux.HandleFunc("GET /o/oauth2/auth", s.handleAuth) // the v1 path many samples still use
	mux.HandleFunc("POST "+ConsentPath, s.handleConsent)
	mux.HandleFunc(TokenPath, s.handleToken)
	mux.HandleFunc(RevokePath, s.handleRevoke)
	mux.HandleFunc(UserinfoPath, s.handleUserinfo)
	mux.HandleFunc("GET "+CertsPath, s.handleCerts)
	mux.HandleFunc("GET "+DiscoveryPath, s.handleDiscovery)
	return mux
}

// Authenticate returns the grant an access token speaks for. It returns an error wrapping
// ErrInvalidToken when the token is unknown, expired or revoked.
func (s *Server) Authenticate(ctx context.Context, accessToken string) (Grant, error) {
	if err := ctx.Err(); err != nil {
		return Grant{}, fmt.Errorf("authenticate: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.access[accessToken]
	if !ok {
		return Grant{}, fmt.Errorf("authenticate: unknown or revoked token: %w", ErrInvalidToken)
	}
	if !s.now().Before(at.expiry) {
		return Grant{}, fmt.Errorf("authenticate: token expired at %s: %w", at.expiry.Format(time.RFC3339), ErrInvalidToken)
	}
	return Grant{
		Account:  at.key.account,
		ClientID: at.key.clientID,
		Scopes:   slices.Clone(at.scopes),
		Expiry:   at.expiry,
	}, nil
}

// RevokeAll ends the grant of account to clientID, as when the user removes the app from their
// Google account: its refresh and access tokens and pending codes stop working.
func (s *Server) RevokeAll(account, clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeLocked(grantKey{account: account, clientID: clientID})
}

func (s *Server) revokeLocked(k grantKey) {
	delete(s.grants, k)
	for tok, at := range s.access {
		if at.key == k {
			delete(s.access, tok)
		}
	}
	for tok, rt := range s.refresh {
		if rt.key == k {
			delete(s.refresh, tok)
		}
	}
	for c, ac := range s.codes {
		if ac.key == k {
			delete(s.codes, c)
		}
	}
	s.log.Info("grant revoked", "account", k.account, "client_id", k.clientID)
}

// randomToken returns prefix followed by n random bytes in URL-safe base64.
func (s *Server) randomToken(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func (s *Server) account(email string) (Account, bool) {
	for _, a := range s.accounts {
		if a.Email == email {
			return a, true
		}
	}
	return Account{}, false
}
