package webapp_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/efactori/drivesync/local/webapp"
)

// TestPickerModuleAndScriptURL: the page gets picker.js as a JavaScript module and, when the
// stack has one, the Picker script's URL in /config.json.
func TestPickerModuleAndScriptURL(t *testing.T) {
	t.Parallel()
	const script = "http://127.0.0.1:8083/js/api.js"
	h, err := webapp.New(webapp.Options{APIURL: "http://127.0.0.1:8081", Tokens: &fakeMinter{}, PickerScriptURL: script})
	if err != nil {
		t.Fatal(err)
	}
	res, body := get(t, h, "/picker.js")
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("picker.js Content-Type = %q, want text/javascript (modules need a JavaScript type)", ct)
	}
	for _, want := range []string{"export function pickFolder", "setAppId(settings.appId)", "/picker`"} {
		if !strings.Contains(body, want) {
			t.Errorf("picker.js lacks %q", want)
		}
	}
	_, body = get(t, h, "/config.json")
	var cfg struct {
		PickerScriptURL string `json:"pickerScriptUrl"`
	}
	if err := json.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.PickerScriptURL != script {
		t.Errorf("pickerScriptUrl = %q, want %q", cfg.PickerScriptURL, script)
	}

	h, err = webapp.New(webapp.Options{APIURL: "http://127.0.0.1:8081", Tokens: &fakeMinter{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, h, "/config.json"); strings.Contains(body, "pickerScriptUrl") {
		t.Errorf("config.json names a Picker script without one: %s", body)
	}
}
