//go:build linux

package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

const acceptChildEnv = "IOM_TEST_ACCEPT_CHILD"

// Out of file descriptors, accept fails (EMFILE). fasthttp takes that for the end of its
// listener, and the gateway would run on without accepting, for good; the gateway retries
// instead, and once descriptors are free it accepts and answers again.
//
// The gateway runs in a child process (this test, run again) whose descriptor limit is lowered
// once the gateway has started; the parent, with its own limit, opens connections until the
// child cannot accept them.
func TestAcceptSurvivesDescriptorExhaustion(t *testing.T) {
	if os.Getenv(acceptChildEnv) == "1" {
		acceptChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptSurvivesDescriptorExhaustion$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), acceptChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close() // the child ends when its stdin does
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("the child did not end")
		}
	})
	await := func(prefix string) string {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the child ended before saying %q: %s", prefix, stderr.String())
				}
				if v, found := strings.CutPrefix(l, prefix); found {
					return strings.TrimSpace(v)
				}
			case <-timeout:
				t.Fatalf("the child did not say %q in 60 s", prefix)
			}
		}
	}
	addr := await("addr ")

	// More connections than the child has descriptors left: the rest wait in the backlog.
	var conns []net.Conn
	for range 300 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, c)
	}
	if msg := await("exhausted"); msg != "" {
		t.Fatalf("the child: %s", msg)
	}
	for _, c := range conns {
		c.Close()
	}

	client := &http.Client{Timeout: 15 * time.Second}
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+gt.Key)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("the gateway no longer answers once descriptors are free: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// acceptChild runs the gateway for TestAcceptSurvivesDescriptorExhaustion, printing its address,
// then "exhausted" once an accept failed for want of descriptors, and runs until stdin ends.
func acceptChild(t *testing.T) {
	g := gt.Start(t, "", "")
	// A descriptor limit a few above the highest in use.
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	high := f.Fd()
	f.Close()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	saved := lim
	lim.Cur = uint64(high) + 16
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &saved)
	fmt.Printf("addr %s\n", g.DataAddr())
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(g.Logs(), "too many open files") {
		if time.Now().After(deadline) {
			fmt.Println("exhausted never: no accept failed in 30 s")
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("exhausted")
	io.Copy(io.Discard, os.Stdin)
}
