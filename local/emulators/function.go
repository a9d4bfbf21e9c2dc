package emulators

import (
	"github.com/efactori/drivesync/local/proc"

	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// functionStartTimeout bounds how long ServeFunction waits for the framework to listen.
const functionStartTimeout = 30 * time.Second

// ServeFunction runs the function registered under target by the package pkg (an import path
// whose init calls functions.CloudEvent or functions.HTTP, such as the module root) behind the
// real functions framework, and returns its base URL, http://127.0.0.1:<port>. Like Cloud
// Functions, it runs one process per function with FUNCTION_TARGET=target and PORT set, so
// the function answers on every path.
//
// The process inherits the test's environment, including the emulator addresses (it starts
// the emulators if need be, so a function can never reach Google's real services), with
// GOOGLE_CLOUD_PROJECT set to the test's ProjectID, and then env ("KEY=value" entries, which
// win over all of these). Its output goes to the test log, and it is stopped when the test
// ends; a function that exits early fails the test.
func ServeFunction(tb testing.TB, pkg, target string, env ...string) string {
	tb.Helper()
	return StartFunction(tb, pkg, target, env...).URL
}

// Function is a function process StartFunction started.
type Function struct {
	// URL is the function's base URL, http://127.0.0.1:<port>.
	URL    string
	p      *proc.Process
	killed atomic.Bool
}

// Kill ends the function's process at once, as when an instance crashes: no request in flight
// gets an answer. The test does not fail for it.
func (f *Function) Kill() error {
	f.killed.Store(true)
	return f.p.Stop()
}

// StartFunction is ServeFunction returning the process, which a test can Kill.
func StartFunction(tb testing.TB, pkg, target string, env ...string) *Function {
	tb.Helper()
	ensure(tb)
	project := ProjectID(tb)
	bin, err := buildFunction(pkg)
	if err != nil {
		tb.Fatalf("emulators: %v", err)
	}
	log := &testLog{tb: tb, prefix: target + ": "}
	ctx, cancel := context.WithTimeout(context.Background(), functionStartTimeout)
	defer cancel()
	var last error
	for range 3 {
		port, err := proc.FreePort()
		if err != nil {
			tb.Fatalf("emulators: %v", err)
		}
		host := proc.HostPort(port)
		childEnv := append([]string{
			"GOOGLE_CLOUD_PROJECT=" + project,
			"FUNCTION_TARGET=" + target,
			"PORT=" + strconv.Itoa(port),
		}, env...)
		p, err := proc.Start("function "+target, []string{bin}, childEnv, log)
		if err != nil {
			tb.Fatalf("emulators: %v", err)
		}
		if last = p.WaitTCP(ctx, host); last == nil {
			f := &Function{URL: "http://" + host, p: p}
			tb.Cleanup(func() {
				crashed := p.Exited() && !f.killed.Load()
				if err := p.Stop(); err != nil {
					tb.Errorf("emulators: %v", err)
				}
				log.close()
				if crashed {
					tb.Errorf("emulators: function %s exited while the test ran: %v", target, p.Err())
				}
			})
			return f
		}
		// A process that exited may have lost its port; anything else will not get better.
		lostPort := p.Exited() && ctx.Err() == nil
		last = errors.Join(last, p.Stop())
		if !lostPort {
			break
		}
	}
	log.close()
	tb.Fatalf("emulators: serve function %s of %s: %v", target, pkg, last)
	return nil
}

// builds caches one binary per package for the life of the test binary.
var builds struct {
	mu   sync.Mutex
	dir  string
	bins map[string]func() (string, error)
}

// buildFunction builds, once per package, a main package like the Cloud Functions Go
// buildpack's: import pkg for its init registrations, then start the framework on $PORT.
func buildFunction(pkg string) (string, error) {
	builds.mu.Lock()
	if builds.bins == nil {
		builds.bins = map[string]func() (string, error){}
	}
	build, ok := builds.bins[pkg]
	if !ok {
		build = sync.OnceValues(func() (string, error) { return goBuildFunction(pkg) })
		builds.bins[pkg] = build
	}
	builds.mu.Unlock()
	return build()
}

// mainTemplate is the program built around a function package. Unlike the buildpack's it
// listens on loopback only.
const mainTemplate = `package main

import (
	"log"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	_ %s
)

func main() {
	if err := funcframework.StartHostPort("127.0.0.1", os.Getenv("PORT")); err != nil {
		log.Fatalf("funcframework.StartHostPort: %%v", err)
	}
}
`

func goBuildFunction(pkg string) (string, error) {
	if pkg == "" || strings.ContainsAny(pkg, "\"`\n") {
		return "", fmt.Errorf("build function: invalid package path %q", pkg)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build function %s: %w", pkg, err)
	}
	// The build resolves pkg and the framework through the module the test runs in.
	out, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("build function %s: go env GOMOD: %w", pkg, err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("build function %s: not inside a Go module", pkg)
	}

	builds.mu.Lock()
	if builds.dir == "" {
		builds.dir, err = os.MkdirTemp("", "emulators-functions-")
	}
	root := builds.dir
	builds.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("build function %s: %w", pkg, err)
	}
	dir, err := os.MkdirTemp(root, "fn-")
	if err != nil {
		return "", fmt.Errorf("build function %s: %w", pkg, err)
	}
	mainFile := filepath.Join(dir, "main.go")
	src := fmt.Sprintf(mainTemplate, strconv.Quote(pkg))
	if err := os.WriteFile(mainFile, []byte(src), 0o600); err != nil {
		return "", fmt.Errorf("build function %s: %w", pkg, err)
	}
	bin := filepath.Join(dir, "function")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool, append(args, mainFile)...)
	cmd.Dir = filepath.Dir(gomod)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build function %s: go build: %w\n%s", pkg, err, stderr.String())
	}
	return bin, nil
}

// removeBuilds deletes the binaries ServeFunction built.
func removeBuilds() {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir != "" {
		_ = os.RemoveAll(builds.dir)
		builds.dir = ""
		builds.bins = nil
	}
}

// testLog writes a child's output to the test log line by line, and drops it once closed:
// testing panics on a log call after the test has ended.
type testLog struct {
	tb     testing.TB
	prefix string

	mu     sync.Mutex
	buf    []byte
	closed bool
}

func (l *testLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return len(b), nil
	}
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.tb.Log(l.prefix + string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(b), nil
}

func (l *testLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.tb.Log(l.prefix + string(l.buf))
	}
	l.closed = true
}
