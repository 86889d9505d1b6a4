package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
	"github.com/iomhq/iom/internal/redistest"
	"github.com/iomhq/iom/internal/vmtest"
)

const (
	limitedKey  = "test-key-limited-0123456789"
	budgetedKey = "test-key-budgeted-0123456789"
)

// newCluster starts a redis-server, a fake OpenAI upstream and n gateways sharing them.
func newCluster(t *testing.T, n int) (*redistest.Server, *fakeupstream.OpenAI, []*gt.Gateway) {
	t.Helper()
	rs := redistest.Start(t)
	up, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(up.Close)
	return rs, up, startCluster(t, rs, n, up.URL)
}

// startCluster starts n gateways sharing the Redis server rs, each on its own store, all on the
// same config but their node ids.
func startCluster(t *testing.T, rs *redistest.Server, n int, upstream string) []*gt.Gateway {
	t.Helper()
	nodes := make([]*gt.Gateway, n)
	for i := range nodes {
		dir := t.TempDir()
		cfg := fmt.Sprintf(`server:
  listen: "127.0.0.1:0"
  adminListen: "127.0.0.1:0"
  dataDir: %q
  authFailures: {limit: 100000}  # the tests poll with keys a node does not know yet
admin:
  token: %s
cluster:
  nodeId: gw-%c
  redis:
    url: %s
  secret: the-cluster-secret-0123
keys:
  - name: limited
    key: %s
    limits: {rps: 0.001, burst: 30}
  - name: budgeted
    key: %s
    limits: {budget: {usd: 1.00, period: day}}
models:
  - id: priced
    name: Priced
    endpoint: %s
    provider: openai
    inputCostPerToken: 0.02
    outputCostPerToken: 0.04
`, filepath.Join(dir, "data"), gt.AdminToken, 'a'+i, rs.URL(), limitedKey, budgetedKey, upstream)
		path := filepath.Join(dir, "iom.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		nodes[i] = gt.StartFile(t, dir, path)
	}
	return nodes
}

// Three gateways on one Redis admit a key's requests against one limit and one budget: a key
// allowed a burst of 30 gets exactly 30 of 45 requests sent in turn to the three, and a $1.00
// budget buys exactly ten $0.10 calls.
func TestClusterLimitsAreExact(t *testing.T) {
	rs, _, nodes := newCluster(t, 3)
	chat := `{"model":"priced","messages":[{"role":"user","content":"hi"}]}`

	ok := 0
	for i := range 45 {
		switch r := nodes[i%3].Data("POST", "/v1/chat/completions", limitedKey, chat); r.Status {
		case 200:
			ok++
		case 429:
		default:
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if ok != 30 {
		t.Fatalf("%d of 45 requests admitted across 3 nodes, want exactly 30", ok)
	}

	ran := 0
	for i := range 15 {
		r := nodes[i%3].Data("POST", "/v1/chat/completions", budgetedKey, chat)
		switch r.Status {
		case 200:
			if c := r.Header.Get("x-iom-cost-usd"); !strings.HasPrefix(c, "0.1") {
				t.Fatalf("a call cost %s, want $0.10", c)
			}
			ran++
		case 402:
		default:
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if ran != 10 {
		t.Fatalf("%d calls of $0.10 ran on a $1.00 budget across 3 nodes, want exactly 10", ran)
	}

	r := nodes[2].Admin("GET", "/api/cluster", nil)
	body := r.JSON(t)
	list, _ := body["nodes"].([]any)
	if r.Status != 200 || body["enabled"] != true || body["redis"] != "up" || len(list) != 3 || body["nodeId"] != "gw-c" {
		t.Fatalf("GET /api/cluster = %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), rs.Addr) {
		t.Fatalf("GET /api/cluster names the Redis address: %s", r.Body)
	}
}

// A gateway without cluster settings says so.
func TestClusterOff(t *testing.T) {
	g := gt.Start(t, "", "")
	r := g.Admin("GET", "/api/cluster", nil)
	if r.Status != 200 || r.JSON(t)["enabled"] != false {
		t.Fatalf("GET /api/cluster = %d %s", r.Status, r.Body)
	}
}

// Each node pushes its metrics to one VictoriaMetrics, labelled with its node id: a query there
// sees the requests of every node.
func TestMetricsPushedToVictoriaMetrics(t *testing.T) {
	vm := vmtest.Start(t)
	up, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	var nodes []*gt.Gateway
	for _, id := range []string{"gw-a", "gw-b"} {
		nodes = append(nodes, vmNode(t, id, vm.URL, up.URL))
	}
	for i, n := range nodes {
		for range i + 1 {
			if r := n.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`); r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		}
	}
	got := map[string]string{}
	gt.Eventually(t, 20*time.Second, "both nodes' requests in VictoriaMetrics", func() bool {
		labels, values, err := vm.Series(t.Context(), `sum by (node) (iom_requests_total{model="m"})`)
		if err != nil {
			return false
		}
		clear(got)
		for i, l := range labels {
			got[l["node"]] = values[i]
		}
		return got["gw-a"] == "1" && got["gw-b"] == "2"
	})
}

// A key made or revoked through any node's admin API works, or stops working, on every node
// within a second. While Redis is away a key change is refused and changes nothing, and a node
// restarted then still knows the keys it had.
func TestClusterSharesKeys(t *testing.T) {
	rs, _, nodes := newCluster(t, 3)
	chat := `{"model":"priced","messages":[{"role":"user","content":"hi"}]}`
	works := func(n *gt.Gateway, key string) bool {
		return n.Data("POST", "/v1/chat/completions", key, chat).Status == 200
	}

	r := nodes[0].Admin("POST", "/api/keys", `{"name":"shared-app","org":"acme"}`)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	created := r.JSON(t)
	value, id := created["key"].(string), created["id"].(string)
	for _, n := range nodes[1:] {
		gt.Eventually(t, time.Second, "the new key works on every node", func() bool { return works(n, value) })
	}

	if r := nodes[2].Admin("DELETE", "/api/keys/"+id, nil); r.Status != 204 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	for _, n := range nodes[:2] {
		gt.Eventually(t, time.Second, "the revoked key is refused by every node", func() bool {
			return n.Data("POST", "/v1/chat/completions", value, chat).Status == 401
		})
	}

	r = nodes[1].Admin("POST", "/api/keys", `{"name":"kept","org":"acme"}`)
	kept := r.JSON(t)["key"].(string)
	// Every node has it before Redis goes: whichever node seeds an empty Redis later seeds it.
	for _, n := range []*gt.Gateway{nodes[0], nodes[2]} {
		gt.Eventually(t, time.Second, "the second key works on every node", func() bool { return works(n, kept) })
	}

	rs.Stop()
	r = nodes[0].Admin("POST", "/api/keys", `{"name":"while-down","org":"acme"}`)
	if r.Status != 503 || strings.Contains(string(r.Body), rs.Addr) {
		t.Fatalf("create with Redis down: %d %s", r.Status, r.Body)
	}
	for _, k := range nodes[0].Admin("GET", "/api/keys", nil).JSON(t)["data"].([]any) {
		if k.(map[string]any)["name"] == "while-down" {
			t.Fatal("a key refused while Redis was down exists anyway")
		}
	}
	dir, path := nodes[0].Dir, nodes[0].Config
	nodes[0].Stop()
	nodes[0] = gt.StartFile(t, dir, path)
	if !works(nodes[0], kept) {
		t.Fatal("a node restarted while Redis is down lost the cluster's keys")
	}

	// Redis comes back empty; the first node to reload seeds it with its keys, and changes flow again.
	rs.Restart()
	r = nodes[1].Admin("POST", "/api/keys", `{"name":"after","org":"acme"}`)
	defer func() {
		if t.Failed() {
			t.Logf("last create: %d %s", r.Status, r.Body)
		}
	}()
	gt.Eventually(t, 5*time.Second, "key changes are shared again", func() bool {
		if r.Status != 201 {
			r = nodes[1].Admin("POST", "/api/keys", `{"name":"after","org":"acme"}`)
			return false
		}
		return works(nodes[2], r.JSON(t)["key"].(string))
	})
	if !works(nodes[2], kept) {
		t.Fatal("the cluster lost a key when Redis restarted empty")
	}
}

// A pipeline made, changed or deleted through any node's admin API is served, changed or gone
// on every node within a second; while Redis is away a change is refused and changes nothing.
func TestClusterSharesPipelines(t *testing.T) {
	rs, _, nodes := newCluster(t, 3)
	pipe := func(name string) string {
		return `{"id":"relay","name":"` + name + `","nodes":[
		{"id":"in","type":"input"},{"id":"m","type":"model","data":{"model":"priced","input":"input.text"}},{"id":"out","type":"output"}],
		"edges":[{"source":"in","target":"m"},{"source":"m","target":"out"}]}`
	}
	name := func(n *gt.Gateway) any {
		r := n.Admin("GET", "/api/pipelines/relay", nil)
		if r.Status != 200 {
			return r.Status
		}
		return r.JSON(t)["name"]
	}
	if r := nodes[0].Admin("POST", "/api/pipelines", pipe("Relay")); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	gt.Eventually(t, time.Second, "the pipeline runs on node c", func() bool {
		return nodes[2].Data("POST", "/v1/pipelines/relay/run", budgetedKey, `{"text":"hi"}`).Status == 200
	})
	if m := gt.Do(t, "GET", nodes[2].AdminURL+"/metrics", "", nil).Body; !strings.Contains(string(m), `pipeline="relay"`) {
		t.Fatalf("node c does not report the pipeline it ran:\n%s", m)
	}
	if r := nodes[1].Admin("PUT", "/api/pipelines/relay", pipe("Relay 2")); r.Status != 200 {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	gt.Eventually(t, time.Second, "the change reaches node a", func() bool { return name(nodes[0]) == "Relay 2" })
	// Deleted on node b, it is gone from every node, and from the metrics of node c, which ran it.
	if r := nodes[1].Admin("DELETE", "/api/pipelines/relay", nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	for _, n := range []*gt.Gateway{nodes[0], nodes[2]} {
		gt.Eventually(t, time.Second, "the pipeline is gone from every node", func() bool { return name(n) == 404 })
	}
	gt.Eventually(t, time.Second, "node c forgets the deleted pipeline's metrics", func() bool {
		return !strings.Contains(string(gt.Do(t, "GET", nodes[2].AdminURL+"/metrics", "", nil).Body), `pipeline="relay"`)
	})
	rs.Stop()
	if r := nodes[0].Admin("POST", "/api/pipelines", pipe("Down")); r.Status != 503 {
		t.Fatalf("create with Redis down: %d %s", r.Status, r.Body)
	}
	if got := name(nodes[0]); got != 404 {
		t.Fatalf("a pipeline refused while Redis was down exists anyway: %v", got)
	}
}

// A model registered, changed or deleted through any node's admin API is served, changed or gone
// on every node within a second, its upstream key with it; Redis holds the key only encrypted.
func TestClusterSharesModels(t *testing.T) {
	rs, up, nodes := newCluster(t, 3)
	const upstreamKey = "sk-shared-upstream-key-0123456789"
	model := func(name string) string {
		return `{"id":"shared","name":"` + name + `","endpoint":"` + up.URL + `","provider":"openai","securityPolicy":"public","apiKey":"` + upstreamKey + `"}`
	}
	chat := `{"model":"shared","messages":[{"role":"user","content":"hi"}]}`
	if r := nodes[0].Admin("POST", "/api/models", model("Shared")); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	gt.Eventually(t, time.Second, "node b serves the new model with its key", func() bool {
		return nodes[1].Data("POST", "/v1/chat/completions", budgetedKey, chat).Status == 200
	})
	if got := up.Last().Authorization; got != "Bearer "+upstreamKey {
		t.Fatalf("node b called the upstream with %q", got)
	}
	for _, v := range rs.Client().HVals(t.Context(), "iom:state:models").Val() {
		if strings.Contains(v, upstreamKey) || strings.Contains(v, up.URL) {
			t.Fatal("Redis holds a shared model in the clear")
		}
	}
	if r := nodes[1].Admin("PUT", "/api/models/shared", model("Renamed")); r.Status != 200 {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	gt.Eventually(t, time.Second, "the change reaches node c", func() bool {
		r := nodes[2].Admin("GET", "/api/models/shared", nil)
		return r.Status == 200 && r.JSON(t)["name"] == "Renamed"
	})
	if r := nodes[2].Admin("DELETE", "/api/models/shared", nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	gt.Eventually(t, time.Second, "the model is gone from node a", func() bool {
		return nodes[0].Data("POST", "/v1/chat/completions", budgetedKey, chat).Status == 404
	})
}

// A model whose cache is shared answers a question asked on one node from the cache on another:
// the upstream is called once for the cluster.
func TestClusterSharesTheCache(t *testing.T) {
	rs, up, nodes := newCluster(t, 2)
	model := `{"id":"cached","name":"Cached","endpoint":"` + up.URL + `","provider":"openai","securityPolicy":"public","cache":{"ttlSeconds":60,"shared":true}}`
	if r := nodes[0].Admin("POST", "/api/models", model); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	chat := `{"model":"cached","messages":[{"role":"user","content":"the same question"}]}`
	gt.Eventually(t, time.Second, "node b knows the model", func() bool {
		return nodes[1].Admin("GET", "/api/models/cached", nil).Status == 200
	})
	r := nodes[0].Data("POST", "/v1/chat/completions", budgetedKey, chat)
	if r.Status != 200 || r.Header.Get("x-iom-cache") != "miss" {
		t.Fatalf("first: %d %v", r.Status, r.Header)
	}
	calls := up.Count()
	gt.Eventually(t, 2*time.Second, "the answer is in the shared cache", func() bool {
		return len(rs.Client().Keys(t.Context(), "iom:cache:*").Val()) > 0
	})
	r2 := nodes[1].Data("POST", "/v1/chat/completions", budgetedKey, chat)
	if r2.Header.Get("x-iom-cache") != "hit" || string(r2.Body) != string(r.Body) || up.Count() != calls {
		t.Fatalf("the hit differs or reached the upstream (%d calls): %s", up.Count()-calls, r2.Body)
	}
	for _, k := range rs.Client().Keys(t.Context(), "iom:cache:*").Val() {
		if v := rs.Client().Get(t.Context(), k).Val(); strings.Contains(v, "the same question") {
			t.Fatal("the shared cache holds an answer in the clear")
		}
	}
}

// Live statistics merge every node's: calls served by node a show in node b's registry, which
// auto routing reads too.
func TestClusterMergesLiveStats(t *testing.T) {
	_, _, nodes := newCluster(t, 2)
	chat := `{"model":"priced","messages":[{"role":"user","content":"hi"}]}`
	for range 3 {
		if r := nodes[0].Data("POST", "/v1/chat/completions", budgetedKey, chat); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	if r := nodes[1].Data("POST", "/v1/chat/completions", budgetedKey, chat); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	gt.Eventually(t, 6*time.Second, "node b's registry counts node a's calls", func() bool {
		st, _ := nodes[1].Admin("GET", "/api/models/priced", nil).JSON(t)["stats"].(map[string]any)
		return st != nil && st["requests"] == float64(4)
	})
}
