package api

import (
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/efactori/drivesync/shared/auth"
	"github.com/efactori/drivesync/shared/connection"
)

// How a deployment's customers choose a target folder, as GET /v1/integration tells the page.
const (
	// folderSelectionBrowse: the drive scope; the page browses with GET .../folders.
	folderSelectionBrowse = "browse"
	// folderSelectionPicker: the drive.file scope; the page opens the Google Picker with GET
	// .../picker, then PUTs the picked folder as the target.
	folderSelectionPicker = "picker"
)

// PickerOptions are what a page needs, besides a token, to open the Google Picker for drivesync's
// OAuth client: the Cloud project number (setAppId), without which a picked folder is not granted
// to drivesync, and a browser API key of the same project with the Picker API enabled
// (setDeveloperKey). Neither is a secret: Google's Picker runs in the customer's browser.
type PickerOptions struct {
	AppID        string
	DeveloperKey string
}

var projectNumber = regexp.MustCompile(`^[0-9]{1,20}$`)

func (p *PickerOptions) check() error {
	var errs []error
	if !projectNumber.MatchString(p.AppID) {
		errs = append(errs, errors.New("picker app ID must be the Cloud project number"))
	}
	if p.DeveloperKey == "" {
		errs = append(errs, errors.New("picker developer key is required"))
	}
	return errors.Join(errs...)
}

func (s *Server) folderSelection() string {
	if s.opts.Picker != nil {
		return folderSelectionPicker
	}
	return folderSelectionBrowse
}

// pickerJSON is GET /v1/connections/{id}/picker: what the page passes to
// google.picker.PickerBuilder.
type pickerJSON struct {
	OAuthToken   string    `json:"oauthToken"`
	ExpiresAt    time.Time `json:"expiresAt"`
	AppID        string    `json:"appId"`
	DeveloperKey string    `json:"developerKey"`
}

// picker answers the settings of a Google Picker opened as the connection's Google account. The
// answer holds an access token: it is never cached (writeJSON sends no-store) nor logged.
func (s *Server) picker(w http.ResponseWriter, r *http.Request, c auth.Caller, id string) error {
	if s.opts.Picker == nil {
		return connection.ErrPickerUnavailable
	}
	tok, err := s.opts.Service.PickerToken(r.Context(), c.CompanyID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pickerJSON{
		OAuthToken: tok.AccessToken, ExpiresAt: tok.Expiry.UTC(), AppID: s.opts.Picker.AppID, DeveloperKey: s.opts.Picker.DeveloperKey,
	})
}
