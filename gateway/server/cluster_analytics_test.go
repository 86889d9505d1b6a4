package server_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
	"github.com/iomhq/iom/internal/vmtest"
)

// vmNode starts a gateway named id that pushes its metrics to vmURL every second. Its Redis
// does not answer, so what it shows of other nodes comes from VictoriaMetrics alone.
func vmNode(t *testing.T, id, vmURL, upstream string) *gt.Gateway {
	t.Helper()
	return gt.Start(t, "", fmt.Sprintf(`cluster:
  nodeId: %s
  redis:
    url: redis://127.0.0.1:1/0
metrics:
  victoriaMetrics:
    url: %s
    pushIntervalMs: 1000
models:
  - id: m
    name: M
    endpoint: %s
    provider: openai
    inputCostPerToken: 0.001
    outputCostPerToken: 0.002
`, id, vmURL, upstream))
}

// proxy relays TCP connections to target until Close, which also cuts those open: a server
// that goes away and back.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(p.Close)
	return p
}

func (p *proxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

type usageSum struct{ requests, in, out float64 }

func chatUsage(t *testing.T, r gt.Response) usageSum {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	u, _ := r.JSON(t)["usage"].(map[string]any)
	return usageSum{1, u["prompt_tokens"].(float64), u["completion_tokens"].(float64)}
}

func totalsOf(body map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	list, _ := body["totals"].([]any)
	for _, x := range list {
		t := x.(map[string]any)
		out[t["key"].(string)] = t
	}
	return out
}

// Three gateways push to one VictoriaMetrics: node c, which served nothing, shows in its
// analytics (by model and by key) and in its registry the calls nodes a and b served.
func TestClusterAnalyticsFromVictoriaMetrics(t *testing.T) {
	vm := vmtest.Start(t)
	up, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	a, b, c := vmNode(t, "gw-a", vm.URL, up.URL), vmNode(t, "gw-b", vm.URL, up.URL), vmNode(t, "gw-c", vm.URL, up.URL)
	chat := `{"model":"m","messages":[{"role":"user","content":"how many nodes are there"}]}`
	var want usageSum
	add := func(u usageSum) {
		want.requests, want.in, want.out = want.requests+u.requests, want.in+u.in, want.out+u.out
	}
	for range 2 {
		add(chatUsage(t, a.Data("POST", "/v1/chat/completions", gt.Key, chat)))
	}
	for range 2 {
		add(chatUsage(t, b.Data("POST", "/v1/chat/completions", gt.Key, chat)))
	}
	add(chatUsage(t, b.Data("POST", "/v1/chat/completions", gt.OtherKey, chat)))

	var body map[string]any
	gt.Eventually(t, 20*time.Second, "node c's analytics count the calls of nodes a and b", func() bool {
		r := c.Admin("GET", "/api/analytics?range=1h&group=model", nil)
		body = r.JSON(t)
		m := totalsOf(body)["m"]
		return r.Status == 200 && body["source"] == "victoriaMetrics" && m != nil && m["requests"] == want.requests
	})
	m := totalsOf(body)["m"]
	if m["inputTokens"] != want.in || m["outputTokens"] != want.out {
		t.Fatalf("tokens %v in, %v out; want %v, %v", m["inputTokens"], m["outputTokens"], want.in, want.out)
	}
	wantCost := want.in*0.001 + want.out*0.002
	if cost := m["costUsd"].(float64); cost < wantCost-1e-9 || cost > wantCost+1e-9 {
		t.Fatalf("cost %v, want %v", cost, wantCost)
	}
	if lat := m["latencyMs"].(map[string]any); lat["p50"].(float64) <= 0 || lat["p95"].(float64) < lat["p50"].(float64) {
		t.Fatalf("latency %v", lat)
	}
	overall := body["overall"].(map[string]any)
	if overall["requests"] != want.requests {
		t.Fatalf("overall %v", overall)
	}
	points := 0.0
	for _, s := range body["series"].([]any) {
		for _, p := range s.(map[string]any)["points"].([]any) {
			points += p.(map[string]any)["requests"].(float64)
		}
	}
	if points != want.requests {
		t.Fatalf("the series' points add up to %v requests, want %v: %v", points, want.requests, body["series"])
	}
	if strings.Contains(fmt.Sprint(body), vm.URL) {
		t.Fatal("the answer names the VictoriaMetrics URL")
	}

	r := c.Admin("GET", "/api/analytics?range=1h&group=key", nil)
	keys := totalsOf(r.JSON(t))
	if r.Status != 200 || keys["app"]["requests"] != want.requests-1 || keys["other"]["requests"] != float64(1) {
		t.Fatalf("by key: %d %s", r.Status, r.Body)
	}

	gt.Eventually(t, 10*time.Second, "node c's registry counts the calls of nodes a and b", func() bool {
		r := c.Admin("GET", "/api/models", nil)
		list := r.JSON(t)
		if list["statsSource"] != "victoriaMetrics" {
			return false
		}
		for _, x := range list["data"].([]any) {
			if v := x.(map[string]any); v["id"] == "m" {
				st, _ := v["stats"].(map[string]any)
				return st != nil && st["requests"] == want.requests && st["p50Ms"].(float64) > 0
			}
		}
		return false
	})
}

// A gateway whose VictoriaMetrics stops answering, or answers too slowly, answers analytics
// from its own records at once, saying so, without naming the server.
func TestAnalyticsFallBackWhenVictoriaMetricsIsDown(t *testing.T) {
	vm := vmtest.Start(t)
	up, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	p := startProxy(t, strings.TrimPrefix(vm.URL, "http://"))
	g := vmNode(t, "gw-a", p.URL(), up.URL)
	chat := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	for range 3 {
		chatUsage(t, g.Data("POST", "/v1/chat/completions", gt.Key, chat))
	}
	gt.Eventually(t, 20*time.Second, "the calls are in VictoriaMetrics", func() bool {
		r := g.Admin("GET", "/api/analytics?range=1h", nil)
		body := r.JSON(t)
		return body["source"] == "victoriaMetrics" && totalsOf(body)["m"] != nil
	})

	p.Close()
	start := time.Now()
	r := g.Admin("GET", "/api/analytics?range=1h", nil)
	body := r.JSON(t)
	if r.Status != 200 || body["source"] != "local" || body["sourceError"] == nil || totalsOf(body)["m"]["requests"] != float64(3) {
		t.Fatalf("with VictoriaMetrics down: %d %s", r.Status, r.Body)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the fallback took %s", took)
	}
	if strings.Contains(string(r.Body), p.ln.Addr().String()) || strings.Contains(g.Logs(), p.ln.Addr().String()) {
		t.Fatal("the answer or the log names the VictoriaMetrics address")
	}
	gt.Eventually(t, 5*time.Second, "the registry's numbers are this node's again", func() bool {
		return g.Admin("GET", "/api/models", nil).JSON(t)["statsSource"] == "local"
	})
	// A bad query is still the caller's error, not a fallback.
	if r := g.Admin("GET", "/api/analytics?step=2m", nil); r.Status != 400 {
		t.Fatalf("bad step: %d %s", r.Status, r.Body)
	}

	// A server that takes the connection and never answers: the query gives up after its deadline.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	h := vmNode(t, "gw-b", "http://"+silent.Addr().String(), up.URL)
	chatUsage(t, h.Data("POST", "/v1/chat/completions", gt.Key, chat))
	h.Flush()
	start = time.Now()
	r = h.Admin("GET", "/api/analytics?range=1h", nil)
	body = r.JSON(t)
	if r.Status != 200 || body["source"] != "local" || !strings.Contains(fmt.Sprint(body["sourceError"]), "in time") {
		t.Fatalf("with VictoriaMetrics silent: %d %s", r.Status, r.Body)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the fallback took %s", took)
	}
}
