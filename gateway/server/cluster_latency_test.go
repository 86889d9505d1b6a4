package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
	"github.com/iomhq/iom/internal/redistest"
)

// Least-latency balancing reads the cluster's merged view: replica A, slow, was called only by
// node a; node b, which never called it, sends none of its calls there once the nodes have
// exchanged their live statistics.
func TestClusterLeastLatencyMergesNodes(t *testing.T) {
	rs := redistest.Start(t)
	slow, fast := startFake(t), startFake(t)
	slow.Faults = func(int64, *fakeupstream.Received) fakeupstream.Fault {
		return fakeupstream.Fault{Delay: 150 * time.Millisecond}
	}
	nodes := make([]*gt.Gateway, 2)
	for i := range nodes {
		dir := t.TempDir()
		cfg := fmt.Sprintf(`server:
  listen: "127.0.0.1:0"
  adminListen: "127.0.0.1:0"
  dataDir: %q
admin:
  token: %s
cluster:
  nodeId: gw-%c
  redis:
    url: %s
keys:
  - name: app
    key: %s
models:
  - id: fastest
    name: Least latency
    provider: openai
    loadBalancing: least-latency
    replicas:
      - {endpoint: %q}
      - {endpoint: %q}
`, filepath.Join(dir, "data"), gt.AdminToken, 'a'+i, rs.URL(), gt.Key, slow.URL, fast.URL)
		path := filepath.Join(dir, "iom.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		nodes[i] = gt.StartFile(t, dir, path)
	}
	for range 6 {
		if r := chatStatus(nodes[0], gt.Key, "fastest"); r.Status != 200 {
			t.Fatalf("node a: %d %s", r.Status, r.Body)
		}
	}
	if slow.Count() == 0 {
		t.Fatal("node a never called the slow replica")
	}
	gt.Eventually(t, 8*time.Second, "node b has node a's statistics", func() bool {
		st, _ := nodes[1].Admin("GET", "/api/models/fastest", nil).JSON(t)["stats"].(map[string]any)
		return st != nil && st["requests"] == float64(6)
	})
	before := slow.Count()
	for range 6 {
		if r := chatStatus(nodes[1], gt.Key, "fastest"); r.Status != 200 {
			t.Fatalf("node b: %d %s", r.Status, r.Body)
		}
	}
	if n := slow.Count() - before; n != 0 {
		t.Fatalf("node b sent %d of 6 calls to the replica node a found slow", n)
	}
}
