// Package logging builds the JSON slog loggers drivesync writes to Cloud Logging: Cloud Logging's
// field names, trace correlation from the incoming request, and redaction of anything secret.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Options configure New.
type Options struct {
	// Level is the lowest level written.
	Level slog.Leveler
	// ProjectID qualifies trace IDs as Cloud Logging expects (projects/P/traces/T). Without it,
	// traces are not correlated.
	ProjectID string
}

// New returns a logger writing one JSON object per line to w, using Cloud Logging's field names
// (severity, message, time) and redacting secrets.
func New(w io.Writer, opts Options) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       opts.Level,
		ReplaceAttr: replaceAttr,
	})
	return slog.New(&traceHandler{base: h, projectID: opts.ProjectID})
}

// Cloud Logging reads these special field names from a JSON line.
const (
	fieldTrace        = "logging.googleapis.com/trace"
	fieldSpanID       = "logging.googleapis.com/spanId"
	fieldTraceSampled = "logging.googleapis.com/trace_sampled"
)

// Fields of drivesync's own log lines that the deployment reads: terraform/slo.tf builds its
// log-based metrics on them, and terraform/drift_test.go checks that the two agree.
const (
	// FieldDriveLagMs is the milliseconds from a change's origin to its Drive write, on the line
	// of each delivery that wrote a document: from an eFactori event's occurredAt, or from the
	// start of the initial-copy or reconcile run a copy task belongs to.
	FieldDriveLagMs = "driveLagMs"
	// FieldRunID names the initial-copy or reconcile run a line belongs to; its presence tells a
	// copy task's delivery from a document event's.
	FieldRunID = "runId"
	// FieldErrorCode is the reason a delivery was refused or failed: Drive's reason
	// (userRateLimitExceeded…) or the engine's code (document_busy…).
	FieldErrorCode = "errorCode"
)

func replaceAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch a.Key {
		case slog.MessageKey:
			a.Key = "message"
			return redactAttr(a)
		case slog.LevelKey:
			a.Key = "severity"
			a.Value = slog.StringValue(severity(a.Value.Any().(slog.Level)))
			return a
		case slog.TimeKey:
			return a
		}
	}
	return redactAttr(a)
}

func severity(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	default:
		return "DEBUG"
	}
}

// Redacted replaces a secret value in logs.
const Redacted = "[REDACTED]"

// secretKey matches attribute names whose values are secret whatever they hold.
var secretKey = regexp.MustCompile(`(?i)(token|secret|password|passwd|authorization|cookie|verifier|api[_-]?key|credential|private[_-]?key|^code$|keyset)`)

// secretValue matches the shapes of credentials drivesync handles, wherever they appear in a
// string: Google access and refresh tokens, JWTs (ID tokens, eFactori tokens), bearer headers.
var secretValue = regexp.MustCompile(`ya29\.[\w.\-]+|1//[\w.\-]+|eyJ[\w\-]+\.[\w\-]+\.[\w\-]*|(?i:bearer\s+)\S+`)

func redactAttr(a slog.Attr) slog.Attr {
	if a.Key != "message" && secretKey.MatchString(a.Key) && a.Value.Kind() != slog.KindGroup {
		// Counts and flags about secrets are safe and useful; their values are not.
		switch a.Value.Kind() {
		case slog.KindBool, slog.KindInt64, slog.KindUint64, slog.KindDuration, slog.KindTime:
			return a
		}
		return slog.String(a.Key, Redacted)
	}
	if a.Value.Kind() == slog.KindString {
		if s := a.Value.String(); secretValue.MatchString(s) {
			return slog.String(a.Key, secretValue.ReplaceAllString(s, Redacted))
		}
	}
	if a.Value.Kind() == slog.KindAny {
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, secretValue.ReplaceAllString(err.Error(), Redacted))
		}
	}
	return a
}

// Secret wraps a value that must never be logged, even by mistake under an innocent key.
type Secret string

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// String keeps fmt from printing the secret too.
func (Secret) String() string { return Redacted }

type traceKey struct{}

// Trace identifies the request a log line belongs to.
type Trace struct {
	TraceID string // 32 lowercase hex digits
	SpanID  string // 16 lowercase hex digits, as Cloud Logging's spanId; empty when unknown
	Sampled bool
}

// WithTrace returns a context whose log lines are correlated with t.
func WithTrace(ctx context.Context, t Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// TraceFromRequest reads the W3C traceparent header or, failing that, Google's
// X-Cloud-Trace-Context header. ok is false when neither holds a usable trace. SpanID is always
// 16 lowercase hex digits, as Cloud Logging's spanId wants it, or empty when the header carried
// no usable span.
func TraceFromRequest(r *http.Request) (t Trace, ok bool) {
	// traceparent: version-traceid-parentid-flags, e.g. 00-<32 hex>-<16 hex>-01.
	if p := strings.Split(strings.TrimSpace(r.Header.Get("traceparent")), "-"); len(p) == 4 &&
		len(p[1]) == 32 && isHex(p[1]) && p[1] != strings.Repeat("0", 32) &&
		len(p[2]) == 16 && isHex(p[2]) && p[2] != strings.Repeat("0", 16) && len(p[3]) == 2 && isHex(p[3]) {
		flags, _ := strconv.ParseUint(p[3], 16, 8)
		return Trace{TraceID: strings.ToLower(p[1]), SpanID: strings.ToLower(p[2]), Sampled: flags&1 == 1}, true
	}
	// X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS, where SPAN_ID is an unsigned 64-bit
	// decimal number; Cloud Logging wants it as 16 hex digits.
	if h := strings.TrimSpace(r.Header.Get("X-Cloud-Trace-Context")); h != "" {
		id, rest, _ := strings.Cut(h, "/")
		if len(id) != 32 || !isHex(id) || id == strings.Repeat("0", 32) {
			return Trace{}, false
		}
		span, opts, _ := strings.Cut(rest, ";")
		t := Trace{TraceID: strings.ToLower(id), Sampled: opts == "o=1"}
		if n, err := strconv.ParseUint(span, 10, 64); err == nil && n != 0 {
			t.SpanID = fmt.Sprintf("%016x", n)
		}
		return t, true
	}
	return Trace{}, false
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Middleware puts the request's trace into its context so every line logged while serving it is
// correlated in Cloud Logging.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t, ok := TraceFromRequest(r); ok {
			r = r.WithContext(WithTrace(r.Context(), t))
		}
		next.ServeHTTP(w, r)
	})
}

// traceHandler adds the request's trace to every record. Cloud Logging reads the trace fields
// only at the top level of a line, so the handler keeps groups out of the handler it wraps:
// base holds the attributes given before the first group, groups what came after, and Handle
// nests the record's attributes in those groups itself, next to the top-level trace fields.
type traceHandler struct {
	base      slog.Handler
	projectID string
	groups    []attrGroup // outermost first
}

// attrGroup is one WithGroup, with the attributes WithAttrs added inside it.
type attrGroup struct {
	name  string
	attrs []slog.Attr
}

func (h *traceHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.base.Enabled(ctx, l)
}

func (h *traceHandler) Handle(ctx context.Context, r slog.Record) error {
	t, traced := ctx.Value(traceKey{}).(Trace)
	traced = traced && h.projectID != ""
	if !traced && len(h.groups) == 0 {
		return h.base.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	if traced {
		out.AddAttrs(slog.String(fieldTrace, "projects/"+h.projectID+"/traces/"+t.TraceID))
		if t.SpanID != "" {
			out.AddAttrs(slog.String(fieldSpanID, t.SpanID))
		}
		out.AddAttrs(slog.Bool(fieldTraceSampled, t.Sampled))
	}
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	for i := len(h.groups) - 1; i >= 0; i-- {
		g := h.groups[i]
		// An empty group is left out by the JSON handler, as it is for WithGroup.
		attrs = []slog.Attr{{Key: g.name, Value: slog.GroupValue(append(slices.Clip(g.attrs), attrs...)...)}}
	}
	out.AddAttrs(attrs...)
	return h.base.Handle(ctx, out)
}

func (h *traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	if len(h.groups) == 0 {
		return &traceHandler{base: h.base.WithAttrs(attrs), projectID: h.projectID}
	}
	groups := slices.Clone(h.groups)
	last := &groups[len(groups)-1]
	last.attrs = append(slices.Clip(last.attrs), attrs...)
	return &traceHandler{base: h.base, projectID: h.projectID, groups: groups}
}

func (h *traceHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &traceHandler{base: h.base, projectID: h.projectID, groups: append(slices.Clip(h.groups), attrGroup{name: name})}
}
