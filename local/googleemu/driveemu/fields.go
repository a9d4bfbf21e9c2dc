package driveemu

import (
	"fmt"
	"strings"
)

// fieldMask is a parsed fields parameter: each selected name maps to the selection inside it,
// nil meaning the whole value.
type fieldMask map[string]fieldMask

// parseFields parses the partial-response syntax: "a,b(c,d),e/f,*".
func parseFields(s string) (fieldMask, error) {
	p := &fieldParser{s: strings.ReplaceAll(s, " ", "")}
	m, err := p.list()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q at %d", p.s[p.i], p.i)
	}
	return m, nil
}

type fieldParser struct {
	s string
	i int
}

func (p *fieldParser) list() (fieldMask, error) {
	m := fieldMask{}
	for {
		if err := p.item(m); err != nil {
			return nil, err
		}
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		return m, nil
	}
}

func (p *fieldParser) item(into fieldMask) error {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(",()/", rune(p.s[p.i])) {
		p.i++
	}
	name := p.s[start:p.i]
	if name == "" {
		return fmt.Errorf("empty field name at %d", start)
	}
	var sub fieldMask
	switch {
	case p.i < len(p.s) && p.s[p.i] == '/':
		p.i++
		sub = into[name]
		if sub == nil {
			sub = fieldMask{}
		}
		if err := p.item(sub); err != nil {
			return err
		}
	case p.i < len(p.s) && p.s[p.i] == '(':
		p.i++
		inner, err := p.list()
		if err != nil {
			return err
		}
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return fmt.Errorf("missing ) at %d", p.i)
		}
		p.i++
		sub = inner
		if prev, ok := into[name]; ok && prev != nil {
			for k, v := range inner {
				prev[k] = v
			}
			sub = prev
		}
	}
	if prev, ok := into[name]; ok && prev == nil {
		return nil // already selected whole
	}
	into[name] = sub
	return nil
}

// apply keeps only the selected parts of v, a tree of maps and slices from a resource.
func (m fieldMask) apply(v any) any {
	if m == nil {
		return v
	}
	switch t := v.(type) {
	case map[string]any:
		if _, all := m["*"]; all {
			return t
		}
		out := map[string]any{}
		for k, sub := range m {
			if val, ok := t[k]; ok {
				out[k] = sub.apply(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = m.apply(x)
		}
		return out
	}
	return v
}

// defaultFileFields is what Drive returns for a file when the request names no fields.
var defaultFileFields = fieldMask{"kind": nil, "id": nil, "name": nil, "mimeType": nil}

// fileMask returns the selection for a single-file reply.
func fileMask(fields string) (fieldMask, *apiError) {
	if fields == "" {
		return defaultFileFields, nil
	}
	m, err := parseFields(fields)
	if err != nil {
		return nil, errInvalidParam("fields", "Invalid field selection "+fields)
	}
	return m, nil
}
