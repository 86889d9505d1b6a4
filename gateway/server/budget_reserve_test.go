package server_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// Chat bodies for the model "priced" ($0.02 an input token, $0.04 an output token) on the fake
// upstream, which counts words and answers "echo: <prompt>". A call of "hi" costs $0.10: with
// max_tokens 2 it holds $0.18 (5 input tokens estimated, 2 output), more than it costs. A call
// of ten words costs $0.64 (10 in, 11 out) and holds $0.22 (9 in, 1 out): less.
const (
	chatHeldAbove = `{"model":"priced","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}`
	chatHeldBelow = `{"model":"priced","max_tokens":1,"messages":[{"role":"user","content":"a b c d e f g h i j"}]}`
)

// postChat sends a chat request from any goroutine: it returns the status and the call's cost.
func postChat(url, key, body string) (int, float64, error) {
	status, cost, _, err := postChatBody(url, key, body)
	return status, cost, err
}

// postChatBody is postChat with the start of the answer's body.
func postChatBody(url, key, body string) (int, float64, string, error) {
	return postBody(url, "/v1/chat/completions", key, body)
}

// postBody is postChatBody to the data plane's path.
func postBody(url, path, key, body string) (int, float64, string, error) {
	req, err := http.NewRequest("POST", url+path, strings.NewReader(body))
	if err != nil {
		return 0, 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := gt.Client.Do(req)
	if err != nil {
		return 0, 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	cost, _ := strconv.ParseFloat(resp.Header.Get("x-iom-cost-usd"), 64)
	return resp.StatusCode, cost, string(b), err
}

// keyUsage reads a key's usage from GET /api/keys.
func keyUsage(t *testing.T, g *gt.Gateway, name string) map[string]any {
	t.Helper()
	r := g.Admin("GET", "/api/keys", nil)
	if r.Status != 200 {
		t.Fatalf("GET /api/keys: %d %s", r.Status, r.Body)
	}
	for _, v := range r.JSON(t)["data"].([]any) {
		k := v.(map[string]any)
		if k["name"] == name {
			u, _ := k["usage"].(map[string]any)
			return u
		}
	}
	t.Fatalf("no key %q in %s", name, r.Body)
	return nil
}

func micro(usd float64) int64 { return int64(math.Round(usd * 1e6)) }

// concurrentCalls sends body from 20 callers at once, in turn to the urls, each until the budget
// is spent (a refusal while calls in flight hold it does not stop a caller); it returns the sum
// of the costs of the calls that ran.
func concurrentCalls(t *testing.T, urls []string, key, body string) int64 {
	t.Helper()
	return concurrentCallsTo(t, urls, "/v1/chat/completions", key, body)
}

// concurrentCallsTo is concurrentCalls to the data plane's path.
func concurrentCallsTo(t *testing.T, urls []string, path, key, body string) int64 {
	t.Helper()
	var spent atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for w := range 20 {
		wg.Go(func() {
			deadline := time.Now().Add(20 * time.Second)
			for i := 0; time.Now().Before(deadline); i++ {
				status, cost, b, err := postBody(urls[(w+i)%len(urls)], path, key, body)
				switch {
				case err != nil:
					errs <- err
					return
				case status == 200:
					spent.Add(micro(cost))
				case status == 402 && !strings.Contains(b, "in flight"):
					return
				case status == 402:
				default:
					errs <- fmt.Errorf("status %d", status)
					return
				}
			}
		})
	}
	wg.Wait()
	// Callers at once make the client dial connections it then leaves unused, which a gateway
	// shutting down waits for (it closes idle ones only after a request).
	gt.Client.CloseIdleConnections()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return spent.Load()
}

// pricedGateway starts a gateway serving the model "priced" on a fake upstream, and returns both.
func pricedGateway(t *testing.T) (*gt.Gateway, *fakeupstream.OpenAI) {
	t.Helper()
	f := startFake(t)
	return gt.Start(t, "", `models:
  - id: priced
    name: Priced
    endpoint: `+f.URL+`
    provider: openai
    inputCostPerToken: 0.02
    outputCostPerToken: 0.04
`), f
}

// budgetKey creates a key named name with a $1.00 daily budget and returns its value.
func budgetKey(t *testing.T, g *gt.Gateway, name string) string {
	t.Helper()
	r := g.Admin("POST", "/api/keys", `{"name":"`+name+`","limits":{"budget":{"usd":1.00,"period":"day"}}}`)
	if r.Status != 201 {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["key"].(string)
}

// Anthropic's Messages API and the Responses API hold budgets as chat does: 20 callers at once,
// plain or streaming, spend the $1.00 and no more, and nothing stays held.
func TestBudgetHoldsOfMessagesAndResponses(t *testing.T) {
	g, _ := pricedGateway(t)
	for _, api := range []struct{ name, path, body, streamBody string }{
		{"messages", "/v1/messages", chatHeldAbove, strings.Replace(chatHeldAbove, `"max_tokens"`, `"stream":true,"max_tokens"`, 1)},
		{"responses", "/v1/responses", `{"model":"priced","max_output_tokens":2,"store":false,"input":"hi"}`,
			`{"model":"priced","max_output_tokens":2,"stream":true,"store":false,"input":"hi"}`},
	} {
		urls := []string{g.DataURL}
		checkBounded(t, g, api.name, concurrentCallsTo(t, urls, api.path, budgetKey(t, g, api.name), api.body), false)
		concurrentCallsTo(t, urls, api.path, budgetKey(t, g, api.name+"-streams"), api.streamBody) // a stream's cost is not a header
		if u := keyUsage(t, g, api.name+"-streams"); u["spentUsd"] != 1.0 || u["heldUsd"] != nil {
			t.Fatalf("%s: 20 streaming callers on a $1.00 budget: %v", api.name, u)
		}
	}
}

// checkBounded checks what 20 concurrent callers spent of a $1.00 budget: all of it and no more
// when calls hold at least their cost; otherwise at most the budget and what calls cost beyond
// their holds, which the key's usage reports.
func checkBounded(t *testing.T, g *gt.Gateway, key string, spent int64, wantOver bool) {
	t.Helper()
	u := keyUsage(t, g, key)
	used, _ := u["spentUsd"].(float64)
	overUSD, _ := u["overspentUsd"].(float64)
	over := micro(overUSD)
	switch {
	case micro(used) != spent:
		t.Fatalf("the key's usage says $%v spent, its calls cost $%v", used, float64(spent)/1e6)
	case u["heldUsd"] != nil:
		t.Fatalf("$%v still held after every call ended", u["heldUsd"])
	case spent > micro(1)+over:
		t.Fatalf("$%v spent on a $1.00 budget, with $%v reported over", float64(spent)/1e6, overUSD)
	case wantOver != (over > 0):
		t.Fatalf("$%v reported over (want some: %v)", overUSD, wantOver)
	case !wantOver && spent != micro(1):
		t.Fatalf("$%v spent, want the whole $1.00 budget and no more", float64(spent)/1e6)
	}
}

// metricValue reads one series of the admin listener's /metrics, 0 when absent.
func metricValue(t *testing.T, g *gt.Gateway, series string) float64 {
	t.Helper()
	for line := range strings.Lines(string(gt.Do(t, "GET", g.AdminURL+"/metrics", "", nil).Body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// One gateway on its own store: a $1.00 budget buys exactly ten $0.10 calls, whatever they hold;
// a call that fails frees what it held; twenty callers at once spend the budget and no more when
// calls hold at least their cost, and when they hold less, spend past it only what is reported
// (in the key's usage and in iom_budget_overspend_usd_total).
func TestBudgetHoldsOnOneNode(t *testing.T) {
	g, f := pricedGateway(t)
	key := func(name string) string { return budgetKey(t, g, name) }
	seq := key("seq")
	ran := 0
	for i := range 15 {
		body := chatHeldAbove
		if i%2 == 1 {
			body = `{"model":"priced","messages":[{"role":"user","content":"hi"}]}` // holds what is left
		}
		switch r := g.Data("POST", "/v1/chat/completions", seq, body); r.Status {
		case 200:
			ran++
		case 402:
			if !strings.Contains(string(r.Body), "budget") {
				t.Fatalf("refusal: %s", r.Body)
			}
		default:
			t.Fatalf("call %d: %d %s", i, r.Status, r.Body)
		}
	}
	if ran != 10 {
		t.Fatalf("%d calls of $0.10 ran on a $1.00 budget, want exactly 10", ran)
	}

	failing := key("failing")
	f.Faults = func(int64, *fakeupstream.Received) fakeupstream.Fault { return fakeupstream.Fault{Status: 400} }
	for range 3 {
		if r := g.Data("POST", "/v1/chat/completions", failing, chatHeldAbove); r.Status == 200 {
			t.Fatalf("the failing upstream answered: %s", r.Body)
		}
	}
	f.Faults = nil
	if u := keyUsage(t, g, "failing"); u["heldUsd"] != nil || u["spentUsd"] != float64(0) {
		t.Fatalf("failed calls left %v", u)
	}

	above := key("above")
	checkBounded(t, g, "above", concurrentCalls(t, []string{g.DataURL}, above, chatHeldAbove), false)
	if v := metricValue(t, g, `iom_budget_overspend_usd_total{scope="key"}`); v != 0 {
		t.Fatalf("overspend %v reported for calls that held more than they cost", v)
	}
	below := key("below")
	checkBounded(t, g, "below", concurrentCalls(t, []string{g.DataURL}, below, chatHeldBelow), true)
	over, _ := keyUsage(t, g, "below")["overspentUsd"].(float64)
	if v := metricValue(t, g, `iom_budget_overspend_usd_total{scope="key"}`); micro(v) != micro(over) {
		t.Fatalf("the metric says $%v overspent, the key's usage $%v", v, over)
	}
}

// Three gateways on one Redis: twenty callers at once, in turn on the three, spend the $1.00
// budget and no more when calls hold at least their cost; when they hold less, the budget is
// passed only by what the key's usage reports as overspent.
func TestClusterBudgetHolds(t *testing.T) {
	_, _, nodes := newCluster(t, 3)
	urls := []string{nodes[0].DataURL, nodes[1].DataURL, nodes[2].DataURL}
	checkBounded(t, nodes[1], "budgeted", concurrentCalls(t, urls, budgetedKey, chatHeldAbove), false)

	r := nodes[0].Admin("POST", "/api/keys", `{"name":"below","limits":{"budget":{"usd":1.00,"period":"day"}}}`)
	if r.Status != 201 {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	below := r.JSON(t)["key"].(string)
	for _, n := range nodes {
		gt.Eventually(t, 5*time.Second, "every node knows the new key", func() bool {
			status, _, err := postChat(n.DataURL, below, `{"model":"nothing","messages":[{"role":"user","content":"hi"}]}`)
			return err == nil && status != 401
		})
	}
	checkBounded(t, nodes[2], "below", concurrentCalls(t, urls, below, chatHeldBelow), true)
	var total float64
	for _, n := range nodes {
		total += metricValue(t, n, `iom_budget_overspend_usd_total{scope="key"}`)
	}
	over, _ := keyUsage(t, nodes[0], "below")["overspentUsd"].(float64)
	if micro(total) != micro(over) {
		t.Fatalf("the nodes' metrics say $%v overspent, Redis $%v", total, over)
	}
}

// A streamed call settles its hold with its cost when the stream ends; a call the cache answers
// frees its hold and costs nothing; a budget held whole by one call refuses the next until it ends.
func TestBudgetHoldsOfStreamsAndCache(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", `models:
  - id: priced
    name: Priced
    endpoint: `+f.URL+`
    provider: openai
    inputCostPerToken: 0.02
    outputCostPerToken: 0.04
  - id: cached
    name: Cached
    endpoint: `+f.URL+`
    provider: openai
    inputCostPerToken: 0.02
    outputCostPerToken: 0.04
    cache: {ttlSeconds: 60}
`)
	r := g.Admin("POST", "/api/keys", `{"name":"metered","limits":{"budget":{"usd":1.00,"period":"day"}}}`)
	if r.Status != 201 {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	key := r.JSON(t)["key"].(string)
	usage := func() (spent int64, held any) {
		u := keyUsage(t, g, "metered")
		s, _ := u["spentUsd"].(float64)
		return micro(s), u["heldUsd"]
	}

	stream := `{"model":"priced","stream":true,"stream_options":{"include_usage":true},"max_tokens":2,"messages":[{"role":"user","content":"hi"}]}`
	if r := g.Data("POST", "/v1/chat/completions", key, stream); r.Status != 200 || !strings.Contains(string(r.Body), "[DONE]") {
		t.Fatalf("stream: %d %s", r.Status, r.Body)
	}
	if spent, held := usage(); spent == 0 || held != nil {
		t.Fatalf("after a stream: $%v spent, %v held; want its cost spent and nothing held", float64(spent)/1e6, held)
	}
	before, _ := usage()
	cachedBody := `{"model":"cached","max_tokens":2,"temperature":0,"messages":[{"role":"user","content":"hi"}]}`
	for i, want := range []string{"miss", "hit", "hit"} {
		r := g.Data("POST", "/v1/chat/completions", key, cachedBody)
		if r.Status != 200 || r.Header.Get("x-iom-cache") != want {
			t.Fatalf("cached call %d: %d %s %v", i, r.Status, r.Body, r.Header)
		}
		g.Flush() // the cache is written in the background
	}
	if spent, held := usage(); spent != before+micro(0.10) || held != nil {
		t.Fatalf("three calls, two from the cache: $%v more spent, %v held; want $0.10 and nothing held",
			float64(spent-before)/1e6, held)
	}

	// A slow call without max_tokens holds what is left of the budget: the next is refused
	// until it ends, and then admitted.
	f.Faults = func(int64, *fakeupstream.Received) fakeupstream.Fault {
		return fakeupstream.Fault{Delay: 500 * time.Millisecond}
	}
	done := make(chan int, 1)
	go func() {
		status, _, _ := postChat(g.DataURL, key, `{"model":"priced","messages":[{"role":"user","content":"slow"}]}`)
		done <- status
	}()
	gt.Eventually(t, 5*time.Second, "the slow call holds the budget", func() bool {
		_, held := usage()
		return held != nil
	})
	if r := g.Data("POST", "/v1/chat/completions", key, chatHeldAbove); r.Status != 402 || !strings.Contains(string(r.Body), "in flight") {
		t.Fatalf("a call while the budget is held: %d %s", r.Status, r.Body)
	}
	if status := <-done; status != 200 {
		t.Fatalf("the slow call: %d", status)
	}
	f.Faults = nil
	if r := g.Data("POST", "/v1/chat/completions", key, chatHeldAbove); r.Status != 200 {
		t.Fatalf("a call once the hold is settled: %d %s", r.Status, r.Body)
	}
}
