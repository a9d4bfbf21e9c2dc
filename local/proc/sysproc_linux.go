package proc

import "syscall"

// sysProcAttr puts a child in its own process group, so stopping it can signal everything it
// started, and has the kernel kill it if the harness dies first, so a crashed test binary
// leaks no JVM.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
