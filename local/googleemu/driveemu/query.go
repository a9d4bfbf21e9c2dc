package driveemu

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// A query is a parsed files.list q parameter, evaluated per file.
type query interface {
	match(ctx *queryCtx, f *file) bool
}

type queryCtx struct {
	acct   *account
	client string
}

type andQuery []query
type orQuery []query
type notQuery struct{ q query }

func (q andQuery) match(c *queryCtx, f *file) bool {
	for _, x := range q {
		if !x.match(c, f) {
			return false
		}
	}
	return true
}

func (q orQuery) match(c *queryCtx, f *file) bool {
	for _, x := range q {
		if x.match(c, f) {
			return true
		}
	}
	return false
}

func (q notQuery) match(c *queryCtx, f *file) bool { return !q.q.match(c, f) }

type cmpQuery struct {
	field string // name, mimeType, trashed, starred, fullText, modifiedTime, createdTime
	op    string // = != contains < <= > >=
	str   string
	b     bool
	t     time.Time
}

func (q cmpQuery) match(c *queryCtx, f *file) bool {
	switch q.field {
	case "name", "mimeType", "fullText":
		v := f.Name
		if q.field == "mimeType" {
			v = f.MimeType
		}
		switch q.op {
		case "=":
			return v == q.str
		case "!=":
			return v != q.str
		case "contains":
			if q.field == "mimeType" {
				return strings.Contains(v, q.str)
			}
			return nameContains(v, q.str)
		}
	case "trashed":
		return (f.Trashed == q.b) == (q.op == "=")
	case "starred":
		return (!q.b) == (q.op == "=") // nothing is starred
	case "modifiedTime", "createdTime":
		v := f.Modified
		if q.field == "createdTime" {
			v = f.Created
		}
		switch q.op {
		case "=":
			return v.Equal(q.t)
		case "!=":
			return !v.Equal(q.t)
		case "<":
			return v.Before(q.t)
		case "<=":
			return !v.After(q.t)
		case ">":
			return v.After(q.t)
		case ">=":
			return !v.Before(q.t)
		}
	}
	return false
}

// nameContains mimics Drive's prefix matching for name contains: the value must start the name
// or one of its words, ignoring case.
func nameContains(name, v string) bool {
	name, v = strings.ToLower(name), strings.ToLower(v)
	if strings.HasPrefix(name, v) {
		return true
	}
	prevWord := false
	for i, r := range name {
		w := isWordRune(r)
		if w && !prevWord && strings.HasPrefix(name[i:], v) {
			return true
		}
		prevWord = w
	}
	return false
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

type inParentsQuery struct{ id string }

func (q inParentsQuery) match(c *queryCtx, f *file) bool {
	return slices.Contains(f.Parents, c.acct.resolve(q.id))
}

type appPropQuery struct{ key, value string }

func (q appPropQuery) match(c *queryCtx, f *file) bool {
	v, ok := f.AppProperties[c.client][q.key]
	return ok && v == q.value
}

// constQuery answers every file the same; it stands for terms about people ('x' in owners),
// where every file in an account belongs to its user.
type constQuery bool

func (q constQuery) match(*queryCtx, *file) bool { return bool(q) }

// parseQuery parses Drive's search query language (the subset README.md lists).
func parseQuery(s string, me string) (query, error) {
	toks, err := lexQuery(s)
	if err != nil {
		return nil, err
	}
	p := &queryParser{toks: toks, me: me}
	q, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.i].text)
	}
	return q, nil
}

type tokKind int

const (
	tokWord tokKind = iota
	tokString
	tokOp
	tokPunct
)

type token struct {
	kind tokKind
	text string
}

func lexQuery(s string) ([]token, error) {
	var toks []token
	r := []rune(s)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '\'' || c == '"':
			quote := c
			var b strings.Builder
			i++
			closed := false
			for i < len(r) {
				if r[i] == '\\' && i+1 < len(r) {
					b.WriteRune(r[i+1])
					i += 2
					continue
				}
				if r[i] == quote {
					closed = true
					i++
					break
				}
				b.WriteRune(r[i])
				i++
			}
			if !closed {
				return nil, errors.New("unterminated string")
			}
			toks = append(toks, token{tokString, b.String()})
		case c == '(' || c == ')' || c == '{' || c == '}':
			toks = append(toks, token{tokPunct, string(c)})
			i++
		case c == '=' || c == '!' || c == '<' || c == '>':
			op := string(c)
			if i+1 < len(r) && r[i+1] == '=' {
				op += "="
				i++
			}
			if op == "!" {
				return nil, errors.New(`bad operator "!"; did you mean "!="`)
			}
			toks = append(toks, token{tokOp, op})
			i++
		case unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '-' || c == '.' || c == ':':
			j := i
			for j < len(r) && (unicode.IsLetter(r[j]) || unicode.IsDigit(r[j]) || strings.ContainsRune("_-.:", r[j])) {
				j++
			}
			toks = append(toks, token{tokWord, string(r[i:j])})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return toks, nil
}

type queryParser struct {
	toks []token
	i    int
	me   string
}

func (p *queryParser) peekWord(w string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == tokWord && strings.EqualFold(p.toks[p.i].text, w)
}

func (p *queryParser) next() (token, error) {
	if p.i >= len(p.toks) {
		return token{}, errors.New("unexpected end of query")
	}
	t := p.toks[p.i]
	p.i++
	return t, nil
}

func (p *queryParser) expect(kind tokKind, text string) error {
	t, err := p.next()
	if err != nil {
		return err
	}
	if t.kind != kind || (text != "" && !strings.EqualFold(t.text, text)) {
		return fmt.Errorf("expected %q, got %q", text, t.text)
	}
	return nil
}

func (p *queryParser) or() (query, error) {
	q, err := p.and()
	if err != nil {
		return nil, err
	}
	out := orQuery{q}
	for p.peekWord("or") {
		p.i++
		q, err := p.and()
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func (p *queryParser) and() (query, error) {
	q, err := p.unary()
	if err != nil {
		return nil, err
	}
	out := andQuery{q}
	for p.peekWord("and") {
		p.i++
		q, err := p.unary()
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func (p *queryParser) unary() (query, error) {
	if p.peekWord("not") {
		p.i++
		q, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notQuery{q}, nil
	}
	if p.i < len(p.toks) && p.toks[p.i].kind == tokPunct && p.toks[p.i].text == "(" {
		p.i++
		q, err := p.or()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tokPunct, ")"); err != nil {
			return nil, err
		}
		return q, nil
	}
	return p.term()
}

func (p *queryParser) term() (query, error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	if t.kind == tokString {
		// 'value' in collection
		if err := p.expect(tokWord, "in"); err != nil {
			return nil, err
		}
		coll, err := p.next()
		if err != nil {
			return nil, err
		}
		switch coll.text {
		case "parents":
			return inParentsQuery{id: t.text}, nil
		case "owners", "writers", "readers":
			return constQuery(t.text == p.me || t.text == "me"), nil
		}
		return nil, fmt.Errorf("unknown collection %q", coll.text)
	}
	if t.kind != tokWord {
		return nil, fmt.Errorf("unexpected %q", t.text)
	}
	switch t.text {
	case "appProperties", "properties":
		if err := p.expect(tokWord, "has"); err != nil {
			return nil, err
		}
		k, v, err := p.keyValue()
		if err != nil {
			return nil, err
		}
		if t.text == "properties" {
			return constQuery(false), nil // public properties are not emulated
		}
		return appPropQuery{key: k, value: v}, nil
	case "name", "mimeType", "fullText":
		op, err := p.next()
		if err != nil {
			return nil, err
		}
		valid := op.kind == tokOp && (op.text == "=" || op.text == "!=") && t.text != "fullText"
		valid = valid || (op.kind == tokWord && op.text == "contains")
		if !valid {
			return nil, fmt.Errorf("operator %q not allowed for %s", op.text, t.text)
		}
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		return cmpQuery{field: t.text, op: op.text, str: v}, nil
	case "trashed", "starred":
		op, err := p.next()
		if err != nil {
			return nil, err
		}
		if op.kind != tokOp || (op.text != "=" && op.text != "!=") {
			return nil, fmt.Errorf("operator %q not allowed for %s", op.text, t.text)
		}
		v, err := p.next()
		if err != nil {
			return nil, err
		}
		if v.kind != tokWord || (v.text != "true" && v.text != "false") {
			return nil, fmt.Errorf("%s needs true or false", t.text)
		}
		return cmpQuery{field: t.text, op: op.text, b: v.text == "true"}, nil
	case "modifiedTime", "createdTime":
		op, err := p.next()
		if err != nil {
			return nil, err
		}
		if op.kind != tokOp {
			return nil, fmt.Errorf("operator %q not allowed for %s", op.text, t.text)
		}
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		ts, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, fmt.Errorf("bad time %q", v)
		}
		return cmpQuery{field: t.text, op: op.text, t: ts}, nil
	}
	return nil, fmt.Errorf("unknown term %q", t.text)
}

func (p *queryParser) str() (string, error) {
	t, err := p.next()
	if err != nil {
		return "", err
	}
	if t.kind != tokString {
		return "", fmt.Errorf("expected a quoted string, got %q", t.text)
	}
	return t.text, nil
}

// keyValue parses "{ key='k' and value='v' }".
func (p *queryParser) keyValue() (string, string, error) {
	if err := p.expect(tokPunct, "{"); err != nil {
		return "", "", err
	}
	if err := p.expect(tokWord, "key"); err != nil {
		return "", "", err
	}
	if err := p.expect(tokOp, "="); err != nil {
		return "", "", err
	}
	k, err := p.str()
	if err != nil {
		return "", "", err
	}
	if err := p.expect(tokWord, "and"); err != nil {
		return "", "", err
	}
	if err := p.expect(tokWord, "value"); err != nil {
		return "", "", err
	}
	if err := p.expect(tokOp, "="); err != nil {
		return "", "", err
	}
	v, err := p.str()
	if err != nil {
		return "", "", err
	}
	if err := p.expect(tokPunct, "}"); err != nil {
		return "", "", err
	}
	return k, v, nil
}
