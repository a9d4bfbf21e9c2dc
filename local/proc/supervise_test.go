package proc_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/proc"
)

// A supervised child that is SIGKILLed, or exits by itself, is started again with the same
// command; after Stop it stays down.
func TestSupervisorRestartsAKilledChild(t *testing.T) {
	t.Parallel()
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	host := proc.HostPort(port)
	// A server on a fixed port: the restarted child must get the same one.
	argv := []string{"python3", "-c", "import http.server,sys; http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.BaseHTTPRequestHandler).serve_forever()", ""}
	argv[3] = host[len("127.0.0.1:"):]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := proc.Supervise(ctx, "server", argv, nil, nil, func(ctx context.Context, p *proc.Process) error { return p.WaitTCP(ctx, host) })
	if err != nil {
		t.Fatal(err)
	}
	first := s.PID()
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	for s.Restarts() < 1 {
		if ctx.Err() != nil {
			t.Fatal("the killed child was not restarted within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	second := s.PID()
	if second == first {
		t.Errorf("PID after restart = %d, the killed one", second)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // longer than the first restart backoff
	if err := syscall.Kill(second, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("child %d still runs after Stop (kill 0: %v)", second, err)
	}
	if got := s.Restarts(); got != 1 {
		t.Errorf("Restarts = %d after Stop, want 1", got)
	}
}
