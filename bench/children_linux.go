package main

import (
	"os/exec"
	"syscall"
)

// stopWithParent has the kernel send cmd SIGTERM when the bench dies, even by SIGKILL.
func stopWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
