package connection_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"google.golang.org/api/iterator"

	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/queue"
	"github.com/efactori/drivesync/shared/store"
)

func names(fs []connection.Folder) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func TestNewReportsEveryMissingDependency(t *testing.T) {
	t.Parallel()
	_, err := connection.New(connection.Options{DriveScope: "drive.everything"})
	if err == nil {
		t.Fatal("New with no dependencies succeeded")
	}
	for _, want := range []string{"nil store", "nil oauth config", "nil token cipher", "nil copy starter", "nil logger", "drive scope"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestConnectionSetUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	ctx := e.ctx

	conn, authURL, err := e.svc.Create(ctx, acme, acmeName, connection.CreateInput{Name: " Comptabilité ", FolderLayout: drivesync.LayoutYearMonth})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if diff := cmp.Diff(drivesync.Connection{
		ID: conn.ID, CompanyID: acme, Name: "Comptabilité", FolderLayout: drivesync.LayoutYearMonth,
		Locale: drivesync.LocaleFR, OnDelete: drivesync.OnDeleteKeep, Status: drivesync.StatusAwaitingAuthorization,
		CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now(),
	}, conn); diff != "" {
		t.Errorf("created connection (-want +got):\n%s", diff)
	}
	if got := len(conn.ID); got < 20 {
		t.Errorf("connection ID %q has %d characters, want 20 or more", conn.ID, got)
	}
	// The authorization link is drivesync's start link under the redirect URI; it leads on to
	// Google's consent page for the same state.
	if want := redirectURL + connection.StartPath + "?state="; !strings.HasPrefix(authURL, want) {
		t.Errorf("authorization link %s, want %s…", authURL, want)
	}
	u, err := url.Parse(e.start(t, authURL))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"state", "code_challenge", "client_id"} {
		if u.Query().Get(p) == "" {
			t.Errorf("consent URL lacks %s: %s", p, u)
		}
	}
	if got, want := u.Query().Get("state"), linkState(t, authURL); got != want {
		t.Errorf("Google's URL carries state %q, the link %q", got, want)
	}

	loc, err := e.emu.OAuth.Consent(ctx, u.String(), alice, true)
	if err != nil {
		t.Fatalf("Consent: %v", err)
	}
	state, code := loc.Query().Get("state"), loc.Query().Get("code")
	res, err := e.callback(state, code, "")
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}
	if diff := cmp.Diff(connection.CallbackResult{ConnectionID: conn.ID, Result: connection.ResultOK}, res); diff != "" {
		t.Errorf("Callback (-want +got):\n%s", diff)
	}
	conn, err = e.svc.Get(ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := conn.Status, drivesync.StatusAwaitingFolder; got != want {
		t.Errorf("status after consent = %s, want %s", got, want)
	}
	if got, want := conn.GoogleAccountEmail, alice; got != want {
		t.Errorf("GoogleAccountEmail = %q, want %q", got, want)
	}

	// Alice's Drive: two folders, one in the trash, a subfolder, a shared drive.
	root := e.rootID(t)
	factures := e.mkdir(t, root, "Factures")
	e.mkdir(t, root, "archives")
	gone := e.mkdir(t, root, "Corbeille")
	if err := e.emu.Drive.TrashAsUser(alice, gone); err != nil {
		t.Fatal(err)
	}
	year := e.mkdir(t, factures, "2024")
	team, err := e.emu.Drive.AddSharedDrive(alice, "Équipe")
	if err != nil {
		t.Fatal(err)
	}
	e.mkdir(t, team, "Commun")
	if _, err := e.emu.Drive.AddSharedDrive(alice, "Achats"); err != nil {
		t.Fatal(err)
	}

	myDrive := connection.Folder{ID: root, Name: "My Drive"}
	shared := connection.Folder{ID: connection.ParentDrives, Name: "Shared drives"}
	for _, tc := range []struct {
		name, parent string
		want         connection.FolderListing
	}{
		{"root", connection.ParentRoot, connection.FolderListing{Folder: myDrive, Path: []connection.Folder{myDrive},
			Children: []connection.Folder{{Name: "archives"}, {ID: factures, Name: "Factures"}}}},
		{"subfolder", factures, connection.FolderListing{Folder: connection.Folder{ID: factures, Name: "Factures"},
			Path:     []connection.Folder{myDrive, {ID: factures, Name: "Factures"}},
			Children: []connection.Folder{{ID: year, Name: "2024"}}}},
		{"shared drives", connection.ParentDrives, connection.FolderListing{Folder: shared, Path: []connection.Folder{shared},
			Children: []connection.Folder{{Name: "Achats"}, {ID: team, Name: "Équipe"}}}},
		{"in a shared drive", team, connection.FolderListing{Folder: connection.Folder{ID: team, Name: "Équipe"},
			Path:     []connection.Folder{shared, {ID: team, Name: "Équipe"}},
			Children: []connection.Folder{{Name: "Commun"}}}},
	} {
		t.Run("folders/"+tc.name, func(t *testing.T) {
			got, err := e.svc.Folders(ctx, acme, conn.ID, tc.parent, "")
			if err != nil {
				t.Fatalf("Folders: %v", err)
			}
			// IDs of folders made without keeping them are not compared.
			for i := range got.Children {
				if i < len(tc.want.Children) && tc.want.Children[i].ID == "" {
					got.Children[i].ID = ""
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Folders(%s) (-want +got):\n%s", tc.parent, diff)
			}
		})
	}

	t.Run("folders/paging", func(t *testing.T) {
		big := e.mkdir(t, root, "Big")
		var want []string
		for i := range 250 {
			n := fmt.Sprintf("Dossier %03d", i)
			e.mkdir(t, big, n)
			want = append(want, n)
		}
		var got []string
		pages, token := 0, ""
		for {
			l, err := e.svc.Folders(ctx, acme, conn.ID, big, token)
			if err != nil {
				t.Fatalf("Folders page %d: %v", pages, err)
			}
			pages++
			got = append(got, names(l.Children)...)
			if token = l.NextPageToken; token == "" {
				break
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("folders over every page (-want +got):\n%s", diff)
		}
		if got, want := pages, 3; got != want {
			t.Errorf("%d pages, want %d", got, want)
		}
	})

	created, err := e.svc.CreateFolder(ctx, acme, conn.ID, factures, "Drivesync")
	if err != nil {
		t.Fatalf("CreateFolder: %v", err)
	}
	if got, want := created.Name, "Drivesync"; got != want {
		t.Errorf("created folder name = %q, want %q", got, want)
	}

	conn, err = e.svc.SetTarget(ctx, acme, conn.ID, created.ID)
	if err != nil {
		t.Fatalf("SetTarget: %v", err)
	}
	if got, want := conn.Status, drivesync.StatusActive; got != want {
		t.Errorf("status = %s, want %s", got, want)
	}
	if got, want := conn.InitialCopy.State, drivesync.CopyPending; got != want {
		t.Errorf("initial copy = %q, want %q", got, want)
	}
	if conn.InitialCopy.RunID == "" {
		t.Error("initial copy has no run ID")
	}
	wantTarget := drivesync.Target{FolderID: created.ID, Path: []string{"My Drive", "Factures", "Drivesync"}, CompanyFolderID: conn.Target.CompanyFolderID}
	if diff := cmp.Diff(wantTarget, conn.Target); diff != "" {
		t.Errorf("target (-want +got):\n%s", diff)
	}
	if got, want := e.countNamed(t, created.ID, acmeName), 1; got != want {
		t.Errorf("%d company folders in the target, want %d", got, want)
	}
	stored, err := e.svc.Get(ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(conn, stored); diff != "" {
		t.Errorf("stored connection differs from the one returned (-returned +stored):\n%s", diff)
	}
	if diff := cmp.Diff([]drivesync.Connection{stored}, e.copies.calls()); diff != "" {
		t.Errorf("copies started (-want +got):\n%s", diff)
	}

	// Choosing the same target again starts a new run but reuses the company folder.
	again, err := e.svc.SetTarget(ctx, acme, conn.ID, created.ID)
	if err != nil {
		t.Fatalf("SetTarget again: %v", err)
	}
	if got, want := again.Target.CompanyFolderID, conn.Target.CompanyFolderID; got != want {
		t.Errorf("company folder = %s, want the same %s", got, want)
	}
	if again.InitialCopy.RunID == conn.InitialCopy.RunID {
		t.Error("re-targeting kept the run ID")
	}
	if got, want := e.countNamed(t, created.ID, acmeName), 1; got != want {
		t.Errorf("%d company folders after choosing the target again, want %d", got, want)
	}
	if got, want := len(e.copies.calls()), 2; got != want {
		t.Errorf("%d copies started, want %d", got, want)
	}

	t.Run("no token in firestore", func(t *testing.T) {
		secrets := e.tokens.all()
		if len(secrets) < 2 {
			t.Fatalf("recorded %d tokens; the recorder sees nothing", len(secrets))
		}
		docs := allDocuments(t, e.fs)
		if len(docs) < 2 {
			t.Fatalf("read %d documents; the walk sees nothing", len(docs))
		}
		for path, data := range docs {
			for _, s := range secrets {
				if strings.Contains(data, s) {
					t.Errorf("document %s holds a token", path)
				}
			}
			e.mu.Lock()
			browser := e.browsers[state]
			e.mu.Unlock()
			for _, s := range []string{state, code, browser} {
				if strings.Contains(data, s) {
					t.Errorf("document %s holds the OAuth state, code or browser secret", path)
				}
			}
		}
	})
}

// allDocuments reads every document of the test's Firestore project, walking every collection
// from the root down, and returns each one's fields printed, bytes included as text.
func allDocuments(t *testing.T, fs *firestore.Client) map[string]string {
	t.Helper()
	ctx := t.Context()
	out := map[string]string{}
	var walk func(cols *firestore.CollectionIterator)
	walk = func(cols *firestore.CollectionIterator) {
		for {
			col, err := cols.Next()
			if errors.Is(err, iterator.Done) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			refs, err := col.DocumentRefs(ctx).GetAll()
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range refs {
				snap, err := ref.Get(ctx)
				if err == nil {
					out[ref.Path] = printFields(snap.Data())
				}
				walk(ref.Collections(ctx))
			}
		}
	}
	walk(fs.Collections(ctx))
	return out
}

func printFields(v any) string {
	switch v := v.(type) {
	case map[string]any:
		var b strings.Builder
		for k, x := range v {
			fmt.Fprintf(&b, "%s=%s;", k, printFields(x))
		}
		return b.String()
	case []any:
		var b strings.Builder
		for _, x := range v {
			b.WriteString(printFields(x) + ",")
		}
		return b.String()
	case []byte:
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	if _, _, err := e.svc.Create(e.ctx, acme, acmeName, connection.CreateInput{Name: "Compta", FolderLayout: drivesync.LayoutYear}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		in         connection.CreateInput
		wantFields []string
		wantErr    error
	}{
		{"everything wrong", connection.CreateInput{Name: "  ", FolderLayout: "decade", Locale: "de"}, []string{"folderLayout", "locale", "name"}, nil},
		{"name too long", connection.CreateInput{Name: strings.Repeat("é", drivesync.MaxConnectionNameLength+1), FolderLayout: drivesync.LayoutYear}, []string{"name"}, nil},
		{"control character", connection.CreateInput{Name: "a\nb", FolderLayout: drivesync.LayoutYear}, []string{"name"}, nil},
		{"duplicate name", connection.CreateInput{Name: "COMPTA ", FolderLayout: drivesync.LayoutYearKind}, nil, drivesync.ErrNameTaken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.svc.Create(e.ctx, acme, acmeName, tc.in)
			if err == nil {
				t.Fatal("Create succeeded")
			}
			var got []string
			for f := range fieldErrors(err) {
				got = append(got, f)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tc.wantFields, got); diff != "" {
				t.Errorf("invalid fields (-want +got):\n%s", diff)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
	if _, _, err := e.svc.Create(e.ctx, globex, "Globex", connection.CreateInput{Name: "Compta", FolderLayout: drivesync.LayoutYear}); err != nil {
		t.Errorf("another company cannot use the same name: %v", err)
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	conn, _, err := e.svc.Create(e.ctx, acme, acmeName, connection.CreateInput{Name: "Compta", FolderLayout: drivesync.LayoutYear})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	if _, _, err := e.svc.Create(e.ctx, acme, acmeName, connection.CreateInput{Name: "Backup", FolderLayout: drivesync.LayoutYear}); err != nil {
		t.Fatal(err)
	}
	ptr := func(s string) *string { return &s }
	layout, locale, onDelete := drivesync.LayoutYearKind, drivesync.LocaleNL, drivesync.OnDeleteTrash
	got, err := e.svc.Update(e.ctx, acme, conn.ID, connection.UpdateInput{Name: ptr("Boekhouding"), FolderLayout: &layout, Locale: &locale, OnDelete: &onDelete})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	want := conn
	want.UpdatedAt = e.clock.Now()
	want.Name, want.FolderLayout, want.Locale, want.OnDelete = "Boekhouding", layout, locale, onDelete
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("updated (-want +got):\n%s", diff)
	}

	badLayout, badLocale, badOnDelete := drivesync.FolderLayout("x"), drivesync.Locale("x"), drivesync.OnDelete("x")
	_, err = e.svc.Update(e.ctx, acme, conn.ID, connection.UpdateInput{Name: ptr(""), FolderLayout: &badLayout, Locale: &badLocale, OnDelete: &badOnDelete})
	if got, want := len(fieldErrors(err)), 4; got != want {
		t.Errorf("%d invalid fields (%v), want %d", got, err, want)
	}
	if _, err := e.svc.Update(e.ctx, acme, conn.ID, connection.UpdateInput{Name: ptr("backup")}); !errors.Is(err, drivesync.ErrNameTaken) {
		t.Errorf("rename to a taken name: err = %v, want ErrNameTaken", err)
	}
	list, err := e.svc.List(e.ctx, acme)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Boekhouding", "Backup"}, func() []string {
		var n []string
		for _, c := range list {
			n = append(n, c.Name)
		}
		return n
	}()); diff != "" {
		t.Errorf("List names, oldest first (-want +got):\n%s", diff)
	}
}

func TestCallbackRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	ctx := e.ctx
	create := func(t *testing.T, name string) (drivesync.Connection, string) {
		t.Helper()
		conn, authURL, err := e.svc.Create(ctx, acme, acmeName, connection.CreateInput{Name: name, FolderLayout: drivesync.LayoutYear})
		if err != nil {
			t.Fatal(err)
		}
		return conn, authURL
	}
	unchanged := func(t *testing.T, want drivesync.Connection) {
		t.Helper()
		got, err := e.svc.Get(ctx, acme, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("connection changed (-want +got):\n%s", diff)
		}
	}

	t.Run("cancel", func(t *testing.T) {
		conn, authURL := create(t, "cancel")
		state, code, errParam := e.consent(t, authURL, alice, false)
		if got, want := errParam, "access_denied"; got != want {
			t.Fatalf("Google sent error=%q, want %q", got, want)
		}
		res, err := e.callback(state, code, errParam)
		if err != nil {
			t.Fatalf("Callback: %v", err)
		}
		if diff := cmp.Diff(connection.CallbackResult{ConnectionID: conn.ID, Result: connection.ResultDenied}, res); diff != "" {
			t.Errorf("Callback (-want +got):\n%s", diff)
		}
		unchanged(t, conn)
	})
	t.Run("replayed state", func(t *testing.T) {
		conn, authURL := create(t, "replay")
		state, code, _ := e.consent(t, authURL, alice, true)
		if res, err := e.callback(state, code, ""); err != nil || res.Result != connection.ResultOK {
			t.Fatalf("Callback = %+v, %v", res, err)
		}
		want, err := e.svc.Get(ctx, acme, conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.callback(state, code, ""); !errors.Is(err, drivesync.ErrInvalidState) {
			t.Errorf("replay: err = %v, want ErrInvalidState", err)
		}
		unchanged(t, want)
	})
	t.Run("tampered state", func(t *testing.T) {
		conn, authURL := create(t, "tampered")
		state, code, _ := e.consent(t, authURL, alice, true)
		for _, s := range []string{state + "x", strings.ToUpper(state), ""} {
			if _, err := e.callback(s, code, ""); !errors.Is(err, drivesync.ErrInvalidState) {
				t.Errorf("Callback(%q): err = %v, want ErrInvalidState", s, err)
			}
		}
		unchanged(t, conn)
	})
	t.Run("connection deleted", func(t *testing.T) {
		conn, authURL := create(t, "deleted")
		state, code, _ := e.consent(t, authURL, alice, true)
		if err := e.svc.Delete(ctx, acme, conn.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.callback(state, code, ""); !errors.Is(err, drivesync.ErrInvalidState) {
			t.Errorf("err = %v, want ErrInvalidState", err)
		}
		if _, err := e.svc.Get(ctx, acme, conn.ID); !errors.Is(err, drivesync.ErrNotFound) {
			t.Errorf("the callback brought the connection back: %v", err)
		}
	})
	t.Run("exchange fails", func(t *testing.T) {
		conn, authURL := create(t, "bad code")
		state, _, _ := e.consent(t, authURL, alice, true)
		res, err := e.callback(state, "not-a-code", "")
		if err != nil {
			t.Fatalf("Callback: %v", err)
		}
		if got, want := res.Result, connection.ResultError; got != want {
			t.Errorf("Result = %q, want %q", got, want)
		}
		got, err := e.svc.Get(ctx, acme, conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != drivesync.StatusAwaitingAuthorization || got.LastError == nil || got.LastError.Code != "authorization_failed" {
			t.Errorf("after a failed exchange: status %s, last error %+v", got.Status, got.LastError)
		}
	})
}

// TestCallbackExpiredState has an environment of its own because it moves the clock.
func TestCallbackExpiredState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	conn, authURL, err := e.svc.Create(e.ctx, acme, acmeName, connection.CreateInput{Name: "late", FolderLayout: drivesync.LayoutYear})
	if err != nil {
		t.Fatal(err)
	}
	state, code, _ := e.consent(t, authURL, alice, true)
	e.clock.Advance(store.OAuthStateTTL + time.Second)
	if _, err := e.callback(state, code, ""); !errors.Is(err, drivesync.ErrInvalidState) {
		t.Errorf("err = %v, want ErrInvalidState", err)
	}
	got, err := e.svc.Get(e.ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(conn, got); diff != "" {
		t.Errorf("connection changed (-want +got):\n%s", diff)
	}
}

func TestOtherCompanyGetsNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	ctx := e.ctx
	conn := e.connect(t, acme, "Compta", alice)
	folder := e.mkdir(t, e.rootID(t), "Cible")
	name := "stolen"
	for _, tc := range []struct {
		name string
		call func(company string) error
	}{
		{"Get", func(c string) error { _, err := e.svc.Get(ctx, c, conn.ID); return err }},
		{"Update", func(c string) error {
			_, err := e.svc.Update(ctx, c, conn.ID, connection.UpdateInput{Name: &name})
			return err
		}},
		{"Authorize", func(c string) error { _, err := e.svc.Authorize(ctx, c, conn.ID); return err }},
		{"Folders", func(c string) error { _, err := e.svc.Folders(ctx, c, conn.ID, connection.ParentRoot, ""); return err }},
		{"CreateFolder", func(c string) error { _, err := e.svc.CreateFolder(ctx, c, conn.ID, folder, "x"); return err }},
		{"SetTarget", func(c string) error { _, err := e.svc.SetTarget(ctx, c, conn.ID, folder); return err }},
		{"Resync", func(c string) error { _, err := e.svc.Resync(ctx, c, conn.ID); return err }},
		{"Delete", func(c string) error { return e.svc.Delete(ctx, c, conn.ID) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, company := range []string{globex, ""} {
				if err := tc.call(company); !errors.Is(err, drivesync.ErrNotFound) {
					t.Errorf("company %q: err = %v, want ErrNotFound", company, err)
				}
			}
		})
	}
	list, err := e.svc.List(ctx, globex)
	if err != nil || len(list) != 0 {
		t.Errorf("List(globex) = %v, %v; want none", list, err)
	}
	got, err := e.svc.Get(ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(conn, got); diff != "" {
		t.Errorf("another company's calls changed the connection (-want +got):\n%s", diff)
	}
	if got, want := len(e.copies.calls()), 0; got != want {
		t.Errorf("%d copies started, want %d", got, want)
	}
}

func TestNeedsGrantFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	conn, _, err := e.svc.Create(e.ctx, acme, acmeName, connection.CreateInput{Name: "Compta", FolderLayout: drivesync.LayoutYear})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Folders", func() error { _, err := e.svc.Folders(e.ctx, acme, conn.ID, connection.ParentRoot, ""); return err }},
		{"CreateFolder", func() error {
			_, err := e.svc.CreateFolder(e.ctx, acme, conn.ID, connection.ParentRoot, "x")
			return err
		}},
		{"SetTarget", func() error { _, err := e.svc.SetTarget(e.ctx, acme, conn.ID, "some-folder"); return err }},
		{"Resync", func() error { _, err := e.svc.Resync(e.ctx, acme, conn.ID); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, drivesync.ErrConsentRequired) || !errors.Is(err, drivesync.ErrConflict) {
				t.Errorf("err = %v, want ErrConsentRequired (an ErrConflict)", err)
			}
		})
	}
}

func TestFolderBrowsingUnavailableWithDriveFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive.file")
	conn, _, err := e.svc.Create(e.ctx, acme, acmeName, connection.CreateInput{Name: "Compta", FolderLayout: drivesync.LayoutYear})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Folders(e.ctx, acme, conn.ID, connection.ParentRoot, ""); !errors.Is(err, connection.ErrFolderBrowsingUnavailable) {
		t.Errorf("err = %v, want ErrFolderBrowsingUnavailable", err)
	}
}

func TestRevokedGrant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	ctx := e.ctx
	conn := e.connect(t, acme, "Compta", alice)
	target := e.mkdir(t, e.rootID(t), "Cible")
	active, err := e.svc.SetTarget(ctx, acme, conn.ID, target)
	if err != nil {
		t.Fatal(err)
	}

	e.emu.OAuth.RevokeAll(alice, clientID) // the customer removes drivesync from their account
	_, err = e.svc.Folders(ctx, acme, conn.ID, connection.ParentRoot, "")
	if !errors.Is(err, drivesync.ErrGrantLost) || drivesync.ClassOf(err) != drivesync.NeedsReauthorization {
		t.Fatalf("Folders after revocation: err = %v (class %s), want ErrGrantLost classified needs_reauthorization", err, drivesync.ClassOf(err))
	}
	got, err := e.svc.Get(ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.Status, drivesync.StatusNeedsReauthorization; got != want {
		t.Errorf("status = %s, want %s", got, want)
	}
	wantErr := &drivesync.LastError{Code: "invalid_grant", Message: "Google no longer accepts drivesync's access; reconnect the Drive.", At: e.clock.Now()}
	if diff := cmp.Diff(wantErr, got.LastError); diff != "" {
		t.Errorf("last error (-want +got):\n%s", diff)
	}
	if _, err := e.svc.Folders(ctx, acme, conn.ID, connection.ParentRoot, ""); !errors.Is(err, drivesync.ErrGrantLost) {
		t.Errorf("Folders while needing re-authorization: err = %v, want ErrGrantLost", err)
	}
	if _, err := e.svc.Resync(ctx, acme, conn.ID); !errors.Is(err, drivesync.ErrGrantLost) {
		t.Errorf("Resync while needing re-authorization: err = %v, want ErrGrantLost", err)
	}

	authURL, err := e.svc.Authorize(ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	state, code, _ := e.consent(t, authURL, alice, true)
	if res, err := e.callback(state, code, ""); err != nil || res.Result != connection.ResultOK {
		t.Fatalf("Callback = %+v, %v", res, err)
	}
	got, err = e.svc.Get(ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != drivesync.StatusActive || got.LastError != nil {
		t.Errorf("after re-consent: status %s, last error %+v; want active and none", got.Status, got.LastError)
	}
	if diff := cmp.Diff(active.Target, got.Target); diff != "" {
		t.Errorf("target changed by re-consent (-want +got):\n%s", diff)
	}
	if _, err := e.svc.SetTarget(ctx, acme, conn.ID, target); err != nil {
		t.Fatalf("SetTarget after re-consent: %v", err)
	}
	if got, want := e.countNamed(t, target, acmeName), 1; got != want {
		t.Errorf("%d company folders, want %d", got, want)
	}
}

func TestSetTargetRefusesUnusableFolders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	ctx := e.ctx
	conn := e.connect(t, acme, "Compta", alice)
	root := e.rootID(t)
	trashed := e.mkdir(t, root, "Corbeille")
	if err := e.emu.Drive.TrashAsUser(alice, trashed); err != nil {
		t.Fatal(err)
	}
	file := e.mkfile(t, root, "facture.txt")
	deleted := e.mkdir(t, root, "Supprimé")
	if err := e.emu.Drive.DeleteAsUser(alice, deleted); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, folderID, wantReason string
	}{
		{"trashed", trashed, "is in the trash"},
		{"a file", file, "is a file, not a folder"},
		{"deleted", deleted, "does not exist"},
		{"unknown", "no-such-folder", "does not exist"},
		{"empty", "", "must be a folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.SetTarget(ctx, acme, conn.ID, tc.folderID)
			reason, ok := fieldErrors(err)["folderId"]
			if !ok || !strings.Contains(reason, tc.wantReason) {
				t.Errorf("err = %v, want a folderId error saying %q", err, tc.wantReason)
			}
		})
	}
	got, err := e.svc.Get(ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(conn, got); diff != "" {
		t.Errorf("connection changed (-want +got):\n%s", diff)
	}
	if got, want := len(e.copies.calls()), 0; got != want {
		t.Errorf("%d copies started, want %d", got, want)
	}
}

func TestCreateFolderValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	conn := e.connect(t, acme, "Compta", alice)
	file := e.mkfile(t, e.rootID(t), "facture.txt")
	for _, tc := range []struct {
		name, parent, folder, wantField string
	}{
		{"no name", connection.ParentRoot, " ", "name"},
		{"no parent", "", "x", "parentId"},
		{"shared drives list", connection.ParentDrives, "x", "parentId"},
		{"parent is a file", file, "x", "parentId"},
		{"unknown parent", "nope", "x", "parentId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CreateFolder(e.ctx, acme, conn.ID, tc.parent, tc.folder)
			if _, ok := fieldErrors(err)[tc.wantField]; !ok {
				t.Errorf("err = %v, want an error on %s", err, tc.wantField)
			}
		})
	}
}

func TestResync(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	ctx := e.ctx
	conn := e.connect(t, acme, "Compta", alice)
	if _, err := e.svc.Resync(ctx, acme, conn.ID); !errors.Is(err, drivesync.ErrNoTarget) || !errors.Is(err, drivesync.ErrConflict) {
		t.Errorf("Resync before a target: err = %v, want ErrNoTarget (an ErrConflict)", err)
	}
	target := e.mkdir(t, e.rootID(t), "Cible")
	active, err := e.svc.SetTarget(ctx, acme, conn.ID, target)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.svc.Resync(ctx, acme, conn.ID)
	if err != nil {
		t.Fatalf("Resync: %v", err)
	}
	if again.InitialCopy.State != drivesync.CopyPending || again.InitialCopy.RunID == active.InitialCopy.RunID {
		t.Errorf("initial copy after resync = %+v; want pending with a new run", again.InitialCopy)
	}
	calls := e.copies.calls()
	if got, want := len(calls), 2; got != want {
		t.Fatalf("%d copies started, want %d", got, want)
	}
	if got, want := calls[1].InitialCopy.RunID, again.InitialCopy.RunID; got != want {
		t.Errorf("copy started for run %s, want %s", got, want)
	}

	if err := e.emu.Drive.TrashAsUser(alice, target); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Resync(ctx, acme, conn.ID); drivesync.ClassOf(err) != drivesync.NeedsCustomer {
		t.Errorf("Resync into a trashed target: err = %v, want needs_customer", err)
	}
	got, err := e.svc.Get(ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != drivesync.StatusError || got.LastError == nil || !strings.Contains(got.LastError.Message, "choose a folder again") {
		t.Errorf("after losing the target: status %s, last error %+v", got.Status, got.LastError)
	}
	// Choosing a folder again puts it right.
	other := e.mkdir(t, e.rootID(t), "Nouvelle cible")
	if conn, err := e.svc.SetTarget(ctx, acme, conn.ID, other); err != nil || conn.Status != drivesync.StatusActive || conn.LastError != nil {
		t.Errorf("SetTarget from error = %+v, %v; want active", conn, err)
	}
}

func TestStartCopyFailureIsReported(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	conn := e.connect(t, acme, "Compta", alice)
	target := e.mkdir(t, e.rootID(t), "Cible")
	boom := drivesync.Classify(errors.New("pubsub down"), drivesync.Retryable, "publish_failed")
	e.copies.mu.Lock()
	e.copies.err = boom
	e.copies.mu.Unlock()
	if _, err := e.svc.SetTarget(e.ctx, acme, conn.ID, target); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the copy starter's", err)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	ctx := e.ctx
	conn := e.connect(t, acme, "Compta", alice)
	refresh := e.tokens.refreshTokens()
	if len(refresh) != 1 {
		t.Fatalf("Google issued %d refresh tokens, want 1", len(refresh))
	}
	target := e.mkdir(t, e.rootID(t), "Cible")
	if _, err := e.svc.SetTarget(ctx, acme, conn.ID, target); err != nil {
		t.Fatal(err)
	}
	mapping := e.fs.Collection("companies").Doc(acme).Collection("connections").Doc(conn.ID).Collection(store.ColMappings).Doc("doc-1")
	if _, err := mapping.Set(ctx, map[string]any{"fileId": "f"}); err != nil {
		t.Fatal(err)
	}

	if err := e.svc.Delete(ctx, acme, conn.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := e.svc.Get(ctx, acme, conn.ID); !errors.Is(err, drivesync.ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if _, err := mapping.Get(ctx); err == nil {
		t.Error("the connection's mapping survived it")
	}
	if err := e.svc.Delete(ctx, acme, conn.ID); !errors.Is(err, drivesync.ErrNotFound) {
		t.Errorf("second Delete: err = %v, want ErrNotFound", err)
	}
	cfg := &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: e.emu.OAuth.Endpoint()}
	_, err := cfg.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, e.srv.Client()), &oauth2.Token{RefreshToken: refresh[0]}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("refresh with the deleted connection's token: err = %v, want invalid_grant", err)
	}
	if got, want := e.countNamed(t, target, acmeName), 1; got != want {
		t.Errorf("%d company folders left in Drive, want %d (files stay)", got, want)
	}
}

func TestDeleteKeepsAGrantSharedWithAnotherConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	ctx := e.ctx
	first := e.connect(t, acme, "Compta", alice)
	second := e.connect(t, globex, "Backup", alice) // the same Google account, another company
	if err := e.svc.Delete(ctx, acme, first.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := e.svc.Folders(ctx, globex, second.ID, connection.ParentRoot, ""); err != nil {
		t.Errorf("the other connection lost its grant: %v", err)
	}
	if err := e.svc.Delete(ctx, globex, second.ID); err != nil {
		t.Fatalf("Delete the last: %v", err)
	}
	refresh := e.tokens.refreshTokens()
	cfg := &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: e.emu.OAuth.Endpoint()}
	_, err := cfg.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, e.srv.Client()), &oauth2.Token{RefreshToken: refresh[len(refresh)-1]}).Token()
	if err == nil {
		t.Error("the grant survived the deletion of its last connection")
	}
}

func TestSaveTokenFindsTheCompany(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	conn := e.connect(t, acme, "Compta", alice)
	if err := e.svc.SaveToken(e.ctx, conn.ID, &oauth2.Token{RefreshToken: "1//rotated-secret", Expiry: e.clock.Now()}); err != nil {
		t.Fatalf("SaveToken: %v", err)
	}
	for path, data := range allDocuments(t, e.fs) {
		if strings.Contains(data, "rotated-secret") {
			t.Errorf("document %s holds the plaintext token", path)
		}
	}
	// The rotated token is now the one used: it is not Google's, so Drive calls fail as a lost grant.
	if _, err := e.svc.Folders(e.ctx, acme, conn.ID, connection.ParentRoot, ""); drivesync.ClassOf(err) != drivesync.NeedsReauthorization {
		t.Errorf("Folders with the saved token: err = %v, want needs_reauthorization", err)
	}
	if err := e.svc.SaveToken(e.ctx, "no-such-connection", &oauth2.Token{RefreshToken: "x"}); !errors.Is(err, drivesync.ErrNotFound) {
		t.Errorf("SaveToken for an unknown connection: err = %v, want ErrNotFound", err)
	}
}

// TestConcurrentSetTargetMakesOneCompanyFolder plays a double click landing on several function
// instances at once.
func TestConcurrentSetTargetMakesOneCompanyFolder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	conn := e.connect(t, acme, "Compta", alice)
	target := e.mkdir(t, e.rootID(t), "Cible")
	instances := []*connection.Service{e.svc, e.instance(t), e.instance(t)}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			if _, err := instances[i%len(instances)].SetTarget(e.ctx, acme, conn.ID, target); err != nil {
				t.Errorf("SetTarget: %v", err)
			}
		})
	}
	wg.Wait()
	if got, want := e.countNamed(t, target, acmeName), 1; got != want {
		t.Errorf("%d company folders, want %d", got, want)
	}
}

// TestSetTargetPublishesCopyRequest runs the copy request through the real publisher and the
// Pub/Sub emulator, as the copy engine will receive it.
func TestSetTargetPublishesCopyRequest(t *testing.T) {
	t.Parallel()
	client := emulators.PubSub(t)
	ctx := t.Context()
	topic := fmt.Sprintf("projects/%s/topics/%s", client.Project(), config.TopicCopyRequests)
	sub := fmt.Sprintf("projects/%s/subscriptions/copy-engine", client.Project())
	if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: sub, Topic: topic}); err != nil {
		t.Fatal(err)
	}
	pub := client.Publisher(config.TopicCopyRequests)
	t.Cleanup(pub.Stop)
	publisher, err := queue.NewPublisher(pub)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, "drive", publisher)
	conn := e.connect(t, acme, "Compta", alice)
	conn, err = e.svc.SetTarget(ctx, acme, conn.ID, e.mkdir(t, e.rootID(t), "Cible"))
	if err != nil {
		t.Fatalf("SetTarget: %v", err)
	}

	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var got []drivesync.CopyRequest
	var mu sync.Mutex
	err = client.Subscriber(sub).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		r, err := drivesync.DecodeCopyRequest(m.Data)
		if err != nil {
			t.Errorf("DecodeCopyRequest: %v", err)
		}
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
		cancel()
	})
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	want := []drivesync.CopyRequest{{SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: acme, ConnectionID: conn.ID, RunID: conn.InitialCopy.RunID}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("copy requests (-want +got):\n%s", diff)
	}
}

// TestSetTargetOneConnectionPerFolder checks that a folder is the target of one connection of a
// company at most: two connections copying into one folder would each create every document.
func TestSetTargetOneConnectionPerFolder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	ctx := e.ctx
	first := e.connect(t, acme, "Comptabilité", alice)
	e.clock.Advance(time.Second)
	second := e.connect(t, acme, "Archives", alice)
	shared := e.mkdir(t, e.rootID(t), "Partagé")
	if _, err := e.svc.SetTarget(ctx, acme, first.ID, shared); err != nil {
		t.Fatalf("SetTarget of the first: %v", err)
	}
	before, err := e.svc.Get(ctx, acme, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	refused := func(t *testing.T, what string) {
		t.Helper()
		_, err := e.svc.SetTarget(ctx, acme, second.ID, shared)
		var inUse *drivesync.TargetInUseError
		if !errors.As(err, &inUse) {
			t.Fatalf("%s: err = %v, want a TargetInUseError", what, err)
		}
		want := drivesync.TargetInUseError{FolderID: shared, ConnectionID: first.ID, ConnectionName: "Comptabilité"}
		if diff := cmp.Diff(want, *inUse); diff != "" {
			t.Errorf("%s: error (-want +got):\n%s", what, diff)
		}
		if !errors.Is(err, drivesync.ErrConflict) || !errors.Is(err, drivesync.ErrTargetInUse) {
			t.Errorf("%s: err = %v, want it to match ErrConflict and ErrTargetInUse", what, err)
		}
		got, err := e.svc.Get(ctx, acme, second.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, got); diff != "" {
			t.Errorf("%s: the refused connection changed (-want +got):\n%s", what, diff)
		}
	}
	refused(t, "first active")
	// Whatever the other connection's status, as long as it has the folder as its target.
	if _, err := e.store.UpdateConnection(ctx, acme, first.ID, func(r *store.ConnectionRecord) error {
		r.Status = drivesync.StatusNeedsReauthorization
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	refused(t, "first needs_reauthorization")
	if got, want := len(e.copies.calls()), 1; got != want {
		t.Errorf("%d copies started, want %d (the first connection's)", got, want)
	}

	// Another folder is fine, and so is the connection's own folder again.
	other := e.mkdir(t, e.rootID(t), "Archives")
	conn, err := e.svc.SetTarget(ctx, acme, second.ID, other)
	if err != nil || conn.Status != drivesync.StatusActive || conn.Target.FolderID != other {
		t.Fatalf("SetTarget onto another folder = %+v, %v; want active there", conn, err)
	}
	if conn, err := e.svc.SetTarget(ctx, acme, second.ID, other); err != nil || conn.Target.FolderID != other {
		t.Errorf("SetTarget onto its own folder again = %+v, %v; want it accepted", conn, err)
	}
	// The first connection's folder is free once it is removed; another company never clashes.
	rival := e.connect(t, globex, "Compta", alice)
	if _, err := e.svc.SetTarget(ctx, globex, rival.ID, other); err != nil {
		t.Errorf("SetTarget of another company onto the same folder: %v", err)
	}
	if err := e.svc.Delete(ctx, acme, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetTarget(ctx, acme, second.ID, shared); err != nil {
		t.Errorf("SetTarget onto the removed connection's folder: %v", err)
	}
}

// TestConcurrentSetTargetOntoOneFolder races two connections of the company, on different
// instances, for one folder: exactly one gets it.
func TestConcurrentSetTargetOntoOneFolder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	a := e.connect(t, acme, "Compta", alice)
	b := e.connect(t, acme, "Archives", alice)
	target := e.mkdir(t, e.rootID(t), "Cible")
	instances := []*connection.Service{e.svc, e.instance(t)}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []string{a.ID, b.ID} {
		wg.Go(func() {
			_, errs[i] = instances[i].SetTarget(e.ctx, acme, id, target)
		})
	}
	wg.Wait()
	var ok, inUse int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, drivesync.ErrTargetInUse):
			inUse++
		default:
			t.Errorf("SetTarget: %v", err)
		}
	}
	if ok != 1 || inUse != 1 {
		t.Errorf("%d accepted and %d refused as in use, want 1 and 1", ok, inUse)
	}
	list, err := e.svc.List(e.ctx, acme)
	if err != nil {
		t.Fatal(err)
	}
	holders := 0
	for _, c := range list {
		if c.Target.FolderID == target {
			holders++
		}
	}
	if holders != 1 {
		t.Errorf("%d connections have the folder as target, want 1", holders)
	}
}

// TestUpdateReorganisesActiveConnection checks that a new layout or locale of an active
// connection starts a run (the copy engine's reconcile moves the files), and that nothing else
// does.
func TestUpdateReorganisesActiveConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	ctx := e.ctx
	conn := e.connect(t, acme, "Compta", alice)
	layout, locale, onDelete := drivesync.LayoutYearKind, drivesync.LocaleNL, drivesync.OnDeleteTrash
	// Not active yet: the settings change, no run starts (the first copy will use them).
	got, err := e.svc.Update(ctx, acme, conn.ID, connection.UpdateInput{FolderLayout: &layout})
	if err != nil || got.FolderLayout != layout || got.InitialCopy.State != drivesync.CopyNone {
		t.Fatalf("Update of a connection awaiting its folder = %+v, %v; want the layout, no run", got, err)
	}
	active, err := e.svc.SetTarget(ctx, acme, conn.ID, e.mkdir(t, e.rootID(t), "Cible"))
	if err != nil {
		t.Fatal(err)
	}
	runs := func() []string {
		var ids []string
		for _, c := range e.copies.calls() {
			ids = append(ids, c.InitialCopy.RunID)
		}
		return ids
	}
	wantRuns := []string{active.InitialCopy.RunID}

	name := "Boekhouding"
	for _, tc := range []struct {
		name  string
		in    connection.UpdateInput
		reorg bool
	}{
		{"same layout", connection.UpdateInput{FolderLayout: &layout}, false},
		{"name and onDelete", connection.UpdateInput{Name: &name, OnDelete: &onDelete}, false},
		{"locale", connection.UpdateInput{Locale: &locale}, true},
		{"same locale", connection.UpdateInput{Locale: &locale}, false},
		{"layout", connection.UpdateInput{FolderLayout: ptr(drivesync.LayoutYearMonth)}, true},
		{"layout and locale back", connection.UpdateInput{FolderLayout: ptr(drivesync.LayoutYear), Locale: ptr(drivesync.LocaleFR)}, true},
	} {
		before, err := e.svc.Get(ctx, acme, conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.Update(ctx, acme, conn.ID, tc.in)
		if err != nil {
			t.Fatalf("%s: Update: %v", tc.name, err)
		}
		if !tc.reorg {
			if got.InitialCopy.RunID != before.InitialCopy.RunID {
				t.Errorf("%s: run %s became %s, want no new run", tc.name, before.InitialCopy.RunID, got.InitialCopy.RunID)
			}
		} else {
			if got.InitialCopy.State != drivesync.CopyPending || got.InitialCopy.RunID == before.InitialCopy.RunID {
				t.Errorf("%s: initial copy = %+v, want pending with a new run", tc.name, got.InitialCopy)
			}
			wantRuns = append(wantRuns, got.InitialCopy.RunID)
			stored, err := e.svc.Get(ctx, acme, conn.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.InitialCopy.RunID != got.InitialCopy.RunID {
				t.Errorf("%s: stored run %s, answered %s", tc.name, stored.InitialCopy.RunID, got.InitialCopy.RunID)
			}
		}
		if diff := cmp.Diff(wantRuns, runs()); diff != "" {
			t.Errorf("%s: copies started for runs (-want +got):\n%s", tc.name, diff)
		}
	}
	last := e.copies.calls()[len(e.copies.calls())-1]
	if last.FolderLayout != drivesync.LayoutYear || last.Locale != drivesync.LocaleFR {
		t.Errorf("the last run was requested with %s/%s, want the new settings", last.FolderLayout, last.Locale)
	}

	// A connection that is not active changes its settings without a run.
	if _, err := e.store.UpdateConnection(ctx, acme, conn.ID, func(r *store.ConnectionRecord) error {
		r.Status = drivesync.StatusNeedsReauthorization
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Update(ctx, acme, conn.ID, connection.UpdateInput{FolderLayout: ptr(drivesync.LayoutYearKind)}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantRuns, runs()); diff != "" {
		t.Errorf("not active: copies started for runs (-want +got):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }

// TestConnectionLimit checks that a company cannot have more than MaxConnections connections,
// even when many are created at once on several instances, that the cap is per company, and
// that removing a connection makes room.
func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	const limit = 2
	opts := e.opts
	opts.MaxConnections = limit
	instances := make([]*connection.Service, 3)
	for i := range instances {
		svc, err := connection.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		instances[i] = svc
	}
	const burst = 6
	errs := make([]error, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			_, _, errs[i] = instances[i%len(instances)].Create(e.ctx, acme, acmeName,
				connection.CreateInput{Name: fmt.Sprintf("Drive %d", i), FolderLayout: drivesync.LayoutYear})
		})
	}
	wg.Wait()
	created := 0
	for i, err := range errs {
		var limitErr *drivesync.ConnectionLimitError
		switch {
		case err == nil:
			created++
		case errors.As(err, &limitErr) && limitErr.Limit == limit && errors.Is(err, drivesync.ErrConflict):
		default:
			t.Errorf("create %d: err = %v, want nil or a ConnectionLimitError of %d", i, err, limit)
		}
	}
	if created != limit {
		t.Errorf("%d of %d concurrent creations succeeded, want %d", created, burst, limit)
	}
	conns, err := e.svc.List(e.ctx, acme)
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != limit {
		t.Fatalf("%d connections listed, want %d", len(conns), limit)
	}
	if _, _, err := instances[0].Create(e.ctx, globex, "Globex", connection.CreateInput{Name: "Drive 0", FolderLayout: drivesync.LayoutYear}); err != nil {
		t.Errorf("another company's first connection: %v", err)
	}
	if err := e.svc.Delete(e.ctx, acme, conns[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := instances[1].Create(e.ctx, acme, acmeName, connection.CreateInput{Name: "Replacement", FolderLayout: drivesync.LayoutYear}); err != nil {
		t.Errorf("create after a removal: %v", err)
	}
	if _, _, err := instances[2].Create(e.ctx, acme, acmeName, connection.CreateInput{Name: "One more", FolderLayout: drivesync.LayoutYear}); !errors.Is(err, drivesync.ErrConnectionLimit) {
		t.Errorf("create past the cap: err = %v, want ErrConnectionLimit", err)
	}
}

func TestNewRejectsNegativeMaxConnections(t *testing.T) {
	t.Parallel()
	if _, err := connection.New(connection.Options{MaxConnections: -1}); err == nil || !strings.Contains(err.Error(), "max connections") {
		t.Errorf("New with MaxConnections -1: err = %v", err)
	}
}

// TestConsentInAnotherBrowser checks that a consent is finished only in the browser that opened
// its authorization link (RFC 6749 §10.12): a callback without that browser's secret, or with
// another one, changes nothing and leaves the state to the right browser; the link opens once;
// and a state whose link was never opened cannot be completed.
func TestConsentInAnotherBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	conn, link, err := e.svc.Create(e.ctx, acme, acmeName, connection.CreateInput{Name: "Compta", FolderLayout: drivesync.LayoutYear})
	if err != nil {
		t.Fatal(err)
	}
	state, code, _ := e.consent(t, link, alice, true) // the browser that opened the link consents

	// The callback URL played in other browsers: no cookie, another browser's secret.
	other, err := e.svc.StartConsent(e.ctx, linkState(t, link))
	if !errors.Is(err, drivesync.ErrInvalidState) {
		t.Errorf("the link opened a second time: %+v, %v; want ErrInvalidState", other, err)
	}
	for _, browser := range []string{"", "another-browser-secret"} {
		if res, err := e.svc.Callback(e.ctx, state, browser, code, ""); !errors.Is(err, drivesync.ErrWrongBrowser) {
			t.Errorf("callback in a browser with secret %q = %+v, %v; want ErrWrongBrowser", browser, res, err)
		}
	}
	got, err := e.svc.Get(e.ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(conn, got); diff != "" {
		t.Errorf("a callback in another browser changed the connection (-want +got):\n%s", diff)
	}
	// The browser that started it can still finish.
	if res, err := e.callback(state, code, ""); err != nil || res.Result != connection.ResultOK {
		t.Fatalf("callback in the browser that opened the link = %+v, %v", res, err)
	}

	// A state whose link no browser opened: Google's URL cannot have come from drivesync.
	link2, err := e.svc.Authorize(e.ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Callback(e.ctx, linkState(t, link2), "", "some-code", ""); !errors.Is(err, drivesync.ErrWrongBrowser) {
		t.Errorf("callback of a state never started: err = %v, want ErrWrongBrowser", err)
	}
}

// TestStartConsentExpired has an environment of its own because it moves the clock.
func TestStartConsentExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	_, link, err := e.svc.Create(e.ctx, acme, acmeName, connection.CreateInput{Name: "Compta", FolderLayout: drivesync.LayoutYear})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	st, err := e.svc.StartConsent(e.ctx, linkState(t, link))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Lifetime, store.OAuthStateTTL-time.Minute; got != want {
		t.Errorf("Lifetime = %v, want %v (what is left of the state's)", got, want)
	}
	_, link, err = e.svc.Create(e.ctx, acme, acmeName, connection.CreateInput{Name: "Late", FolderLayout: drivesync.LayoutYear})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(store.OAuthStartWindow + time.Second)
	if _, err := e.svc.StartConsent(e.ctx, linkState(t, link)); !errors.Is(err, drivesync.ErrInvalidState) {
		t.Errorf("StartConsent after the link's start window: err = %v, want ErrInvalidState", err)
	}
}
