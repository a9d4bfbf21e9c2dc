package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/logging"
)

// Grant is what a company's consent gave drivesync. Printing or logging it shows no token.
type Grant struct {
	RefreshToken string
	AccessToken  string
	// Expiry is when AccessToken stops working, by the Config's clock.
	Expiry time.Time
	// Email is the Google account's verified email address.
	Email string
	// Subject is Google's stable ID for the account; unlike Email it never changes.
	Subject string
	// Scopes are the scopes Google granted, sorted, as Google names them (email becomes
	// https://www.googleapis.com/auth/userinfo.email).
	Scopes []string
}

// Token returns the grant as an oauth2.Token, the form TokenSource and Persister use.
func (g Grant) Token() *oauth2.Token {
	return &oauth2.Token{
		AccessToken:  g.AccessToken,
		TokenType:    "Bearer",
		RefreshToken: g.RefreshToken,
		Expiry:       g.Expiry,
	}
}

// String keeps the tokens out of fmt's output.
func (g Grant) String() string {
	return fmt.Sprintf("oauth.Grant{Email: %q, Subject: %q, Scopes: %q, Expiry: %s, RefreshToken: %s, AccessToken: %s}",
		g.Email, g.Subject, g.Scopes, g.Expiry.Format(time.RFC3339), logging.Redacted, logging.Redacted)
}

// GoString keeps the tokens out of fmt's %#v.
func (g Grant) GoString() string { return g.String() }

// Format keeps the tokens out of every fmt verb.
func (g Grant) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, g.String()) }

// LogValue keeps the tokens out of slog output.
func (g Grant) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("email", g.Email),
		slog.String("subject", g.Subject),
		slog.Any("scopes", g.Scopes),
		slog.Time("expiry", g.Expiry),
	)
}

// grantedScope says whether a requested scope is among the granted ones, which Google reports
// with the userinfo URLs for the OpenID short names.
func grantedScope(granted []string, requested string) bool {
	switch requested {
	case ScopeOpenID:
		return true // an ID token came back, or Exchange already failed
	case ScopeEmail, "profile":
		requested = "https://www.googleapis.com/auth/userinfo." + requested
	}
	return slices.Contains(granted, requested)
}

// Exchange trades the authorization code from the callback, with the PKCE verifier its
// authorization URL was made with, for the connection's tokens, and reads the account from the
// verified ID token.
//
// Errors: drivesync.Permanent for a code that is used, expired or presented with the wrong
// verifier (invalid_grant), a refused client, no refresh token, or an ID token that does not
// verify; drivesync.NeedsCustomer (scope_not_granted) when the customer did not grant every
// scope asked for; drivesync.Retryable for Google's 5xx and
// 429 and network failures. A retry helps only if Google did not take the code: Google uses a
// code up on any presentation, so a retry after a lost answer fails with invalid_grant.
func (c *Config) Exchange(ctx context.Context, code, verifier string) (Grant, error) {
	const op = "exchange authorization code"
	if code == "" || verifier == "" {
		return Grant{}, drivesync.Classify(fmt.Errorf("%s: code and verifier are required", op), drivesync.Permanent, CodeInvalidRequest)
	}
	tok, err := c.oauth2.Exchange(c.httpContext(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Grant{}, classifyToken(op, err, drivesync.Permanent)
	}
	// The request is answered; from here on, a retry with the same (used up) code cannot help.
	g := Grant{
		RefreshToken: tok.RefreshToken,
		AccessToken:  tok.AccessToken,
		Expiry:       c.expiry(tok),
	}
	if s, ok := tok.Extra("scope").(string); ok {
		g.Scopes = strings.Fields(s)
		slices.Sort(g.Scopes) // Google's order carries no meaning; sorted, stored grants compare equal
	}
	if g.Email, g.Subject, err = c.verifyIDToken(ctx, tok); err != nil {
		return Grant{}, err
	}
	if g.RefreshToken == "" {
		// Google omits it when offline access was not asked for or consent was not forced.
		return Grant{}, drivesync.Classify(fmt.Errorf("%s for %s: google issued no refresh token", op, g.Email), drivesync.Permanent, CodeNoRefreshToken)
	}
	var missing []string
	for _, s := range c.oauth2.Scopes {
		if !grantedScope(g.Scopes, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		// The grant is not revoked here: Google keeps one grant per account and client, so
		// revoking it would also end another connection to the same account.
		err := fmt.Errorf("%s for %s: scopes not granted: %s", op, g.Email, strings.Join(missing, " "))
		return Grant{}, drivesync.Classify(err, drivesync.NeedsCustomer, CodeScopeNotGranted)
	}
	return g, nil
}

// expiry rebases the token's lifetime on our clock; x/oauth2 computes Expiry from the wall
// clock.
func (c *Config) expiry(tok *oauth2.Token) time.Time {
	if tok.ExpiresIn > 0 {
		return c.now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	return tok.Expiry
}

func (c *Config) verifyIDToken(ctx context.Context, tok *oauth2.Token) (email, subject string, err error) {
	const op = "verify id token"
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", "", drivesync.Classify(errors.New(op+": token response has no id token"), drivesync.Permanent, CodeInvalidIDToken)
	}
	idt, err := c.ids.Verify(oidc.ClientContext(ctx, c.http), raw)
	if err != nil {
		return "", "", drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Permanent, CodeInvalidIDToken)
	}
	// at_hash ties the ID token to this access token; Google sets it in the code flow.
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return "", "", drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Permanent, CodeInvalidIDToken)
		}
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", "", drivesync.Classify(fmt.Errorf("%s: read claims: %w", op, err), drivesync.Permanent, CodeInvalidIDToken)
	}
	if claims.Email == "" || !claims.EmailVerified {
		return "", "", drivesync.Classify(fmt.Errorf("%s: account %s has no verified email", op, idt.Subject), drivesync.Permanent, CodeEmailUnverified)
	}
	return claims.Email, idt.Subject, nil
}

// Revoke ends the grant a refresh (or access) token belongs to, as when a company disconnects a
// Drive. Google keeps one grant per Google account and OAuth client, so this also ends every
// other connection to the same account. A token Google no longer knows (already revoked, or the customer removed the app) is
// not an error: the grant is gone either way.
//
// Errors: drivesync.Retryable for Google's 5xx and 429 and network failures;
// drivesync.Permanent for other refusals.
func (c *Config) Revoke(ctx context.Context, token string) error {
	const op = "revoke grant"
	if token == "" {
		return drivesync.Classify(errors.New(op+": token is empty"), drivesync.Permanent, CodeInvalidRequest)
	}
	// The token goes in the body, never the URL, so that it cannot appear in an error message.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.provider.RevokeURL, strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Permanent, CodeInvalidRequest)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Retryable, CodeNetwork)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10)) // a short read only loses detail
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var answer struct {
		Code        string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &answer) // not JSON: classify by status alone
	if resp.StatusCode == http.StatusBadRequest && answer.Code == "invalid_token" {
		return nil
	}
	return classifyAnswer(&googleError{op: op, status: resp.StatusCode, code: answer.Code, description: answer.Description}, drivesync.Permanent)
}
