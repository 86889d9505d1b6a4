package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name the test sentinels monitor their primary by.
const MasterName = "iom"

// Sentinel is a running Redis Sentinel (redis-server --sentinel) watching one primary. It calls
// the primary down after a second of silence and, with a quorum of one, fails over on its own.
type Sentinel struct {
	t    testing.TB
	Addr string // 127.0.0.1:port
	cmd  *exec.Cmd
}

// StartSentinel starts a sentinel monitoring primary as MasterName, stopped when the test ends.
func StartSentinel(t testing.TB, primary *Server) *Sentinel {
	t.Helper()
	s := &Sentinel{t: t, Addr: freeAddr(t)}
	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(primary.Addr)
	_, own, _ := net.SplitHostPort(s.Addr)
	// The sentinel rewrites its config file as it learns the replicas: it must be its own.
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf(`bind 127.0.0.1
port %s
dir %s
protected-mode no
loglevel warning
sentinel monitor %s %s %s 1
sentinel down-after-milliseconds %s 1000
sentinel failover-timeout %s 5000
sentinel parallel-syncs %s 1
`, own, dir, MasterName, host, port, MasterName, MasterName, MasterName)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command("redis-server", conf, "--sentinel")
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s.Primary() == primary.Addr {
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the sentinel on %s does not name the primary %s", s.Addr, primary.Addr)
	return nil
}

// Primary is the address the sentinel names as MasterName's primary now, "" when it does not
// answer.
func (s *Sentinel) Primary() string {
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr, DisableIdentity: true, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	addr, err := c.GetMasterAddrByName(ctx, MasterName).Result()
	if err != nil || len(addr) != 2 {
		return ""
	}
	return net.JoinHostPort(addr[0], addr[1])
}

func (s *Sentinel) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}
