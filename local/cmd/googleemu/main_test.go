package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/googleemu"
	"github.com/efactori/drivesync/local/googleemu/oauthemu"
	"github.com/google/go-cmp/cmp"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		want    config
		wantErr []string
	}{
		{
			name: "accounts and two clients",
			args: []string{
				"-accounts", "alice@example.com=Alice Example, bob@example.com",
				"-clients", "c1,s1,http://127.0.0.1:8080/cb",
				"-clients", "c2,s2,http://127.0.0.1:1/a,http://127.0.0.1:1/b",
				"-token-ttl", "30s", "-addr", "127.0.0.1:0",
			},
			want: config{
				addr:     "127.0.0.1:0",
				accounts: []googleemu.Account{{Email: "alice@example.com", DisplayName: "Alice Example"}, {Email: "bob@example.com"}},
				clients: []oauthemu.Client{
					{ID: "c1", Secret: "s1", RedirectURIs: []string{"http://127.0.0.1:8080/cb"}},
					{ID: "c2", Secret: "s2", RedirectURIs: []string{"http://127.0.0.1:1/a", "http://127.0.0.1:1/b"}},
				},
				tokenTTL: 30 * time.Second,
			},
		},
		{name: "nothing", args: nil, wantErr: []string{"-accounts is required", "-clients is required"}},
		{name: "short client", args: []string{"-clients", "c1,s1"}, wantErr: []string{"want ID,SECRET,REDIRECT_URI"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseFlags(tt.args, io.Discard)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("parseFlags accepted bad flags")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(config{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunServesAndStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{
			"-addr", "127.0.0.1:0",
			"-accounts", "alice@example.com",
			"-clients", "c1,s1,http://127.0.0.1:9/cb",
		}, pw, slog.New(slog.DiscardHandler))
		pw.CloseWithError(err)
		done <- err
	}()

	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("read first output line: %v", err)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "googleemu listening on ")
	if !ok {
		t.Fatalf("first line = %q", line)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }() // keep run from blocking on the rest

	resp, err := http.Get(base + oauthemu.DiscoveryPath)
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Issuer string `json:"issuer"`
	}
	err = json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := disc.Issuer, base; got != want {
		t.Errorf("issuer = %q, want %q", got, want)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop after its context was cancelled")
	}
}

// TestMainProcessStopsOnSIGTERM runs main in a child process (this test binary) and stops it
// with SIGTERM, as a process manager would.
func TestMainProcessStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	if os.Getenv("GOOGLEEMU_CHILD") == "1" {
		os.Args = []string{"googleemu", "-addr", "127.0.0.1:0", "-accounts", "alice@example.com", "-clients", "c1,s1,http://127.0.0.1:9/cb"}
		main()
		return
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMainProcessStopsOnSIGTERM$")
	cmd.Env = append(os.Environ(), "GOOGLEEMU_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // fails harmlessly once the child has exited
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "googleemu listening on http://127.0.0.1:") {
		t.Fatalf("first line = %q, %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("process did not stop after SIGTERM")
	}
}
