package driveemu

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/drive/v3"
)

// corpora=user is My Drive, corpora=drive one shared drive, corpora=allDrives both; with
// SetIncompleteSearch an allDrives search answers incompleteSearch and misses the shared drives,
// while one-drive searches stay complete.
func TestCorporaAndIncompleteSearch(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	driveID, err := v.emu.AddSharedDrive(alice, "Accounting")
	if err != nil {
		t.Fatal(err)
	}
	v.upload(t, svc, &drive.File{Name: "mine.pdf"}, []byte("m"))
	if _, err := svc.Files.Create(&drive.File{Name: "shared.pdf", Parents: []string{driveID}}).
		Media(strings.NewReader("s")).SupportsAllDrives(true).Do(); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		Names      []string
		Incomplete bool
	}
	list := func(corpora string) answer {
		t.Helper()
		call := svc.Files.List().Q("trashed = false").OrderBy("name").IncludeItemsFromAllDrives(true).SupportsAllDrives(true).
			Fields("incompleteSearch", "files(name)")
		if corpora != "" {
			call = call.Corpora(corpora)
		}
		if corpora == "drive" {
			call = call.DriveId(driveID)
		}
		l, err := call.Do()
		if err != nil {
			t.Fatalf("list %s: %v", corpora, err)
		}
		return answer{names(l.Files), l.IncompleteSearch}
	}
	complete := map[string]answer{
		"user":      {[]string{"mine.pdf"}, false},
		"drive":     {[]string{"shared.pdf"}, false},
		"allDrives": {[]string{"mine.pdf", "shared.pdf"}, false},
	}
	for corpora, want := range complete {
		if diff := cmp.Diff(want, list(corpora)); diff != "" {
			t.Errorf("corpora=%s (-want +got):\n%s", corpora, diff)
		}
	}

	if err := v.emu.SetIncompleteSearch(alice, true); err != nil {
		t.Fatal(err)
	}
	incomplete := map[string]answer{
		"user":      {[]string{"mine.pdf"}, false},
		"drive":     {[]string{"shared.pdf"}, false},
		"allDrives": {[]string{"mine.pdf"}, true},
	}
	for corpora, want := range incomplete {
		if diff := cmp.Diff(want, list(corpora)); diff != "" {
			t.Errorf("incomplete search, corpora=%s (-want +got):\n%s", corpora, diff)
		}
	}
	// Through the admin API too.
	res, b := v.raw(t, "POST", "/emulator/drive/incomplete-search", "", strings.NewReader(`{"account":"`+alice+`","on":false}`), nil)
	if res.StatusCode != 200 {
		t.Fatalf("POST incomplete-search = %d %s", res.StatusCode, b)
	}
	if diff := cmp.Diff(complete["allDrives"], list("allDrives")); diff != "" {
		t.Errorf("after turning it off (-want +got):\n%s", diff)
	}
	if err := v.emu.SetIncompleteSearch("nobody@example.com", true); err == nil {
		t.Error("SetIncompleteSearch of an unknown account succeeded")
	}

	// The scripted fault makes any files.list incomplete, once.
	if err := v.emu.FailNext("files.list", 1, Fault{Kind: FaultIncompleteSearch}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(answer{[]string{}, true}, list("drive")); diff != "" {
		t.Errorf("incomplete fault (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(complete["drive"], list("drive")); diff != "" {
		t.Errorf("after the fault (-want +got):\n%s", diff)
	}
	if err := v.emu.FailNext("files.create", 1, Fault{Kind: FaultIncompleteSearch}); err == nil {
		t.Error("an incomplete-search fault on files.create was accepted")
	}
	if err := v.emu.SetRandomFaults(RandomFaults{Probability: 0.5, Faults: []Fault{{Kind: FaultIncompleteSearch}}}); err == nil {
		t.Error("a random incomplete-search fault on every method was accepted")
	}
}
