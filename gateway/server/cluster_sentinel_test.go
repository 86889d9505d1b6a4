package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gt "github.com/iomhq/iom/internal/gatewaytest"
	"github.com/iomhq/iom/internal/redistest"
)

// Two gateways that find Redis through Sentinel (cluster.redis.sentinel) share one rate limit,
// and neither shows the Redis address or password.
func TestClusterThroughSentinel(t *testing.T) {
	primary := redistest.Start(t)
	s := redistest.StartSentinel(t, primary)
	f := startFake(t)
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
    sentinel:
      masterName: %s
      addrs: [%q]
keys:
  - name: limited
    key: %s
    limits: {rps: 0.001, burst: 7}
models:
  - id: echo
    name: Echo
    endpoint: %s
    provider: openai
`, filepath.Join(dir, "data"), gt.AdminToken, 'a'+i, redistest.MasterName, s.Addr, limitedKey, f.URL)
		path := filepath.Join(dir, "iom.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		nodes[i] = gt.StartFile(t, dir, path)
	}
	ok := 0
	for i := range 12 {
		switch r := chatStatus(nodes[i%2], limitedKey, "echo"); r.Status {
		case 200:
			ok++
		case 429:
		default:
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if ok != 7 {
		t.Fatalf("%d of 12 requests admitted across two nodes, want exactly 7", ok)
	}
	r := nodes[1].Admin("GET", "/api/cluster", nil)
	if r.Status != 200 || r.JSON(t)["redis"] != "up" || strings.Contains(string(r.Body), primary.Addr) || strings.Contains(string(r.Body), s.Addr) {
		t.Fatalf("GET /api/cluster = %d %s", r.Status, r.Body)
	}
}
