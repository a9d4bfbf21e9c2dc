package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"--help"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run(--help) = %v, want flag.ErrHelp (main exits 0)", err)
	}
	usage := stderr.String()
	for _, bad := range []string{"(default -1)", "(default 0s)"} {
		if strings.Contains(usage, bad) {
			t.Errorf("usage prints %s:\n%s", bad, usage)
		}
	}
	if !strings.Contains(usage, "(default 41)") {
		t.Errorf("usage does not give the default number of documents, 41:\n%s", usage)
	}
}

func TestRefusesBadDocuments(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"--documents=-1", "--documents=1000000"} {
		var out bytes.Buffer
		if err := run(t.Context(), []string{arg}, &out, &out); err == nil || !strings.Contains(err.Error(), "want 0 to") {
			t.Errorf("run(%s) = %v, want a range error", arg, err)
		}
	}
}
