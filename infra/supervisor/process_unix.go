//go:build unix && !linux

package supervisor

import "syscall"

// sysProcAttr puts a replica in a process group of its own, so that the
// terminal's Ctrl-C reaches only onewindow, which stops the replicas in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
