package oauthemu

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// tokenError is an OAuth error response body, as Google sends it.
type tokenError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func tokErr(status int, code, desc string) *tokenError {
	return &tokenError{Status: status, Code: code, Description: desc}
}

var (
	errBadCode      = tokErr(http.StatusBadRequest, "invalid_grant", "Bad Request")
	errRevoked      = tokErr(http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
	errUnknownCli   = tokErr(http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
	errUnauthorized = tokErr(http.StatusUnauthorized, "invalid_client", "Unauthorized")
)

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

func writeTokenError(w http.ResponseWriter, e *tokenError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="oauth2"`)
	}
	writeJSON(w, e.Status, e)
}

// parsePost reads a form POST the way Google's token and revoke endpoints accept it.
func parsePost(r *http.Request) *tokenError {
	if r.Method != http.MethodPost {
		return tokErr(http.StatusMethodNotAllowed, "invalid_request", "Method not allowed: "+r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
			return tokErr(http.StatusBadRequest, "invalid_request", "Unsupported content type: "+ct)
		}
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return tokErr(http.StatusBadRequest, "invalid_request", "Malformed request body")
	}
	return nil
}

// authenticateClient checks the client credentials, sent either in the body or with HTTP
// Basic (whose parts RFC 6749 2.3.1 form-encodes before base64).
func (s *Server) authenticateClient(r *http.Request) (Client, *tokenError) {
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		var err1, err2 error
		id, err1 = url.QueryUnescape(u)
		secret, err2 = url.QueryUnescape(p)
		if err1 != nil || err2 != nil {
			return Client{}, tokErr(http.StatusBadRequest, "invalid_request", "Malformed client credentials")
		}
		if bodyID := r.PostForm.Get("client_id"); bodyID != "" && bodyID != id {
			return Client{}, tokErr(http.StatusBadRequest, "invalid_request", "Conflicting client credentials")
		}
	}
	if id == "" {
		return Client{}, tokErr(http.StatusBadRequest, "invalid_request", "Could not determine client ID from request.")
	}
	c, ok := s.clients[id]
	if !ok {
		return Client{}, errUnknownCli
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return Client{}, errUnauthorized
	}
	return c, nil
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if e := parsePost(r); e != nil {
		writeTokenError(w, e)
		return
	}
	client, e := s.authenticateClient(r)
	if e != nil {
		writeTokenError(w, e)
		return
	}
	var resp *tokenResponse
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		resp, e = s.exchangeCode(client, r.PostForm)
	case "refresh_token":
		resp, e = s.refreshGrant(client, r.PostForm)
	default:
		e = tokErr(http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+gt)
	}
	if e != nil {
		writeTokenError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) exchangeCode(client Client, form url.Values) (*tokenResponse, *tokenError) {
	code := form.Get("code")
	if code == "" {
		return nil, tokErr(http.StatusBadRequest, "invalid_request", "Missing required parameter: code")
	}
	ru := form.Get("redirect_uri")
	if ru == "" {
		return nil, tokErr(http.StatusBadRequest, "invalid_request", "Missing parameter: redirect_uri")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ac, ok := s.codes[code]
	if !ok || ac.key.clientID != client.ID {
		return nil, errBadCode
	}
	// Any presentation uses the code up, so a wrong verifier cannot be retried until it fits.
	delete(s.codes, code)
	if !s.now().Before(ac.expiry) {
		return nil, errBadCode
	}
	if ru != ac.redirectURI {
		return nil, tokErr(http.StatusBadRequest, "redirect_uri_mismatch", "Bad Request")
	}
	verifier := form.Get("code_verifier")
	switch {
	case ac.challenge == "" && verifier != "":
		return nil, tokErr(http.StatusBadRequest, "invalid_request", "code_verifier or verifier is not needed.")
	case ac.challenge != "" && verifier == "":
		return nil, tokErr(http.StatusBadRequest, "invalid_grant", "Missing code verifier.")
	case ac.challenge != "" && !pkceMatches(ac.method, ac.challenge, verifier):
		return nil, tokErr(http.StatusBadRequest, "invalid_grant", "Invalid code verifier.")
	}
	g := s.grants[ac.key]
	if g == nil { // revoked between consent and exchange
		return nil, errBadCode
	}
	resp, err := s.issueLocked(ac.key, ac.scopes, ac.nonce)
	if err != nil {
		return nil, err
	}
	if ac.offline && (ac.promptConsent || !g.refreshIssued) {
		rt, err := s.randomToken("1//0", 72)
		if err != nil {
			s.log.Error("issue refresh token", "err", err)
			return nil, tokErr(http.StatusInternalServerError, "internal_failure", "Internal error")
		}
		s.refresh[rt] = &refreshToken{key: ac.key, scopes: slices.Clone(ac.scopes)}
		g.refreshIssued = true
		resp.RefreshToken = rt
	}
	s.log.Info("code exchanged", "account", ac.key.account, "client_id", ac.key.clientID, "refresh_token_issued", resp.RefreshToken != "")
	return resp, nil
}

func pkceMatches(method, challenge, verifier string) bool {
	if !validPKCEString(verifier) {
		return false
	}
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

func (s *Server) refreshGrant(client Client, form url.Values) (*tokenResponse, *tokenError) {
	tok := form.Get("refresh_token")
	if tok == "" {
		return nil, tokErr(http.StatusBadRequest, "invalid_request", "Missing required parameter: refresh_token")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[tok]
	if !ok {
		return nil, errRevoked
	}
	if rt.key.clientID != client.ID {
		return nil, tokErr(http.StatusBadRequest, "unauthorized_client", "Unauthorized")
	}
	// Google does not rotate refresh tokens: the response carries no new one.
	return s.issueLocked(rt.key, rt.scopes, "")
}

// issueLocked mints an access token (and an ID token when openid was granted) for k.
func (s *Server) issueLocked(k grantKey, scopes []string, nonce string) (*tokenResponse, *tokenError) {
	at, err := s.randomToken("ya29.a0", 96)
	if err != nil {
		s.log.Error("issue access token", "err", err)
		return nil, tokErr(http.StatusInternalServerError, "internal_failure", "Internal error")
	}
	now := s.now()
	for t, a := range s.access { // forget tokens no one can use any more
		if !now.Before(a.expiry) {
			delete(s.access, t)
		}
	}
	s.access[at] = &accessToken{key: k, scopes: slices.Clone(scopes), expiry: now.Add(s.ttl)}
	resp := &tokenResponse{
		AccessToken: at,
		ExpiresIn:   int64(s.ttl / time.Second),
		Scope:       strings.Join(scopes, " "),
		TokenType:   "Bearer",
	}
	if slices.Contains(scopes, scopeOpenID) {
		idt, err := s.signIDTokenLocked(k, scopes, nonce, at, now)
		if err != nil {
			s.log.Error("sign id token", "err", err)
			return nil, tokErr(http.StatusInternalServerError, "internal_failure", "Internal error")
		}
		resp.IDToken = idt
	}
	return resp, nil
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if e := parsePost(r); e != nil {
		writeTokenError(w, e)
		return
	}
	tok := r.Form.Get("token") // body or query, both of which Google accepts
	if tok == "" {
		writeTokenError(w, tokErr(http.StatusBadRequest, "invalid_request", "Missing required parameter: token"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var k grantKey
	if at, ok := s.access[tok]; ok && s.now().Before(at.expiry) {
		k = at.key
	} else if rt, ok := s.refresh[tok]; ok {
		k = rt.key
	} else {
		writeTokenError(w, tokErr(http.StatusBadRequest, "invalid_token", "Token expired or revoked"))
		return
	}
	s.revokeLocked(k)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
}

// userinfo is the OpenID Connect userinfo response; which claims appear depends on the scopes.
type userinfo struct {
	Sub           string `json:"sub"`
	Name          string `json:"name,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
}

func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, tokErr(0, "invalid_request", "Method not allowed"))
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		tok = r.URL.Query().Get("access_token")
	}
	g, err := s.Authenticate(r.Context(), strings.TrimSpace(tok))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, tokErr(0, "invalid_request", "Invalid Credentials"))
		return
	}
	writeJSON(w, http.StatusOK, s.userinfoFor(g.Account, g.Scopes))
}

func (s *Server) userinfoFor(email string, scopes []string) userinfo {
	a, _ := s.account(email)
	u := userinfo{Sub: subject(email)}
	if slices.Contains(scopes, scopeEmail) {
		verified := true
		u.Email, u.EmailVerified = a.Email, &verified
	}
	if slices.Contains(scopes, scopeProfile) {
		u.Name = a.DisplayName
	}
	return u
}

// subject derives a stable Google-style numeric account ID from the email.
func subject(email string) string {
	sum := sha256.Sum256([]byte("oauthemu-sub:" + email))
	var b strings.Builder
	b.WriteByte('1')
	for _, c := range sum[:20] {
		b.WriteByte('0' + c%10)
	}
	return b.String()
}
