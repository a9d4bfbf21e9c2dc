// Package apispec reads the API's OpenAPI document (docs/api/openapi.yaml) and checks HTTP
// answers against it: the status is documented for the operation, the media type is the
// documented one, and a JSON body has the documented shape. Tests use it to keep the document
// and the handlers in step, both on the handlers alone and end to end; production code does not.
//
// The shape check understands the subset of JSON Schema the document uses (type, enum,
// required, properties, additionalProperties, items, oneOf, $ref, pattern, minLength,
// maxLength, minimum); a schema keyword it does not know fails the check rather than pass it.
package apispec

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Spec is a loaded OpenAPI document.
type Spec struct {
	root map[string]any
	ops  map[string]map[string]any // "METHOD /path" → operation object
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// Load reads and checks the document at path: an OpenAPI 3.1 document whose every $ref
// resolves and whose every operation has an operationId and responses.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load openapi document: %w", err)
	}
	var root map[string]any
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("parse openapi document %s: %w", path, err)
	}
	s := &Spec{root: root, ops: map[string]map[string]any{}}
	var errs []error
	if v, _ := root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		errs = append(errs, fmt.Errorf("openapi is %q, want 3.1.x", v))
	}
	s.walkRefs(root, func(ref string) { errs = append(errs, fmt.Errorf("$ref %q does not resolve", ref)) })
	paths, _ := root["paths"].(map[string]any)
	for p, item := range paths {
		m, _ := item.(map[string]any)
		for k, v := range m {
			if !slices.Contains(httpMethods, k) {
				continue
			}
			op, _ := v.(map[string]any)
			key := strings.ToUpper(k) + " " + p
			if id, _ := op["operationId"].(string); id == "" {
				errs = append(errs, fmt.Errorf("%s has no operationId", key))
			}
			if _, ok := op["responses"].(map[string]any); !ok {
				errs = append(errs, fmt.Errorf("%s has no responses", key))
			}
			s.ops[key] = op
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("openapi document %s: %w", path, err)
	}
	return s, nil
}

func (s *Spec) walkRefs(n any, dangling func(string)) {
	switch v := n.(type) {
	case map[string]any:
		for k, c := range v {
			if ref, ok := c.(string); ok && k == "$ref" {
				if _, err := s.resolve(ref); err != nil {
					dangling(ref)
				}
			}
			s.walkRefs(c, dangling)
		}
	case []any:
		for _, c := range v {
			s.walkRefs(c, dangling)
		}
	}
}

func (s *Spec) resolve(ref string) (map[string]any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("$ref %s is not local", ref)
	}
	var node any = s.root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %s does not resolve", ref)
		}
		if node, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %s does not resolve", ref)
		}
	}
	m, ok := node.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %s is not an object", ref)
	}
	return m, nil
}

// Operations returns every operation as "METHOD /path", sorted.
func (s *Spec) Operations() []string {
	out := make([]string, 0, len(s.ops))
	for k := range s.ops {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// HasRequestBody reports whether the operation documents a request body.
func (s *Spec) HasRequestBody(op string) bool {
	_, ok := s.ops[op]["requestBody"]
	return ok
}

// Match returns the operation that serves method on a concrete path such as
// /v1/connections/abc/folders: a {param} segment of the document matches any one segment.
func (s *Spec) Match(method, path string) (string, bool) {
	segs := strings.Split(path, "/")
	for key := range s.ops {
		m, p, _ := strings.Cut(key, " ")
		if m != method {
			continue
		}
		tsegs := strings.Split(p, "/")
		if len(tsegs) != len(segs) {
			continue
		}
		ok := true
		for i, t := range tsegs {
			if !(strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") && segs[i] != "") && t != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return key, true
		}
	}
	return "", false
}

// Check returns every way an answer of op (status, header, body) departs from the document.
func (s *Spec) Check(op string, status int, header http.Header, body []byte) []error {
	o, ok := s.ops[op]
	if !ok {
		return []error{fmt.Errorf("%s is not documented", op)}
	}
	responses, _ := o["responses"].(map[string]any)
	r, ok := responses[strconv.Itoa(status)].(map[string]any)
	if !ok {
		return []error{fmt.Errorf("%s answered %d, which is not documented", op, status)}
	}
	if ref, ok := r["$ref"].(string); ok {
		var err error
		if r, err = s.resolve(ref); err != nil {
			return []error{err}
		}
	}
	content, _ := r["content"].(map[string]any)
	ct := header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if len(content) == 0 {
		if len(body) > 0 && status != http.StatusSeeOther {
			return []error{fmt.Errorf("%s answered %d with a %s body, documented as empty", op, status, ct)}
		}
		return nil
	}
	media, ok := content[mt].(map[string]any)
	if !ok {
		return []error{fmt.Errorf("%s answered %d as %q, not a documented media type", op, status, ct)}
	}
	if mt != "application/json" && mt != "application/problem+json" {
		return nil
	}
	schema, ok := media["schema"].(map[string]any)
	if !ok {
		return []error{fmt.Errorf("%s: %d %s has no schema", op, status, mt)}
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return []error{fmt.Errorf("%s answered %d with a body that is not JSON: %w", op, status, err)}
	}
	var errs []error
	for _, e := range s.check(schema, v, "") {
		errs = append(errs, fmt.Errorf("%s answered %d: body%s", op, status, e))
	}
	return errs
}

var knownKeywords = []string{"type", "enum", "required", "properties", "additionalProperties", "items", "oneOf",
	"$ref", "pattern", "minLength", "maxLength", "minimum", "format", "description", "default"}

// check returns every way v (decoded from JSON) breaks schema, each prefixed with its path.
func (s *Spec) check(schema map[string]any, v any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	for k := range schema {
		if !slices.Contains(knownKeywords, k) {
			fail("schema keyword %q is not understood by apispec", k)
		}
	}
	if ref, ok := schema["$ref"].(string); ok {
		r, err := s.resolve(ref)
		if err != nil {
			return append(errs, path+": "+err.Error())
		}
		return append(errs, s.check(r, v, path)...)
	}
	if one, ok := schema["oneOf"].([]any); ok {
		matches := 0
		for _, alt := range one {
			if m, ok := alt.(map[string]any); ok && len(s.check(m, v, path)) == 0 {
				matches++
			}
		}
		if matches != 1 {
			fail("matches %d of the oneOf alternatives, want exactly 1", matches)
		}
	}
	if t, ok := schema["type"]; ok {
		var types []string
		switch tt := t.(type) {
		case string:
			types = []string{tt}
		case []any:
			for _, x := range tt {
				types = append(types, fmt.Sprint(x))
			}
		}
		got := jsonType(v)
		if !slices.Contains(types, got) && !(got == "integer" && slices.Contains(types, "number")) {
			fail("is %s, want %v", got, types)
			return errs
		}
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		fail("%v is not one of %v", v, enum)
	}
	switch val := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		if req, ok := schema["required"].([]any); ok {
			for _, r := range req {
				if _, ok := val[fmt.Sprint(r)]; !ok {
					fail("lacks required %q", r)
				}
			}
		}
		for k, fv := range val {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if ap, ok := schema["additionalProperties"].(bool); ok && !ap {
					fail("has undocumented property %q", k)
				}
				continue
			}
			errs = append(errs, s.check(ps, fv, path+"/"+k)...)
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, iv := range val {
				errs = append(errs, s.check(items, iv, fmt.Sprintf("%s/%d", path, i))...)
			}
		}
	case string:
		if p, ok := schema["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				fail("pattern %q: %v", p, err)
			} else if !re.MatchString(val) {
				fail("%q does not match %s", val, p)
			}
		}
		if n, ok := schema["maxLength"].(int); ok && utf8.RuneCountInString(val) > n {
			fail("is longer than %d", n)
		}
		if n, ok := schema["minLength"].(int); ok && utf8.RuneCountInString(val) < n {
			fail("is shorter than %d", n)
		}
	case float64:
		if n, ok := schema["minimum"].(int); ok && val < float64(n) {
			fail("%v is below %d", val, n)
		}
	}
	return errs
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
