package config_test

import (
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/efactori/drivesync/shared/config"
	"github.com/google/go-cmp/cmp"
)

func env(m map[string]string) config.Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadConnections(t *testing.T) {
	t.Parallel()
	got, err := config.LoadConnections(env(map[string]string{
		"GOOGLE_CLOUD_PROJECT": "p1",
		"LOG_LEVEL":            "WARNING",
		"EFACTORI_ISSUER":      "https://login.efactori.example",
		"EFACTORI_AUDIENCE":    "drivesync",
		"FRONTEND_ORIGINS":     "https://app.efactori.example, http://127.0.0.1:8080/",
	}))
	if err != nil {
		t.Fatalf("LoadConnections: %v", err)
	}
	want := config.Connections{
		Common:           config.Common{ProjectID: "p1", LogLevel: slog.LevelWarn, FirestoreDatabase: "(default)"},
		EFactoriIssuer:   "https://login.efactori.example",
		EFactoriAudience: "drivesync",
		FrontendOrigins:  []string{"https://app.efactori.example", "http://127.0.0.1:8080"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestLoadConnectionsReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := config.LoadConnections(env(map[string]string{
		"LOG_LEVEL":        "LOUD",
		"EFACTORI_ISSUER":  "login.efactori.example",
		"FRONTEND_ORIGINS": "https://ok.example,https://bad.example/path",
	}))
	if err == nil {
		t.Fatal("LoadConnections accepted a broken environment")
	}
	for _, want := range []string{"GOOGLE_CLOUD_PROJECT is required", "LOG_LEVEL must be", "EFACTORI_ISSUER must be an absolute", "EFACTORI_AUDIENCE is required", "https://bad.example/path"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// The README's table is what an SRE reads when deploying; it must list every variable the code reads.
func TestREADMEListsEveryVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range config.Variables {
		row := regexp.MustCompile("(?m)^\\|\\s*`" + v.Name + "`\\s*\\|")
		if !row.Match(readme) {
			t.Errorf("README.md has no table row for %s", v.Name)
		}
	}
}
