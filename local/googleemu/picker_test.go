package googleemu

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/local/googleemu/oauthemu"
	"github.com/efactori/drivesync/local/googleemu/pickeremu"
	"github.com/efactori/drivesync/local/testclock"
	"golang.org/x/oauth2"
	"google.golang.org/api/drive/v3"
)

const (
	appNumber   = "424242424242"
	appKey      = "AIza-test-picker-key"
	otherNumber = "777777777777"
	otherKey    = "AIza-other-project-key"
	otherClient = "77-other.apps.googleusercontent.com"
)

// newPickerStack is newStack with the client in a Cloud project that has an API key, and a
// second project with its own client and key.
func newPickerStack(t *testing.T) *stack {
	t.Helper()
	s := newStack(t)
	clock := testclock.New(time.Now().Truncate(time.Second))
	emu, err := New(Options{
		Accounts: []Account{{Email: alice, DisplayName: "Alice Example"}},
		Clients: []oauthemu.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}},
			{ID: otherClient, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
		Projects: []pickeremu.Project{
			{Number: appNumber, ClientIDs: []string{clientID}, APIKeys: []string{appKey}},
			{Number: otherNumber, ClientIDs: []string{otherClient}, APIKeys: []string{otherKey}},
		},
		Now: clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.ts.Config.Handler = emu.Handler()
	if err := emu.SetBaseURL(s.ts.URL); err != nil {
		t.Fatalf("SetBaseURL: %v", err)
	}
	s.emu = emu
	s.cfg.Endpoint = emu.OAuth.Endpoint()
	return s
}

func (s *stack) dialog(tok *oauth2.Token) pickeremu.Dialog {
	return pickeremu.Dialog{HTTP: s.ts.Client(), BaseURL: s.ts.URL, Token: tok.AccessToken, APIKey: appKey, AppID: appNumber}
}

var folderOnly = []string{driveemu.FolderMimeType}

// TestPickerGrantsPickedFolder: the dialog lists the user's own folders (which a drive.file
// token cannot see), and Select grants the folder to the token's client, after which the app
// sees it through the Drive API and can write in it; nothing else is granted.
func TestPickerGrantsPickedFolder(t *testing.T) {
	t.Parallel()
	s := newPickerStack(t)
	compta, err := s.emu.Drive.CreateFolderAsUser(alice, "root", "Comptabilité")
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.emu.Drive.CreateFolderAsUser(alice, "root", "Photos")
	if err != nil {
		t.Fatal(err)
	}
	tok := s.login(t, driveemu.ScopeDriveFile)
	svc := s.drive(t, tok)
	if _, err := svc.Files.Get(compta).Context(s.ctx).Do(); apiCode(err) != http.StatusNotFound {
		t.Fatalf("drive.file get before the pick = %v, want 404", err)
	}

	d := s.dialog(tok)
	l, err := d.List(s.ctx, "root")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var names []string
	for _, it := range l.Items {
		names = append(names, it.Name)
	}
	if want := []string{"Comptabilité", "Photos"}; !slices.Equal(names, want) {
		t.Errorf("dialog lists %q, want the user's folders %q", names, want)
	}

	docs, err := d.Pick(s.ctx, folderOnly, compta)
	if err != nil {
		t.Fatalf("Pick: %v", err)
	}
	if len(docs) != 1 {
		t.Fatalf("Pick returned %d docs, want 1", len(docs))
	}
	root, _ := s.emu.Drive.RootID(alice)
	got := docs[0]
	if got.ID != compta || got.Name != "Comptabilité" || got.MimeType != driveemu.FolderMimeType || got.ParentID != root ||
		got.Type != "folder" || !strings.HasSuffix(got.URL, "/drive/folders/"+compta) {
		t.Errorf("picked doc = %+v, want the folder %s in My Drive", got, compta)
	}
	f, err := svc.Files.Get(compta).Fields("id", "name").Context(s.ctx).Do()
	if err != nil || f.Name != "Comptabilité" {
		t.Fatalf("drive.file get after the pick = %v, %v; want the folder", f, err)
	}
	if _, err := svc.Files.Create(&drive.File{Name: "Acme", MimeType: driveemu.FolderMimeType, Parents: []string{compta}}).
		Context(s.ctx).Do(); err != nil {
		t.Errorf("create in the picked folder: %v", err)
	}
	if _, err := svc.Files.Get(other).Context(s.ctx).Do(); apiCode(err) != http.StatusNotFound {
		t.Errorf("drive.file get of a folder not picked = %v, want 404", err)
	}
}

// TestPickerRefusals: the dialog refuses, and grants nothing, when the page's settings or the
// token are wrong, as Google's shows an error instead of the user's Drive.
func TestPickerRefusals(t *testing.T) {
	t.Parallel()
	s := newPickerStack(t)
	folder, err := s.emu.Drive.CreateFolderAsUser(alice, "root", "Comptabilité")
	if err != nil {
		t.Fatal(err)
	}
	file := s.login(t, driveemu.ScopeDriveFile)
	noDrive := s.login(t, "openid", "email")
	s.cfg.ClientID = otherClient
	otherApp := s.login(t, driveemu.ScopeDriveFile)
	s.cfg.ClientID = clientID
	root, _ := s.emu.Drive.RootID(alice)

	tests := []struct {
		name   string
		dialog func() pickeremu.Dialog
		ids    []string
		mimes  []string
		status int
	}{
		{"bad token", func() pickeremu.Dialog { d := s.dialog(file); d.Token = "ya29.forged"; return d }, []string{folder}, folderOnly, 401},
		{"no token", func() pickeremu.Dialog { d := s.dialog(file); d.Token = ""; return d }, []string{folder}, folderOnly, 401},
		{"no drive scope", func() pickeremu.Dialog { return s.dialog(noDrive) }, []string{folder}, folderOnly, 403},
		{"unknown developer key", func() pickeremu.Dialog { d := s.dialog(file); d.APIKey = "AIza-nope"; return d }, []string{folder}, folderOnly, 400},
		{"wrong app ID", func() pickeremu.Dialog { d := s.dialog(file); d.AppID = otherNumber; return d }, []string{folder}, folderOnly, 403},
		{"app ID of no project", func() pickeremu.Dialog { d := s.dialog(file); d.AppID = "1"; return d }, []string{folder}, folderOnly, 403},
		{"key of another project", func() pickeremu.Dialog { d := s.dialog(file); d.APIKey = otherKey; return d }, []string{folder}, folderOnly, 403},
		{"token of another app", func() pickeremu.Dialog { return s.dialog(otherApp) }, []string{folder}, folderOnly, 403},
		{"My Drive itself", func() pickeremu.Dialog { return s.dialog(file) }, []string{root}, folderOnly, 404},
		{"unknown item", func() pickeremu.Dialog { return s.dialog(file) }, []string{"1nope"}, folderOnly, 404},
		{"nothing selected", func() pickeremu.Dialog { return s.dialog(file) }, nil, folderOnly, 400},
		{"type the view cannot pick", func() pickeremu.Dialog { return s.dialog(file) }, []string{folder}, []string{"application/pdf"}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.dialog().Pick(s.ctx, tt.mimes, tt.ids...)
			var pe *pickeremu.Error
			if !errors.As(err, &pe) || pe.Status != tt.status || pe.Message == "" {
				t.Fatalf("Pick = %v, want a %d with a message", err, tt.status)
			}
			for _, c := range []string{clientID, otherClient} {
				if s.emu.Drive.Granted(alice, c, folder) {
					t.Errorf("folder granted to %s after a refused pick", c)
				}
			}
		})
	}
	// The listing checks the same settings: a wrong app ID shows an error, not the Drive.
	d := s.dialog(file)
	d.AppID = otherNumber
	if _, err := d.List(s.ctx, "root"); err == nil {
		t.Error("List with a wrong app ID succeeded")
	}
}

// TestPickerServesScriptAndDialog: the loader script and the dialog are served where pages load
// them, with the google.picker surface drivesync's page uses.
func TestPickerServesScriptAndDialog(t *testing.T) {
	t.Parallel()
	s := newPickerStack(t)
	for path, want := range map[string][]string{
		pickeremu.ScriptPath: {"gapi.load", "PickerBuilder", "setSelectFolderEnabled", "setAppId", "setOAuthToken",
			"setDeveloperKey", "FOLDERS: 'folders'", "PICKED: 'picked'"},
		pickeremu.DialogPath:       {"picker-select", "picker-cancel", "dialog.js"},
		pickeremu.DialogScriptPath: {"postMessage", "v1/pick"},
	} {
		resp, err := s.ts.Client().Get(s.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("GET %s lacks %q", path, w)
			}
		}
	}
	if got, want := s.emu.PickerScriptURL(), s.ts.URL+"/js/api.js"; got != want {
		t.Errorf("PickerScriptURL = %q, want %q", got, want)
	}
}

// TestAdminCreatesFolderAsUser: POST /emulator/drive/folders makes a folder as the user does
// in Drive, which the Picker lists and a drive.file token does not see.
func TestAdminCreatesFolderAsUser(t *testing.T) {
	t.Parallel()
	s := newPickerStack(t)
	resp, err := s.ts.Client().Post(s.ts.URL+"/emulator/drive/folders", "application/json",
		strings.NewReader(`{"account":"`+alice+`","name":"Comptabilité"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ ID string }
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || out.ID == "" {
		t.Fatalf("POST folders = %d, %+v, %v", resp.StatusCode, out, err)
	}
	tok := s.login(t, driveemu.ScopeDriveFile)
	l, err := s.dialog(tok).List(s.ctx, "root")
	if err != nil || len(l.Items) != 1 || l.Items[0].ID != out.ID || l.Items[0].Name != "Comptabilité" {
		t.Errorf("dialog lists %+v, %v; want the new folder", l.Items, err)
	}
	if _, err := s.drive(t, tok).Files.Get(out.ID).Context(s.ctx).Do(); apiCode(err) != http.StatusNotFound {
		t.Errorf("drive.file get of the user's folder = %v, want 404", err)
	}
}
