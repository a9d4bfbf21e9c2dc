package terraform_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// TestSourceArchiveHoldsTheBuild checks that source.tf's archive keeps every file the Go
// buildpack needs to build the root package: go.mod, go.sum, and the Go and embedded files of
// every package of this module the root package imports (docs/api's openapi.yaml included, which
// the Connections function serves). A pattern in excludes that drops one of them breaks every
// deployment at build time, long after the change.
func TestSourceArchiveHoldsTheBuild(t *testing.T) {
	t.Parallel()
	excludes := sourceExcludes(t)
	for _, tc := range []struct {
		path string
		want bool
	}{ // the matcher itself, as the archive provider's doublestar globs behave
		{"docs/api/openapi.yaml", true}, {"local/x/y.go", true}, {"shared/api/api_test.go", true},
		{"shared/api/api.go", false}, {"go.mod", false},
	} {
		if got := excluded(tc.path, []string{"docs/**", "local/**", "**/*_test.go"}); got != tc.want {
			t.Errorf("excluded(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}

	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,GoFiles,EmbedFiles,Standard", ".")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	needed := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			Dir                 string
			GoFiles, EmbedFiles []string
			Standard            bool
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		rel, err := filepath.Rel(root, p.Dir)
		if p.Standard || err != nil || strings.HasPrefix(rel, "..") {
			continue // the standard library and modules from the proxy are not in the archive
		}
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(needed) < 10 {
		t.Fatalf("go list found only %v", needed)
	}
	for _, f := range needed {
		if excluded(f, excludes) {
			t.Errorf("source.tf's excludes drop %s, which the build of the root package needs", f)
		}
	}
}

// sourceExcludes reads the excludes of data.archive_file.source in source.tf.
func sourceExcludes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("source.tf")
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclparse.NewParser().ParseHCL(src, "source.tf")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "data" || len(b.Labels) != 2 || b.Labels[0] != "archive_file" || b.Labels[1] != "source" {
			continue
		}
		attr, ok := b.Body.Attributes["excludes"]
		if !ok {
			return nil
		}
		v, diags := attr.Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("excludes is not a list of literals: %v", diags)
		}
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, e.AsString())
		}
		return out
	}
	t.Fatal(`source.tf has no data "archive_file" "source"`)
	return nil
}

// excluded reports whether the archive provider leaves path out: a pattern matches it or one of
// its folders (a matched folder is skipped whole).
func excluded(path string, patterns []string) bool {
	for _, p := range patterns {
		re := globRegexp(p)
		for q := path; q != "." && q != "/" && q != ""; q = filepath.ToSlash(filepath.Dir(q)) {
			if re.MatchString(q) {
				return true
			}
		}
	}
	return false
}

// globRegexp translates a doublestar glob: ** spans folders, * and ? do not.
func globRegexp(glob string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch {
		case strings.HasPrefix(glob[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(glob[i:], "**"):
			b.WriteString(".*")
			i++
		case glob[i] == '*':
			b.WriteString("[^/]*")
		case glob[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
