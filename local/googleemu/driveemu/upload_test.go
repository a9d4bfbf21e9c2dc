package driveemu

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// hookTransport calls before and after for every request, around the real transport.
type hookTransport struct {
	base   http.RoundTripper
	before func(r *http.Request)
	after  func(r *http.Request, err error)
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h.before(r)
	res, err := h.base.RoundTrip(r)
	h.after(r, err)
	return res, err
}

func (v *env) serviceWithTransport(t *testing.T, token string, rt http.RoundTripper) *drive.Service {
	t.Helper()
	client := &http.Client{Transport: &oauth2.Transport{
		Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}), Base: rt}}
	svc, err := drive.NewService(context.Background(), option.WithEndpoint(v.srv.URL+"/drive/v3/"), option.WithHTTPClient(client))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestResumableUploadSurvivesFailures uploads 20 MB in 8 MB chunks while the second chunk loses
// its connection mid-body and the last one first gets a 503, and checks the client library
// resumes both and the file is byte-exact.
func TestResumableUploadSurvivesFailures(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	content := pattern(20<<20, 3)
	const cutAfter = 3<<20 + 100

	var mu sync.Mutex
	chunkReqs := 0
	statusRange := "unset"
	statusCode := 0
	hook := &hookTransport{base: http.DefaultTransport}
	hook.before = func(r *http.Request) {
		if r.URL.Query().Get("upload_id") == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		chunkReqs++
		switch chunkReqs {
		case 2:
			if err := v.emu.InterruptNextChunk(cutAfter); err != nil {
				t.Error(err)
			}
		case 4:
			if err := v.emu.FailNext("upload:chunk", 1, Fault{Kind: FaultBackendError503}); err != nil {
				t.Error(err)
			}
		}
	}
	hook.after = func(r *http.Request, err error) {
		if r.URL.Query().Get("upload_id") == "" || err == nil {
			return
		}
		// Ask the session where it stands, as a careful client would after losing a chunk.
		req, _ := http.NewRequest(http.MethodPut, r.URL.String(), nil)
		req.Header.Set("Content-Range", "bytes */*")
		res, qerr := http.DefaultTransport.RoundTrip(req)
		if qerr != nil {
			t.Errorf("status query: %v", qerr)
			return
		}
		res.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		statusCode, statusRange = res.StatusCode, res.Header.Get("Range")
	}
	svc := v.serviceWithTransport(t, tokAliceDrive, hook)
	f, err := svc.Files.Create(&drive.File{Name: "big.bin", Parents: []string{"root"}}).
		Media(bytes.NewReader(content), googleapi.ChunkSize(8<<20), googleapi.ContentType("application/octet-stream")).
		Fields("id,size,md5Checksum").Do()
	if err != nil {
		t.Fatalf("resumable upload: %v", err)
	}
	if got, want := f.Size, int64(len(content)); got != want {
		t.Errorf("size = %d, want %d", got, want)
	}
	if got, want := f.Md5Checksum, md5hex(content); got != want {
		t.Errorf("md5 = %s, want %s", got, want)
	}
	stored, err := v.emu.Content(alice, f.Id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, content) {
		t.Error("stored content differs from what was uploaded")
	}
	mu.Lock()
	defer mu.Unlock()
	// 8 MiB committed before the cut, plus the whole 256 KiB units of the 3 MiB + 100 bytes that
	// arrived.
	if got, want := statusRange, fmt.Sprintf("bytes=0-%d", 11<<20-1); got != want {
		t.Errorf("status query after the cut: Range = %q, want %q", got, want)
	}
	if got, want := statusCode, http.StatusPermanentRedirect; got != want {
		t.Errorf("status query code = %d, want %d", got, want)
	}
	if got, want := chunkReqs, 5; got != want {
		t.Errorf("%d chunk requests, want %d (3 chunks, 1 cut, 1 503)", got, want)
	}
	counters := v.emu.Counters(alice)
	if got, want := counters["upload:resumable"], int64(1); got != want {
		t.Errorf("upload:resumable = %d, want %d", got, want)
	}
	if got, want := counters["upload:chunk"], int64(6); got != want {
		t.Errorf("upload:chunk = %d, want %d (5 chunks + 1 status query)", got, want)
	}
	tree, err := v.emu.Tree(alice)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(tree.Root.Children), 1; got != want {
		t.Errorf("root holds %d items, want %d", got, want)
	}
}

func TestResumableProtocol(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	const unit = 256 << 10
	content := pattern(2*unit+10, 9)

	res, body := v.raw(t, "POST", "/upload/drive/v3/files?uploadType=resumable&fields=id,name,size,md5Checksum,mimeType",
		tokAliceDrive, strings.NewReader(`{"name":"proto.bin"}`),
		map[string]string{"Content-Type": "application/json", "X-Upload-Content-Type": "text/csv"})
	if res.StatusCode != 200 {
		t.Fatalf("initiate = %d %s", res.StatusCode, body)
	}
	loc := res.Header.Get("Location")
	if !strings.Contains(loc, "upload_id=") {
		t.Fatalf("Location %q has no upload_id", loc)
	}
	path := strings.TrimPrefix(loc, v.srv.URL)
	put := func(rng string, data []byte, extra map[string]string) (*http.Response, []byte) {
		h := map[string]string{"Content-Range": rng}
		for k, val := range extra {
			h[k] = val
		}
		return v.raw(t, "PUT", path, "", bytes.NewReader(data), h)
	}
	steps := []struct {
		name       string
		rng        string
		data       []byte
		header     map[string]string
		wantStatus int
		wantRange  string
	}{
		{"status before any byte", "bytes */*", nil, nil, 308, ""},
		{"first unit", fmt.Sprintf("bytes 0-%d/*", unit-1), content[:unit], nil, 308, fmt.Sprintf("bytes=0-%d", unit-1)},
		{"status query", "bytes */*", nil, nil, 308, fmt.Sprintf("bytes=0-%d", unit-1)},
		{"status without 308", "bytes */*", nil, map[string]string{"X-GUploader-No-308": "yes"}, 200, fmt.Sprintf("bytes=0-%d", unit-1)},
		{"gap is refused", fmt.Sprintf("bytes %d-%d/*", 2*unit, 3*unit-1), content[:unit], nil, 400, ""},
		{"unaligned chunk is refused", fmt.Sprintf("bytes %d-%d/*", unit, unit+99), content[unit : unit+100], nil, 400, ""},
		{"resent overlapping chunk", fmt.Sprintf("bytes 0-%d/*", 2*unit-1), content[:2*unit], nil, 308, fmt.Sprintf("bytes=0-%d", 2*unit-1)},
		{"status with total", fmt.Sprintf("bytes */%d", len(content)), nil, nil, 308, fmt.Sprintf("bytes=0-%d", 2*unit-1)},
		{"final chunk", fmt.Sprintf("bytes %d-%d/%d", 2*unit, len(content)-1, len(content)), content[2*unit:], nil, 200, ""},
		{"status after completion", "bytes */*", nil, nil, 200, ""},
	}
	for _, s := range steps {
		res, body := put(s.rng, s.data, s.header)
		if res.StatusCode != s.wantStatus {
			t.Fatalf("%s: status %d %s, want %d", s.name, res.StatusCode, body, s.wantStatus)
		}
		if got := res.Header.Get("Range"); got != s.wantRange {
			t.Errorf("%s: Range = %q, want %q", s.name, got, s.wantRange)
		}
		if s.header != nil {
			if got, want := res.Header.Get("X-Http-Status-Code-Override"), "308"; got != want {
				t.Errorf("%s: X-HTTP-Status-Code-Override = %q, want %q", s.name, got, want)
			}
		}
		if s.wantStatus == 200 && s.header == nil {
			m := decodeJSON(t, body)
			if got, want := m["md5Checksum"], md5hex(content); got != want {
				t.Errorf("%s: md5 = %v, want %s", s.name, got, want)
			}
			if got, want := m["mimeType"], "text/csv"; got != want {
				t.Errorf("%s: mimeType = %v, want %s", s.name, got, want)
			}
		}
	}
	res, _ = v.raw(t, "PUT", "/upload/drive/v3/files?uploadType=resumable&upload_id=nosuch", "", nil,
		map[string]string{"Content-Range": "bytes */*"})
	if got, want := res.StatusCode, 404; got != want {
		t.Errorf("unknown session = %d, want %d", got, want)
	}
}

func TestResumableUpdateEndingOnChunkBoundary(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	svc := v.service(t, tokAliceDrive)
	f := v.upload(t, svc, &drive.File{Name: "grow.bin"}, []byte("small"))
	// Exactly two chunks: the client ends with an empty "bytes */N" request.
	content := pattern(512<<10, 5)
	u, err := svc.Files.Update(f.Id, &drive.File{}).Media(bytes.NewReader(content), googleapi.ChunkSize(256<<10)).
		Fields("size,md5Checksum,version").Do()
	if err != nil {
		t.Fatalf("resumable update: %v", err)
	}
	if got, want := u.Md5Checksum, md5hex(content); got != want {
		t.Errorf("md5 = %s, want %s", got, want)
	}
	if u.Version <= f.Version {
		t.Errorf("version = %d, want > %d", u.Version, f.Version)
	}
	if got, want := v.emu.Counters(alice)["upload:resumable"], int64(1); got != want {
		t.Errorf("upload:resumable = %d, want %d", got, want)
	}
}

func TestResumableUploadWithRandomChunkFaults(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	if err := v.emu.SetRandomFaults(RandomFaults{Seed: 42, Probability: 0.3, Methods: []string{"upload:chunk"},
		Faults: []Fault{{Kind: FaultBackendError500}, {Kind: FaultBackendError503}, {Kind: FaultRateLimit429}}}); err != nil {
		t.Fatal(err)
	}
	svc := v.service(t, tokAliceDrive)
	content := pattern(3<<20+17, 11)
	f, err := svc.Files.Create(&drive.File{Name: "flaky.bin"}).
		Media(bytes.NewReader(content), googleapi.ChunkSize(256<<10)).Fields("id,md5Checksum").Do()
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if got, want := f.Md5Checksum, md5hex(content); got != want {
		t.Errorf("md5 = %s, want %s", got, want)
	}
	chunks := v.emu.Counters(alice)["upload:chunk"]
	if chunks <= 13 {
		t.Errorf("%d chunk requests, want more than the 13 chunks (some must have failed)", chunks)
	}
}

func TestCutMediaUploadLeavesNoFile(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	done := make(chan struct{}, 1)
	h := v.emu.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		done <- struct{}{}
	}))
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	req := "POST /upload/drive/v3/files?uploadType=media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tokAliceDrive +
		"\r\nContent-Type: application/pdf\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("a", 5000)
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the cut request was never finished")
	}
	tree, err := v.emu.Tree(alice)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Root.Children) != 0 {
		t.Errorf("a cut media upload created a file:\n%s", tree)
	}
	if got, want := v.emu.Counters(alice)["upload:media"], int64(1); got != want {
		t.Errorf("upload:media = %d, want %d", got, want)
	}
}
