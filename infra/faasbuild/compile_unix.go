//go:build unix

package faasbuild

import (
	"os/exec"
	"syscall"
)

// killProcessGroupOnCancel runs cmd in a process group of its own and makes
// cancellation kill the whole group: build.sh's go test and go build would
// otherwise outlive it.
func killProcessGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
