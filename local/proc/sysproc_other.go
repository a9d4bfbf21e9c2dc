//go:build unix && !linux

package proc

import "syscall"

// sysProcAttr puts a child in its own process group, so stopping it can signal everything it
// started. Only Linux can also tie the child's life to the harness.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
