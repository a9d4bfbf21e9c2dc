package driveemu

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/drive/v3"
)

func TestAuthErrors(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	tests := []struct {
		name       string
		token      string
		wantCode   int
		wantReason string
	}{
		{"no token", "", 401, "authError"},
		{"unknown token", "nope", 401, "authError"},
		{"no drive scope", tokAliceNoDrive, 403, "insufficientPermissions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := v.service(t, tc.token).Files.List().Do()
			code, reason := apiReason(t, err)
			if code != tc.wantCode || reason != tc.wantReason {
				t.Errorf("files.list = %d %s, want %d %s", code, reason, tc.wantCode, tc.wantReason)
			}
		})
	}
}

func TestErrorShapeIsDrives(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	tests := []struct {
		name, path, token string
		want              map[string]any
	}{
		{"unauthenticated", "/drive/v3/files", "", map[string]any{"error": map[string]any{
			"code": 401.0, "message": "Login Required.",
			"errors": []any{map[string]any{"domain": "global", "reason": "authError", "message": "Login Required.",
				"location": "Authorization", "locationType": "header"}}}}},
		{"not found", "/drive/v3/files/nosuchid", tokAliceDrive, map[string]any{"error": map[string]any{
			"code": 404.0, "message": "File not found: nosuchid.",
			"errors": []any{map[string]any{"domain": "global", "reason": "notFound", "message": "File not found: nosuchid.",
				"location": "fileId", "locationType": "parameter"}}}}},
		{"bad query", "/drive/v3/files?q=name+%3D", tokAliceDrive, map[string]any{"error": map[string]any{
			"code": 400.0, "message": "Invalid Value",
			"errors": []any{map[string]any{"domain": "global", "reason": "invalid", "message": "Invalid Value",
				"location": "q", "locationType": "parameter"}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, body := v.raw(t, "GET", tc.path, tc.token, nil, nil)
			if got, want := res.Header.Get("Content-Type"), "application/json; charset=UTF-8"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			if diff := cmp.Diff(tc.want, decodeJSON(t, body)); diff != "" {
				t.Errorf("error body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFolderAndMultipartUpload(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	root, err := v.emu.RootID(alice)
	if err != nil {
		t.Fatal(err)
	}
	folder := v.mkdir(t, svc, "Invoices", "root")
	if diff := cmp.Diff([]string{root}, folder.Parents); diff != "" {
		t.Errorf("folder parents (-want +got):\n%s", diff)
	}
	content := []byte("%PDF-1.7 invoice 42")
	f := v.upload(t, svc, &drive.File{Name: "42.pdf", MimeType: "application/pdf", Parents: []string{folder.Id},
		AppProperties: map[string]string{"docId": "42"}}, content)
	want := &drive.File{Id: f.Id, Name: "42.pdf", MimeType: "application/pdf", Parents: []string{folder.Id},
		Size: int64(len(content)), Md5Checksum: md5hex(content), Version: 1}
	if diff := cmp.Diff(want, f, cmpFile); diff != "" {
		t.Errorf("created file (-want +got):\n%s", diff)
	}
	if got, want := v.emu.Counters(alice)["upload:multipart"], int64(1); got != want {
		t.Errorf("upload:multipart counter = %d, want %d", got, want)
	}

	res, err := svc.Files.Get(f.Id).Download()
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	defer res.Body.Close()
	var got bytes.Buffer
	if _, err := got.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), content) {
		t.Errorf("downloaded %q, want %q", got.Bytes(), content)
	}
	if got, want := res.ContentLength, int64(len(content)); got != want {
		t.Errorf("Content-Length = %d, want %d", got, want)
	}
	if _, err := svc.Files.Get(folder.Id).Download(); err == nil {
		t.Error("downloading a folder succeeded, want fileNotDownloadable")
	} else if code, reason := apiReason(t, err); code != 403 || reason != "fileNotDownloadable" {
		t.Errorf("download folder = %d %s, want 403 fileNotDownloadable", code, reason)
	}

	full, err := svc.Files.Get(f.Id).Fields("*").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := full.WebViewLink, v.srv.URL+"/file/d/"+f.Id+"/view?usp=drivesdk"; got != want {
		t.Errorf("webViewLink = %q, want %q", got, want)
	}
	if diff := cmp.Diff(map[string]string{"docId": "42"}, full.AppProperties); diff != "" {
		t.Errorf("appProperties (-want +got):\n%s", diff)
	}
	if full.Capabilities == nil || !full.Capabilities.CanEdit || full.Capabilities.CanAddChildren {
		t.Errorf("capabilities = %+v, want canEdit and not canAddChildren", full.Capabilities)
	}
}

// cmpFile compares only what the tests set, ignoring the client's bookkeeping fields.
var cmpFile = cmp.FilterPath(func(p cmp.Path) bool {
	switch p.Last().String() {
	case ".ServerResponse", ".ForceSendFields", ".NullFields":
		return true
	}
	return false
}, cmp.Ignore())

func TestMediaUploadRaw(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	content := pattern(3000, 7)
	res, body := v.raw(t, "POST", "/upload/drive/v3/files?uploadType=media&fields=id,name,mimeType,size,md5Checksum",
		tokAliceDrive, bytes.NewReader(content), map[string]string{"Content-Type": "image/png"})
	if res.StatusCode != 200 {
		t.Fatalf("media upload = %d %s", res.StatusCode, body)
	}
	got := decodeJSON(t, body)
	want := map[string]any{"id": got["id"], "name": "Untitled", "mimeType": "image/png", "size": "3000",
		"md5Checksum": md5hex(content)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("media upload reply (-want +got):\n%s", diff)
	}
	if got, want := v.emu.Counters(alice)["upload:media"], int64(1); got != want {
		t.Errorf("upload:media counter = %d, want %d", got, want)
	}
}

func TestUpdateContentAndMetadata(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	a := v.mkdir(t, svc, "A", "root")
	b := v.mkdir(t, svc, "B", "root")
	f := v.upload(t, svc, &drive.File{Name: "doc.pdf", Parents: []string{a.Id},
		AppProperties: map[string]string{"k1": "v1", "k2": "v2"}}, []byte("first"))
	created, err := svc.Files.Get(f.Id).Fields("modifiedTime,version").Do()
	if err != nil {
		t.Fatal(err)
	}

	v.clock.Advance(time.Minute)
	second := []byte("second, longer content")
	u, err := svc.Files.Update(f.Id, &drive.File{}).Media(bytes.NewReader(second)).
		Fields("version,md5Checksum,size,modifiedTime").Do()
	if err != nil {
		t.Fatalf("media update: %v", err)
	}
	if u.Version <= created.Version {
		t.Errorf("version after content update = %d, want > %d", u.Version, created.Version)
	}
	if got, want := u.Md5Checksum, md5hex(second); got != want {
		t.Errorf("md5 = %s, want %s", got, want)
	}
	if got, want := u.Size, int64(len(second)); got != want {
		t.Errorf("size = %d, want %d", got, want)
	}
	if got, want := u.ModifiedTime, "2026-03-01T09:01:00.000Z"; got != want {
		t.Errorf("modifiedTime = %s, want %s", got, want)
	}

	// Move from A to B and rename.
	m, err := svc.Files.Update(f.Id, &drive.File{Name: "renamed.pdf"}).AddParents(b.Id).RemoveParents(a.Id).
		Fields("name,parents,version").Do()
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	if diff := cmp.Diff(&drive.File{Name: "renamed.pdf", Parents: []string{b.Id}, Version: u.Version + 1}, m, cmpFile); diff != "" {
		t.Errorf("after move (-want +got):\n%s", diff)
	}
	// A second parent is refused.
	_, err = svc.Files.Update(f.Id, &drive.File{}).AddParents(a.Id).Do()
	if code, reason := apiReason(t, err); code != 403 || reason != "cannotAddParent" {
		t.Errorf("add second parent = %d %s, want 403 cannotAddParent", code, reason)
	}
	// parents in the body is not writable on update.
	_, err = svc.Files.Update(f.Id, &drive.File{Parents: []string{a.Id}}).Do()
	if code, reason := apiReason(t, err); code != 403 || reason != "fieldNotWritable" {
		t.Errorf("parents in update body = %d %s, want 403 fieldNotWritable", code, reason)
	}

	// appProperties merge; null deletes a key (the Go client cannot send null map values).
	res, body := v.raw(t, "PATCH", "/drive/v3/files/"+f.Id+"?fields=appProperties", tokAliceDrive,
		strings.NewReader(`{"appProperties":{"k1":null,"k3":"v3"}}`), map[string]string{"Content-Type": "application/json"})
	if res.StatusCode != 200 {
		t.Fatalf("patch appProperties = %d %s", res.StatusCode, body)
	}
	if diff := cmp.Diff(map[string]any{"appProperties": map[string]any{"k2": "v2", "k3": "v3"}}, decodeJSON(t, body)); diff != "" {
		t.Errorf("appProperties after merge (-want +got):\n%s", diff)
	}

	// Trash and untrash through update.
	tr, err := svc.Files.Update(f.Id, &drive.File{Trashed: true}).Fields("trashed").Do()
	if err != nil || !tr.Trashed {
		t.Fatalf("trash = %+v, %v; want trashed", tr, err)
	}
	un, err := svc.Files.Update(f.Id, &drive.File{Trashed: false, ForceSendFields: []string{"Trashed"}}).Fields("trashed").Do()
	if err != nil || un.Trashed {
		t.Fatalf("untrash = %+v, %v; want not trashed", un, err)
	}
}

func TestAppPropertiesLimits(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	many := map[string]string{}
	for i := range 31 {
		many[fmt.Sprintf("k%02d", i)] = "v"
	}
	tests := []struct {
		name       string
		props      map[string]string
		wantCode   int
		wantReason string
	}{
		{"124 bytes is fine", map[string]string{"key": strings.Repeat("v", 121)}, 0, ""},
		{"125 bytes", map[string]string{"key": strings.Repeat("v", 122)}, 400, "invalid"},
		{"multi-byte counts bytes", map[string]string{"k": strings.Repeat("é", 62)}, 400, "invalid"},
		{"31 properties", many, 403, "propertyLimitExceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := svc.Files.Create(&drive.File{Name: "p", AppProperties: tc.props}).Do()
			if tc.wantCode == 0 {
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				return
			}
			if code, reason := apiReason(t, err); code != tc.wantCode || reason != tc.wantReason {
				t.Errorf("create = %d %s, want %d %s", code, reason, tc.wantCode, tc.wantReason)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	dir := v.mkdir(t, svc, "dir", "root")
	child := v.upload(t, svc, &drive.File{Name: "c.txt", Parents: []string{dir.Id}}, []byte("c"))
	if err := svc.Files.Delete(dir.Id).Do(); err != nil {
		t.Fatalf("delete: %v", err)
	}
	for _, id := range []string{dir.Id, child.Id} {
		_, err := svc.Files.Get(id).Do()
		if code, reason := apiReason(t, err); code != 404 || reason != "notFound" {
			t.Errorf("get %s after delete = %d %s, want 404 notFound", id, code, reason)
		}
	}
	res, _ := v.raw(t, "DELETE", "/drive/v3/files/"+child.Id, tokAliceDrive, nil, nil)
	if got, want := res.StatusCode, 404; got != want {
		t.Errorf("second delete status = %d, want %d", got, want)
	}
	up := v.upload(t, svc, &drive.File{Name: "x"}, []byte("x"))
	res, _ = v.raw(t, "DELETE", "/drive/v3/files/"+up.Id, tokAliceDrive, nil, nil)
	if got, want := res.StatusCode, 204; got != want {
		t.Errorf("delete status = %d, want %d", got, want)
	}
	err := svc.Files.Delete("root").Do()
	if code, _ := apiReason(t, err); code != 403 {
		t.Errorf("delete root code = %d, want 403", code)
	}
}

func TestGenerateIDsAndCreateWithID(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	gen, err := svc.Files.GenerateIds().Count(3).Space("drive").Do()
	if err != nil {
		t.Fatalf("generateIds: %v", err)
	}
	if got, want := len(gen.Ids), 3; got != want {
		t.Fatalf("got %d ids, want %d", got, want)
	}
	id := gen.Ids[0]
	f, err := svc.Files.Create(&drive.File{Id: id, Name: "pre-id.pdf"}).Media(strings.NewReader("one")).Do()
	if err != nil {
		t.Fatalf("create with generated id: %v", err)
	}
	if got, want := f.Id, id; got != want {
		t.Errorf("created id = %s, want %s", got, want)
	}
	_, err = svc.Files.Create(&drive.File{Id: id, Name: "pre-id.pdf"}).Media(strings.NewReader("two")).Do()
	if code, reason := apiReason(t, err); code != 409 || reason != "fileIdInUse" {
		t.Errorf("duplicate id = %d %s, want 409 fileIdInUse", code, reason)
	}
	list, err := svc.Files.List().Q("name = 'pre-id.pdf'").Fields("files(id)").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list.Files), 1; got != want {
		t.Errorf("%d files named pre-id.pdf, want %d", got, want)
	}
	_, err = svc.Files.Create(&drive.File{Id: "1notGeneratedByDriveAtAllxxxxxxxx", Name: "x"}).Do()
	if code, reason := apiReason(t, err); code != 400 || reason != "fileIdNotUsable" {
		t.Errorf("made-up id = %d %s, want 400 fileIdNotUsable", code, reason)
	}
	// IDs are reserved per account.
	_, err = v.service(t, tokBobDrive).Files.Create(&drive.File{Id: gen.Ids[1], Name: "x"}).Do()
	if code, reason := apiReason(t, err); code != 400 || reason != "fileIdNotUsable" {
		t.Errorf("other account's id = %d %s, want 400 fileIdNotUsable", code, reason)
	}
	_, err = svc.Files.GenerateIds().Count(1001).Do()
	if code, reason := apiReason(t, err); code != 400 || reason != "invalid" {
		t.Errorf("count 1001 = %d %s, want 400 invalid", code, reason)
	}
}

func TestConcurrentCreatesWithOneID(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	gen, err := svc.Files.GenerateIds().Count(1).Do()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = svc.Files.Create(&drive.File{Id: gen.Ids[0], Name: "race"}).Media(strings.NewReader("r")).Do()
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		if code, reason := apiReason(t, err); code != 409 || reason != "fileIdInUse" {
			t.Errorf("losing create = %d %s, want 409 fileIdInUse", code, reason)
		}
	}
	if got, want := ok, 1; got != want {
		t.Errorf("%d creates succeeded, want %d", got, want)
	}
	tree, err := v.emu.Tree(alice)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(tree.Root.Children), 1; got != want {
		t.Errorf("root holds %d items, want %d:\n%s", got, want, tree)
	}
}

func TestDriveFileScope(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	// drive.file visibility is per app: files the same client made with a broader scope count as
	// its own, so the user's files here come from another client.
	full := v.service(t, tokAliceDriveUI)
	app := v.service(t, tokAliceFile)
	otherApp := v.service(t, tokAliceOtherApp)

	mine := v.upload(t, app, &drive.File{Name: "by-app.pdf", Parents: []string{"root"}}, []byte("a"))
	userFile := v.upload(t, full, &drive.File{Name: "by-user.pdf"}, []byte("u"))
	picked := v.mkdir(t, full, "Picked folder", "root")

	tests := []struct {
		name string
		svc  *drive.Service
		want []string
	}{
		{"drive scope sees all", full, []string{"by-app.pdf", "by-user.pdf", "Picked folder"}},
		{"drive.file sees its own", app, []string{"by-app.pdf"}},
		{"another client sees nothing", otherApp, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tc.svc.Files.List().OrderBy("name").Do()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, names(l.Files)); diff != "" {
				t.Errorf("visible files (-want +got):\n%s", diff)
			}
		})
	}
	_, err := app.Files.Get(userFile.Id).Do()
	if code, reason := apiReason(t, err); code != 404 || reason != "notFound" {
		t.Errorf("drive.file get of user's file = %d %s, want 404 notFound", code, reason)
	}
	_, err = app.Files.Create(&drive.File{Name: "in-picked", Parents: []string{picked.Id}}).Do()
	if code, _ := apiReason(t, err); code != 404 {
		t.Errorf("create in ungranted folder code = %d, want 404", code)
	}
	if err := v.emu.GrantToClient(alice, appClient, picked.Id); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Files.Create(&drive.File{Name: "in-picked", Parents: []string{picked.Id}}).Do(); err != nil {
		t.Errorf("create in granted folder: %v", err)
	}
	if _, err := otherApp.Files.Get(mine.Id).Do(); err == nil {
		t.Error("other client got the app's file, want notFound")
	}
	ro := v.service(t, tokAliceReadonly)
	_, err = ro.Files.Create(&drive.File{Name: "x"}).Do()
	if code, reason := apiReason(t, err); code != 403 || reason != "insufficientPermissions" {
		t.Errorf("readonly create = %d %s, want 403 insufficientPermissions", code, reason)
	}
}

func TestSharedDrives(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	driveID, err := v.emu.AddSharedDrive(alice, "Accounting")
	if err != nil {
		t.Fatal(err)
	}
	dl, err := svc.Drives.List().Do()
	if err != nil {
		t.Fatalf("drives.list: %v", err)
	}
	if diff := cmp.Diff([]*drive.Drive{{Kind: "drive#drive", Id: driveID, Name: "Accounting"}}, dl.Drives,
		cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ServerResponse" }, cmp.Ignore())); diff != "" {
		t.Errorf("drives (-want +got):\n%s", diff)
	}
	bl, err := v.service(t, tokBobDrive).Drives.List().Do()
	if err != nil || len(bl.Drives) != 0 {
		t.Errorf("bob's drives = %v, %v; want none", bl, err)
	}

	_, err = svc.Files.Create(&drive.File{Name: "x", Parents: []string{driveID}}).Do()
	if code, reason := apiReason(t, err); code != 404 || reason != "notFound" {
		t.Errorf("create in shared drive without supportsAllDrives = %d %s, want 404 notFound", code, reason)
	}
	f, err := svc.Files.Create(&drive.File{Name: "shared.pdf", Parents: []string{driveID}}).
		Media(strings.NewReader("s")).SupportsAllDrives(true).Fields("id,driveId").Do()
	if err != nil {
		t.Fatalf("create in shared drive: %v", err)
	}
	if got, want := f.DriveId, driveID; got != want {
		t.Errorf("driveId = %s, want %s", got, want)
	}
	if _, err := svc.Files.Get(f.Id).Do(); err == nil {
		t.Error("get without supportsAllDrives succeeded, want notFound")
	}
	if _, err := svc.Files.Get(f.Id).SupportsAllDrives(true).Do(); err != nil {
		t.Errorf("get with supportsAllDrives: %v", err)
	}
	l, err := svc.Files.List().Corpora("drive").DriveId(driveID).IncludeItemsFromAllDrives(true).SupportsAllDrives(true).Do()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"shared.pdf"}, names(l.Files)); diff != "" {
		t.Errorf("drive corpus (-want +got):\n%s", diff)
	}
	l, err = svc.Files.List().Do()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{}, names(l.Files)); diff != "" {
		t.Errorf("user corpus without allDrives (-want +got):\n%s", diff)
	}
	_, err = svc.Files.List().Corpora("drive").DriveId(driveID).Do()
	if code, _ := apiReason(t, err); code != 403 {
		t.Errorf("drive corpus without includeItemsFromAllDrives code = %d, want 403", code)
	}
	l, err = svc.Files.List().Corpora("allDrives").IncludeItemsFromAllDrives(true).SupportsAllDrives(true).Do()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"shared.pdf"}, names(l.Files)); diff != "" {
		t.Errorf("allDrives corpus (-want +got):\n%s", diff)
	}
	// A file cannot be moved into its own subtree.
	outer := v.mkdir(t, svc, "outer", "root")
	inner := v.mkdir(t, svc, "inner", outer.Id)
	_, err = svc.Files.Update(outer.Id, &drive.File{}).AddParents(inner.Id).RemoveParents("root").Do()
	if code, reason := apiReason(t, err); code != 400 || reason != "badRequest" {
		t.Errorf("cycle = %d %s, want 400 badRequest", code, reason)
	}
	about, err := svc.About.Get().Fields("storageQuota(usage)").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := about.StorageQuota.Usage, int64(0); got != want {
		t.Errorf("usage = %d, want %d (shared drive files do not count)", got, want)
	}
}

func TestFieldsPartialResponses(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	f := v.upload(t, svc, &drive.File{Name: "a.pdf", MimeType: "application/pdf"}, []byte("a"))
	v.upload(t, svc, &drive.File{Name: "b.pdf"}, []byte("b"))
	tests := []struct {
		name, path, wantKeys string
	}{
		{"get default", "/drive/v3/files/" + f.Id, "id,kind,mimeType,name"},
		{"get selected", "/drive/v3/files/" + f.Id + "?fields=id,size", "id,size"},
		{"get nested", "/drive/v3/files/" + f.Id + "?fields=capabilities(canEdit),name", "capabilities,name"},
		{"get all", "/drive/v3/files/" + f.Id + "?fields=*", "capabilities,createdTime,id,kind,md5Checksum,mimeType,modifiedTime,name,parents,quotaBytesUsed,size,trashed,version,webViewLink"},
		{"list default", "/drive/v3/files?pageSize=1", "files,incompleteSearch,kind,nextPageToken"},
		{"list files only", "/drive/v3/files?pageSize=1&fields=files(id,name)", "files"},
		{"list token and files", "/drive/v3/files?pageSize=1&fields=nextPageToken,files(id)", "files,nextPageToken"},
		{"about", "/drive/v3/about?fields=user(emailAddress,displayName),storageQuota(limit,usage,usageInDrive)", "storageQuota,user"},
		{"generateIds", "/drive/v3/files/generateIds?count=2&fields=ids", "ids"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, body := v.raw(t, "GET", tc.path, tokAliceDrive, nil, nil)
			if res.StatusCode != 200 {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			if got := keys(decodeJSON(t, body)); got != tc.wantKeys {
				t.Errorf("keys = %s, want %s", got, tc.wantKeys)
			}
		})
	}
	res, body := v.raw(t, "GET", "/drive/v3/files?pageSize=1&fields=files(id,name)", tokAliceDrive, nil, nil)
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	files := decodeJSON(t, body)["files"].([]any)
	if got, want := keys(files[0].(map[string]any)), "id,name"; got != want {
		t.Errorf("file keys = %s, want %s", got, want)
	}
	res, body = v.raw(t, "GET", "/drive/v3/about", tokAliceDrive, nil, nil)
	if got, want := res.StatusCode, 400; got != want {
		t.Errorf("about without fields = %d %s, want %d", got, body, want)
	}
	about, err := svc.About.Get().Fields("user(emailAddress,displayName)").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := about.User.EmailAddress+"/"+about.User.DisplayName, alice+"/Alice"; got != want {
		t.Errorf("about user = %s, want %s", got, want)
	}
	if about.StorageQuota != nil {
		t.Errorf("storageQuota returned without being asked for: %+v", about.StorageQuota)
	}
	_, err = svc.Files.Get(f.Id).Fields("files(").Do()
	if code, _ := apiReason(t, err); code != 400 {
		t.Errorf("bad fields code = %d, want 400", code)
	}
}

func TestFolderChildLimit(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	v.emu.SetFolderChildLimit(2)
	svc := v.service(t, tokAliceDrive)
	dir := v.mkdir(t, svc, "full", "root")
	for i := range 2 {
		v.upload(t, svc, &drive.File{Name: fmt.Sprint(i), Parents: []string{dir.Id}}, []byte("x"))
	}
	_, err := svc.Files.Create(&drive.File{Name: "third", Parents: []string{dir.Id}}).Do()
	if code, reason := apiReason(t, err); code != 403 || reason != "numChildrenInNonRootLimitExceeded" {
		t.Errorf("third child = %d %s, want 403 numChildrenInNonRootLimitExceeded", code, reason)
	}
	// The root has no such limit.
	for i := range 3 {
		v.upload(t, svc, &drive.File{Name: fmt.Sprint("root", i)}, []byte("x"))
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	dir := v.mkdir(t, svc, "busy", "root")
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := range 20 {
		wg.Go(func() {
			f, err := svc.Files.Create(&drive.File{Name: fmt.Sprintf("f%02d", i), Parents: []string{dir.Id}}).
				Media(bytes.NewReader(pattern(1000+i, byte(i)))).Do()
			if err != nil {
				errs <- err
				return
			}
			if _, err := svc.Files.Update(f.Id, &drive.File{Name: f.Name + ".pdf"}).Do(); err != nil {
				errs <- err
			}
			if _, err := svc.Files.List().Q(fmt.Sprintf("'%s' in parents", dir.Id)).Do(); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	l, err := svc.Files.List().Q(fmt.Sprintf("'%s' in parents and name contains 'f'", dir.Id)).PageSize(1000).Do()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(l.Files), 20; got != want {
		t.Errorf("%d files, want %d", got, want)
	}
	if got, want := v.emu.Counters(alice)["files.update"], int64(20); got != want {
		t.Errorf("files.update counter = %d, want %d", got, want)
	}
}

func TestUnknownPath(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	res, _ := v.raw(t, "GET", "/drive/v2/files", tokAliceDrive, nil, nil)
	if got, want := res.StatusCode, http.StatusNotFound; got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
}
