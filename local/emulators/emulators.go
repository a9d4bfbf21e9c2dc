package emulators

import (
	"github.com/efactori/drivesync/local/proc"

	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Environment variables through which the Google client libraries find the emulators.
const (
	FirestoreEnv = "FIRESTORE_EMULATOR_HOST"
	PubSubEnv    = "PUBSUB_EMULATOR_HOST"
)

// DefaultStartTimeout bounds how long Start waits for an emulator to answer. The JVMs take
// two to three seconds on an idle machine, and much longer when `go test ./...` loads it.
const DefaultStartTimeout = 90 * time.Second

// Options configures Start.
type Options struct {
	// Output receives both emulators' logs. When nil they are dropped, but the end of each
	// log is still kept to explain a failed start.
	Output io.Writer
	// StartTimeout bounds the wait for both emulators to answer; zero means
	// DefaultStartTimeout.
	StartTimeout time.Duration
}

// Emulators is a running pair of Firestore and Pub/Sub emulators on loopback ports.
type Emulators struct {
	// FirestoreHost is the Firestore emulator's host:port, the value for FirestoreEnv.
	FirestoreHost string
	// PubSubHost is the Pub/Sub emulator's host:port, the value for PubSubEnv.
	PubSubHost string

	procs []*proc.Process
}

// emulator describes how to start one emulator.
type emulator struct {
	name    string
	command func(host string, port int) ([]string, error)
}

var (
	firestoreEmulator = emulator{name: "Firestore emulator", command: firestoreCommand}
	pubSubEmulator    = emulator{name: "Pub/Sub emulator", command: pubSubCommand}
)

// Start starts both emulators on free loopback ports and returns once both answer HTTP
// requests. It does not change the environment; pass Env to whatever should use them. If
// either fails to start, Start stops the other and returns an error that, when an emulator
// or Java is not installed, says how to install it.
func Start(ctx context.Context, opts Options) (*Emulators, error) {
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// Both JVMs start in parallel: it halves the wait.
	type result struct {
		p    *proc.Process
		host string
		err  error
	}
	var fs, ps result
	var wg sync.WaitGroup
	wg.Go(func() { fs.p, fs.host, fs.err = startEmulator(ctx, firestoreEmulator, opts.Output) })
	wg.Go(func() { ps.p, ps.host, ps.err = startEmulator(ctx, pubSubEmulator, opts.Output) })
	wg.Wait()

	e := &Emulators{FirestoreHost: fs.host, PubSubHost: ps.host}
	for _, r := range []result{fs, ps} {
		if r.p != nil {
			e.procs = append(e.procs, r.p)
		}
	}
	if err := errors.Join(fs.err, ps.err); err != nil {
		return nil, errors.Join(err, e.Stop())
	}
	return e, nil
}

// startEmulator starts one emulator and waits until it answers. A child that exits before
// answering most likely lost its port to another process, so it is retried on a new one.
func startEmulator(ctx context.Context, em emulator, output io.Writer) (*proc.Process, string, error) {
	const attempts = 3
	var last error
	for range attempts {
		port, err := proc.FreePort()
		if err != nil {
			return nil, "", err
		}
		host := proc.HostPort(port)
		argv, err := em.command("127.0.0.1", port)
		if err != nil {
			return nil, "", err
		}
		p, err := proc.Start(em.name, argv, nil, output)
		if err != nil {
			return nil, "", err
		}
		err = p.WaitHTTP(ctx, host)
		if err == nil {
			return p, host, nil
		}
		lostPort := p.Exited() && ctx.Err() == nil
		last = errors.Join(err, p.Stop())
		if !lostPort {
			break
		}
	}
	return nil, "", fmt.Errorf("start %s: %w", em.name, last)
}

// Env returns the environment entries that point the Google client libraries at e.
func (e *Emulators) Env() []string {
	return []string{FirestoreEnv + "=" + e.FirestoreHost, PubSubEnv + "=" + e.PubSubHost}
}

// Stop kills both emulators and every process they started, and waits until they are gone.
// It is safe to call more than once.
func (e *Emulators) Stop() error {
	var err error
	for _, p := range e.procs {
		err = errors.Join(err, p.Stop())
	}
	return err
}

// pids returns the process IDs (equal to the process group IDs) of the running emulators.
func (e *Emulators) pids() []int {
	var pids []int
	for _, p := range e.procs {
		pids = append(pids, p.PID())
	}
	return pids
}
