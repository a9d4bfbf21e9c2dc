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

var googleEnv = map[string]string{
	"OAUTH_CLIENT_ID":     "client-1",
	"OAUTH_CLIENT_SECRET": "s3cret",
	"OAUTH_REDIRECT_URL":  "https://fn.example/OAuthCallback",
	"TOKEN_KEYSET":        "{}",
	"TOKEN_KEK_URI":       "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
}

var wantGoogle = config.Google{
	OAuthClientID: "client-1", OAuthClientSecret: "s3cret", OAuthRedirectURL: "https://fn.example/OAuthCallback",
	DriveScope: "drive", TokenKeyset: "{}", TokenKEKURI: "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestLoadConnections(t *testing.T) {
	t.Parallel()
	got, err := config.LoadConnections(env(with(googleEnv,
		"GOOGLE_CLOUD_PROJECT", "p1",
		"LOG_LEVEL", "WARNING",
		"EFACTORI_ISSUER", "https://login.efactori.example",
		"EFACTORI_AUDIENCE", "drivesync",
		"FRONTEND_ORIGINS", "https://app.efactori.example, http://127.0.0.1:8080/",
	)))
	if err != nil {
		t.Fatalf("LoadConnections: %v", err)
	}
	want := config.Connections{
		Common:           config.Common{ProjectID: "p1", LogLevel: slog.LevelWarn, FirestoreDatabase: "(default)"},
		Google:           wantGoogle,
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
	for _, want := range []string{"GOOGLE_CLOUD_PROJECT is required", "LOG_LEVEL must be", "EFACTORI_ISSUER must be an absolute",
		"EFACTORI_AUDIENCE is required", "https://bad.example/path", "OAUTH_CLIENT_ID is required", "OAUTH_CLIENT_SECRET is required",
		"OAUTH_REDIRECT_URL is required", "TOKEN_KEYSET is required", "TOKEN_KEK_URI is required unless"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestLoadOAuthCallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    config.OAuthCallback
		wantErr []string
	}{
		{
			name: "production",
			env:  with(googleEnv, "GOOGLE_CLOUD_PROJECT", "p1", "FRONTEND_URL", "https://app.example/settings"),
			want: config.OAuthCallback{
				Common:      config.Common{ProjectID: "p1", LogLevel: slog.LevelInfo, FirestoreDatabase: "(default)"},
				Google:      wantGoogle,
				FrontendURL: "https://app.example/settings",
			},
		},
		{
			name: "local emulator with a cleartext keyset",
			env: with(googleEnv, "GOOGLE_CLOUD_PROJECT", "p1", "FRONTEND_URL", "http://127.0.0.1:1/s", "TOKEN_KEK_URI", "",
				"TOKEN_KEYSET_CLEARTEXT", "true", "GOOGLE_EMULATOR_URL", "http://127.0.0.1:2/", "DRIVE_SCOPE", "drive.file"),
			want: config.OAuthCallback{
				Common: config.Common{ProjectID: "p1", LogLevel: slog.LevelInfo, FirestoreDatabase: "(default)"},
				Google: config.Google{OAuthClientID: "client-1", OAuthClientSecret: "s3cret", OAuthRedirectURL: "https://fn.example/OAuthCallback",
					DriveScope: "drive.file", TokenKeyset: "{}", TokenKeysetCleartext: true, EmulatorURL: "http://127.0.0.1:2"},
				FrontendURL: "http://127.0.0.1:1/s",
			},
		},
		{
			name:    "bad values",
			env:     with(googleEnv, "GOOGLE_CLOUD_PROJECT", "p1", "DRIVE_SCOPE", "drive.readonly", "TOKEN_KEK_URI", "projects/p", "TOKEN_KEYSET_CLEARTEXT", "yes"),
			wantErr: []string{"FRONTEND_URL is required", "DRIVE_SCOPE must be", "TOKEN_KEK_URI must look like", "TOKEN_KEYSET_CLEARTEXT must be"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.LoadOAuthCallback(env(tt.env))
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("LoadOAuthCallback accepted a broken environment")
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not mention %q", err, want)
					}
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error reveals the client secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadOAuthCallback: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
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
