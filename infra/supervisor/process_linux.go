package supervisor

import "syscall"

// sysProcAttr puts a replica in a process group of its own, so that the
// terminal's Ctrl-C reaches only onewindow, which stops the replicas in
// order; and asks the kernel to send it SIGTERM if onewindow dies without
// stopping it (kill -9), so that no replica outlives the stack. (The
// kernel sends it when the OS thread that started the process exits; the
// Go runtime keeps its threads, except those of goroutines that exit
// locked to one, which this program never does.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
