package main

import (
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// A child is a process the bench started: the mock, the bare proxy, nginx, the gateways.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited
}

// children are stopped on every way out: the end of the run, fatalf, SIGINT and SIGTERM (log.Fatal
// would skip deferred calls and leave them running). On Linux they are also told to stop when the
// bench dies without a chance to do it.
var children struct {
	sync.Mutex
	list    []*child
	scratch string // the bench's temp dir, removed after them
}

func startChild(name, path string, args ...string) *child {
	cmd := exec.Command(path, args...)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	stopWithParent(cmd)
	if err := cmd.Start(); err != nil {
		fatalf("cannot start %s: %v", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(c.done)
	}()
	children.Lock()
	children.list = append(children.list, c)
	children.Unlock()
	return c
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// waitReady polls addr until c accepts connections there, and fails at once if c exits first.
func (c *child) waitReady(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		select {
		case <-c.done:
			return fmt.Errorf("%s exited before listening on %s: %v", c.name, addr, c.cmd.ProcessState)
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not start listening on %s: %w", c.name, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cleanup stops the children, each with SIGTERM and, if it has not exited within 5s, SIGKILL,
// then removes the temp dir. It may run more than once.
func cleanup() {
	children.Lock()
	defer children.Unlock()
	for _, c := range children.list {
		c.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range children.list {
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			log.Printf("%s did not stop on SIGTERM; killing it", c.name)
			c.cmd.Process.Kill()
			<-c.done
		}
	}
	children.list = nil
	if children.scratch != "" {
		os.RemoveAll(children.scratch)
	}
}

// fatalf is log.Fatalf that stops the children first.
func fatalf(format string, args ...any) {
	log.Printf(format, args...)
	cleanup()
	os.Exit(1)
}

// cleanupOnSignal stops the children and exits on SIGINT or SIGTERM.
func cleanupOnSignal() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		log.Printf("%v: stopping", s)
		cleanup()
		os.Exit(1)
	}()
}
