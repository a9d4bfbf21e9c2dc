package apispec_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efactori/drivesync/local/apispec"
)

const doc = `openapi: 3.1.0
info: {title: t, version: '1'}
servers:
  - url: https://api.example
paths:
  /things/{id}:
    get:
      operationId: getThing
      responses:
        '200':
          description: a thing
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
        '204': {description: nothing}
        '303':
          description: elsewhere
          headers:
            Location:
              schema: {type: string, format: uri}
  /things/mine:
    get:
      operationId: getMine
      responses:
        '204': {description: nothing}
components:
  schemas:
    Thing:
      type: object
      required: [id, size]
      additionalProperties: false
      properties:
        id: {type: string, pattern: '^[a-z]+$'}
        size: {type: integer, minimum: 0}
        kind: {type: string, enum: [a, b]}
        note:
          oneOf:
            - type: 'null'
            - {type: string, maxLength: 3}
        at: {type: [string, 'null'], format: date-time}
        email: {type: string, format: email}
        link: {type: string, format: uri}
`

func load(t *testing.T, text string) (*apispec.Spec, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "openapi.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return apispec.Load(p)
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, doc, want string
	}{
		{"dangling $ref", strings.Replace(doc, "#/components/schemas/Thing", "#/components/schemas/Nothing", 1), "Nothing"},
		{"OpenAPI 3.0", strings.Replace(doc, "openapi: 3.1.0", "openapi: 3.0.3", 1), "want 3.1.x"},
		{"no operationId", strings.Replace(doc, "      operationId: getMine\n", "", 1), "GET /things/mine has no operationId"},
		{"invalid document", strings.Replace(doc, "info: {title: t, version: '1'}", "info: {title: t}", 1), "version"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tt.doc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestOperations(t *testing.T) {
	t.Parallel()
	s, err := load(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(s.Operations(), ", "), "GET /things/mine, GET /things/{id}"; got != want {
		t.Errorf("Operations = %s, want %s", got, want)
	}
	if s.HasRequestBody("GET /things/{id}") {
		t.Error("HasRequestBody(GET /things/{id}) = true, want false")
	}
}

// TestMatch pins routing: a literal segment beats a template whatever the document's order, so
// an answer is never checked against the wrong operation.
func TestMatch(t *testing.T) {
	t.Parallel()
	s, err := load(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		method, path, want string
	}{
		{"GET", "/things/abc", "GET /things/{id}"},
		{"GET", "/things/mine", "GET /things/mine"},
		{"GET", "/things/", ""},
		{"PUT", "/things/abc", ""},
		{"GET", "/things/abc/more", ""},
	} {
		for range 20 { // a map-ordered lookup would answer differently now and then
			if got, _ := s.Match(tt.method, tt.path); got != tt.want {
				t.Errorf("Match(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
				break
			}
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	s, err := load(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   string // a substring of the first error; "" for none
	}{
		{name: "conforms", status: 200, header: jsonHeader,
			body: `{"id":"abc","size":3,"kind":"a","note":null,"at":"2025-01-02T03:04:05Z","email":"a@b.example","link":"https://x.example/p"}`},
		{name: "null time", status: 200, header: jsonHeader, body: `{"id":"abc","size":3,"at":null}`},
		{name: "empty 204", status: 204, header: http.Header{}},
		{name: "redirect", status: 303, header: http.Header{"Location": {"https://x.example/done"}, "Content-Type": {"text/html; charset=utf-8"}}, body: `<a href="https://x.example/done">See Other</a>.`},
		{name: "undocumented status", status: 500, header: jsonHeader, body: `{}`, want: "'500' does not exist"},
		{name: "wrong media type", status: 200, header: http.Header{"Content-Type": {"text/plain"}}, body: `x`, want: "'text/plain' does not exist"},
		{name: "missing field", status: 200, header: jsonHeader, body: `{"id":"abc"}`, want: "missing property 'size'"},
		{name: "extra field", status: 200, header: jsonHeader, body: `{"id":"abc","size":1,"x":1}`, want: "additional properties 'x' not allowed"},
		{name: "wrong type", status: 200, header: jsonHeader, body: `{"id":"abc","size":"1"}`, want: "at $.size"},
		{name: "not in enum", status: 200, header: jsonHeader, body: `{"id":"abc","size":1,"kind":"c"}`, want: "at $.kind"},
		{name: "pattern", status: 200, header: jsonHeader, body: `{"id":"ABC","size":1}`, want: "at $.id"},
		{name: "minimum", status: 200, header: jsonHeader, body: `{"id":"abc","size":-1}`, want: "at $.size"},
		{name: "oneOf", status: 200, header: jsonHeader, body: `{"id":"abc","size":1,"note":"toolong"}`, want: "at $.note"},
		{name: "format date-time", status: 200, header: jsonHeader, body: `{"id":"abc","size":1,"at":"yesterday"}`, want: "not valid date-time"},
		{name: "format email", status: 200, header: jsonHeader, body: `{"id":"abc","size":1,"email":"nobody"}`, want: "not valid email"},
		{name: "format uri", status: 200, header: jsonHeader, body: `{"id":"abc","size":1,"link":"not a uri"}`, want: "not valid uri"},
		{name: "not JSON", status: 200, header: jsonHeader, body: `{"id":`, want: "decode"},
		{name: "body on 204", status: 204, header: jsonHeader, body: `{}`, want: "documented as empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			errs := s.Check("GET /things/{id}", tt.status, tt.header, []byte(tt.body))
			switch {
			case tt.want == "" && len(errs) > 0:
				t.Errorf("Check: %v", errs)
			case tt.want != "" && (len(errs) == 0 || !strings.Contains(errs[0].Error(), tt.want)):
				t.Errorf("Check = %v, want an error with %q", errs, tt.want)
			}
		})
	}
	if errs := s.Check("GET /nothing", 200, jsonHeader, nil); len(errs) != 1 || !strings.Contains(errs[0].Error(), "not documented") {
		t.Errorf("Check(GET /nothing) = %v, want not documented", errs)
	}
}
