package driveemu

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
)

func TestInjectedErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind       FaultKind
		wantCode   int
		wantReason string
	}{
		{FaultBackendError500, 500, "backendError"},
		{FaultBackendError503, 503, "backendError"},
		{FaultInternalError, 500, "internalError"},
		{FaultRateLimit429, 429, "rateLimitExceeded"},
		{FaultRateLimit403, 403, "rateLimitExceeded"},
		{FaultUserRateLimit, 403, "userRateLimitExceeded"},
		{FaultStorageQuotaExceeded, 403, "storageQuotaExceeded"},
		{FaultDailyLimit, 403, "dailyLimitExceeded"},
		{FaultDomainPolicy, 403, "domainPolicy"},
		{FaultFolderChildLimit, 403, "numChildrenInNonRootLimitExceeded"},
		{FaultSharedDriveFileLimit, 403, "teamDriveFileLimitExceeded"},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind), func(t *testing.T) {
			t.Parallel()
			v := newEnv(t)
			svc := v.service(t, tokAliceDrive)
			if err := v.emu.FailNext("files.create", 2, Fault{Kind: tc.kind}); err != nil {
				t.Fatal(err)
			}
			// Other methods are unaffected.
			if _, err := svc.Files.List().Do(); err != nil {
				t.Fatalf("list: %v", err)
			}
			for i := range 2 {
				_, err := svc.Files.Create(&drive.File{Name: "x"}).Media(strings.NewReader("x")).Do()
				if code, reason := apiReason(t, err); code != tc.wantCode || reason != tc.wantReason {
					t.Errorf("call %d = %d %s, want %d %s", i, code, reason, tc.wantCode, tc.wantReason)
				}
			}
			if _, err := svc.Files.Create(&drive.File{Name: "x"}).Do(); err != nil {
				t.Errorf("third create: %v, want success", err)
			}
			if got, want := v.emu.Counters(alice)["files.create"], int64(3); got != want {
				t.Errorf("files.create counter = %d, want %d", got, want)
			}
		})
	}
}

func TestConnectionResetAndSlowFaults(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	if err := v.emu.FailNext("files.create", 1, Fault{Kind: FaultConnectionReset}); err != nil {
		t.Fatal(err)
	}
	_, err := svc.Files.Create(&drive.File{Name: "x"}).Do()
	if err == nil {
		t.Fatal("create over a reset connection succeeded")
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		t.Errorf("reset connection gave an HTTP error %v, want a transport error", ge)
	}
	tree, err := v.emu.Tree(alice)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Root.Children) != 0 {
		t.Errorf("a reset create left a file:\n%s", tree)
	}

	const delay = 150 * time.Millisecond
	if err := v.emu.FailNext("files.list", 1, Fault{Kind: FaultSlow, Delay: delay}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := svc.Files.List().Do(); err != nil {
		t.Fatalf("slow list: %v", err)
	}
	if got := time.Since(start); got < delay {
		t.Errorf("slow list took %v, want at least %v", got, delay)
	}
	if err := v.emu.FailNext("files.list", 1, Fault{Kind: "bogus"}); err == nil {
		t.Error("unknown fault kind accepted")
	}
}

func TestRandomFaultsAreReproducible(t *testing.T) {
	t.Parallel()
	run := func() []int {
		v := newEnv(t)
		if err := v.emu.SetRandomFaults(RandomFaults{Seed: 7, Probability: 0.5, Methods: []string{"files.list"},
			Faults: []Fault{{Kind: FaultBackendError500}, {Kind: FaultRateLimit429}}}); err != nil {
			t.Fatal(err)
		}
		svc := v.service(t, tokAliceDrive)
		var codes []int
		for range 30 {
			_, err := svc.Files.List().Do()
			code := 200
			if err != nil {
				code, _ = apiReason(t, err)
			}
			codes = append(codes, code)
		}
		// Methods outside the set never fail.
		if _, err := svc.Files.Create(&drive.File{Name: "x"}).Do(); err != nil {
			t.Errorf("create: %v", err)
		}
		return codes
	}
	first, second := run(), run()
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("same seed, different faults (-first +second):\n%s", diff)
	}
	seen := map[int]bool{}
	for _, c := range first {
		seen[c] = true
	}
	if !seen[200] || !seen[500] || !seen[429] {
		t.Errorf("codes %v: want a mix of 200, 500 and 429", first)
	}
}

func TestWriteRateLimit(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	if err := v.emu.SetWriteRate(alice, 2, 3); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := svc.Files.Create(&drive.File{Name: "x"}).Do(); err != nil {
			t.Fatalf("create %d within burst: %v", i, err)
		}
	}
	_, err := svc.Files.Create(&drive.File{Name: "x"}).Do()
	if code, reason := apiReason(t, err); code != 403 || reason != "userRateLimitExceeded" {
		t.Errorf("create over the rate = %d %s, want 403 userRateLimitExceeded", code, reason)
	}
	// Reads are not limited, and other accounts have their own bucket.
	if _, err := svc.Files.List().Do(); err != nil {
		t.Errorf("list while limited: %v", err)
	}
	if _, err := v.service(t, tokBobDrive).Files.Create(&drive.File{Name: "x"}).Do(); err != nil {
		t.Errorf("bob's create: %v", err)
	}
	v.clock.Advance(500 * time.Millisecond) // one token at 2/s
	if _, err := svc.Files.Create(&drive.File{Name: "x"}).Do(); err != nil {
		t.Errorf("create after refill: %v", err)
	}
	_, err = svc.Files.Create(&drive.File{Name: "x"}).Do()
	if code, reason := apiReason(t, err); code != 403 || reason != "userRateLimitExceeded" {
		t.Errorf("second create after refill = %d %s, want 403 userRateLimitExceeded", code, reason)
	}
	if got, want := v.emu.RefusedWrites(alice), int64(2); got != want {
		t.Errorf("RefusedWrites(alice) = %d, want %d", got, want)
	}
	if got := v.emu.RefusedWrites(bob); got != 0 {
		t.Errorf("RefusedWrites(bob) = %d, want 0", got)
	}
}

func TestStorageQuota(t *testing.T) {
	t.Parallel()
	v := newEnvWith(t, Options{Accounts: []Account{{Email: alice, DisplayName: "Alice", QuotaBytes: 1000}}})
	svc := v.service(t, tokAliceDrive)
	f := v.upload(t, svc, &drive.File{Name: "a"}, pattern(600, 1))
	_, err := svc.Files.Create(&drive.File{Name: "b"}).Media(bytes.NewReader(pattern(600, 2))).Do()
	if code, reason := apiReason(t, err); code != 403 || reason != "storageQuotaExceeded" {
		t.Errorf("create over quota = %d %s, want 403 storageQuotaExceeded", code, reason)
	}
	_, err = svc.Files.Update(f.Id, &drive.File{}).Media(bytes.NewReader(pattern(1001, 3))).Do()
	if code, reason := apiReason(t, err); code != 403 || reason != "storageQuotaExceeded" {
		t.Errorf("update over quota = %d %s, want 403 storageQuotaExceeded", code, reason)
	}
	// A resumable upload declaring its size is refused at once.
	res, body := v.raw(t, "POST", "/upload/drive/v3/files?uploadType=resumable", tokAliceDrive, strings.NewReader(`{"name":"r"}`),
		map[string]string{"Content-Type": "application/json", "X-Upload-Content-Length": "500"})
	if got, want := res.StatusCode, 403; got != want {
		t.Errorf("resumable over quota = %d %s, want %d", got, body, want)
	}
	if _, err := svc.Files.Update(f.Id, &drive.File{}).Media(bytes.NewReader(pattern(1000, 4))).Do(); err != nil {
		t.Errorf("update up to the quota: %v", err)
	}
	about, err := svc.About.Get().Fields("storageQuota(limit,usage,usageInDrive)").Do()
	if err != nil {
		t.Fatal(err)
	}
	want := &drive.AboutStorageQuota{Limit: 1000, Usage: 1000, UsageInDrive: 1000}
	if diff := cmp.Diff(want, about.StorageQuota, cmpFile); diff != "" {
		t.Errorf("storageQuota (-want +got):\n%s", diff)
	}
	if err := v.emu.SetQuota(alice, 0); err != nil {
		t.Fatal(err)
	}
	v.upload(t, svc, &drive.File{Name: "c"}, pattern(5000, 5))
}

func TestUserActionsAndTree(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	dir := v.mkdir(t, svc, "2026", "root")
	f := v.upload(t, svc, &drive.File{Name: "inv.pdf", Parents: []string{dir.Id}}, []byte("abc"))
	if err := v.emu.TrashAsUser(alice, dir.Id); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Files.Get(f.Id).Fields("trashed").Do()
	if err != nil {
		t.Fatal(err)
	}
	if !got.Trashed {
		t.Error("file in a trashed folder is not trashed")
	}
	if err := v.emu.UntrashAsUser(alice, dir.Id); err != nil {
		t.Fatal(err)
	}
	tree, err := v.emu.Tree(alice)
	if err != nil {
		t.Fatal(err)
	}
	want := []Node{{ID: dir.Id, Name: "2026", MimeType: FolderMimeType, Folder: true, Version: 3,
		Modified: v.clock.Now(), Children: []Node{{ID: f.Id, Name: "inv.pdf", MimeType: "text/plain",
			Size: 3, MD5: md5hex([]byte("abc")), Version: 3, Modified: v.clock.Now()}}}}
	if diff := cmp.Diff(want, tree.Root.Children); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
	if s := tree.String(); !strings.Contains(s, "  2026/ [") || !strings.Contains(s, "    inv.pdf [") {
		t.Errorf("printed tree lacks the items:\n%s", s)
	}
	if err := v.emu.DeleteAsUser(alice, dir.Id); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Files.Get(f.Id).Do()
	if code, _ := apiReason(t, err); code != 404 {
		t.Errorf("get after user delete = %d, want 404", code)
	}
	if err := v.emu.DeleteAsUser(alice, "root"); err == nil {
		t.Error("deleting the root succeeded")
	}
}

func TestAdminHTTP(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	post := func(path, body string) map[string]any {
		t.Helper()
		res, b := v.raw(t, "POST", "/emulator/drive/"+path, "", strings.NewReader(body), nil)
		if res.StatusCode != 200 {
			t.Fatalf("POST %s = %d %s", path, res.StatusCode, b)
		}
		return decodeJSON(t, b)
	}
	id := post("shared-drives", `{"account":"`+alice+`","name":"Team"}`)["id"].(string)
	dl, err := svc.Drives.List().Do()
	if err != nil || len(dl.Drives) != 1 || dl.Drives[0].Id != id {
		t.Errorf("drives after admin add = %+v, %v; want one with id %s", dl, err, id)
	}
	post("faults", `{"method":"files.get","count":1,"kind":"backendError503"}`)
	_, err = svc.Files.Get("root").Do()
	if code, reason := apiReason(t, err); code != 503 || reason != "backendError" {
		t.Errorf("get after admin fault = %d %s, want 503 backendError", code, reason)
	}
	if _, err := svc.Files.Get("root").Do(); err != nil {
		t.Errorf("second get: %v", err)
	}
	res, b := v.raw(t, "GET", "/emulator/drive/counters?account="+alice, "", nil, nil)
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	if diff := cmp.Diff(map[string]any{"drives.list": 1.0, "files.get": 2.0}, decodeJSON(t, b)); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
	post("counters/reset", `{"account":"`+alice+`"}`)
	if got := v.emu.Counters(alice); len(got) != 0 {
		t.Errorf("counters after reset = %v, want none", got)
	}
	v.mkdir(t, svc, "Docs", "root")
	res, b = v.raw(t, "GET", "/emulator/drive/tree?format=text&account="+alice, "", nil, nil)
	if res.StatusCode != 200 || !strings.Contains(string(b), "Docs/") {
		t.Errorf("text tree = %d %s, want Docs in it", res.StatusCode, b)
	}
	res, b = v.raw(t, "POST", "/emulator/drive/quota", "", strings.NewReader(`{"account":"nobody","bytes":1}`), nil)
	if res.StatusCode != 400 {
		t.Errorf("quota for unknown account = %d %s, want 400", res.StatusCode, b)
	}
	post("write-rate", `{"account":"`+alice+`","perSecond":1,"burst":1}`)
	v.mkdir(t, svc, "one", "root")
	_, err = svc.Files.Create(&drive.File{Name: "two"}).Do()
	if code, reason := apiReason(t, err); code != 403 || reason != "userRateLimitExceeded" {
		t.Errorf("create after admin rate = %d %s, want 403 userRateLimitExceeded", code, reason)
	}
}

func TestPersistence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	v := newEnvWith(t, Options{DataDir: dir})
	svc := v.service(t, tokAliceDrive)
	folder := v.mkdir(t, svc, "kept", "root")
	content := pattern(3<<20, 8)
	f, err := svc.Files.Create(&drive.File{Name: "big.bin", Parents: []string{folder.Id}, AppProperties: map[string]string{"k": "v"}}).
		Media(bytes.NewReader(content), googleapi.ChunkSize(1<<20)).Fields("id").Do()
	if err != nil {
		t.Fatal(err)
	}
	gen, err := svc.Files.GenerateIds().Count(1).Do()
	if err != nil {
		t.Fatal(err)
	}
	before, err := v.emu.Tree(alice)
	if err != nil {
		t.Fatal(err)
	}

	w := newEnvWith(t, Options{DataDir: dir})
	after, err := w.emu.Tree(alice)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("tree after reload (-before +after):\n%s", diff)
	}
	got, err := w.emu.Content(alice, f.Id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Error("content after reload differs")
	}
	if _, err := w.service(t, tokAliceDrive).Files.Create(&drive.File{Id: gen.Ids[0], Name: "x"}).Do(); err != nil {
		t.Errorf("create with an id generated before the reload: %v", err)
	}
}

// The reasons a customer or the project's quota causes answer in Drive's JSON error shape, with
// the messages of Drive's "Resolve errors" guide.
func TestCustomerAndQuotaFaultsHaveDrivesShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind            FaultKind
		domain, message string
	}{
		{FaultDailyLimit, "usageLimits", "Daily Limit Exceeded"},
		{FaultDomainPolicy, "global", "The domain administrators have disabled Drive apps."},
		{FaultFolderChildLimit, "global", "The limit for this folder's number of children (files and folders) has been exceeded."},
		{FaultSharedDriveFileLimit, "global", "The file limit for this shared drive has been exceeded."},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind), func(t *testing.T) {
			t.Parallel()
			v := newEnv(t)
			if err := v.emu.FailNext("files.list", 1, Fault{Kind: tc.kind}); err != nil {
				t.Fatal(err)
			}
			res, body := v.raw(t, "GET", "/drive/v3/files", tokAliceDrive, nil, nil)
			want := map[string]any{"error": map[string]any{
				"code": 403.0, "message": tc.message,
				"errors": []any{map[string]any{"domain": tc.domain, "reason": string(tc.kind), "message": tc.message}}}}
			if res.StatusCode != 403 {
				t.Errorf("status %d, want 403", res.StatusCode)
			}
			if diff := cmp.Diff(want, decodeJSON(t, body)); diff != "" {
				t.Errorf("error body (-want +got):\n%s", diff)
			}
		})
	}
}
