package efactori

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Claims are the claims of a token eFactori's frontend sends to drivesync, besides iss, aud,
// exp and iat, which the issuer sets.
type Claims struct {
	Subject     string   `json:"sub"`
	Email       string   `json:"email,omitempty"`
	CompanyID   string   `json:"company_id"`
	CompanyName string   `json:"company_name,omitempty"`
	Roles       []string `json:"roles"`
	// TTL is how long the token is valid; zero means one hour.
	TTL time.Duration `json:"-"`
}

// RoleIntegrationsManage lets a user connect and disconnect Google Drive for their company.
const RoleIntegrationsManage = "integrations:manage"

// MintOption spoils a minted token on purpose, for security tests.
type MintOption func(*mintConfig)

type mintConfig struct {
	expired  bool
	issuer   *string
	audience *string
	algNone  bool
	otherKey bool
}

// Expired mints a token that expired an hour ago.
func Expired() MintOption { return func(c *mintConfig) { c.expired = true } }

// WithIssuer mints a token with another iss.
func WithIssuer(iss string) MintOption { return func(c *mintConfig) { c.issuer = &iss } }

// WithAudience mints a token with another aud.
func WithAudience(aud string) MintOption { return func(c *mintConfig) { c.audience = &aud } }

// AlgNone mints an unsigned token with alg "none".
func AlgNone() MintOption { return func(c *mintConfig) { c.algNone = true } }

// SignedByOtherKey mints a token signed by a key the JWKS does not hold, under the kid of the
// key it does hold, so only the signature check can reject it.
func SignedByOtherKey() MintOption { return func(c *mintConfig) { c.otherKey = true } }

// issuer signs eFactori's frontend tokens with an RSA key made at start.
type issuer struct {
	fixedIssuer string
	audience    string
	now         func() time.Time
	key         *rsa.PrivateKey
	kid         string
	otherKey    func() (*rsa.PrivateKey, error)
}

func newIssuer(fixedIssuer, audience string, key *rsa.PrivateKey, now func() time.Time) (*issuer, error) {
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("generate signing key: %w", err)
		}
	}
	jwk := jose.JSONWebKey{Key: &key.PublicKey}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing key thumbprint: %w", err)
	}
	return &issuer{
		fixedIssuer: fixedIssuer,
		audience:    audience,
		now:         now,
		key:         key,
		kid:         base64.RawURLEncoding.EncodeToString(thumb)[:16],
		otherKey: sync.OnceValues(func() (*rsa.PrivateKey, error) {
			return rsa.GenerateKey(rand.Reader, 2048)
		}),
	}, nil
}

// Issuer returns the iss of minted tokens and of the discovery document.
func (s *Server) Issuer() string {
	if s.issuer.fixedIssuer != "" {
		return s.issuer.fixedIssuer
	}
	return s.BaseURL()
}

// Audience returns the aud of minted tokens.
func (s *Server) Audience() string { return s.issuer.audience }

// MintToken returns a signed JWT (RS256) carrying c, valid for drivesync's verifier unless opts
// spoil it.
func (s *Server) MintToken(c Claims, opts ...MintOption) (string, error) {
	tok, _, err := s.mint(c, opts...)
	return tok, err
}

type jwtPayload struct {
	Issuer   string `json:"iss"`
	Audience string `json:"aud"`
	Expiry   int64  `json:"exp"`
	IssuedAt int64  `json:"iat"`
	Claims
}

func (s *Server) mint(c Claims, opts ...MintOption) (string, time.Time, error) {
	var cfg mintConfig
	for _, o := range opts {
		o(&cfg)
	}
	if c.Subject == "" || c.CompanyID == "" {
		return "", time.Time{}, fmt.Errorf("mint token: %w: sub and company_id are required", ErrInvalid)
	}
	if c.Roles == nil {
		c.Roles = []string{}
	}
	ttl := c.TTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	iat := s.issuer.now().Truncate(time.Second)
	if cfg.expired {
		iat = iat.Add(-ttl - time.Hour)
	}
	exp := iat.Add(ttl)
	p := jwtPayload{Issuer: s.Issuer(), Audience: s.issuer.audience, Expiry: exp.Unix(), IssuedAt: iat.Unix(), Claims: c}
	if cfg.issuer != nil {
		p.Issuer = *cfg.issuer
	}
	if cfg.audience != nil {
		p.Audience = *cfg.audience
	}
	if p.Issuer == "" {
		return "", time.Time{}, fmt.Errorf("mint token: %w: no issuer: set Options.Issuer or the base URL", ErrInvalid)
	}
	if cfg.algNone {
		// go-jose refuses to produce alg=none, which is the point of this token.
		head, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
		body, err := json.Marshal(p)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("mint token: %w", err)
		}
		enc := base64.RawURLEncoding.EncodeToString
		return enc(head) + "." + enc(body) + ".", exp, nil
	}
	key := s.issuer.key
	if cfg.otherKey {
		var err error
		if key, err = s.issuer.otherKey(); err != nil {
			return "", time.Time{}, fmt.Errorf("mint token: other key: %w", err)
		}
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: s.issuer.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mint token: signer: %w", err)
	}
	tok, err := jwt.Signed(signer).Claims(p).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mint token: sign: %w", err)
	}
	return tok, exp, nil
}

// discovery is the subset of OpenID Provider Metadata a token verifier needs.
type discovery struct {
	Issuer             string   `json:"issuer"`
	JWKSURI            string   `json:"jwks_uri"`
	ResponseTypes      []string `json:"response_types_supported"`
	SubjectTypes       []string `json:"subject_types_supported"`
	IDTokenSigningAlgs []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported    []string `json:"claims_supported"`
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	base := s.BaseURL()
	if base == "" {
		writeProblem(w, r, http.StatusServiceUnavailable, "no-base-url", "the stand-in does not know its base URL yet")
		return
	}
	writeJSON(w, http.StatusOK, discovery{
		Issuer:             s.Issuer(),
		JWKSURI:            base + "/.well-known/jwks.json",
		ResponseTypes:      []string{"id_token"},
		SubjectTypes:       []string{"public"},
		IDTokenSigningAlgs: []string{string(jose.RS256)},
		ClaimsSupported:    []string{"iss", "aud", "sub", "exp", "iat", "email", "company_id", "company_name", "roles"},
	})
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &s.issuer.key.PublicKey, KeyID: s.issuer.kid, Algorithm: string(jose.RS256), Use: "sig",
	}}})
}
