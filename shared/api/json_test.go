package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The attacks an audit made on the API's JSON: each was accepted by encoding/json's defaults.
func TestStrictMediaType(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	tok := s.manager(t)
	refused := []string{
		"application/jsonx",
		"application/json-patch+json",
		"application/json5",
		"text/json",
		"application/json; charset=iso-8859-1",
		"application/json; charset=utf-16",
		"application/json; profile=x",
		"application/json, text/plain",
	}
	accepted := []string{"application/json", "application/json; charset=utf-8", "Application/JSON; Charset=UTF-8", ""}
	for _, rc := range allRoutes {
		if rc.body == "" {
			continue
		}
		for _, ct := range refused {
			r := do(t, rc.method, s.url+rc.path, tok, ct, strings.NewReader(rc.body))
			mustProblem(t, r, http.StatusUnsupportedMediaType, "unsupported-media-type")
		}
		for _, ct := range accepted {
			if r := do(t, rc.method, s.url+rc.path, tok, ct, strings.NewReader(rc.body)); r.status >= 400 {
				t.Errorf("%s %s with Content-Type %q: status %d, want success; %s", rc.method, rc.path, ct, r.status, r.body)
			}
		}
	}
	// Two Content-Type headers are as ambiguous as a list in one.
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", s.url+"/v1/integration", strings.NewReader(`{"enabled":true}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header["Content-Type"] = []string{"application/json", "text/plain"}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusUnsupportedMediaType; got != want {
		t.Errorf("two Content-Type headers: status %d, want %d", got, want)
	}
}

func TestStrictJSONBodies(t *testing.T) {
	t.Parallel()
	s := newAPI(t)
	tok := s.manager(t)
	for _, rc := range allRoutes {
		if rc.body == "" {
			continue
		}
		name, value := firstMember(t, rc.body)
		rest := strings.TrimPrefix(rc.body, "{")
		upper := strings.ToUpper(name[:1]) + name[1:]
		attacks := []struct {
			name    string
			body    string
			pointer string // "" when the problem names no field
		}{
			{"duplicate key", `{"` + name + `":` + value + `,` + rest, "/" + name},
			{"duplicate key, other value", `{"` + name + `":null,` + rest, "/" + name},
			{"case-insensitive name", strings.Replace(rc.body, `"`+name+`"`, `"`+upper+`"`, 1), "/" + upper},
			{"upper-case name", strings.Replace(rc.body, `"`+name+`"`, `"`+strings.ToUpper(name)+`"`, 1), "/" + strings.ToUpper(name)},
			{"invalid UTF-8 in a name", strings.Replace(rc.body, `"`+name+`"`, "\"\xff"+name+`"`, 1), ""},
			{"invalid UTF-8 in a string", `{"x":"a` + "\xc3\x28" + `",` + rest, ""},
			{"lone surrogate escape", `{"x":"\ud800",` + rest, ""},
			{"trailing brace", rc.body + `}`, ""},
		}
		for _, a := range attacks {
			r := do(t, rc.method, s.url+rc.path, tok, "application/json", strings.NewReader(a.body))
			if r.status != http.StatusBadRequest {
				t.Errorf("%s, %s %s %q: status %d, want 400; %s", a.name, rc.method, rc.path, a.body, r.status, r.body)
				continue
			}
			p := mustProblem(t, r, http.StatusBadRequest, "validation")
			if a.pointer == "" {
				continue
			}
			if len(p.Errors) != 1 || p.Errors[0].Pointer != a.pointer {
				t.Errorf("%s, %s %s: errors %+v, want one at %s", a.name, rc.method, rc.path, p.Errors, a.pointer)
			}
		}
	}
	// Names inside a string value are fine: only the encoding is checked.
	r := do(t, "PATCH", s.url+"/v1/connections/c1", tok, "application/json", strings.NewReader(`{"name":"Compta \u00e9t\u00e9 ✓"}`))
	if r.status >= 400 {
		t.Errorf("a valid non-ASCII name: status %d; %s", r.status, r.body)
	}
	var called int
	for _, c := range s.svc.Calls() {
		if c != "" {
			called++
		}
	}
	// Only the accepted requests above reached the service.
	if called != 1 {
		t.Errorf("service called %d times (%v), want once: an attack reached it", called, s.svc.Calls())
	}
}

// firstMember returns the name of body's first member and that member's value as JSON.
func firstMember(t *testing.T, body string) (string, string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	tok, err := dec.Token()
	if err != nil {
		t.Fatal(err)
	}
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return tok.(string), string(v)
}
