package config_test

import (
	"strings"
	"testing"

	"github.com/efactori/drivesync/shared/config"
)

// TestLoadConnectionsPicker: the Google Picker's settings are required with the drive.file scope
// and refused with drive, where nothing would use them.
func TestLoadConnectionsPicker(t *testing.T) {
	t.Parallel()
	base := with(googleEnv, "GOOGLE_CLOUD_PROJECT", "p1", "EFACTORI_ISSUER", "https://login.efactori.example",
		"EFACTORI_AUDIENCE", "drivesync", "FRONTEND_ORIGINS", "https://app.efactori.example")
	tests := []struct {
		name            string
		env             map[string]string
		wantApp, wantKy string
		wantErr         []string
	}{
		{name: "drive.file", env: with(base, "DRIVE_SCOPE", "drive.file", "PICKER_APP_ID", "123456789012", "PICKER_API_KEY", "AIzaSyExample"),
			wantApp: "123456789012", wantKy: "AIzaSyExample"},
		{name: "drive without them", env: base},
		{name: "drive.file without them", env: with(base, "DRIVE_SCOPE", "drive.file"),
			wantErr: []string{"PICKER_APP_ID is required", "PICKER_API_KEY is required"}},
		{name: "project ID instead of number", env: with(base, "DRIVE_SCOPE", "drive.file", "PICKER_APP_ID", "drivesync-prod", "PICKER_API_KEY", "AIza\tx"),
			wantErr: []string{"PICKER_APP_ID must be the Cloud project number", "PICKER_API_KEY must be printable"}},
		{name: "drive with them", env: with(base, "PICKER_APP_ID", "123456789012", "PICKER_API_KEY", "AIzaSyExample"),
			wantErr: []string{"PICKER_APP_ID is used only with DRIVE_SCOPE=drive.file", "PICKER_API_KEY is used only with"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.LoadConnections(env(tt.env))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("LoadConnections: %v", err)
				}
				if got.PickerAppID != tt.wantApp || got.PickerAPIKey != tt.wantKy {
					t.Errorf("picker = %q, %q; want %q, %q", got.PickerAppID, got.PickerAPIKey, tt.wantApp, tt.wantKy)
				}
				return
			}
			if err == nil {
				t.Fatal("LoadConnections accepted a broken environment")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}
