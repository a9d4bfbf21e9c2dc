// Package apispec checks HTTP answers against the connection API's OpenAPI 3.1 document
// (docs/api/openapi.yaml), so that tests keep the document and the handlers in step, both on the
// handlers alone (shared/api) and end to end (functions/connections). Production code never
// imports it.
//
// It is a thin layer over pb33f's libopenapi-validator, a maintained OpenAPI 3.0/3.1 validator
// whose schemas are JSON Schema 2020-12 (pb33f/jsonschema): routing, status, media type,
// documented headers and the body's schema, `format` included (date-time, email, uri…), are all
// the library's. This package adds only what is drivesync's own rule: every operation has an
// operationId and responses, and a response documented without content has no body.
package apispec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/router"
	"github.com/pb33f/libopenapi/datamodel"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"
)

// Spec is a loaded OpenAPI document.
type Spec struct {
	validator validator.Validator
	router    router.Router
	ops       map[string]op // "METHOD /path" → operation
}

type op struct {
	path string
	item *v3.PathItem
	op   *v3.Operation
}

// Load reads the document at path and checks it: an OpenAPI 3.1 document, valid against the
// OpenAPI 3.1 schema, whose every $ref resolves and whose every operation has an operationId and
// responses.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load openapi document: %w", err)
	}
	// The library reports what it cannot resolve through the error below and logs it too: no log.
	cfg := datamodel.NewDocumentConfiguration()
	cfg.Logger = slog.New(slog.DiscardHandler)
	doc, err := libopenapi.NewDocumentWithConfiguration(b, cfg)
	if err != nil {
		return nil, fmt.Errorf("parse openapi document %s: %w", path, err)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1.") {
		return nil, fmt.Errorf("openapi document %s: openapi is %q, want 3.1.x", path, v)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("openapi document %s: %w", path, err)
	}
	var errs []error
	errs = append(errs, model.Index.GetReferenceIndexErrors()...)
	v, verrs := validator.NewValidator(doc, config.WithFormatAssertions())
	errs = append(errs, verrs...)
	if v != nil {
		if ok, docErrs := v.ValidateDocument(); !ok {
			for _, e := range docErrs {
				errs = append(errs, describe(e))
			}
		}
	}
	s := &Spec{validator: v, router: router.NewRouter(&model.Model, router.WithPathOnlyMatching()), ops: map[string]op{}}
	if model.Model.Paths != nil {
		for p, item := range model.Model.Paths.PathItems.FromOldest() {
			for m, o := range item.GetOperations().FromOldest() {
				key := strings.ToUpper(m) + " " + p
				if o.OperationId == "" {
					errs = append(errs, fmt.Errorf("%s has no operationId", key))
				}
				if o.Responses == nil || orderedmap.Len(o.Responses.Codes) == 0 && o.Responses.Default == nil {
					errs = append(errs, fmt.Errorf("%s has no responses", key))
				}
				s.ops[key] = op{path: p, item: item, op: o}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("openapi document %s: %w", path, err)
	}
	return s, nil
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
func (s *Spec) HasRequestBody(operation string) bool {
	o, ok := s.ops[operation]
	return ok && o.op.RequestBody != nil
}

// Match returns the operation that serves method on a concrete path such as
// /v1/connections/abc/folders, as libopenapi-validator's router finds it: a literal segment wins
// over a template, a path two operations match equally is not found, and so is a path whose
// parameter would be empty. Only the path counts, not the server: tests serve the API on
// loopback ports the document cannot list.
func (s *Spec) Match(method, path string) (string, bool) {
	req, err := http.NewRequest(method, path, nil)
	if err != nil {
		return "", false
	}
	route, err := s.router.FindRoute(req)
	if err != nil || route == nil || route.Operation == nil {
		return "", false
	}
	for _, v := range route.PathParams {
		if v == "" { // a path parameter is required: /things/ is not /things/{id}
			return "", false
		}
	}
	return method + " " + route.Path, true
}

// Check returns every way an answer of operation (status, header, body) departs from the
// document: an undocumented status, a media type the status does not document, a body that
// breaks the schema (formats included) or a documented header that breaks its own, a body where
// the document has none.
func (s *Spec) Check(operation string, status int, header http.Header, body []byte) []error {
	o, ok := s.ops[operation]
	if !ok {
		return []error{fmt.Errorf("%s is not documented", operation)}
	}
	method, _, _ := strings.Cut(operation, " ")
	// The validator reads the method (which operation of the path item) and the path (in its
	// messages) of the request; the operation is already known, so the template path will do.
	req := httptest.NewRequest(method, "http://apispec.invalid/", nil)
	req.URL.Path = o.path
	resp := &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), Request: req}
	var errs []error
	_, verrs := s.validator.GetResponseBodyValidator().ValidateResponseBodyWithPathItem(req, resp, o.item, o.path)
	for _, e := range verrs {
		errs = append(errs, fmt.Errorf("%s answered %d: %w", operation, status, describe(e)))
	}
	// A redirect's short HTML body (net/http writes one for GET) is not part of the contract.
	if r := o.op.Responses.FindResponseByCode(status); r != nil && orderedmap.Len(r.Content) == 0 && len(body) > 0 && status/100 != 3 {
		errs = append(errs, fmt.Errorf("%s answered %d with a %s body, documented as empty", operation, status, header.Get("Content-Type")))
	}
	return errs
}

// describe turns a validation error into one line: the library's message and reason, then each
// schema failure with the JSON path of the value that breaks it.
func describe(e *liberrors.ValidationError) error {
	msg := e.Message
	if e.Reason != "" && e.Reason != e.Message {
		msg += ": " + e.Reason
	}
	for _, f := range e.SchemaValidationErrors {
		msg += "; " + f.Reason
		if f.FieldPath != "" {
			msg += " at " + f.FieldPath
		}
	}
	return errors.New(msg)
}
