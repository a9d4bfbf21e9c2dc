package emulators

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/proc"
)

func TestNewProjectID(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	tests := []struct {
		name, testName, wantPrefix string
	}{
		{"plain", "TestFoo", "t-testfoo-"},
		{"subtest punctuation collapses", "TestFoo/a_b#01", "t-testfoo-a-b-01-"},
		{"long name is cut", "TestAVeryLongTestNameThatGoesOnAndOn/sub", "t-testaverylongtestna-"},
		{"cut never ends in a hyphen", "TestABCDEFGHIJKLMN/xyz", "t-testabcdefghijklmn-"},
		{"no usable characters", "///", "t-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := newProjectID(tt.testName)
			if !strings.HasPrefix(got, tt.wantPrefix) {
				t.Errorf("newProjectID(%q) = %q, want prefix %q", tt.testName, got, tt.wantPrefix)
			}
			if !valid.MatchString(got) {
				t.Errorf("newProjectID(%q) = %q, not a valid project ID", tt.testName, got)
			}
			if strings.Contains(got, "--") {
				t.Errorf("newProjectID(%q) = %q, has a double hyphen", tt.testName, got)
			}
			if other := newProjectID(tt.testName); other == got {
				t.Errorf("newProjectID(%q) returned %q twice, want a random suffix", tt.testName, got)
			}
		})
	}
}

func TestMissingJavaSaysHowToInstall(t *testing.T) {
	t.Setenv("JAVA", filepath.Join(t.TempDir(), "no-java"))
	_, err := javaBinary()
	if !errors.Is(err, errMissing) {
		t.Fatalf("javaBinary() error = %v, want errMissing", err)
	}
	for _, want := range []string{"apt-get install", "google-cloud-cli-firestore-emulator", "google-cloud-cli-pubsub-emulator", "default-jre-headless"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestStopLeavesNoProcess is not parallel, like TestCrashedHarnessLeaksNoEmulator: each
// starts a private pair of JVMs, and starting them beside the shared pair on a small machine
// slows every test more than running them first, one at a time.
func TestStopLeavesNoProcess(t *testing.T) {
	e, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	groups := e.pids()
	if got, want := len(groups), 2; got != want {
		t.Fatalf("started %d processes, want %d", got, want)
	}
	var members []int
	for _, g := range groups {
		members = append(members, processGroup(t, g)...)
	}
	java := 0
	for _, pid := range members {
		if comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); err == nil && strings.TrimSpace(string(comm)) == "java" {
			java++
		}
	}
	if java < 2 {
		t.Errorf("found %d java processes in the emulators' groups %v (members %v), want at least 2", java, groups, members)
	}
	for _, host := range []string{e.FirestoreHost, e.PubSubHost} {
		if err := ping(t.Context(), host); err != nil {
			t.Errorf("emulator on %s does not answer before Stop: %v", host, err)
		}
	}

	if err := e.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	for _, g := range groups {
		if left := processGroup(t, g); len(left) > 0 {
			t.Errorf("process group %d still has processes %v after Stop", g, left)
		}
	}
	for _, pid := range members {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			t.Errorf("process %d still exists after Stop", pid)
		}
	}
	for _, host := range []string{e.FirestoreHost, e.PubSubHost} {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		if err := ping(ctx, host); err == nil {
			t.Errorf("emulator on %s still answers after Stop", host)
		}
		cancel()
	}
}

// processGroup lists the processes whose process group is pgid, from /proc.
func processGroup(t *testing.T, pgid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("read /proc: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited while we looked
		}
		// The command name in parentheses may hold spaces; the fields after it do not.
		// After ")" come: state, ppid, pgrp.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) >= 3 && fields[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestCheckRunning(t *testing.T) {
	t.Parallel()
	ensure(t)
	fs, ps := os.Getenv(FirestoreEnv), os.Getenv(PubSubEnv)
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dead := proc.HostPort(port) // nothing listens there any more
	tests := []struct {
		name     string
		fs, ps   string
		wantErrs []string // substrings the error must hold; none means no error
	}{
		{"both answer", fs, ps, nil},
		{"Firestore dead", dead, ps, []string{FirestoreEnv + "=" + dead, "does not answer"}},
		{"Pub/Sub dead", fs, dead, []string{PubSubEnv + "=" + dead, "does not answer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := checkRunning(t.Context(), tt.fs, tt.ps)
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Errorf("checkRunning = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("checkRunning = nil, want an error")
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("checkRunning error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// crashChildEnv makes TestCrashedHarnessLeaksNoEmulator act as the harness that crashes.
const crashChildEnv = "EMULATORS_TEST_CRASH_CHILD"

func TestCrashedHarnessLeaksNoEmulator(t *testing.T) {
	if os.Getenv(crashChildEnv) == "1" {
		// The child: start a pair, report the JVMs' process IDs, and wait to be killed.
		e, err := Start(context.Background(), Options{})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("pids:", strings.Trim(fmt.Sprint(e.pids()), "[]"))
		time.Sleep(time.Minute)
		os.Exit(1)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashedHarnessLeaksNoEmulator$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start crashing harness: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	var pids []int
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		line := scanner.Text()
		if rest, ok := strings.CutPrefix(line, "pids: "); ok {
			for _, f := range strings.Fields(rest) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("bad pid line %q", line)
				}
				pids = append(pids, pid)
			}
			break
		}
		if strings.HasPrefix(line, "error:") {
			t.Fatalf("crashing harness: %s", line)
		}
	}
	if got, want := len(pids), 2; got != want {
		t.Fatalf("crashing harness reported %d emulator pids, want %d", got, want)
	}
	go io.Copy(io.Discard, stdout)

	// SIGKILL gives the harness no chance to stop anything: only the kernel can.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill harness: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("emulator process %d outlived its killed harness", pid)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}
