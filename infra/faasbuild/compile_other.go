//go:build !unix

package faasbuild

import "os/exec"

// killProcessGroupOnCancel: without process groups only build.sh itself is
// killed on cancellation (exec.CommandContext's default).
func killProcessGroupOnCancel(*exec.Cmd) {}
