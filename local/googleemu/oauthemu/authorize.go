package oauthemu

import (
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authParams are the authorization request parameters the consent form carries back to
// ConsentPath as hidden fields. The form handler validates them again, like a fresh request.
var authParams = []string{
	"client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge",
	"code_challenge_method", "access_type", "prompt", "include_granted_scopes", "login_hint", "nonce",
}

// authRequest is a validated authorization request.
type authRequest struct {
	client         Client
	redirectURI    string
	scopes         []string
	state          string
	challenge      string
	method         string
	offline        bool
	promptConsent  bool
	promptNone     bool
	includeGranted bool
	loginHint      string
	nonce          string
	params         url.Values
}

// PageError is an error the authorization endpoint shows on its own page instead of
// redirecting, as Google does for a request it cannot trust (unknown client, unregistered
// redirect URI) or cannot understand.
type PageError struct {
	Status      int
	Code        string // e.g. invalid_client, redirect_uri_mismatch
	Description string
}

func (e *PageError) Error() string {
	return fmt.Sprintf("error %d: %s: %s", e.Status, e.Code, e.Description)
}

func pageErr(status int, code, format string, args ...any) *PageError {
	return &PageError{Status: status, Code: code, Description: fmt.Sprintf(format, args...)}
}

// parseAuthRequest validates q in the order Google does: the client and redirect URI first,
// because until both are trusted no error may be sent to the redirect URI.
func (s *Server) parseAuthRequest(q url.Values) (authRequest, *PageError) {
	for _, p := range authParams {
		if len(q[p]) > 1 {
			return authRequest{}, pageErr(http.StatusBadRequest, "invalid_request", "Parameter is repeated: %s", p)
		}
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		return authRequest{}, pageErr(http.StatusBadRequest, "invalid_request", "Missing required parameter: client_id")
	}
	client, ok := s.clients[clientID]
	if !ok {
		return authRequest{}, pageErr(http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
	}
	ru := q.Get("redirect_uri")
	if ru == "" {
		return authRequest{}, pageErr(http.StatusBadRequest, "invalid_request", "Missing required parameter: redirect_uri")
	}
	if !slices.Contains(client.RedirectURIs, ru) {
		return authRequest{}, pageErr(http.StatusBadRequest, "redirect_uri_mismatch",
			"You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. redirect_uri=%s is not registered for this client.", ru)
	}
	req := authRequest{
		client:         client,
		redirectURI:    ru,
		state:          q.Get("state"),
		loginHint:      q.Get("login_hint"),
		nonce:          q.Get("nonce"),
		includeGranted: q.Get("include_granted_scopes") == "true",
		params:         url.Values{},
	}
	for _, p := range authParams {
		if v, ok := q[p]; ok {
			req.params[p] = slices.Clone(v)
		}
	}
	switch rt := q.Get("response_type"); rt {
	case "":
		return authRequest{}, pageErr(http.StatusBadRequest, "invalid_request", "Required parameter is missing: response_type")
	case "code":
	default:
		return authRequest{}, pageErr(http.StatusBadRequest, "unsupported_response_type", "Invalid response_type: %s", rt)
	}
	if strings.TrimSpace(q.Get("scope")) == "" {
		return authRequest{}, pageErr(http.StatusBadRequest, "invalid_request", "Missing required parameter: scope")
	}
	scopes, invalid := normalizeScopes(q.Get("scope"))
	if len(invalid) > 0 {
		return authRequest{}, pageErr(http.StatusBadRequest, "invalid_scope", "Some requested scopes were invalid. {invalid=[%s]}", strings.Join(invalid, ", "))
	}
	req.scopes = scopes
	switch at := q.Get("access_type"); at {
	case "", "online":
	case "offline":
		req.offline = true
	default:
		return authRequest{}, pageErr(http.StatusBadRequest, "invalid_request", "Invalid access_type: %s", at)
	}
	for _, p := range strings.Fields(q.Get("prompt")) {
		switch p {
		case "consent":
			req.promptConsent = true
		case "none":
			req.promptNone = true
		case "select_account":
		default:
			return authRequest{}, pageErr(http.StatusBadRequest, "invalid_request", "Invalid prompt: %s", q.Get("prompt"))
		}
	}
	if req.promptNone && strings.TrimSpace(q.Get("prompt")) != "none" {
		return authRequest{}, pageErr(http.StatusBadRequest, "invalid_request", "prompt=none cannot be combined with other values")
	}
	req.challenge = q.Get("code_challenge")
	req.method = q.Get("code_challenge_method")
	if req.challenge != "" {
		if req.method == "" {
			req.method = "plain" // RFC 7636 4.3
		}
		if req.method != "S256" && req.method != "plain" {
			return authRequest{}, pageErr(http.StatusBadRequest, "invalid_request", "Invalid code_challenge_method value.")
		}
		if !validPKCEString(req.challenge) {
			return authRequest{}, pageErr(http.StatusBadRequest, "invalid_request", "Invalid code_challenge value.")
		}
	} else if req.method != "" {
		return authRequest{}, pageErr(http.StatusBadRequest, "invalid_request", "code_challenge_method without code_challenge")
	}
	return req, nil
}

// validPKCEString reports whether v has the length and alphabet RFC 7636 gives verifiers
// (and plain challenges); an S256 challenge is 43 characters of the same alphabet.
func validPKCEString(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', strings.ContainsRune("-._~", c):
		default:
			return false
		}
	}
	return true
}

// redirectTo returns the redirect URI with params added to its own query.
func redirectTo(redirectURI string, params url.Values) string {
	u, _ := url.Parse(redirectURI) // validated when the client was registered
	q := u.Query()
	for _, k := range slices.Sorted(maps.Keys(params)) {
		q[k] = params[k]
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	req, perr := s.parseAuthRequest(r.URL.Query())
	if perr != nil {
		s.renderError(w, perr)
		return
	}
	if req.promptNone {
		// No browser session exists in the emulator, so a silent request can never succeed.
		s.redirectError(w, r, req, "interaction_required")
		return
	}
	if s.autoConsent != "" {
		s.decide(w, r, req, s.autoConsent, true)
		return
	}
	s.renderConsent(w, req)
}

func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, pageErr(http.StatusBadRequest, "invalid_request", "Malformed form"))
		return
	}
	req, perr := s.parseAuthRequest(r.PostForm)
	if perr != nil {
		s.renderError(w, perr)
		return
	}
	switch r.PostForm.Get("action") {
	case "allow":
		s.decide(w, r, req, r.PostForm.Get("account"), true)
	case "deny":
		s.decide(w, r, req, r.PostForm.Get("account"), false)
	default:
		s.renderError(w, pageErr(http.StatusBadRequest, "invalid_request", "Choose Allow or Cancel"))
	}
}

// decide applies the user's answer and sends the browser back to the client.
func (s *Server) decide(w http.ResponseWriter, r *http.Request, req authRequest, email string, allow bool) {
	if !allow {
		s.redirectError(w, r, req, "access_denied")
		return
	}
	if _, ok := s.account(email); !ok {
		s.renderError(w, pageErr(http.StatusBadRequest, "invalid_request", "Choose one of the listed accounts"))
		return
	}
	code, err := s.randomToken("4/0A", 48)
	if err != nil {
		s.log.Error("issue authorization code", "err", err)
		s.renderError(w, pageErr(http.StatusInternalServerError, "server_error", "Internal error"))
		return
	}
	k := grantKey{account: email, clientID: req.client.ID}
	s.mu.Lock()
	now := s.now()
	for c, ac := range s.codes { // keep the map bounded by expired codes no one will present
		if !now.Before(ac.expiry) {
			delete(s.codes, c)
		}
	}
	g := s.grants[k]
	if g == nil {
		g = &grantState{scopes: map[string]bool{}}
		s.grants[k] = g
	}
	scopes := slices.Clone(req.scopes)
	if req.includeGranted {
		scopes = append(scopes, slices.Collect(maps.Keys(g.scopes))...)
		slices.Sort(scopes)
		scopes = slices.Compact(scopes)
	}
	for _, sc := range req.scopes {
		g.scopes[sc] = true
	}
	s.codes[code] = &authCode{
		key:           k,
		scopes:        scopes,
		redirectURI:   req.redirectURI,
		challenge:     req.challenge,
		method:        req.method,
		offline:       req.offline,
		promptConsent: req.promptConsent,
		nonce:         req.nonce,
		expiry:        now.Add(codeTTL),
	}
	s.mu.Unlock()
	s.log.Info("consent granted", "account", email, "client_id", req.client.ID, "scopes", scopes)

	params := url.Values{"code": {code}, "scope": {strings.Join(scopes, " ")}}
	if _, ok := req.params["state"]; ok {
		params.Set("state", req.state)
	}
	http.Redirect(w, r, redirectTo(req.redirectURI, params), http.StatusFound)
}

func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, req authRequest, code string) {
	params := url.Values{"error": {code}}
	if _, ok := req.params["state"]; ok {
		params.Set("state", req.state)
	}
	http.Redirect(w, r, redirectTo(req.redirectURI, params), http.StatusFound)
}

type consentAccount struct {
	ID      string
	Email   string
	Name    string
	Checked bool
}

type consentPage struct {
	ClientID string
	Action   string
	Hidden   []hiddenField
	Accounts []consentAccount
	Scopes   []string
}

type hiddenField struct{ Name, Value string }

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - Google Accounts (emulator)</title>
</head>
<body>
<main>
<h1>Sign in with Google</h1>
<form method="post" action="{{.Action}}">
{{- range .Hidden}}
<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{- end}}
<fieldset>
<legend>Choose an account to continue to <strong id="client-id">{{.ClientID}}</strong></legend>
{{- range .Accounts}}
<div>
<input type="radio" name="account" id="{{.ID}}" value="{{.Email}}" required{{if .Checked}} checked{{end}}>
<label for="{{.ID}}">{{.Name}} &lt;{{.Email}}&gt;</label>
</div>
{{- end}}
</fieldset>
<section aria-labelledby="scopes-heading">
<h2 id="scopes-heading">{{.ClientID}} wants to access your Google Account</h2>
<ul id="scopes">
{{- range .Scopes}}
<li>{{.}}</li>
{{- end}}
</ul>
</section>
<p>
<button type="submit" name="action" value="deny" formnovalidate>Cancel</button>
<button type="submit" name="action" value="allow">Allow</button>
</p>
</form>
</main>
</body>
</html>
`))

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Error {{.Status}}: {{.Code}} (emulator)</title>
</head>
<body>
<main>
<h1>Access blocked: authorization error</h1>
<p>Error {{.Status}}: <span id="error-code">{{.Code}}</span></p>
<p id="error-description">{{.Description}}</p>
</main>
</body>
</html>
`))

func (s *Server) renderConsent(w http.ResponseWriter, req authRequest) {
	page := consentPage{ClientID: req.client.ID, Action: s.pathPrefix() + ConsentPath}
	for _, p := range authParams {
		if v, ok := req.params[p]; ok {
			page.Hidden = append(page.Hidden, hiddenField{Name: p, Value: v[0]})
		}
	}
	hinted := false
	for _, a := range s.accounts {
		if a.Email == req.loginHint {
			hinted = true
		}
	}
	for i, a := range s.accounts {
		name := a.DisplayName
		if name == "" {
			name = a.Email
		}
		page.Accounts = append(page.Accounts, consentAccount{
			ID:      fmt.Sprintf("account-%d", i),
			Email:   a.Email,
			Name:    name,
			Checked: (hinted && a.Email == req.loginHint) || (!hinted && i == 0),
		})
	}
	for _, sc := range req.scopes {
		page.Scopes = append(page.Scopes, describeScope(sc))
	}
	setPageHeaders(w)
	w.WriteHeader(http.StatusOK)
	if err := consentTmpl.Execute(w, page); err != nil {
		s.log.Error("render consent page", "err", err)
	}
}

func (s *Server) renderError(w http.ResponseWriter, e *PageError) {
	setPageHeaders(w)
	w.WriteHeader(e.Status)
	if err := errorTmpl.Execute(w, e); err != nil {
		s.log.Error("render error page", "err", err)
	}
}

func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY") // a consent page must not be framed (clickjacking)
	h.Set("Content-Security-Policy", "default-src 'none'")
}

// pathPrefix is the path of the issuer URL, for when the handler is mounted below the root.
func (s *Server) pathPrefix() string {
	u, err := url.Parse(s.Issuer())
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.Path, "/")
}
