package synctest

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/local/googleemu/pickeremu"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
)

// pick plays the Google Picker as the settings page opens it for conn (picker.js): the API's
// token for the connection, the project number as app ID and the developer key; the customer
// selects folderID and presses Select, which grants it to drivesync's OAuth client.
func (s *stack) pick(conn drivesync.Connection, folderID string) pickeremu.Doc {
	s.t.Helper()
	tok, err := s.svc.PickerToken(context.Background(), conn.CompanyID, conn.ID)
	if err != nil {
		s.t.Fatalf("PickerToken: %v", err)
	}
	d := pickeremu.Dialog{BaseURL: s.google.OAuth.Issuer(), Token: tok.AccessToken, APIKey: pickerKey, AppID: projectNumber}
	docs, err := d.Pick(context.Background(), []string{driveemu.FolderMimeType}, folderID)
	if err != nil {
		s.t.Fatalf("Picker: %v", err)
	}
	if len(docs) != 1 || docs[0].ID != folderID {
		s.t.Fatalf("Picker answered %+v, want folder %s", docs, folderID)
	}
	return docs[0]
}

// outside returns every item of account's Drive that is not below folderID (nor folderID
// itself), by ID, as the customer left them.
func (s *stack) outside(account, folderID string) map[string]driveemu.Node {
	s.t.Helper()
	tree, err := s.google.Drive.Tree(account)
	if err != nil {
		s.t.Fatalf("Tree: %v", err)
	}
	out := map[string]driveemu.Node{}
	var walk func(n driveemu.Node)
	walk = func(n driveemu.Node) {
		for _, c := range n.Children {
			if c.ID == folderID {
				continue
			}
			walk(c)
			c.Children = nil
			out[c.ID] = c
		}
	}
	walk(tree.Root)
	return out
}

// TestDriveFileEndToEnd runs drivesync with the drive.file scope, in which it sees only what it
// creates and what the customer picks: consent, the Google Picker (the emulator's, which grants
// the picked folder as Drive does), the target, the initial copy, a live event, the daily
// scheduled reconcile repairing a file the customer trashed, then a reconnection onto the same
// folder. Every document is in Drive exactly once throughout, and nothing of the customer's
// Drive outside the picked folder is touched.
func TestDriveFileEndToEnd(t *testing.T) {
	t.Parallel()
	const n = 30
	company := efactori.CompanySpec{ID: "picked", Name: "Picked SPRL", Documents: n}
	s := newStack(t, options{companies: []efactori.CompanySpec{company}, driveScope: "drive.file", logLevel: "INFO"})
	defer s.checkNoSecretsLogged()
	ctx := t.Context()
	account := accounts[0]

	// The customer's own Drive: the folder they will pick, and things drivesync must leave alone.
	target, err := s.google.Drive.CreateFolderAsUser(account, "root", "Comptabilité")
	if err != nil {
		t.Fatal(err)
	}
	private, err := s.google.Drive.CreateFolderAsUser(account, "root", "Privé")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.google.Drive.CreateFolderAsUser(account, private, "2024"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.google.Drive.CreateFolderAsUser(account, target, "Archives du comptable"); err != nil {
		t.Fatal(err)
	}
	untouched := s.outside(account, target)

	conn := s.consent(company.ID, "Compta", account, drivesync.LayoutYearKind, "")
	conn = s.get(company.ID, conn.ID)
	if conn.Status != drivesync.StatusAwaitingFolder {
		t.Fatalf("after consent: %s, want awaiting_folder", conn.Status)
	}
	// drive.file sees nothing of the customer's Drive before the pick: the folder cannot be the
	// target yet, and browsing is refused.
	if _, err := s.svc.SetTarget(ctx, company.ID, conn.ID, target); drivesync.FieldErrors(err) == nil {
		t.Fatalf("SetTarget before the pick = %v, want a folderId field error", err)
	}
	if _, err := s.svc.Folders(ctx, company.ID, conn.ID, "root", ""); err == nil {
		t.Fatal("Folders succeeded in drive.file mode")
	}

	picked := s.pick(conn, target)
	if picked.Name != "Comptabilité" {
		t.Errorf("picked %q, want Comptabilité", picked.Name)
	}
	conn = s.target(conn, picked.ID)
	done := s.waitDone(company.ID, conn.ID, 5*time.Minute)
	checkDone(t, done, n)
	if p := s.checkCopy(done, account); len(p) > 0 {
		t.Fatalf("initial copy:\n%s", joinProblems(p))
	}
	ids := s.fileIDs(done, account)

	// A live event: a new revision replaces the content of the same file.
	docs, err := s.ef.Documents(company.ID)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s.ef.Upsert(company.ID, docs[0].ID, efactori.Upsert{Title: "Révisée", Size: 12 << 10})
	if err != nil {
		t.Fatal(err)
	}
	s.publish(ev, 2)
	s.eventually("the new revision in Drive", time.Minute, func() string {
		if p := s.checkCopy(done, account); len(p) > 0 {
			return p[0]
		}
		return ""
	})
	if got := s.fileIDs(done, account); !maps.Equal(got, ids) {
		t.Error("the live event made a new file")
	}

	// The customer trashes a file; the daily scheduled reconcile puts the document back once.
	if err := s.google.Drive.TrashAsUser(account, ids[docs[1].ID]); err != nil {
		t.Fatal(err)
	}
	pub := s.ps.Publisher(config.TopicCopyRequests)
	defer pub.Stop()
	if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte(`{"schemaVersion":1,"scheduled":true}`)}).Get(ctx); err != nil {
		t.Fatalf("publish the scheduled request: %v", err)
	}
	done = s.waitNewRun(company.ID, conn.ID, done.InitialCopy.RunID, 5*time.Minute)
	checkDone(t, done, n)
	if p := s.checkCopy(done, account); len(p) > 0 {
		t.Fatalf("after the scheduled reconcile:\n%s", joinProblems(p))
	}
	ids = s.fileIDs(done, account)

	// Reconnect: the customer removes the connection (the files stay), connects again and picks
	// the same folder in the Picker; the new connection adopts every file without a Drive write.
	if err := s.svc.Delete(ctx, company.ID, conn.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	again := s.consent(company.ID, "Compta", account, drivesync.LayoutYearKind, "")
	s.pick(again, target)
	before := s.google.Drive.Counters(account)
	again = s.target(again, target)
	if again.Target.CompanyFolderID != done.Target.CompanyFolderID {
		t.Errorf("reconnection made company folder %s, want the existing %s", again.Target.CompanyFolderID, done.Target.CompanyFolderID)
	}
	final := s.waitDone(company.ID, again.ID, 5*time.Minute)
	checkDone(t, final, n)
	checkReads(t, s.countersSince(account, before), n)
	if p := s.checkCopy(final, account); len(p) > 0 {
		t.Errorf("after reconnecting:\n%s", joinProblems(p))
	}
	if got := s.fileIDs(final, account); !maps.Equal(got, ids) {
		t.Error("reconnecting changed the files")
	}

	// Nothing outside the picked folder changed, and drivesync still sees none of it.
	if got := s.outside(account, target); !maps.EqualFunc(got, untouched, func(a, b driveemu.Node) bool {
		return a.Name == b.Name && a.Version == b.Version && a.Trashed == b.Trashed && len(a.AppProperties) == 0
	}) {
		t.Errorf("the Drive outside the picked folder changed:\n got %v\nwant %v", got, untouched)
	}
	if _, err := s.svc.SetTarget(ctx, company.ID, again.ID, private); drivesync.FieldErrors(err) == nil && !errors.Is(err, drivesync.ErrNotFound) {
		t.Errorf("SetTarget onto a folder never picked = %v, want a folderId field error", err)
	}
}
