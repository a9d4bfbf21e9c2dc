package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"
)

// Supervisor backoffs: the first restart is quick, a child that keeps crashing is restarted
// less and less often, and one that ran for stableAfter starts over at minRestart.
const (
	minRestart  = 200 * time.Millisecond
	maxRestart  = 10 * time.Second
	stableAfter = 30 * time.Second
)

// Supervisor keeps one child running, as Cloud Run replaces a crashed instance: when the child
// exits for any reason but Stop, it is started again with the same command, environment and
// so the same port, after a backoff that doubles while it keeps crashing.
type Supervisor struct {
	name      string
	argv, env []string
	out       io.Writer
	ready     func(context.Context, *Process) error

	mu       sync.Mutex
	cur      *Process
	restarts int
	stopped  bool
	stop     chan struct{}
	done     chan struct{}
}

// Supervise starts argv as Start does, waits until ready says the child serves (ready gets
// the child; nil means no wait), and keeps it running until Stop. A restarted child is also
// waited for with ready before it counts as up.
func Supervise(ctx context.Context, name string, argv, env []string, output io.Writer, ready func(context.Context, *Process) error) (*Supervisor, error) {
	s := &Supervisor{name: name, argv: argv, env: env, out: output, ready: ready,
		stop: make(chan struct{}), done: make(chan struct{})}
	p, err := s.start(ctx)
	if err != nil {
		return nil, err
	}
	s.cur = p
	go s.watch()
	return s, nil
}

func (s *Supervisor) start(ctx context.Context) (*Process, error) {
	p, err := Start(s.name, s.argv, s.env, s.out)
	if err != nil {
		return nil, err
	}
	if s.ready != nil {
		if err := s.ready(ctx, p); err != nil {
			return nil, errors.Join(err, p.Stop())
		}
	}
	return p, nil
}

// watch restarts the child whenever it exits, until Stop.
func (s *Supervisor) watch() {
	defer close(s.done)
	wait := minRestart
	for {
		s.mu.Lock()
		p := s.cur
		s.mu.Unlock()
		began := time.Now()
		select {
		case <-p.done:
		case <-s.stop:
			return
		}
		if time.Since(began) > stableAfter {
			wait = minRestart
		}
		if s.out != nil {
			fmt.Fprintf(s.out, "supervisor: %s (pid %d) exited (%v); restarting in %v\n", s.name, p.PID(), p.err, wait)
		}
		for {
			select {
			case <-time.After(wait):
			case <-s.stop:
				return
			}
			wait = min(2*wait, maxRestart)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			np, err := s.start(ctx)
			cancel()
			if err == nil {
				s.mu.Lock()
				if s.stopped { // Stop came while the child started: it must not outlive the supervisor
					s.mu.Unlock()
					_ = np.Stop()
					return
				}
				s.cur, s.restarts = np, s.restarts+1
				s.mu.Unlock()
				break
			}
			if s.out != nil {
				fmt.Fprintf(s.out, "supervisor: restart %s: %v; retrying in %v\n", s.name, err, wait)
			}
		}
	}
}

// PID returns the process ID of the child running now.
func (s *Supervisor) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.PID()
}

// Restarts counts the times the child was started again.
func (s *Supervisor) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

// Kill SIGKILLs the running child's process group, as a crashing instance, and leaves the
// supervisor to restart it.
func (s *Supervisor) Kill() error {
	pid := s.PID()
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s process group %d: %w", s.name, pid, err)
	}
	return nil
}

// Stop ends supervision and stops the child.
func (s *Supervisor) Stop() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	p := s.cur
	s.mu.Unlock()
	return p.Stop()
}
