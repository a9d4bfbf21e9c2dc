package apispec_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efactori/drivesync/shared/api/apispec"
)

const doc = `openapi: 3.1.0
info: {title: t, version: '1'}
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
`

func load(t *testing.T, text string) (*apispec.Spec, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "openapi.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return apispec.Load(p)
}

func TestLoadRefusesDanglingRefs(t *testing.T) {
	t.Parallel()
	_, err := load(t, strings.Replace(doc, "#/components/schemas/Thing", "#/components/schemas/Nothing", 1))
	if err == nil || !strings.Contains(err.Error(), "Nothing") {
		t.Fatalf("Load = %v, want a dangling $ref error", err)
	}
}

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
		{"GET", "/things/", ""},
		{"PUT", "/things/abc", ""},
		{"GET", "/things/abc/more", ""},
	} {
		got, _ := s.Match(tt.method, tt.path)
		if got != tt.want {
			t.Errorf("Match(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
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
		{name: "conforms", status: 200, header: jsonHeader, body: `{"id":"abc","size":3,"kind":"a","note":null}`},
		{name: "empty 204", status: 204, header: http.Header{}},
		{name: "undocumented status", status: 500, header: jsonHeader, body: `{}`, want: "not documented"},
		{name: "wrong media type", status: 200, header: http.Header{"Content-Type": {"text/plain"}}, body: `x`, want: "media type"},
		{name: "missing field", status: 200, header: jsonHeader, body: `{"id":"abc"}`, want: `lacks required "size"`},
		{name: "extra field", status: 200, header: jsonHeader, body: `{"id":"abc","size":1,"x":1}`, want: `undocumented property "x"`},
		{name: "wrong type", status: 200, header: jsonHeader, body: `{"id":"abc","size":"1"}`, want: "/size: is string"},
		{name: "not in enum", status: 200, header: jsonHeader, body: `{"id":"abc","size":1,"kind":"c"}`, want: "not one of"},
		{name: "pattern", status: 200, header: jsonHeader, body: `{"id":"ABC","size":1}`, want: "does not match"},
		{name: "minimum", status: 200, header: jsonHeader, body: `{"id":"abc","size":-1}`, want: "below"},
		{name: "oneOf", status: 200, header: jsonHeader, body: `{"id":"abc","size":1,"note":"toolong"}`, want: "oneOf"},
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
}
