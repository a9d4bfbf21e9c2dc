// Package auth verifies the eFactori tokens the frontend sends and says who the caller is: which
// user, which company (the tenant every call is scoped to) and which roles.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/efactori/drivesync/shared/drivesync"
)

// RoleManage lets a caller create, change and delete connections.
const RoleManage = "integrations:manage"

// ErrUnauthenticated means the request carries no token or one that does not verify.
var ErrUnauthenticated = errors.New("unauthenticated")

// Caller is who a verified token speaks for.
type Caller struct {
	Subject     string
	Email       string
	CompanyID   string
	CompanyName string
	Roles       []string
}

// Has reports whether the caller holds role.
func (c Caller) Has(role string) bool { return slices.Contains(c.Roles, role) }

// Verifier checks eFactori JWTs: signature against the issuer's published keys, iss, aud, exp.
type Verifier struct {
	issuer, audience string
	client           *http.Client

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier // nil until discovery succeeds; retried on the next call if it fails
}

// NewVerifier returns a Verifier for tokens from issuer meant for audience. Discovery happens on
// first use, so a cold start does not fail when the issuer is briefly unreachable.
func NewVerifier(issuer, audience string, client *http.Client) (*Verifier, error) {
	if issuer == "" || audience == "" {
		return nil, errors.New("new verifier: issuer and audience are required")
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Verifier{issuer: issuer, audience: audience, client: client}, nil
}

func (v *Verifier) idVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), v.client), v.issuer)
	if err != nil {
		return nil, fmt.Errorf("discover issuer %s: %w", v.issuer, err)
	}
	v.verifier = p.Verifier(&oidc.Config{ClientID: v.audience, SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256}})
	return v.verifier, nil
}

// Verify checks raw and returns its caller. A token that does not verify, lacks the claims a
// caller needs or carries a company_id that ValidCompanyID refuses wraps ErrUnauthenticated; a
// failure to reach the issuer does not.
func (v *Verifier) Verify(ctx context.Context, raw string) (Caller, error) {
	iv, err := v.idVerifier(ctx)
	if err != nil {
		return Caller{}, err
	}
	tok, err := iv.Verify(oidc.ClientContext(ctx, v.client), raw)
	if err != nil {
		return Caller{}, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	var claims struct {
		Email       string   `json:"email"`
		CompanyID   string   `json:"company_id"`
		CompanyName string   `json:"company_name"`
		Roles       []string `json:"roles"`
	}
	if err := tok.Claims(&claims); err != nil {
		return Caller{}, fmt.Errorf("%w: claims: %v", ErrUnauthenticated, err)
	}
	if tok.Subject == "" || claims.CompanyID == "" {
		return Caller{}, fmt.Errorf("%w: token lacks sub or company_id", ErrUnauthenticated)
	}
	if !ValidCompanyID(claims.CompanyID) {
		// Never quoted back: it is whatever the signer put there, of any length.
		return Caller{}, fmt.Errorf("%w: company_id is not 1 to %d characters of A-Z a-z 0-9 - _, or is a name Firestore reserves",
			ErrUnauthenticated, MaxCompanyIDLength)
	}
	return Caller{Subject: tok.Subject, Email: claims.Email, CompanyID: claims.CompanyID,
		CompanyName: claims.CompanyName, Roles: claims.Roles}, nil
}

// MaxCompanyIDLength bounds a token's company_id, as the API bounds the IDs in its paths.
const MaxCompanyIDLength = 128

// ValidCompanyID reports whether id can name a company: 1 to MaxCompanyIDLength characters of
// URL-safe base64 (A-Z a-z 0-9 - _), and not of the form __…__, which Firestore reserves for
// document IDs. The company ID becomes a Firestore document ID (companies/{id}) and a value in
// Drive queries and app properties, so a signed token must not be able to put a slash (a path
// into another document), a dot, a quote or a reserved name there. A token whose company_id
// fails this does not verify.
func ValidCompanyID(id string) bool { return drivesync.ValidID(id) }

// BearerToken returns the token of an "Authorization: Bearer" header, or "".
func BearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
