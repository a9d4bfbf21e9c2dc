package driveemu

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"
)

// FaultKind is a way a Drive call can fail.
type FaultKind string

// The faults the emulator can inject. The status faults reply exactly as Drive does for that
// failure; FaultConnectionReset drops the connection with no reply; FaultSlow delays the reply
// by Fault.Delay and then serves the call normally; FaultIncompleteSearch (files.list only)
// answers 200 with no files and incompleteSearch true, whatever the corpora.
const (
	FaultBackendError500      FaultKind = "backendError500"
	FaultBackendError503      FaultKind = "backendError503"
	FaultInternalError        FaultKind = "internalError"
	FaultRateLimit429         FaultKind = "rateLimitExceeded429"
	FaultRateLimit403         FaultKind = "rateLimitExceeded403"
	FaultUserRateLimit        FaultKind = "userRateLimitExceeded"
	FaultStorageQuotaExceeded FaultKind = "storageQuotaExceeded"
	FaultConnectionReset      FaultKind = "connectionReset"
	FaultSlow                 FaultKind = "slow"
	FaultIncompleteSearch     FaultKind = "incompleteSearch"
	// The project's daily quota is spent (403 dailyLimitExceeded, domain usageLimits).
	FaultDailyLimit FaultKind = "dailyLimitExceeded"
	// The customer's Google Workspace administrators disabled Drive apps (403 domainPolicy).
	FaultDomainPolicy FaultKind = "domainPolicy"
	// The parent folder holds as many items as Drive allows (403
	// numChildrenInNonRootLimitExceeded); SetFolderChildLimit produces it for real.
	FaultFolderChildLimit FaultKind = "numChildrenInNonRootLimitExceeded"
	// The shared drive holds as many items as Drive allows (403 teamDriveFileLimitExceeded).
	FaultSharedDriveFileLimit FaultKind = "teamDriveFileLimitExceeded"
)

// Fault is one injected failure.
type Fault struct {
	Kind  FaultKind
	Delay time.Duration // for FaultSlow
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultBackendError500, FaultBackendError503, FaultInternalError, FaultRateLimit429,
		FaultRateLimit403, FaultUserRateLimit, FaultStorageQuotaExceeded, FaultConnectionReset,
		FaultDailyLimit, FaultDomainPolicy, FaultFolderChildLimit, FaultSharedDriveFileLimit:
		return nil
	case FaultSlow:
		if f.Delay <= 0 {
			return fmt.Errorf("fault %s needs a positive delay", f.Kind)
		}
		return nil
	case FaultIncompleteSearch:
		return nil
	}
	return fmt.Errorf("unknown fault kind %q", f.Kind)
}

// listOnly reports whether f can only answer files.list.
func (f Fault) listOnly() bool { return f.Kind == FaultIncompleteSearch }

func (f Fault) apiError() *apiError {
	switch f.Kind {
	case FaultBackendError500:
		return errBackend(500)
	case FaultBackendError503:
		return errBackend(503)
	case FaultInternalError:
		return errInternal()
	case FaultRateLimit429:
		return errRateLimit(429)
	case FaultRateLimit403:
		return errRateLimit(403)
	case FaultUserRateLimit:
		return errUserRateLimit()
	case FaultStorageQuotaExceeded:
		return errStorageQuota()
	case FaultDailyLimit:
		return errDailyLimit()
	case FaultDomainPolicy:
		return errDomainPolicy()
	case FaultFolderChildLimit:
		return errChildLimit()
	case FaultSharedDriveFileLimit:
		return errSharedDriveFileLimit()
	}
	return nil
}

// RandomFaults makes a share of calls fail at random, reproducibly for a given Seed.
type RandomFaults struct {
	Seed        uint64
	Probability float64  // per call, 0..1
	Methods     []string // method names as in Counters; empty = every method
	Faults      []Fault  // one is picked uniformly for each failing call
}

// methodFilesList is the counter name of files.list, the only method some faults apply to.
const methodFilesList = "files.list"

type scriptedFault struct {
	method    string
	remaining int
	fault     Fault
}

type faultState struct {
	scripted  []*scriptedFault
	random    *RandomFaults
	rnd       *rand.Rand
	interrupt []int64
}

// FailNext makes the next n calls of method fail with f. Method names are those of Counters
// ("files.create", "upload:chunk", ...); "*" matches every method. Scripted faults are used in
// the order they were added, before any random fault.
func (e *Emulator) FailNext(method string, n int, f Fault) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("fail next %s: %w", method, err)
	}
	if n < 1 || method == "" {
		return fmt.Errorf("fail next %q: need a method and n >= 1", method)
	}
	if f.listOnly() && method != methodFilesList {
		return fmt.Errorf("fail next %q: fault %s only answers %s", method, f.Kind, methodFilesList)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults.scripted = append(e.faults.scripted, &scriptedFault{method: method, remaining: n, fault: f})
	return nil
}

// SetRandomFaults makes calls fail at random as cfg says; a zero Probability turns it off.
func (e *Emulator) SetRandomFaults(cfg RandomFaults) error {
	for _, f := range cfg.Faults {
		if err := f.validate(); err != nil {
			return fmt.Errorf("set random faults: %w", err)
		}
		if f.listOnly() && !slices.Equal(cfg.Methods, []string{methodFilesList}) {
			return fmt.Errorf("set random faults: fault %s needs methods [%s]", f.Kind, methodFilesList)
		}
	}
	if cfg.Probability < 0 || cfg.Probability > 1 || (cfg.Probability > 0 && len(cfg.Faults) == 0) {
		return fmt.Errorf("set random faults: need 0 <= probability <= 1 and at least one fault")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if cfg.Probability == 0 {
		e.faults.random = nil
		return nil
	}
	cfg.Methods = slices.Clone(cfg.Methods)
	cfg.Faults = slices.Clone(cfg.Faults)
	e.faults.random = &cfg
	e.faults.rnd = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	return nil
}

// InterruptNextChunk makes the next request to a resumable session URL lose its connection once
// afterBytes bytes of its body have been read. The session keeps the whole 256 KiB units that
// arrived, and a status query reports them.
func (e *Emulator) InterruptNextChunk(afterBytes int64) error {
	if afterBytes < 0 {
		return fmt.Errorf("interrupt next chunk: negative byte count %d", afterBytes)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults.interrupt = append(e.faults.interrupt, afterBytes)
	return nil
}

// ClearFaults removes every scripted, random and chunk fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults.scripted = nil
	e.faults.random = nil
	e.faults.interrupt = nil
}

func (e *Emulator) takeChunkInterrupt() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.faults.interrupt) == 0 {
		return -1
	}
	n := e.faults.interrupt[0]
	e.faults.interrupt = e.faults.interrupt[1:]
	return n
}

func (e *Emulator) pickFault(method string) (Fault, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f, ok := e.pickScriptedLocked(method); ok {
		return f, true
	}
	rf := e.faults.random
	if rf == nil || (len(rf.Methods) > 0 && !slices.Contains(rf.Methods, method)) {
		return Fault{}, false
	}
	if e.faults.rnd.Float64() >= rf.Probability {
		return Fault{}, false
	}
	return rf.Faults[e.faults.rnd.IntN(len(rf.Faults))], true
}

// pickScriptedLocked takes the next scripted fault for method (or for "*"); e.mu is held.
func (e *Emulator) pickScriptedLocked(method string) (Fault, bool) {
	for i, s := range e.faults.scripted {
		if s.method == method || s.method == "*" {
			s.remaining--
			if s.remaining == 0 {
				e.faults.scripted = slices.Delete(e.faults.scripted, i, i+1)
			}
			return s.fault, true
		}
	}
	return Fault{}, false
}

// injectFault applies a fault due for method, if any. It reports whether the request has been
// answered (or its connection dropped).
func (e *Emulator) injectFault(w http.ResponseWriter, r *http.Request, method string) bool {
	f, ok := e.pickFault(method)
	if !ok {
		return false
	}
	return e.applyFault(w, r, f)
}

// injectUploadFault applies a scripted fault for an upload's type ("upload:multipart",
// "upload:resumable"), which FailNext can name to hit uploads of content and not folder
// creations. Random faults stay with the API methods.
func (e *Emulator) injectUploadFault(w http.ResponseWriter, r *http.Request, key string) bool {
	e.mu.Lock()
	f, ok := e.pickScriptedLocked(key)
	e.mu.Unlock()
	return ok && e.applyFault(w, r, f)
}

// applyFault answers r as f says; false means the call is to be served (after a delay).
func (e *Emulator) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch f.Kind {
	case FaultSlow:
		// Reading the whole request first lets the server notice, and cancel r's context, when
		// the client goes away during the delay (it watches the connection only once the body
		// has been read).
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return true
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-r.Context().Done():
			// The client gave up or died while Drive was slow: the call is not carried out,
			// as a request whose body never fully arrived.
			return true
		}
	case FaultConnectionReset:
		e.dropConnection(w, true)
		return true
	case FaultIncompleteSearch:
		writeJSON(w, http.StatusOK, map[string]any{"kind": "drive#fileList", "incompleteSearch": true, "files": []any{}})
		return true
	}
	// Read the body first so the client sees the reply rather than a write error on a large
	// upload the server stopped reading.
	_, _ = io.Copy(io.Discard, r.Body)
	writeError(w, f.apiError())
	return true
}
