package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
	"github.com/iomhq/iom/internal/redistest"
)

// Keys of the fault tests' cluster: busy has a limit far above what the tests send, so that
// each of its requests is checked against Redis; fresh is used only once Redis is back.
const (
	busyKey  = "test-key-busy-0123456789"
	freshKey = "test-key-fresh-0123456789"
	// freshBurst is what a key with a rate of one request per 1000 s admits at once.
	freshBurst = 12
)

// buildIOM builds ./cmd/iom into dir, as the nodes of a cluster run it: processes of their own.
func buildIOM(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "iom")
	if out, err := exec.Command("go", "build", "-C", "..", "-o", bin, "./cmd/iom").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/iom: %v\n%s", err, out)
	}
	return bin
}

// node is an `iom serve` process of a cluster.
type node struct {
	id     string
	cmd    *exec.Cmd
	data   string // the data plane's base URL
	admin  string
	logs   *syncBuffer
	exited chan struct{}
	ready  chan [2]string // the data plane's and the admin API's URLs, once it serves
}

// syncBuffer keeps a node's output, written by the goroutine reading it and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// servingLine is the line `iom serve` logs once it listens, naming its listeners.
var servingLine = regexp.MustCompile(`msg="iom is serving".* data=(http://[^ ]+)/v1 admin=(http://[^ ]+)/ `)

// startNode starts `iom serve` as node id of the cluster on Redis url, in front of upstream;
// wait waits for its listeners (the kernel picks their ports; the gateway logs them).
func startNode(t *testing.T, bin, id, url, upstream string) *node {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "iom.yaml")
	cfg := fmt.Sprintf(`server:
  listen: "127.0.0.1:0"
  adminListen: "127.0.0.1:0"
  dataDir: %q
  authFailures: {limit: 100000}   # the tests poll with keys a node does not know yet
admin:
  token: %s
cluster:
  nodeId: %s
  redis:
    url: %s
  onRedisDown: serve
  timeoutMs: 250
keys:
  - name: app
    key: %s
    org: acme
  - name: busy
    key: %s
    org: acme
    limits: {rps: 100000, burst: 100000}
  - name: fresh
    key: %s
    org: acme
    limits: {rps: 0.001, burst: %d}
models:
  - id: m
    name: M
    endpoint: %s
    provider: openai
`, filepath.Join(dir, "data"), gt.AdminToken, id, url, gt.Key, busyKey, freshKey, freshBurst, upstream)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	n := &node{id: id, logs: &syncBuffer{}, exited: make(chan struct{}), ready: make(chan [2]string, 1)}
	n.cmd = exec.Command(bin, "serve", "--config", conf)
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	n.cmd.Stdout = n.logs
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(n.logs, line)
			if m := servingLine.FindStringSubmatch(line); m != nil {
				n.ready <- [2]string{m[1], m[2]}
			}
		}
		_, _ = io.Copy(n.logs, stderr)
		_ = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() { n.stop(t) })
	return n
}

func (n *node) wait(t *testing.T) {
	t.Helper()
	select {
	case addrs := <-n.ready:
		n.data, n.admin = addrs[0], addrs[1]
	case <-n.exited:
		t.Fatalf("%s exited at start:\n%s", n.id, n.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start within 30 s:\n%s", n.id, n.logs)
	}
}

// stop ends the node with SIGTERM (a paused one is continued first), or SIGKILL after 10 s.
func (n *node) stop(t *testing.T) {
	_ = n.cmd.Process.Signal(syscall.SIGCONT)
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not stop on SIGTERM", n.id)
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
	if t.Failed() {
		t.Logf("%s logged:\n%s", n.id, n.logs)
	}
}

const chatBody = `{"model":"m","messages":[{"role":"user","content":"hi"}]}`

func (n *node) chat(t *testing.T, key string) gt.Response {
	t.Helper()
	return gt.Do(t, "POST", n.data+"/v1/chat/completions", key, chatBody)
}

// post sends a chat request from a goroutine of its own, where a test may not stop.
func post(url, key, body string) (int, string, error) {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := gt.Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), err
}

func (n *node) adminCall(t *testing.T, method, path string, body any) gt.Response {
	t.Helper()
	return gt.Do(t, method, n.admin+path, gt.AdminToken, body)
}

// upOf reads GET /api/cluster on n and returns whether each node it lists is up.
func (n *node) upOf(t *testing.T) map[string]bool {
	t.Helper()
	r := n.adminCall(t, "GET", "/api/cluster", nil)
	if r.Status != 200 {
		t.Fatalf("GET /api/cluster on %s: %d %s", n.id, r.Status, r.Body)
	}
	up := map[string]bool{}
	for _, v := range r.JSON(t)["nodes"].([]any) {
		m := v.(map[string]any)
		up[m["id"].(string)] = m["up"] == true
	}
	return up
}

// startFaultCluster starts a Redis server and three `iom serve` processes, gw-a to gw-c, sharing
// it, in front of one fake OpenAI upstream.
func startFaultCluster(t *testing.T) (*redistest.Server, []*node) {
	t.Helper()
	rs := redistest.Start(t)
	up, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(up.Close)
	bin := buildIOM(t, t.TempDir())
	nodes := make([]*node, 3)
	for i := range nodes {
		nodes[i] = startNode(t, bin, fmt.Sprintf("gw-%c", 'a'+i), rs.URL(), up.URL)
	}
	for _, n := range nodes {
		n.wait(t)
	}
	for _, n := range nodes {
		gt.Eventually(t, 5*time.Second, "every node lists the three as up", func() bool {
			up := n.upOf(t)
			return len(up) == 3 && up["gw-a"] && up["gw-b"] && up["gw-c"]
		})
	}
	return rs, nodes
}

// TestClusterFaults runs three gateway processes on one Redis server and breaks things, in turn,
// on the same cluster: Redis restarts empty while requests flow, a node is paused past the
// stream's stall limit while a key is revoked, and a node is killed.
func TestClusterFaults(t *testing.T) {
	rs, nodes := startFaultCluster(t)

	t.Run("Redis restarted", func(t *testing.T) {
		// A key made through the API, which lives in Redis's hash of keys and must be seeded
		// again when Redis comes back empty.
		r := nodes[0].adminCall(t, "POST", "/api/keys", `{"name":"made-before","org":"acme"}`)
		if r.Status != 201 {
			t.Fatalf("create a key: %d %s", r.Status, r.Body)
		}
		made := r.JSON(t)
		madeKey, madeID := made["key"].(string), made["id"].(string)
		for _, n := range nodes[1:] {
			gt.Eventually(t, 2*time.Second, "the new key works on "+n.id, func() bool { return n.chat(t, madeKey).Status == 200 })
		}

		// Requests with a limited key, round robin over the nodes, each checked against Redis,
		// before, during and after the restart: every one is answered, none waits long.
		var (
			stop    atomic.Bool
			sent    atomic.Int64
			slowest atomic.Int64
			bad     atomic.Value
		)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := w; !stop.Load(); i++ {
					t0 := time.Now()
					status, body, err := post(nodes[i%3].data+"/v1/chat/completions", busyKey, chatBody)
					d := int64(time.Since(t0))
					for s := slowest.Load(); d > s && !slowest.CompareAndSwap(s, d); s = slowest.Load() {
					}
					if err != nil || status != 200 {
						bad.CompareAndSwap(nil, fmt.Sprintf("%s answered %d %s (%v)", nodes[i%3].id, status, body, err))
					}
					sent.Add(1)
				}
			})
		}
		time.Sleep(500 * time.Millisecond)
		rs.Restart()
		time.Sleep(2 * time.Second)
		stop.Store(true)
		wg.Wait()
		if b := bad.Load(); b != nil {
			t.Fatalf("a request failed across the restart: %s", b)
		}
		t.Logf("%d requests across the restart, the slowest %v", sent.Load(), time.Duration(slowest.Load()))
		// A request waits for Redis at most the timeout (250 ms) per call, and a new
		// connection's dial twice that.
		if s := time.Duration(slowest.Load()); s > 1500*time.Millisecond {
			t.Fatalf("a request took %v across the restart", s)
		}

		// Back: every node's shared counters answer, and a fresh key's burst over the three
		// nodes admits exactly its burst, as one node would.
		for _, n := range nodes {
			gt.Eventually(t, 5*time.Second, n.id+" sees Redis up", func() bool {
				r := n.adminCall(t, "GET", "/api/cluster", nil)
				return r.Status == 200 && r.JSON(t)["redis"] == "up"
			})
		}
		ok := 0
		for i := range 3 * freshBurst {
			switch r := nodes[i%3].chat(t, freshKey); r.Status {
			case 200:
				ok++
			case 429:
			default:
				t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
			}
		}
		if ok != freshBurst {
			t.Fatalf("%d of %d requests of a fresh key admitted across 3 nodes after the restart, want exactly %d", ok, 3*freshBurst, freshBurst)
		}

		// The key made before is in Redis again (a node seeded the empty server with its keys),
		// still works everywhere, and changes flow again.
		rc := rs.Client()
		defer func() {
			if t.Failed() {
				keys, err := rc.Keys(t.Context(), "*").Result()
				t.Logf("Redis holds the keys %v (%v)", keys, err)
			}
		}()
		gt.Eventually(t, 5*time.Second, "the API key seeded into the restarted Redis", func() bool {
			has, err := rc.HExists(t.Context(), "iom:state:keys", madeID).Result()
			return err == nil && has
		})
		for _, n := range nodes {
			if r := n.chat(t, madeKey); r.Status != 200 {
				t.Fatalf("the key made before the restart, on %s: %d %s", n.id, r.Status, r.Body)
			}
		}
		if r := nodes[2].adminCall(t, "DELETE", "/api/keys/"+madeID, nil); r.Status != 204 {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		for _, n := range nodes[:2] {
			gt.Eventually(t, 2*time.Second, "the revoked key refused on "+n.id, func() bool { return n.chat(t, madeKey).Status == 401 })
		}
	})

	t.Run("node paused", func(t *testing.T) {
		r := nodes[0].adminCall(t, "POST", "/api/keys", `{"name":"revoked-while-paused","org":"acme"}`)
		if r.Status != 201 {
			t.Fatalf("create a key: %d %s", r.Status, r.Body)
		}
		made := r.JSON(t)
		key, id := made["key"].(string), made["id"].(string)
		c := nodes[2]
		gt.Eventually(t, 2*time.Second, "the new key works on gw-c", func() bool { return c.chat(t, key).Status == 200 })

		if err := c.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		if r := nodes[0].adminCall(t, "DELETE", "/api/keys/"+id, nil); r.Status != 204 {
			_ = c.cmd.Process.Signal(syscall.SIGCONT)
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		gt.Eventually(t, 8*time.Second, "gw-a shows the paused gw-c down", func() bool { return !nodes[0].upOf(t)["gw-c"] })
		time.Sleep(time.Second) // past the 5 s a node may stand still before it reloads everything
		if err := c.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		resumed := time.Now()
		gt.Eventually(t, 3*time.Second, "gw-c refuses the key revoked while it was paused", func() bool { return c.chat(t, key).Status == 401 })
		time.Sleep(1500 * time.Millisecond) // a change gw-c might wrongly make would have reached the others by now
		t.Logf("gw-c refused the revoked key %v after it resumed", time.Since(resumed).Round(time.Millisecond))
		gt.Eventually(t, 3*time.Second, "gw-c up again", func() bool { return nodes[0].upOf(t)["gw-c"] })
		// Catching up, gw-c brought nothing back that the others had revoked.
		for _, n := range nodes[:2] {
			if r := n.chat(t, key); r.Status != 401 {
				t.Fatalf("%s takes the revoked key again after gw-c caught up: %d %s", n.id, r.Status, r.Body)
			}
		}
	})

	t.Run("node killed", func(t *testing.T) {
		c := nodes[2]
		if err := c.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-c.exited
		killed := time.Now()
		for i := range 20 {
			if r := nodes[i%2].chat(t, busyKey); r.Status != 200 {
				t.Fatalf("%s after gw-c was killed: %d %s", nodes[i%2].id, r.Status, r.Body)
			}
		}
		for _, n := range nodes[:2] {
			gt.Eventually(t, 6*time.Second-time.Since(killed), n.id+" shows the killed gw-c down", func() bool {
				up := n.upOf(t)
				return !up["gw-c"] && up["gw-a"] && up["gw-b"]
			})
		}
		t.Logf("both nodes showed gw-c down %v after it was killed", time.Since(killed).Round(time.Millisecond))
	})
}

// The configs scripts/cluster.sh (make cluster) writes are valid: each node's passes
// `iom validate` with the credentials the script gives them, the three share the keys and
// Redis and differ in node id and ports, and nginx accepts its config and shellcheck the script
// when they are installed.
func TestClusterScriptConfigs(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	dir := t.TempDir()
	plugins := os.Getenv("IOM_PLUGINS_DIR")
	if plugins == "" {
		plugins = filepath.Join(dir, "plugins")
		if out, err := exec.Command("../examples/plugins/build.sh", plugins, "local-models").CombinedOutput(); err != nil {
			t.Fatalf("build.sh local-models: %v\n%s", err, out)
		}
	}
	bin := buildIOM(t, dir)
	confs := filepath.Join(dir, "cluster")
	cmd := exec.Command("bash", "../scripts/cluster.sh", "--write-configs", confs)
	cmd.Env = append(os.Environ(), "PLUGINS="+plugins, "REDIS_PORT=6399", "LB_PORT=9080", "NODE_PORTS=9180 9280 9380")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cluster.sh --write-configs: %v\n%s", err, out)
	}
	env := append(os.Environ(), "IOM_ADMIN_TOKEN="+gt.AdminToken, "IOM_KEY_DEMO_APP="+gt.Key, "IOM_KEY_LIMITED_APP="+gt.OtherKey, "IOM_KEY_METERED_APP="+busyKey)
	for i, id := range []string{"gw-a", "gw-b", "gw-c"} {
		conf := filepath.Join(confs, id+".yaml")
		v := exec.Command(bin, "validate", "--config", conf)
		v.Env = env
		if out, err := v.CombinedOutput(); err != nil {
			t.Fatalf("iom validate %s: %v\n%s", id, err, out)
		}
		b, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		port := 9180 + 100*i
		for _, want := range []string{"nodeId: " + id, fmt.Sprintf(`listen: "127.0.0.1:%d"`, port), fmt.Sprintf(`adminListen: "127.0.0.1:%d"`, port+1),
			"url: redis://127.0.0.1:6399/0", "key: ${IOM_KEY_DEMO_APP}", "token: ${IOM_ADMIN_TOKEN}"} {
			if !strings.Contains(string(b), want) {
				t.Fatalf("%s's config has no %q:\n%s", id, want, b)
			}
		}
	}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		if out, err := exec.Command(sc, "../scripts/cluster.sh").CombinedOutput(); err != nil {
			t.Fatalf("shellcheck scripts/cluster.sh: %v\n%s", err, out)
		}
	}
	ngx, err := exec.LookPath("nginx")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			t.Log("nginx is not installed: its config is not checked")
			return
		}
		ngx = "/usr/sbin/nginx"
	}
	b, err := os.ReadFile(filepath.Join(confs, "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"listen 127.0.0.1:9080;", "server 127.0.0.1:9180;", "server 127.0.0.1:9280;", "server 127.0.0.1:9380;"} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("nginx.conf has no %q:\n%s", want, b)
		}
	}
	if out, err := exec.Command(ngx, "-t", "-p", confs+"/nginx/", "-c", filepath.Join(confs, "nginx.conf")).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// freePorts returns n ports of 127.0.0.1 that are free now, each with the next one free too
// when pairs is set (a node's admin API listens on its data plane's port plus one).
func freePorts(t *testing.T, n int, pairs bool) []int {
	t.Helper()
	var ports []int
	for len(ports) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		var next net.Listener
		if pairs {
			if next, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1)); err != nil {
				ln.Close()
				continue
			}
		}
		ports = append(ports, p)
		defer ln.Close()
		if next != nil {
			defer next.Close()
		}
	}
	return ports
}

// make cluster's script runs the whole cluster: requests through nginx reach more than one
// node, the nodes list each other, and SIGINT (Ctrl-C) stops every process it started.
func TestClusterScriptRuns(t *testing.T) {
	for _, bin := range []string{"redis-server", "victoria-metrics"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed", bin)
		}
	}
	if _, err := exec.LookPath("nginx"); err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			t.Skip("nginx is not installed")
		}
	}
	dir := t.TempDir()
	plugins := os.Getenv("IOM_PLUGINS_DIR")
	if plugins == "" {
		plugins = filepath.Join(dir, "plugins")
		if out, err := exec.Command("../examples/plugins/build.sh", plugins, "local-models").CombinedOutput(); err != nil {
			t.Fatalf("build.sh local-models: %v\n%s", err, out)
		}
	}
	bin := buildIOM(t, dir)
	nodePorts, other := freePorts(t, 3, true), freePorts(t, 3, false)
	lb, redisPort, vmPort := other[0], other[1], other[2]
	cmd := exec.Command("bash", "../scripts/cluster.sh")
	cmd.Env = append(os.Environ(), "IOM="+bin, "PLUGINS="+plugins, "CLUSTER_DIR="+filepath.Join(dir, "cluster"),
		fmt.Sprintf("LB_PORT=%d", lb), fmt.Sprintf("REDIS_PORT=%d", redisPort), fmt.Sprintf("VM_PORT=%d", vmPort),
		fmt.Sprintf("NODE_PORTS=%d %d %d", nodePorts[0], nodePorts[1], nodePorts[2]))
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Signal(os.Interrupt)
			<-exited
		}
		if t.Failed() {
			t.Logf("cluster.sh printed:\n%s", out)
		}
	}()
	gt.Eventually(t, 60*time.Second, "the cluster to start", func() bool {
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("cluster.sh exited: %v", err)
		default:
		}
		return strings.Contains(out.String(), "Ctrl-C stops everything")
	})

	creds := gt.ReadCredentials(t, filepath.Join(dir, "cluster", "credentials"))
	key, admin := creds["IOM_KEY_DEMO_APP"], creds["IOM_ADMIN_TOKEN"]
	chat := `{"model":"local-sentiment","messages":[{"role":"user","content":"This is wonderful"}]}`
	for i := range 6 {
		if r := gt.Do(t, "POST", fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", lb), key, chat); r.Status != 200 {
			t.Fatalf("request %d through nginx: %d %s", i, r.Status, r.Body)
		}
	}
	served := 0
	for _, p := range nodePorts {
		r := gt.Do(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/metrics", p+1), admin, nil)
		if regexp.MustCompile(`(?m)^iom_requests_total\{model="local-sentiment"[^}]*\} [1-9]`).Match(r.Body) {
			served++
		}
	}
	if served < 2 {
		t.Fatalf("nginx sent 6 requests to %d node(s), want them spread over the three", served)
	}
	gt.Eventually(t, 5*time.Second, "gw-a lists the three nodes up", func() bool {
		r := gt.Do(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/api/cluster", nodePorts[0]+1), admin, nil)
		return r.Status == 200 && strings.Count(string(r.Body), `"up":true`) == 3
	})

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		stopped = true
	case <-time.After(20 * time.Second):
		t.Fatal("cluster.sh did not stop within 20 s of SIGINT")
	}
	for _, p := range append(append([]int{}, nodePorts...), lb, redisPort, vmPort) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still listens after cluster.sh stopped", p)
		}
	}
}

// Three `iom serve` processes on one Redis hold the worst cost of each call of a priced model in
// the key's budget until its cost replaces it: a $1.00 budget buys exactly ten $0.10 calls sent
// in turn to the three, and twenty callers at once spend it all and not a cent more.
func TestClusterBudgetHolds(t *testing.T) {
	_, nodes := startFaultCluster(t)
	up, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(up.Close)
	// The fake counts words: "hi" costs 1 input and 2 output tokens, $0.10; with max_tokens 2 a
	// call holds $0.18 (5 input tokens estimated, 2 output).
	for _, n := range nodes {
		r := n.adminCall(t, "POST", "/api/models", map[string]any{"id": "priced", "name": "Priced", "endpoint": up.URL,
			"provider": "openai", "inputCostPerToken": 0.02, "outputCostPerToken": 0.04})
		if r.Status != 201 {
			t.Fatalf("register the priced model on %s: %d %s", n.id, r.Status, r.Body)
		}
	}
	key := func(name string) string {
		r := nodes[0].adminCall(t, "POST", "/api/keys", map[string]any{"name": name,
			"limits": map[string]any{"budget": map[string]any{"usd": 1.00, "period": "day"}}})
		if r.Status != 201 {
			t.Fatalf("create key: %d %s", r.Status, r.Body)
		}
		value := r.JSON(t)["key"].(string)
		for _, n := range nodes {
			gt.Eventually(t, 5*time.Second, "the key works on "+n.id, func() bool {
				status, _, err := post(n.data+"/v1/chat/completions", value, `{"model":"nothing","messages":[{"role":"user","content":"hi"}]}`)
				return err == nil && status == 404
			})
		}
		return value
	}
	const body = `{"model":"priced","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}`
	usage := func(name string) map[string]any {
		for _, v := range nodes[1].adminCall(t, "GET", "/api/keys", nil).JSON(t)["data"].([]any) {
			if k := v.(map[string]any); k["name"] == name {
				return k["usage"].(map[string]any)
			}
		}
		t.Fatalf("no key %q", name)
		return nil
	}

	seq := key("sequential")
	ran := 0
	for i := range 15 {
		status, b, err := post(nodes[i%3].data+"/v1/chat/completions", seq, body)
		switch {
		case err != nil:
			t.Fatal(err)
		case status == 200:
			ran++
		case status != 402:
			t.Fatalf("call %d: %d %s", i, status, b)
		}
	}
	if u := usage("sequential"); ran != 10 || u["spentUsd"] != 1.0 {
		t.Fatalf("%d calls of $0.10 ran on a $1.00 budget across 3 nodes, usage %v; want exactly 10 and $1", ran, u)
	}

	at := key("concurrent")
	var ok atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for w := range 20 {
		wg.Go(func() {
			// A caller stops when the budget is spent, not while calls in flight hold it.
			deadline := time.Now().Add(20 * time.Second)
			for i := 0; time.Now().Before(deadline); i++ {
				status, b, err := post(nodes[(w+i)%3].data+"/v1/chat/completions", at, body)
				switch {
				case err != nil:
					errs <- err
					return
				case status == 200:
					ok.Add(1)
				case status == 402 && !strings.Contains(b, "in flight"):
					return
				case status == 402:
				default:
					errs <- fmt.Errorf("%d %s", status, b)
					return
				}
			}
		})
	}
	wg.Wait()
	gt.Client.CloseIdleConnections()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if u := usage("concurrent"); ok.Load() != 10 || u["spentUsd"] != 1.0 || u["heldUsd"] != nil || u["overspentUsd"] != nil {
		t.Fatalf("20 callers at once: %d calls of $0.10 ran, usage %v; want exactly 10, $1 spent, nothing held or overspent", ok.Load(), u)
	}
}
