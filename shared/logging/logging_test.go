package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/slogtest"

	"github.com/efactori/drivesync/shared/logging"
	"github.com/google/go-cmp/cmp"
)

func decodeLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestCloudLoggingFields(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := logging.New(&buf, logging.Options{Level: slog.LevelDebug, ProjectID: "proj"})
	log.Debug("d")
	log.Info("i", "connectionId", "c1")
	log.Warn("w")
	log.Error("e")
	lines := decodeLines(t, &buf)
	var got []string
	for _, l := range lines {
		got = append(got, l["severity"].(string)+":"+l["message"].(string))
		if _, ok := l["level"]; ok {
			t.Errorf("line %v still has slog's level field", l)
		}
	}
	if diff := cmp.Diff([]string{"DEBUG:d", "INFO:i", "WARNING:w", "ERROR:e"}, got); diff != "" {
		t.Errorf("severity:message (-want +got):\n%s", diff)
	}
	if got, want := lines[1]["connectionId"], "c1"; got != want {
		t.Errorf("connectionId = %v, want %v", got, want)
	}
}

func TestRedaction(t *testing.T) {
	t.Parallel()
	const (
		access  = "ya29.a0AfH6SMBx-secretAccess"
		refresh = "1//0gSecretRefresh-xyz"
		jwt     = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	)
	var buf bytes.Buffer
	log := logging.New(&buf, logging.Options{Level: slog.LevelInfo})
	log.Info("exchanged code", "refresh_token", refresh, "accessToken", access, "code", "4/0Acode",
		"clientSecret", "shh", "tokenCount", 2)
	log.Info("request", "header", "Bearer "+jwt, "url", "https://x/?access_token="+access)
	log.Info("oops "+access, "err", errors.New("refresh with "+refresh+" failed"))
	log.Info("wrapped", "value", logging.Secret("plain-secret"))
	log.Info("grouped", slog.Group("oauth", slog.String("refreshToken", "anything")))
	out := buf.String()
	for _, secret := range []string{access, refresh, jwt, "4/0Acode", "shh", "plain-secret", "anything", "secretAccess"} {
		if strings.Contains(out, secret) {
			t.Errorf("log output contains secret %q:\n%s", secret, out)
		}
	}
	lines := decodeLines(t, &buf)
	if got, want := lines[0]["tokenCount"], float64(2); got != want {
		t.Errorf("tokenCount = %v, want %v (numbers about tokens are not secret)", got, want)
	}
	if got, want := lines[1]["url"], "https://x/?access_token="+logging.Redacted; got != want {
		t.Errorf("url = %v, want %v", got, want)
	}
}

func TestTraceCorrelation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		headers map[string]string
		want    map[string]any // nil: no trace fields
	}{
		{
			name:    "traceparent",
			headers: map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
			want: map[string]any{
				"logging.googleapis.com/trace":         "projects/proj/traces/4bf92f3577b34da6a3ce929d0e0e4736",
				"logging.googleapis.com/spanId":        "00f067aa0ba902b7",
				"logging.googleapis.com/trace_sampled": true,
			},
		},
		{
			name:    "traceparent upper-case hex",
			headers: map[string]string{"traceparent": "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00"},
			want: map[string]any{
				"logging.googleapis.com/trace":         "projects/proj/traces/4bf92f3577b34da6a3ce929d0e0e4736",
				"logging.googleapis.com/spanId":        "00f067aa0ba902b7",
				"logging.googleapis.com/trace_sampled": false,
			},
		},
		{
			// Cloud Logging wants the span as 16 hex digits; the header carries it in decimal.
			name:    "cloud trace context small decimal span",
			headers: map[string]string{"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=0"},
			want: map[string]any{
				"logging.googleapis.com/trace":         "projects/proj/traces/105445aa7843bc8bf206b12000100000",
				"logging.googleapis.com/spanId":        "0000000000000001",
				"logging.googleapis.com/trace_sampled": false,
			},
		},
		{
			name:    "cloud trace context 64-bit decimal span",
			headers: map[string]string{"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/12345678901234567890;o=1"},
			want: map[string]any{
				"logging.googleapis.com/trace":         "projects/proj/traces/105445aa7843bc8bf206b12000100000",
				"logging.googleapis.com/spanId":        "ab54a98ceb1f0ad2",
				"logging.googleapis.com/trace_sampled": true,
			},
		},
		{
			name:    "cloud trace context largest span",
			headers: map[string]string{"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/18446744073709551615"},
			want: map[string]any{
				"logging.googleapis.com/trace":         "projects/proj/traces/105445aa7843bc8bf206b12000100000",
				"logging.googleapis.com/spanId":        "ffffffffffffffff",
				"logging.googleapis.com/trace_sampled": false,
			},
		},
		{
			// Past 64 bits, hex, or missing: the trace still correlates, without a span.
			name:    "cloud trace context span overflows",
			headers: map[string]string{"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/18446744073709551616;o=1"},
			want: map[string]any{
				"logging.googleapis.com/trace":         "projects/proj/traces/105445aa7843bc8bf206b12000100000",
				"logging.googleapis.com/trace_sampled": true,
			},
		},
		{
			name:    "cloud trace context hex span",
			headers: map[string]string{"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/00f067aa0ba902b7;o=1"},
			want: map[string]any{
				"logging.googleapis.com/trace":         "projects/proj/traces/105445aa7843bc8bf206b12000100000",
				"logging.googleapis.com/trace_sampled": true,
			},
		},
		{
			name:    "cloud trace context without span",
			headers: map[string]string{"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000"},
			want: map[string]any{
				"logging.googleapis.com/trace":         "projects/proj/traces/105445aa7843bc8bf206b12000100000",
				"logging.googleapis.com/trace_sampled": false,
			},
		},
		{
			name: "traceparent wins over cloud trace context",
			headers: map[string]string{
				"traceparent":           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
				"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=0",
			},
			want: map[string]any{
				"logging.googleapis.com/trace":         "projects/proj/traces/4bf92f3577b34da6a3ce929d0e0e4736",
				"logging.googleapis.com/spanId":        "00f067aa0ba902b7",
				"logging.googleapis.com/trace_sampled": true,
			},
		},
		{name: "malformed traceparent", headers: map[string]string{"traceparent": "00-xyz-1-01"}},
		{name: "traceparent zero span", headers: map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"}},
		{name: "malformed cloud trace context", headers: map[string]string{"X-Cloud-Trace-Context": "nothex/1;o=1"}},
		{name: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log := logging.New(&buf, logging.Options{Level: slog.LevelInfo, ProjectID: "proj"})
			r := httptest.NewRequest("GET", "/", nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			var ctx context.Context
			logging.Middleware(httpHandlerFunc(func(c context.Context) { ctx = c })).ServeHTTP(httptest.NewRecorder(), r)
			log.InfoContext(ctx, "served")
			line := decodeLines(t, &buf)[0]
			got := map[string]any{}
			for k, v := range line {
				if strings.HasPrefix(k, "logging.googleapis.com/") {
					got[k] = v
				}
			}
			want := tt.want
			if want == nil {
				want = map[string]any{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("trace fields (-want +got):\n%s", diff)
			}
		})
	}
}

// httpHandlerFunc hands the request context to a test.
type httpHandlerFunc func(context.Context)

func (f httpHandlerFunc) ServeHTTP(_ http.ResponseWriter, r *http.Request) { f(r.Context()) }

// Cloud Logging reads the trace fields only at the top level of a line: a logger with groups
// must not nest them, and must still nest everything else as slog does.
func TestTraceFieldsStayTopLevelInGroups(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := logging.New(&buf, logging.Options{Level: slog.LevelInfo, ProjectID: "proj"})
	ctx := logging.WithTrace(context.Background(), logging.Trace{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", Sampled: true})

	log.With("service", "connections").WithGroup("request").With("method", "GET").WithGroup("empty").
		InfoContext(ctx, "served", "status", 200, "accessToken", "ya29.secret-in-group")
	log.WithGroup("request").WithGroup("unused").InfoContext(ctx, "empty groups", slog.Group("g", "k", "v"))
	log.WithGroup("request").Info("no trace", "n", 1)
	log.WithGroup("request").InfoContext(ctx, "group without attributes")

	lines := decodeLines(t, &buf)
	want := []map[string]any{
		{
			"logging.googleapis.com/trace":         "projects/proj/traces/4bf92f3577b34da6a3ce929d0e0e4736",
			"logging.googleapis.com/spanId":        "00f067aa0ba902b7",
			"logging.googleapis.com/trace_sampled": true,
			"service":                              "connections",
			"request": map[string]any{
				"method": "GET",
				"empty":  map[string]any{"status": float64(200), "accessToken": logging.Redacted},
			},
		},
		{
			"logging.googleapis.com/trace":         "projects/proj/traces/4bf92f3577b34da6a3ce929d0e0e4736",
			"logging.googleapis.com/spanId":        "00f067aa0ba902b7",
			"logging.googleapis.com/trace_sampled": true,
			"request":                              map[string]any{"unused": map[string]any{"g": map[string]any{"k": "v"}}},
		},
		{"request": map[string]any{"n": float64(1)}},
		{
			"logging.googleapis.com/trace":         "projects/proj/traces/4bf92f3577b34da6a3ce929d0e0e4736",
			"logging.googleapis.com/spanId":        "00f067aa0ba902b7",
			"logging.googleapis.com/trace_sampled": true,
		},
	}
	if got, want := len(lines), len(want); got != want {
		t.Fatalf("%d lines, want %d:\n%s", got, want, buf.String())
	}
	for i, line := range lines {
		for _, k := range []string{"time", "severity", "message"} {
			if _, ok := line[k]; !ok {
				t.Errorf("line %d has no top-level %q: %v", i, k, line)
			}
			delete(line, k)
		}
		if diff := cmp.Diff(want[i], line); diff != "" {
			t.Errorf("line %d (-want +got):\n%s", i, diff)
		}
	}
}

// The handler keeps groups itself; slogtest checks it still behaves as slog requires.
func TestHandlerConformance(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	h := logging.New(&buf, logging.Options{Level: slog.LevelDebug, ProjectID: "proj"}).Handler()
	results := func() []map[string]any {
		var out []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if line == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("log line %q is not JSON: %v", line, err)
			}
			// Back to slog's names, which slogtest looks for.
			m[slog.LevelKey], m[slog.MessageKey] = m["severity"], m["message"]
			delete(m, "severity")
			delete(m, "message")
			out = append(out, m)
		}
		return out
	}
	if err := slogtest.TestHandler(h, results); err != nil {
		t.Error(err)
	}
}
