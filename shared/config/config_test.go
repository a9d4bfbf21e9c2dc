package config_test

import (
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

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

		MaxConnectionsPerCompany: 20,
		// The folders the API creates are paced by the account budget, as the copies are.
		WritesPerSecond: 3, Pacing: config.PacingAccount, BudgetWait: 5 * time.Second,
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

		"MAX_CONNECTIONS_PER_COMPANY": "101",
	}))
	if err == nil {
		t.Fatal("LoadConnections accepted a broken environment")
	}
	for _, want := range []string{"GOOGLE_CLOUD_PROJECT is required", "LOG_LEVEL must be", "EFACTORI_ISSUER must be an absolute",
		"EFACTORI_AUDIENCE is required", "https://bad.example/path", "OAUTH_CLIENT_ID is required", "OAUTH_CLIENT_SECRET is required",
		"OAUTH_REDIRECT_URL is required", "TOKEN_KEYSET is required", "TOKEN_KEK_URI is required unless",
		"MAX_CONNECTIONS_PER_COMPANY must be an integer from 1 to 100"} {
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

func TestLoadSyncDocument(t *testing.T) {
	t.Parallel()
	base := with(googleEnv, "GOOGLE_CLOUD_PROJECT", "p1", "EFACTORI_DOCUMENTS_URL", "https://api.efactori.example")
	tests := []struct {
		name    string
		env     map[string]string
		want    config.SyncDocument
		wantErr []string
	}{
		{
			name: "production with defaults",
			env:  with(base, "EFACTORI_API_AUDIENCE", "https://api.efactori.example"),
			want: config.SyncDocument{
				Common:          config.Common{ProjectID: "p1", LogLevel: slog.LevelInfo, FirestoreDatabase: "(default)"},
				Google:          wantGoogle,
				Documents:       config.Documents{URL: "https://api.efactori.example", Audience: "https://api.efactori.example"},
				MaxEventAge:     24 * time.Hour,
				DocumentLease:   20 * time.Second,
				WritesPerSecond: 3,
				Pacing:          config.PacingAccount,
				BudgetWait:      5 * time.Second,
			},
		},
		{
			name: "local stand-in with overrides",
			env: with(base, "EFACTORI_DEV_TOKEN", "dev-token", "MAX_EVENT_AGE", "90m", "DRIVE_WRITES_PER_SECOND", "0.5", "DOCUMENT_LEASE", "30s",
				"EFACTORI_DOCUMENTS_URL", "http://127.0.0.1:7/", "DRIVE_PACING", "instance", "DRIVE_BUDGET_WAIT", "2s"),
			want: config.SyncDocument{
				Common:          config.Common{ProjectID: "p1", LogLevel: slog.LevelInfo, FirestoreDatabase: "(default)"},
				Google:          wantGoogle,
				Documents:       config.Documents{URL: "http://127.0.0.1:7/", DevToken: "dev-token"},
				MaxEventAge:     90 * time.Minute,
				DocumentLease:   30 * time.Second,
				WritesPerSecond: 0.5,
				Pacing:          config.PacingInstance,
				BudgetWait:      2 * time.Second,
			},
		},
		{
			name: "neither audience nor dev token, bad numbers",
			env:  with(base, "MAX_EVENT_AGE", "-1h", "DRIVE_WRITES_PER_SECOND", "NaN", "EFACTORI_DOCUMENTS_URL", "api.example", "DOCUMENT_LEASE", "0s"),
			wantErr: []string{"EFACTORI_API_AUDIENCE is required", "MAX_EVENT_AGE must be a positive Go duration", "DOCUMENT_LEASE must be a positive Go duration",
				"DRIVE_WRITES_PER_SECOND must be a number", "EFACTORI_DOCUMENTS_URL must be an absolute"},
		},
		{
			name: "dev token alongside an audience",
			env:  with(base, "EFACTORI_API_AUDIENCE", "aud", "EFACTORI_DEV_TOKEN", "dev-token", "DRIVE_WRITES_PER_SECOND", "0", "DRIVE_PACING", "fleet"),
			wantErr: []string{"EFACTORI_DEV_TOKEN must not be set with EFACTORI_API_AUDIENCE", "DRIVE_WRITES_PER_SECOND must be a number",
				`DRIVE_PACING must be account or instance, not "fleet"`},
		},
		{
			name:    "google settings missing",
			env:     map[string]string{"GOOGLE_CLOUD_PROJECT": "p1", "EFACTORI_DOCUMENTS_URL": "https://api.example", "EFACTORI_API_AUDIENCE": "a"},
			wantErr: []string{"OAUTH_CLIENT_ID is required", "TOKEN_KEYSET is required", "TOKEN_KEK_URI is required unless"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.LoadSyncDocument(env(tt.env))
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("LoadSyncDocument accepted a broken environment")
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not mention %q", err, want)
					}
				}
				for _, secret := range []string{"s3cret", "dev-token"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error reveals a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadSyncDocument: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadInitialCopy(t *testing.T) {
	t.Parallel()
	base := with(googleEnv, "GOOGLE_CLOUD_PROJECT", "p1", "EFACTORI_DOCUMENTS_URL", "https://api.efactori.example",
		"EFACTORI_API_AUDIENCE", "https://api.efactori.example")
	defaults := config.InitialCopy{
		Common:          config.Common{ProjectID: "p1", LogLevel: slog.LevelInfo, FirestoreDatabase: "(default)"},
		Google:          wantGoogle,
		Documents:       config.Documents{URL: "https://api.efactori.example", Audience: "https://api.efactori.example"},
		PageSize:        500,
		DocumentLease:   20 * time.Second,
		WritesPerSecond: 3,
		StallTimeout:    2 * time.Minute,
		Pacing:          config.PacingAccount,
		BudgetWait:      5 * time.Second,
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    config.InitialCopy
		wantErr []string
	}{
		{name: "defaults", env: base, want: defaults},
		{
			name: "overrides, largest page",
			env:  with(base, "COPY_PAGE_SIZE", "1000", "DOCUMENT_LEASE", "30s", "DRIVE_WRITES_PER_SECOND", "1.5", "STALL_TIMEOUT", "90s"),
			want: func() config.InitialCopy {
				c := defaults
				c.PageSize, c.DocumentLease, c.WritesPerSecond, c.StallTimeout = 1000, 30*time.Second, 1.5, 90*time.Second
				return c
			}(),
		},
		{
			name: "today's pacing, every task at once",
			env:  with(base, "DRIVE_PACING", "instance", "COPY_WINDOW", "all"),
			want: func() config.InitialCopy {
				c := defaults
				c.Pacing, c.CopyWindow = config.PacingInstance, -1
				return c
			}(),
		},
		{
			name: "window of 250",
			env:  with(base, "COPY_WINDOW", "250"),
			want: func() config.InitialCopy {
				c := defaults
				c.CopyWindow = 250
				return c
			}(),
		},
		{
			name: "budget wait at its most",
			env:  with(base, "DRIVE_BUDGET_WAIT", "10s"),
			want: func() config.InitialCopy {
				c := defaults
				c.BudgetWait = 10 * time.Second
				return c
			}(),
		},
		{name: "budget wait past the minimum backoff", env: with(base, "DRIVE_BUDGET_WAIT", "11s"),
			wantErr: []string{"DRIVE_BUDGET_WAIT must be at most 10s"}},
		{name: "budget wait zero", env: with(base, "DRIVE_BUDGET_WAIT", "0s"),
			wantErr: []string{"DRIVE_BUDGET_WAIT must be a positive Go duration"}},
		{name: "window zero", env: with(base, "COPY_WINDOW", "0"), wantErr: []string{"COPY_WINDOW must be auto, all or an integer from 1 to 1000000"}},
		{name: "window a word", env: with(base, "COPY_WINDOW", "some", "DRIVE_PACING", "Account"), wantErr: []string{
			`COPY_WINDOW must be auto, all or an integer from 1 to 1000000, not "some"`, `DRIVE_PACING must be account or instance, not "Account"`}},
		{name: "page too large", env: with(base, "COPY_PAGE_SIZE", "1001"), wantErr: []string{"COPY_PAGE_SIZE must be an integer from 1 to 1000"}},
		{name: "page not a number", env: with(base, "COPY_PAGE_SIZE", "lots"), wantErr: []string{"COPY_PAGE_SIZE must be an integer"}},
		{
			name: "bad durations and rate",
			env:  with(base, "STALL_TIMEOUT", "0s", "DOCUMENT_LEASE", "-1m", "DRIVE_WRITES_PER_SECOND", "0"),
			wantErr: []string{"STALL_TIMEOUT must be a positive Go duration", "DOCUMENT_LEASE must be a positive Go duration",
				"DRIVE_WRITES_PER_SECOND must be a number"},
		},
		{name: "stall timeout not a duration", env: with(base, "STALL_TIMEOUT", "2"), wantErr: []string{"STALL_TIMEOUT must be a positive Go duration"}},
		{name: "nothing set", env: map[string]string{}, wantErr: []string{"GOOGLE_CLOUD_PROJECT is required",
			"EFACTORI_DOCUMENTS_URL is required", "EFACTORI_API_AUDIENCE is required", "OAUTH_CLIENT_ID is required",
			"OAUTH_CLIENT_SECRET is required", "TOKEN_KEYSET is required", "TOKEN_KEK_URI is required unless"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.LoadInitialCopy(env(tt.env))
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("LoadInitialCopy accepted a broken environment")
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
				t.Fatalf("LoadInitialCopy: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

// Every variable a function's Load reads must be declared for that function, or Terraform and the
// README would not list it; optional panics on an undeclared name, and this catches a variable
// declared for the wrong function by loading each with only its own variables set.
func TestVariablesDeclaredForTheirFunctions(t *testing.T) {
	t.Parallel()
	full := with(googleEnv, "GOOGLE_CLOUD_PROJECT", "p1", "EFACTORI_DOCUMENTS_URL", "https://api.example",
		"EFACTORI_API_AUDIENCE", "aud", "EFACTORI_ISSUER", "https://login.example", "EFACTORI_AUDIENCE", "a",
		"FRONTEND_ORIGINS", "https://app.example", "FRONTEND_URL", "https://app.example/s")
	only := func(fn string) config.Lookup {
		return func(name string) (string, bool) {
			for _, v := range config.Variables {
				if v.Name == name {
					if !slices.Contains(v.Functions, fn) {
						t.Errorf("%s reads %s, which config.Variables does not declare for it", fn, name)
					}
					val, ok := full[name]
					return val, ok
				}
			}
			t.Errorf("%s reads the undeclared %s", fn, name)
			return "", false
		}
	}
	loads := map[string]func(config.Lookup) error{
		config.FunctionConnections:   func(l config.Lookup) error { _, err := config.LoadConnections(l); return err },
		config.FunctionOAuthCallback: func(l config.Lookup) error { _, err := config.LoadOAuthCallback(l); return err },
		config.FunctionSyncDocument:  func(l config.Lookup) error { _, err := config.LoadSyncDocument(l); return err },
		config.FunctionInitialCopy:   func(l config.Lookup) error { _, err := config.LoadInitialCopy(l); return err },
	}
	for fn, load := range loads {
		if err := load(only(fn)); err != nil {
			t.Errorf("%s: %v", fn, err)
		}
	}
}
