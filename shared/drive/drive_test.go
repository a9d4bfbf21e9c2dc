package drive

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	drivev3 "google.golang.org/api/drive/v3"

	"github.com/efactori/drivesync/shared/drivesync"
)

func TestNewRejectsNilHTTPClient(t *testing.T) {
	t.Parallel()
	if _, err := New(t.Context(), nil, Options{}); err == nil {
		t.Fatal("New(nil http client) succeeded, want an error")
	}
}

func TestAbout(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)
	got, err := c.About(t.Context())
	if err != nil {
		t.Fatalf("About: %v", err)
	}
	want := Account{Email: alice, DisplayName: aliceName, QuotaLimit: aliceQuota, QuotaUsage: 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("About (-want +got):\n%s", diff)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.userAgents); n == 0 || !strings.HasSuffix(s.userAgents[n-1], " "+userAgent) {
		t.Errorf("User-Agent of the last request = %q, want it to end in %q", s.userAgents, userAgent)
	}
}

func TestSharedDrives(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)

	empty, err := c.SharedDrives(t.Context(), "")
	if err != nil {
		t.Fatalf("SharedDrives with none: %v", err)
	}
	if diff := cmp.Diff(DrivesPage{Drives: []SharedDrive{}}, empty); diff != "" {
		t.Errorf("SharedDrives with none (-want +got):\n%s", diff)
	}

	var want []SharedDrive
	for _, name := range []string{"Finance", "Legal"} {
		id, err := s.emu.Drive.AddSharedDrive(alice, name)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, SharedDrive{ID: id, Name: name})
	}
	got, err := c.SharedDrives(t.Context(), "")
	if err != nil {
		t.Fatalf("SharedDrives: %v", err)
	}
	if diff := cmp.Diff(DrivesPage{Drives: want}, got); diff != "" {
		t.Errorf("SharedDrives (-want +got):\n%s", diff)
	}
}

func TestGenerateIDs(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)

	ids, err := c.GenerateIDs(t.Context(), 5)
	if err != nil {
		t.Fatalf("GenerateIDs: %v", err)
	}
	if got, want := len(slices.Compact(slices.Sorted(slices.Values(ids)))), 5; got != want {
		t.Errorf("GenerateIDs(5) gave %d distinct ids %v, want %d", got, ids, want)
	}
	// A reserved ID must be usable for a create: that is what it is for.
	f, err := c.svc.Files.Create(&drivev3.File{Id: ids[0], Name: "reserved.pdf"}).Fields("id").Context(t.Context()).Do()
	if err != nil {
		t.Fatalf("create with a generated id: %v", err)
	}
	if got, want := f.Id, ids[0]; got != want {
		t.Errorf("created id = %q, want %q", got, want)
	}

	for _, n := range []int{0, -1, 1001} {
		_, err := c.GenerateIDs(t.Context(), n)
		if got, want := classOf(err), (class{drivesync.Permanent, CodeInvalidArgument}); got != want {
			t.Errorf("GenerateIDs(%d) error %v is %+v, want %+v", n, err, got, want)
		}
	}
	if got, want := s.emu.Drive.Counters(alice)["files.generateIds"], int64(1); got != want {
		t.Errorf("files.generateIds calls = %d, want %d (invalid counts must not reach Drive)", got, want)
	}
}
