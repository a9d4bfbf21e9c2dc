package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRunAnnouncesAndStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	envFile := filepath.Join(t.TempDir(), "emulators.env")
	stdoutR, stdoutW := io.Pipe()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-env-file", envFile}, stdoutW, io.Discard, logger)
		stdoutW.Close()
	}()

	var lines []string
	scanner := bufio.NewScanner(stdoutR)
	for len(lines) < 2 && scanner.Scan() {
		lines = append(lines, scanner.Text())
	}
	if len(lines) < 2 {
		t.Fatalf("got stdout lines %q before run ended (%v), want 2", lines, <-done)
	}
	go io.Copy(io.Discard, stdoutR)

	wantLine := regexp.MustCompile(`^(FIRESTORE|PUBSUB)_EMULATOR_HOST=127\.0\.0\.1:\d+$`)
	hosts := map[string]string{}
	for _, l := range lines {
		if !wantLine.MatchString(l) {
			t.Errorf("stdout line %q does not match %v", l, wantLine)
			continue
		}
		k, v, _ := strings.Cut(l, "=")
		hosts[k] = v
	}
	if got, want := len(hosts), 2; got != want {
		t.Fatalf("got %d distinct variables in %q, want %d", got, lines, want)
	}
	file, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatalf("read env file: %v", err)
	}
	if got, want := string(file), strings.Join(lines, "\n")+"\n"; got != want {
		t.Errorf("env file = %q, want %q", got, want)
	}
	for k, host := range hosts {
		if !answers(host) {
			t.Errorf("%s=%s does not answer while running", k, host)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return within 30s of cancellation")
	}
	for k, host := range hosts {
		if answers(host) {
			t.Errorf("%s=%s still answers after run returned", k, host)
		}
	}
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Errorf("env file still there after run returned (stat error %v)", err)
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"-nope"}},
		{"positional argument", []string{"extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			if err := run(t.Context(), tt.args, io.Discard, io.Discard, logger); err == nil {
				t.Errorf("run(%q) = nil, want an error", tt.args)
			}
		})
	}
}

// answers reports whether an emulator answers GET / on host.
func answers(host string) bool {
	resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + host + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
