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
			name:    "cloud trace context",
			headers: map[string]string{"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=0"},
			want: map[string]any{
				"logging.googleapis.com/trace":         "projects/proj/traces/105445aa7843bc8bf206b12000100000",
				"logging.googleapis.com/spanId":        "1",
				"logging.googleapis.com/trace_sampled": false,
			},
		},
		{name: "malformed traceparent", headers: map[string]string{"traceparent": "00-xyz-1-01"}},
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
