package oauthemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Consent does what a browser does when a person opens authURL, picks account on the consent
// page and clicks Allow (allow) or Cancel: it loads the real page, reads its form and posts it.
// It returns where the browser would be sent next, the client's redirect URI with code and
// state or error. When the page is an error page it returns a *PageError. The requests are
// served in process, so the server need not be listening.
func (s *Server) Consent(ctx context.Context, authURL, account string, allow bool) (*url.URL, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return nil, fmt.Errorf("parse auth URL: %w", err)
	}
	browser := &http.Client{
		Transport: handlerTransport{s.Handler()},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // the redirect leaves for the client's site
		},
	}
	resp, body, err := fetch(ctx, browser, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("open consent page: %w", err)
	}
	if loc, ok := redirected(resp); ok { // AutoConsent or prompt=none
		return loc, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, pageErrorFrom(resp.StatusCode, body)
	}
	form, err := parseConsentForm(body)
	if err != nil {
		return nil, fmt.Errorf("read consent page: %w", err)
	}
	if !form.accounts[account] {
		return nil, fmt.Errorf("account %q is not offered on the consent page", account)
	}
	action := "deny"
	if allow {
		action = "allow"
	}
	if !form.actions[action] {
		return nil, fmt.Errorf("consent page has no %s button", action)
	}
	values := form.hidden
	values.Set("account", account)
	values.Set("action", action)
	target, err := u.Parse(form.action)
	if err != nil {
		return nil, fmt.Errorf("parse form action: %w", err)
	}
	resp, body, err = fetch(ctx, browser, form.method, target.String(), values)
	if err != nil {
		return nil, fmt.Errorf("submit consent form: %w", err)
	}
	if loc, ok := redirected(resp); ok {
		return loc, nil
	}
	return nil, pageErrorFrom(resp.StatusCode, body)
}

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func fetch(ctx context.Context, c *http.Client, method, target string, form url.Values) (*http.Response, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("read body: %w", err)
	}
	return resp, b, nil
}

func redirected(resp *http.Response) (*url.URL, bool) {
	if resp.StatusCode != http.StatusFound {
		return nil, false
	}
	loc, err := resp.Location()
	return loc, err == nil
}

// consentForm is what a browser sees in the consent page's form.
type consentForm struct {
	method, action string
	hidden         url.Values
	accounts       map[string]bool // radio values whose input has a <label for>
	actions        map[string]bool // submit button values
}

// parseConsentForm reads the first form of page. It counts an account radio only when a label
// names it, so a page a person could not use with a screen reader fails here too.
func parseConsentForm(page []byte) (*consentForm, error) {
	doc, err := html.Parse(strings.NewReader(string(page)))
	if err != nil {
		return nil, fmt.Errorf("parse html: %w", err)
	}
	var formNode *html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "form" {
			formNode = n
			break
		}
	}
	if formNode == nil {
		return nil, errors.New("no form")
	}
	f := &consentForm{
		method:   strings.ToUpper(attr(formNode, "method")),
		action:   attr(formNode, "action"),
		hidden:   url.Values{},
		accounts: map[string]bool{},
		actions:  map[string]bool{},
	}
	if f.method != http.MethodPost {
		return nil, fmt.Errorf("form method %q, want post", f.method)
	}
	labelled := map[string]bool{}
	radios := map[string]string{} // id -> value
	for n := range formNode.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "label":
			labelled[attr(n, "for")] = true
		case "input":
			switch attr(n, "type") {
			case "hidden":
				f.hidden.Add(attr(n, "name"), attr(n, "value"))
			case "radio":
				if attr(n, "name") == "account" {
					radios[attr(n, "id")] = attr(n, "value")
				}
			}
		case "button":
			if t := attr(n, "type"); (t == "" || t == "submit") && attr(n, "name") == "action" {
				f.actions[attr(n, "value")] = true
			}
		}
	}
	for id, v := range radios {
		if id != "" && labelled[id] {
			f.accounts[v] = true
		}
	}
	return f, nil
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// pageErrorFrom reads the error page the auth endpoint renders.
func pageErrorFrom(status int, page []byte) error {
	e := &PageError{Status: status}
	doc, err := html.Parse(strings.NewReader(string(page)))
	if err == nil {
		for n := range doc.Descendants() {
			if n.Type != html.ElementNode {
				continue
			}
			switch attr(n, "id") {
			case "error-code":
				e.Code = text(n)
			case "error-description":
				e.Description = text(n)
			}
		}
	}
	if e.Code == "" {
		return fmt.Errorf("unexpected consent response: status %d", status)
	}
	return e
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.TrimSpace(b.String())
}
