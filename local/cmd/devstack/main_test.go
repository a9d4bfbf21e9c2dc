package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestHelp: scripts/dev --help prints the usage and exits 0 (main treats flag.ErrHelp as success).
func TestHelp(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := run([]string{"--help"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run(--help) = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(stderr.String(), "-frontend-port") {
		t.Errorf("usage lacks the flags:\n%s", stderr.String())
	}
}
