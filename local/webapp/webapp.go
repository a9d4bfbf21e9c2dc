// Package webapp is the reference settings page: it plays the eFactori frontend's
// "Synchronisation et sauvegarde avec Google Drive" screens against the public connection API,
// with tokens minted by the eFactori stand-in. It is a reference for the frontend team, served by
// the local dev stack, never deployed.
package webapp

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"

	"github.com/efactori/drivesync/local/efactori"
)

//go:embed static
var static embed.FS

// Minter mints eFactori frontend tokens; *efactori.Server is one.
type Minter interface {
	MintToken(c efactori.Claims, opts ...efactori.MintOption) (string, error)
}

// Options configure New.
type Options struct {
	// APIURL is the Connections function's base URL.
	APIURL string
	// Tokens mints the signed-in user's token.
	Tokens Minter
	// PickerScriptURL, if set, is where the page loads the Google Picker from (picker.js's
	// scriptUrl): the Google emulator's stand-in of https://apis.google.com/js/api.js.
	PickerScriptURL string
}

// New returns the page's handler: the static files, and /config.json telling the page where the
// API is, which token to use (what eFactori's own frontend gets from its session) and, when
// set, where the Google Picker's script is.
func New(opts Options) (http.Handler, error) {
	if opts.APIURL == "" || opts.Tokens == nil {
		return nil, errors.New("new webapp: APIURL and Tokens are required")
	}
	files, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServerFS(files))
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		token, err := opts.Tokens.MintToken(efactori.Claims{
			Subject: "user-marie", Email: "marie@acme.example", CompanyID: efactori.Acme.ID,
			CompanyName: efactori.Acme.Name, Roles: []string{efactori.RoleIntegrationsManage},
		})
		if err != nil {
			http.Error(w, "mint token", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		cfg := map[string]string{"apiUrl": opts.APIURL, "token": token}
		if opts.PickerScriptURL != "" {
			cfg["pickerScriptUrl"] = opts.PickerScriptURL
		}
		_ = json.NewEncoder(w).Encode(cfg)
	})
	return mux, nil
}
