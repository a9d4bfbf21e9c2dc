package proc_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/proc"
)

// Stop must take down the child and everything the child started, like a launcher script's JVM.
func TestStopKillsTheWholeGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := dir + "/grandchild"
	p, err := proc.Start("shell", []string{"sh", "-c", "sleep 60 & echo $! > " + pidFile + "; wait"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var grandchild int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(pidFile)
		if grandchild, err = strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			break
		}
	}
	if grandchild == 0 {
		t.Fatal("the child never reported its own child")
	}
	if p.Exited() {
		t.Fatal("the child exited before Stop")
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !p.Exited() {
		t.Error("Exited() = false after Stop")
	}
	// The grandchild is not ours to reap; give init a moment to do it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := syscall.Kill(grandchild, 0); errors.Is(err, syscall.ESRCH) {
			break
		}
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(grandchild) + "/stat"); strings.Contains(string(b), ") Z ") {
			break // a zombie waiting for init has already stopped running
		}
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d survived Stop", grandchild)
		}
	}
}

func TestWaitReportsAnEarlyExit(t *testing.T) {
	t.Parallel()
	p, err := proc.Start("failing", []string{"sh", "-c", "echo boom >&2; exit 3"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 0 never accepts a connection, so only the child's exit can end the wait; a free
	// port could be taken by a parallel test's server meanwhile.
	err = p.WaitTCP(ctx, proc.HostPort(0))
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("WaitTCP = %v, want the child's exit with its output", err)
	}
	if p.Err() == nil {
		t.Error("Err() = nil for a child that exited with status 3")
	}
}
