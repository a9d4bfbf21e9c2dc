package driveemu

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// quotaLimit is how many bytes an upload may bring before it certainly exceeds the quota (-1: no
// limit). It lets a request be cut off early instead of being held in memory whole.
// credit is the size of content the upload replaces.
func (e *Emulator) quotaLimit(a *account, credit int64) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a.quota == 0 {
		return -1
	}
	used, _ := a.usage()
	return max(a.quota-used+credit, 0)
}

func (e *Emulator) readMedia(r *http.Request, a *account, credit int64) (*blob, *apiError) {
	limit := e.quotaLimit(a, credit)
	if limit >= 0 && r.ContentLength > limit {
		return nil, errStorageQuota()
	}
	data, err := readBlob(r.Body, limit)
	if errors.Is(err, errTooLarge) {
		return nil, errStorageQuota()
	}
	if err != nil {
		return nil, errBadRequest("read media: " + err.Error())
	}
	return data, nil
}

// readMultipart reads a multipart/related upload: a JSON metadata part, then the media part.
func (e *Emulator) readMultipart(r *http.Request, a *account, credit int64) (fileMeta, *newContent, *apiError) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return fileMeta{}, nil, errBadRequest("Multipart upload needs a multipart/related Content-Type with a boundary.")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	part, err := mr.NextPart()
	if err != nil {
		return fileMeta{}, nil, errBadRequest("Missing metadata part: " + err.Error())
	}
	meta, apiErr := decodeMeta(part)
	if apiErr != nil {
		return fileMeta{}, nil, apiErr
	}
	part, err = mr.NextPart()
	if err != nil {
		return fileMeta{}, nil, errBadRequest("Missing media part: " + err.Error())
	}
	limit := e.quotaLimit(a, credit)
	data, err := readBlob(part, limit)
	if errors.Is(err, errTooLarge) {
		return fileMeta{}, nil, errStorageQuota()
	}
	if err != nil {
		return fileMeta{}, nil, errBadRequest("read media part: " + err.Error())
	}
	if _, err := mr.NextPart(); err != io.EOF {
		return fileMeta{}, nil, errBadRequest("Multipart upload must have exactly two parts.")
	}
	return meta, &newContent{data: data, mimeType: mediaType(part.Header.Get("Content-Type"))}, nil
}

// uploadSession is one resumable upload. Its mutex serialises the chunks sent to it; the bytes
// committed so far are data.
type uploadSession struct {
	mu        sync.Mutex
	id        string
	call      call
	fileID    string // "" for files.create
	meta      fileMeta
	query     url.Values // of the initiating request: fields, supportsAllDrives, addParents...
	mediaType string
	total     int64 // -1 until known
	credit    int64 // size of the content an update replaces
	data      *blob
	done      bool
	result    *file
	failed    *apiError
}

func (e *Emulator) startResumable(w http.ResponseWriter, r *http.Request, c *call, fileID string, credit int64) *apiError {
	meta, apiErr := decodeMeta(r.Body)
	if apiErr != nil {
		return apiErr
	}
	q := r.URL.Query()
	s := &uploadSession{id: newID(), call: *c, fileID: fileID, meta: meta, query: q,
		mediaType: mediaType(r.Header.Get("X-Upload-Content-Type")), total: -1, data: &blob{}, credit: credit}
	if v := r.Header.Get("X-Upload-Content-Length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errBadRequest("Invalid X-Upload-Content-Length: " + v)
		}
		s.total = n
		if limit := e.quotaLimit(c.acct, s.credit); limit >= 0 && n > limit {
			return errStorageQuota()
		}
	}
	e.mu.Lock()
	// Refuse now what would be refused at the end, as Drive does for a bad parent or ID.
	if fileID == "" {
		if meta.ID != nil && *meta.ID != "" {
			if e.idTakenLocked(*meta.ID) {
				e.mu.Unlock()
				return errFileIDInUse()
			}
			if !c.acct.reserved[*meta.ID] {
				e.mu.Unlock()
				return errFileIDNotUsable()
			}
		}
		if meta.Parents != nil && len(*meta.Parents) == 1 {
			if _, err := c.acct.lookup(c.principal, (*meta.Parents)[0], allDrives(q)); err != nil {
				e.mu.Unlock()
				return err
			}
		}
	}
	e.sessions[s.id] = s
	e.mu.Unlock()

	path := "/upload/drive/v3/files"
	if fileID != "" {
		path += "/" + url.PathEscape(fileID)
	}
	w.Header().Set("Location", requestBase(r)+path+"?uploadType=resumable&upload_id="+url.QueryEscape(s.id))
	w.Header().Set("X-GUploader-UploadID", s.id)
	w.WriteHeader(http.StatusOK)
	return nil
}

// requestBase is the scheme and host the client used to reach the emulator, so the session URL
// works from wherever the client is.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

// contentRange is a parsed Content-Range of a chunk: "bytes first-last/total", with total -1
// for "*" and first -1 for a status query ("bytes */total").
type contentRange struct {
	first, last, total int64
}

func parseContentRange(s string) (contentRange, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !ok {
		return contentRange{}, fmt.Errorf("bad Content-Range %q", s)
	}
	rng, tot, ok := strings.Cut(strings.TrimSpace(rest), "/")
	if !ok {
		return contentRange{}, fmt.Errorf("bad Content-Range %q", s)
	}
	cr := contentRange{first: -1, last: -1, total: -1}
	if tot != "*" {
		n, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || n < 0 {
			return contentRange{}, fmt.Errorf("bad Content-Range total %q", s)
		}
		cr.total = n
	}
	if rng == "*" {
		return cr, nil
	}
	a, b, ok := strings.Cut(rng, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || first < 0 || last < first {
		return contentRange{}, fmt.Errorf("bad Content-Range range %q", s)
	}
	if cr.total >= 0 && last >= cr.total {
		return contentRange{}, fmt.Errorf("Content-Range %q ends past its total", s)
	}
	cr.first, cr.last = first, last
	return cr, nil
}

// serveChunk handles a request to a resumable session URL: a chunk of content or a status query.
func (e *Emulator) serveChunk(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("upload_id")
	e.mu.Lock()
	s := e.sessions[id]
	e.mu.Unlock()
	if s == nil {
		writeError(w, &apiError{Code: 404, Reason: "notFound", Message: "Upload session not found: " + id,
			Location: "upload_id", LocationType: "parameter"})
		return
	}
	e.count(s.call.acct, "upload:chunk")
	if e.injectFault(w, r, "upload:chunk") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		writeError(w, s.failed)
		return
	}
	if s.done {
		_ = e.replyFile(w, &s.call, s.result, s.query.Get("fields"))
		return
	}
	committed := s.data.size()
	var cr contentRange
	if h := r.Header.Get("Content-Range"); h != "" {
		var err error
		if cr, err = parseContentRange(h); err != nil {
			writeError(w, errBadRequest(err.Error()))
			return
		}
	} else if r.ContentLength > 0 {
		cr = contentRange{first: 0, last: r.ContentLength - 1, total: r.ContentLength}
	} else {
		cr = contentRange{first: -1, last: -1, total: -1}
	}
	if cr.total >= 0 {
		if s.total >= 0 && s.total != cr.total {
			writeError(w, errBadRequest(fmt.Sprintf("Content-Range total %d differs from the declared %d.", cr.total, s.total)))
			return
		}
		s.total = cr.total
	}
	if cr.first >= 0 {
		n := cr.last - cr.first + 1
		final := s.total >= 0 && cr.last+1 == s.total
		switch {
		case cr.first > committed:
			writeError(w, errBadRequest(fmt.Sprintf("Content-Range starts at %d but only %d bytes were received.", cr.first, committed)))
			return
		case !final && n%resumableChunkUnit != 0:
			writeError(w, errBadRequest(fmt.Sprintf("Invalid request. The number of bytes uploaded is required to be a multiple of %d bytes except for the final chunk.", resumableChunkUnit)))
			return
		case r.ContentLength >= 0 && r.ContentLength != n:
			writeError(w, errBadRequest("Content-Length does not match Content-Range."))
			return
		}
		// Only a request carrying bytes can be cut; a status query leaves the fault pending.
		if !e.receiveChunk(w, r, s, cr, e.takeChunkInterrupt()) {
			return
		}
	}
	if s.total >= 0 && s.data.size() == s.total {
		e.finishResumable(w, s)
		return
	}
	if s.total >= 0 && s.data.size() > s.total {
		writeError(w, errBadRequest("More bytes were received than the declared total."))
		return
	}
	resumeIncomplete(w, r, s.data.size())
}

// receiveChunk appends the new bytes of a chunk to the session. Bytes before the committed
// offset are skipped, as a client resending a whole chunk after a failure does. If the body is
// cut short, only whole 256 KiB units that fully arrived are kept, and the status query then
// reports exactly that. It returns false when the connection is gone.
func (e *Emulator) receiveChunk(w http.ResponseWriter, r *http.Request, s *uploadSession, cr contentRange, cut int64) bool {
	committed := s.data.size()
	body := io.Reader(r.Body)
	if cut >= 0 {
		body = io.LimitReader(r.Body, cut)
	}
	skip := min(committed-cr.first, cr.last-cr.first+1)
	want := cr.last + 1 - committed // new bytes in this chunk
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, body, skip); err != nil {
			e.dropConnection(w, cut >= 0)
			return false
		}
	}
	if want > 0 {
		buf := make([]byte, want)
		n, err := io.ReadFull(body, buf)
		if err != nil {
			arrived := committed + int64(n)
			keep := arrived - arrived%resumableChunkUnit
			if keep > committed {
				s.data.append(buf[: keep-committed : keep-committed])
			}
			slog.Debug("drive emulator: chunk cut short", "upload_id", s.id, "arrived", arrived, "kept", s.data.size())
			e.dropConnection(w, cut >= 0)
			return false
		}
		s.data.append(buf)
	}
	if cut >= 0 {
		e.dropConnection(w, true)
		return false
	}
	return true
}

// dropConnection closes the client's connection without a reply. When reset is set it makes
// the close an abortive one (RST), as a network failure would.
func (e *Emulator) dropConnection(w http.ResponseWriter, reset bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if reset {
		if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
			_ = tc.SetLinger(0)
		}
	}
	_ = conn.Close()
}

// resumeIncomplete answers "308 Resume Incomplete" with the committed range. Clients that ask
// with X-GUploader-No-308 get 200 and the status in X-HTTP-Status-Code-Override, as Google's
// upload servers do for them.
func resumeIncomplete(w http.ResponseWriter, r *http.Request, committed int64) {
	if committed > 0 {
		w.Header().Set("Range", fmt.Sprintf("bytes=0-%d", committed-1))
	}
	w.Header().Set("Content-Length", "0")
	if strings.EqualFold(r.Header.Get("X-GUploader-No-308"), "yes") {
		w.Header().Set("X-HTTP-Status-Code-Override", "308")
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusPermanentRedirect)
}

func (e *Emulator) finishResumable(w http.ResponseWriter, s *uploadSession) {
	content := &newContent{data: s.data, mimeType: s.mediaType}
	c := &s.call
	e.mu.Lock()
	var f *file
	var err *apiError
	if s.fileID == "" {
		f, err = e.createLocked(c, s.meta, content, s.query)
	} else {
		f, err = e.updateLocked(c, s.fileID, s.meta, content, s.query)
	}
	e.mu.Unlock()
	if err != nil {
		if err.Code < 500 && err.Code != 429 {
			s.failed = err
		}
		writeError(w, err)
		return
	}
	s.done, s.result, s.data = true, f, nil
	_ = e.replyFile(w, c, f, s.query.Get("fields"))
}
