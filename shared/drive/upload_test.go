package drive

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/shared/drivesync"
)

const pdf = "application/pdf"

// stream is n deterministic pseudo-random bytes, generated as they are read.
func stream(n int64, seed uint64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

func bytesOf(t testing.TB, n int64, seed uint64) []byte {
	t.Helper()
	b, err := io.ReadAll(stream(n, seed))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// newID reserves one file ID through the adapter.
func newID(t testing.TB, c *Client) string {
	t.Helper()
	ids, err := c.GenerateIDs(t.Context(), 1)
	if err != nil {
		t.Fatalf("GenerateIDs: %v", err)
	}
	return ids[0]
}

// newFile is a NewFile of body under parent, with a fresh ID.
func newFile(t testing.TB, c *Client, parent, name string, body []byte) NewFile {
	t.Helper()
	return NewFile{ID: newID(t, c), ParentID: parent, Name: name, MimeType: pdf,
		AppProperties: map[string]string{"drivesyncDocumentId": "doc-" + name, "drivesyncRevision": "1"},
		Size:          int64(len(body)), Content: bytes.NewReader(body)}
}

// stored returns the content the emulator holds for id and fails the test when it differs from
// want.
func assertStored(t *testing.T, s *stack, id string, want []byte) {
	t.Helper()
	got, err := s.emu.Drive.Content(alice, id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("stored content of %s: %d bytes, md5 %s; want %d bytes, md5 %s", id, len(got), md5hex(got),
			len(want), md5hex(want))
	}
}

func TestCreateFileMultipart(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)
	parent := mkdir(t, c, RootID, "2024")
	body := bytesOf(t, 150<<10, 1)
	nf := newFile(t, c, parent.ID, "Facture F2024-001 é 🧾.pdf", body)

	got, err := c.CreateFile(t.Context(), nf)
	if err != nil {
		t.Fatalf("CreateFile: %v", err)
	}
	want := File{ID: nf.ID, Name: nf.Name, MimeType: pdf, Parents: []string{parent.ID}, MD5: md5hex(body),
		Size: int64(len(body)), Version: 1, AppProperties: nf.AppProperties}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CreateFile (-want +got):\n%s", diff)
	}
	assertStored(t, s, nf.ID, body)
	counters := s.emu.Drive.Counters(alice)
	if got, want := [2]int64{counters["upload:multipart"], counters["upload:resumable"]}, [2]int64{1, 0}; got != want {
		t.Errorf("multipart, resumable uploads = %v, want %v", got, want)
	}
	fetched, err := c.GetFile(t.Context(), nf.ID)
	if err != nil {
		t.Fatalf("GetFile: %v", err)
	}
	if diff := cmp.Diff(want, fetched); diff != "" {
		t.Errorf("GetFile (-want +got):\n%s", diff)
	}
}

// TestCreateFileUploadType checks the switch from multipart to resumable at MultipartMaxSize,
// including sizes that fit in a single chunk of UploadChunkSize, which the library would send
// multipart if left to itself.
func TestCreateFileUploadType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		size      int64
		resumable bool
		chunks    int64
	}{
		{0, false, 0},
		{1, false, 0},
		{MultipartMaxSize, false, 0},
		{MultipartMaxSize + 1, true, 2},
		{UploadChunkSize, true, 2},
		{UploadChunkSize + 1, true, 2},
		// The declared size lets Drive finish with the last byte; without it the library would
		// need a third, empty request to close the session.
		{2 * UploadChunkSize, true, 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			c, _ := s.client(t)
			body := bytesOf(t, tt.size, uint64(tt.size))
			nf := newFile(t, c, RootID, "f.pdf", body)
			f, err := c.CreateFile(t.Context(), nf)
			if err != nil {
				t.Fatalf("CreateFile: %v", err)
			}
			if got, want := [2]any{f.Size, f.MD5}, [2]any{tt.size, md5hex(body)}; got != want {
				t.Errorf("size, md5 = %v, want %v", got, want)
			}
			assertStored(t, s, nf.ID, body)
			counters := s.emu.Drive.Counters(alice)
			resumable := int64(0)
			if tt.resumable {
				resumable = 1
			}
			got := [3]int64{counters["upload:multipart"], counters["upload:resumable"], counters["upload:chunk"]}
			if want := [3]int64{1 - resumable, resumable, tt.chunks}; got != want {
				t.Errorf("multipart, resumable, chunk requests = %v, want %v", got, want)
			}
		})
	}
}

func TestCreateFileTwiceIsAlreadyExists(t *testing.T) {
	t.Parallel()
	for _, size := range []int64{10 << 10, MultipartMaxSize + 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			c, _ := s.client(t)
			parent := mkdir(t, c, RootID, "2024")
			body := bytesOf(t, size, 2)
			nf := newFile(t, c, parent.ID, "a.pdf", body)
			first, err := c.CreateFile(t.Context(), nf)
			if err != nil {
				t.Fatalf("first CreateFile: %v", err)
			}

			// A retry after a lost answer: same ID, new content.
			body2 := bytesOf(t, size, 3)
			nf.Content = bytes.NewReader(body2)
			_, err = c.CreateFile(t.Context(), nf)
			if !errors.Is(err, ErrAlreadyExists) || classOf(err) != (class{drivesync.Permanent, "fileIdInUse"}) {
				t.Fatalf("second CreateFile: error %v (%+v), want ErrAlreadyExists, permanent fileIdInUse", err, classOf(err))
			}
			tree, err := s.emu.Drive.Tree(alice)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := findNode(tree.Root, parent.ID)
			if len(p.Children) != 1 || p.Children[0].ID != nf.ID {
				t.Fatalf("files in the folder:\n%s\nwant only %s", tree, nf.ID)
			}
			assertStored(t, s, nf.ID, body)

			// The caller goes on with an update of the same ID.
			updated, err := c.UpdateFile(t.Context(), nf.ID, FileUpdate{Content: bytes.NewReader(body2),
				Size: size, MimeType: pdf})
			if err != nil {
				t.Fatalf("UpdateFile after ErrAlreadyExists: %v", err)
			}
			if updated.ID != first.ID || updated.MD5 != md5hex(body2) || updated.Version <= first.Version {
				t.Errorf("UpdateFile = %+v, want id %s, md5 %s, version above %d", updated, first.ID, md5hex(body2), first.Version)
			}
			assertStored(t, s, nf.ID, body2)
		})
	}
}

// TestCreateFileResumesAfterFaults uploads 20 MB while the second chunk loses its connection
// part way and the fourth chunk request gets a 503: the file must still be byte-exact.
func TestCreateFileResumesAfterFaults(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)
	body := bytesOf(t, 20<<20, 4)
	var (
		mu     sync.Mutex
		chunks int
	)
	s.setHook(func(r *http.Request) {
		if r.URL.Query().Get("upload_id") == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		chunks++
		var err error
		switch chunks {
		case 2:
			err = s.emu.Drive.InterruptNextChunk(3<<20 + 100)
		case 4:
			err = s.emu.Drive.FailNext("upload:chunk", 1, driveemu.Fault{Kind: driveemu.FaultBackendError503})
		}
		if err != nil {
			t.Error(err)
		}
	})
	nf := newFile(t, c, RootID, "big.pdf", body)
	f, err := c.CreateFile(t.Context(), nf)
	if err != nil {
		t.Fatalf("CreateFile: %v", err)
	}
	if got, want := [3]any{f.ID, f.Size, f.MD5}, [3]any{nf.ID, int64(len(body)), md5hex(body)}; got != want {
		t.Errorf("id, size, md5 = %v, want %v", got, want)
	}
	assertStored(t, s, nf.ID, body)
	mu.Lock()
	defer mu.Unlock()
	if got, want := chunks, 5; got != want {
		t.Errorf("%d chunk requests, want %d (3 chunks, 1 cut, 1 503)", got, want)
	}
}

// failingReader yields n bytes, then err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

func TestCreateFileClassifiesFailures(t *testing.T) {
	t.Parallel()
	fail := func(method string, kind driveemu.FaultKind) func(t *testing.T, s *stack) {
		return func(t *testing.T, s *stack) {
			if err := s.emu.Drive.FailNext(method, 1, driveemu.Fault{Kind: kind}); err != nil {
				t.Fatal(err)
			}
		}
	}
	quota := func(bytes int64) func(t *testing.T, s *stack) {
		return func(t *testing.T, s *stack) {
			if err := s.emu.Drive.SetQuota(alice, bytes); err != nil {
				t.Fatal(err)
			}
		}
	}
	cut := errors.New("efactori download cut")
	classified := drivesync.Classify(errors.New("efactori answered 404"), drivesync.Permanent, "document_gone")
	const small, big = 64 << 10, MultipartMaxSize + 1
	tests := []struct {
		name    string
		arrange func(t *testing.T, s *stack)
		size    int64
		edit    func(nf *NewFile)
		want    class
	}{
		{"429", fail("files.create", driveemu.FaultRateLimit429), small, nil,
			class{drivesync.Retryable, "rateLimitExceeded"}},
		{"503", fail("files.create", driveemu.FaultBackendError503), small, nil,
			class{drivesync.Retryable, "backendError"}},
		{"503 starting a resumable upload", fail("files.create", driveemu.FaultBackendError503), big, nil,
			class{drivesync.Retryable, "backendError"}},
		{"user rate limit", fail("files.create", driveemu.FaultUserRateLimit), small, nil,
			class{drivesync.Retryable, "userRateLimitExceeded"}},
		{"quota fault", fail("files.create", driveemu.FaultStorageQuotaExceeded), small, nil,
			class{drivesync.NeedsCustomer, "storageQuotaExceeded"}},
		{"quota full, multipart", quota(small - 1), small, nil,
			class{drivesync.NeedsCustomer, "storageQuotaExceeded"}},
		{"quota full, resumable", quota(big - 1), big, nil,
			class{drivesync.NeedsCustomer, "storageQuotaExceeded"}},
		{"missing parent", nil, small, func(nf *NewFile) { nf.ParentID = "1NoSuchFolder" },
			class{drivesync.Permanent, "notFound"}},
		{"unreserved id", nil, small, func(nf *NewFile) { nf.ID = "1NotFromGenerateIds" },
			class{drivesync.Permanent, "fileIdNotUsable"}},
		{"reader fails", nil, small, func(nf *NewFile) { nf.Content = &failingReader{n: 1000, err: cut} },
			class{drivesync.Retryable, CodeContentRead}},
		{"reader fails in a later chunk", nil, 3 * UploadChunkSize,
			func(nf *NewFile) { nf.Content = &failingReader{n: UploadChunkSize + 5, err: cut} },
			class{drivesync.Retryable, CodeContentRead}},
		{"caller gives up while reading", nil, small, func(nf *NewFile) { nf.Content = &failingReader{n: 10, err: context.Canceled} },
			class{drivesync.Retryable, CodeCanceled}},
		{"reader error keeps its class", nil, small, func(nf *NewFile) { nf.Content = &failingReader{err: classified} },
			class{drivesync.Permanent, "document_gone"}},
		{"content shorter than declared", nil, small, func(nf *NewFile) { nf.Size = small + 1 },
			class{drivesync.Retryable, CodeSizeMismatch}},
		{"content longer than declared", nil, big, func(nf *NewFile) { nf.Size = big - 1 },
			class{drivesync.Retryable, CodeSizeMismatch}},
		{"no id", nil, small, func(nf *NewFile) { nf.ID = "" }, class{drivesync.Permanent, CodeInvalidArgument}},
		{"no content", nil, small, func(nf *NewFile) { nf.Content = nil }, class{drivesync.Permanent, CodeInvalidArgument}},
		{"no mime type", nil, small, func(nf *NewFile) { nf.MimeType = "" }, class{drivesync.Permanent, CodeInvalidArgument}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			c, tok := s.client(t)
			if tt.arrange != nil {
				tt.arrange(t, s)
			}
			nf := newFile(t, c, RootID, "f.pdf", bytesOf(t, tt.size, 5))
			if tt.edit != nil {
				tt.edit(&nf)
			}
			f, err := c.CreateFile(t.Context(), nf)
			if got := classOf(err); got != tt.want {
				t.Fatalf("CreateFile = %+v, error %v (%+v), want %+v", f, err, got, tt.want)
			}
			assertNoToken(t, err, tok)
		})
	}
}

// TestCreateFileDetectsChecksumMismatch corrupts the upload on its way to Drive: the adapter
// must not report success for content Drive did not get.
func TestCreateFileDetectsChecksumMismatch(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c, _ := s.client(t)
	body := append(bytesOf(t, 32<<10, 6), []byte("MARKER")...)
	s.setHook(func(r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/upload/") {
			return
		}
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		r.Body = io.NopCloser(bytes.NewReader(bytes.Replace(raw, []byte("MARKER"), []byte("MARKEX"), 1)))
	})
	nf := newFile(t, c, RootID, "f.pdf", body)
	_, err := c.CreateFile(t.Context(), nf)
	if got, want := classOf(err), (class{drivesync.Retryable, CodeChecksumMismatch}); got != want {
		t.Fatalf("CreateFile error %v is %+v, want %+v", err, got, want)
	}
	if !strings.Contains(err.Error(), md5hex(body)) {
		t.Errorf("error %q does not say what was sent", err)
	}
}

// uploadMeasured uploads a size-byte generated stream and returns the largest heap growth seen
// during the upload that the emulator does not account for. The emulator lives in this process
// and keeps every byte it receives, so the bytes it has read from upload chunks are subtracted;
// what remains is the client side (the library's one chunk buffer, the HTTP machinery) plus the
// emulator's buffer for the chunk in flight (one more UploadChunkSize).
func uploadMeasured(tb testing.TB, size int64) (peak int64, f File) {
	tb.Helper()
	s := newStack(tb)
	c, _ := s.client(tb)
	id := newID(tb, c)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := int64(ms.HeapInuse)
	s.chunkBytes.Store(0)

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, int64(m.HeapInuse)-base-s.chunkBytes.Load())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	f, err := c.CreateFile(tb.Context(), NewFile{ID: id, ParentID: RootID, Name: "big.pdf", MimeType: pdf,
		Size: size, Content: stream(size, 7)})
	close(done)
	wg.Wait()
	if err != nil {
		tb.Fatalf("CreateFile: %v", err)
	}
	return peak, f
}

// maxUploadHeap bounds the heap an upload may add beyond the content the emulator stores.
const maxUploadHeap = 64 << 20

// TestCreateFileMemoryIsBounded uploads 200 MB and checks the heap does not grow with the size.
// It does not run in parallel: other tests' allocations would be counted.
func TestCreateFileMemoryIsBounded(t *testing.T) {
	const size = 200 << 20
	peak, f := uploadMeasured(t, size)
	h := md5.New()
	if _, err := io.Copy(h, stream(size, 7)); err != nil {
		t.Fatal(err)
	}
	if got, want := [2]any{f.Size, f.MD5}, [2]any{int64(size), hex.EncodeToString(h.Sum(nil))}; got != want {
		t.Errorf("size, md5 = %v, want %v", got, want)
	}
	t.Logf("peak heap growth beyond stored content: %.1f MiB", float64(peak)/(1<<20))
	if peak > maxUploadHeap {
		t.Errorf("heap grew by %d MiB beyond the stored content, want at most %d MiB", peak>>20, maxUploadHeap>>20)
	}
}

// BenchmarkCreate200MB reports, besides time, the peak heap growth of a 200 MB upload beyond
// what the in-process emulator stores (peak-heap-MiB).
func BenchmarkCreate200MB(b *testing.B) {
	const size = 200 << 20
	b.SetBytes(size)
	var worst int64
	for b.Loop() {
		peak, _ := uploadMeasured(b, size)
		worst = max(worst, peak)
	}
	b.ReportMetric(float64(worst)/(1<<20), "peak-heap-MiB")
}
