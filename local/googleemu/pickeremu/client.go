package pickeremu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Dialog drives the Picker dialog's endpoints from Go, as a person clicking in it does, for
// tests and demos that have no browser: it lists folders and picks, with the settings a page
// gives google.picker.PickerBuilder.
type Dialog struct {
	HTTP    *http.Client // nil means http.DefaultClient
	BaseURL string       // the Google emulator's base URL
	Token   string       // setOAuthToken
	APIKey  string       // setDeveloperKey
	AppID   string       // setAppId
}

// Item is one row of the dialog.
type Item struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	MimeType string `json:"mimeType"`
	DriveID  string `json:"driveId,omitempty"`
}

// Listing is what the dialog shows in one folder.
type Listing struct {
	Folder Item   `json:"folder"`
	Path   []Item `json:"path"`
	Items  []Item `json:"items"`
}

// Doc is a picked item as the page's callback gets it (google.picker.Document fields).
type Doc struct {
	ID            string `json:"id"`
	ServiceID     string `json:"serviceId"`
	MimeType      string `json:"mimeType"`
	Name          string `json:"name"`
	Type          string `json:"type"`
	LastEditedUTC int64  `json:"lastEditedUtc"`
	URL           string `json:"url"`
	ParentID      string `json:"parentId"`
	DriveID       string `json:"driveId"`
}

// Error is the dialog endpoints' refusal, which the dialog shows to the user.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("picker: %d %s: %s", e.Status, e.Code, e.Message) }

// List returns what the dialog shows in parent: "root" (My Drive), "drives" or a folder ID.
func (d Dialog) List(ctx context.Context, parent string) (Listing, error) {
	q := url.Values{"parent": {parent}, "appId": {d.AppID}}
	var l Listing
	err := d.do(ctx, http.MethodGet, ItemsPath+"?"+q.Encode(), nil, &l)
	return l, err
}

// Pick selects ids in a view that picks mimeTypes (FOLDERS with setSelectFolderEnabled: the
// folder MIME type) and presses Select: the emulator grants them to the token's client.
func (d Dialog) Pick(ctx context.Context, mimeTypes []string, ids ...string) ([]Doc, error) {
	var out struct {
		Docs []Doc `json:"docs"`
	}
	err := d.do(ctx, http.MethodPost, PickPath, pickRequest{AppID: d.AppID, IDs: ids, MimeTypes: mimeTypes}, &out)
	return out.Docs, err
}

func (d Dialog) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("picker %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(d.BaseURL, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("picker %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+d.Token)
	req.Header.Set("X-Goog-Api-Key", d.APIKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := d.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("picker %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Message string `json:"message"`
				Status  string `json:"status"`
			} `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return &Error{Status: resp.StatusCode, Code: e.Error.Status, Message: e.Error.Message}
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("picker %s: decode: %w", path, err)
	}
	return nil
}
