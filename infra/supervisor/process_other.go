//go:build !unix

package supervisor

import "syscall"

// sysProcAttr: nothing special where there are no process groups; the
// local stack is made for Linux and macOS.
func sysProcAttr() *syscall.SysProcAttr { return nil }
