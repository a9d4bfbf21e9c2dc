// Package proc runs the child processes of the local stack and the tests (emulators, functions)
// each in its own process group, so stopping one stops everything it started and a crashed
// parent leaks nothing.
package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Process is one child started in its own process group.
type Process struct {
	name string
	cmd  *exec.Cmd
	out  *tail
	done chan struct{} // closed once the child has exited and been reaped
	err  error         // the result of Wait, readable after done is closed

	stopOnce sync.Once
}

// Start starts argv with env added to the harness's environment, its output going to
// the tail (and output, when set).
func Start(name string, argv, env []string, output io.Writer) (*Process, error) {
	p := &Process{name: name, out: &tail{}, done: make(chan struct{})}
	var w io.Writer = p.out
	if output != nil {
		w = io.MultiWriter(p.out, output)
	}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(p.cmd.Environ(), env...)
	p.cmd.Stdout = w
	p.cmd.Stderr = w
	p.cmd.SysProcAttr = sysProcAttr()
	// Bounds Wait if something outside the group still holds the output pipe.
	p.cmd.WaitDelay = 2 * time.Second
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// PID returns the child's process ID, which is also its process group ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the child has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop kills the child's whole process group and waits until the child is reaped. The
// emulators keep nothing worth a graceful shutdown, and SIGKILL cannot be ignored, so the
// launcher scripts cannot leave a JVM behind.
func (p *Process) Stop() error {
	var err error
	p.stopOnce.Do(func() {
		if kerr := syscall.Kill(-p.PID(), syscall.SIGKILL); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
			err = fmt.Errorf("kill %s process group %d: %w", p.name, p.PID(), kerr)
		}
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			err = errors.Join(err, fmt.Errorf("stop %s: process %d did not exit", p.name, p.PID()))
		}
	})
	return err
}

// Failure describes why a child that should be running is not, with the end of its output.
func (p *Process) Failure() error {
	return fmt.Errorf("%s exited (%v); its last output:\n%s", p.name, p.err, p.out.String())
}

// WaitHTTP polls http://host/ until it answers 200 OK, the child exits or ctx ends.
func (p *Process) WaitHTTP(ctx context.Context, host string) error {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/", nil)
		if err != nil {
			return fmt.Errorf("probe %s: %w", p.name, err)
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return p.Failure()
		case <-ctx.Done():
			return fmt.Errorf("wait for %s on %s: %w; its last output:\n%s", p.name, host, ctx.Err(), p.out.String())
		case <-tick.C:
		}
	}
}

// WaitTCP waits until host accepts TCP connections, the child exits or ctx ends. It is for
// servers where any HTTP request would run user code.
func (p *Process) WaitTCP(ctx context.Context, host string) error {
	var d net.Dialer
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := d.DialContext(dctx, "tcp", host)
		cancel()
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-p.done:
			return p.Failure()
		case <-ctx.Done():
			return fmt.Errorf("wait for %s on %s: %w; its last output:\n%s", p.name, host, ctx.Err(), p.out.String())
		case <-tick.C:
		}
	}
}

// FreePort returns a loopback TCP port that was free a moment ago. A child can lose it to
// another process before binding; callers retry with a new port when the child exits early.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// HostPort joins the loopback address and port.
func HostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// tail keeps the last tailSize bytes written to it, to explain a child's failure.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 8 << 10

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// Output returns the last few kilobytes the child wrote, to explain a failure.
func (p *Process) Output() string { return p.out.String() }

// Err returns how the child exited (the result of Wait), or nil while it runs.
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}
