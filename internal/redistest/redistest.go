// Package redistest starts a real redis-server for tests: on a free port of 127.0.0.1, in a temp
// dir, without persistence, stopped when the test ends.
package redistest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server.
type Server struct {
	t    testing.TB
	Addr string // 127.0.0.1:port
	dir  string
	cmd  *exec.Cmd
	args []string // more arguments: a replica's replicaof
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Start starts a redis-server. Without one on the PATH the test is skipped, or fails when
// IOM_REQUIRE_REDIS is set (as CI sets it).
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("IOM_REQUIRE_REDIS") != "" {
			t.Fatal("redis-server is required (IOM_REQUIRE_REDIS is set) but not on the PATH")
		}
		t.Skip("redis-server is not installed")
	}
	s := &Server{t: t, Addr: freeAddr(t), dir: t.TempDir()}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// StartReplica starts a redis-server replicating primary.
func StartReplica(t testing.TB, primary *Server) *Server {
	t.Helper()
	host, port, _ := net.SplitHostPort(primary.Addr)
	s := &Server{t: t, Addr: freeAddr(t), dir: t.TempDir(), args: []string{"--replicaof", host, port}}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (s *Server) start() {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{"--bind", "127.0.0.1", "--port", port, "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s.ping() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("redis-server did not answer on %s", s.Addr)
}

// Stop stops the server (its data is lost: it keeps none on disk).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.Resume() // a paused process is killed all the same, but let it go first
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart stops the server and starts it again on the same port, empty.
func (s *Server) Restart() {
	s.Stop()
	s.start()
}

// Client is a go-redis client of the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DisableIdentity: true})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

func (s *Server) ping() bool {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DisableIdentity: true, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Ping(ctx).Err() == nil
}
