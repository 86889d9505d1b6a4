package server_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

const chatX = `{"model":"%s","messages":[{"role":"user","content":"x"}]}`

func chatStatus(g *gt.Gateway, key, model string) gt.Response {
	return g.Data("POST", "/v1/chat/completions", key, fmt.Sprintf(chatX, model))
}

// With 30% of the primary's calls failing in every way an upstream fails, and one fallback,
// every request of a bounded loop succeeds.
func TestFaultsWithFallbackAllSucceed(t *testing.T) {
	flaky, steady := startFake(t), startFake(t)
	var calls atomic.Int64
	flaky.Faults = func(n int64, _ *fakeupstream.Received) fakeupstream.Fault {
		switch calls.Add(1) % 10 {
		case 1:
			return fakeupstream.Fault{Status: 500}
		case 4:
			return fakeupstream.Fault{Status: 429, RetryAfter: "0"}
		case 7:
			return fakeupstream.Fault{Status: 503}
		}
		return fakeupstream.Fault{}
	}
	g := gt.Start(t, "", `models:
  - id: primary
    name: Primary
    endpoint: `+flaky.URL+`
    provider: openai
    retry: {attempts: 0}
    breaker: {failures: 1000}
    fallbacks: [backup]
  - id: backup
    name: Backup
    endpoint: `+steady.URL+`
    provider: openai
`)
	fallbacks := 0
	for i := range 60 {
		body := fmt.Sprintf(chatX, "primary")
		if i%3 == 0 {
			body = strings.Replace(body, `"model"`, `"stream":true,"model"`, 1)
		}
		r := g.Data("POST", "/v1/chat/completions", gt.Key, body)
		if r.Status != 200 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
		if r.Header.Get("x-iom-fallback") == "backup" {
			fallbacks++
		}
	}
	if fallbacks < 12 || fallbacks > 24 {
		t.Fatalf("%d of 60 requests fell back; want about 30%%", fallbacks)
	}
}

func TestCircuitBreakerOpensAndRecovers(t *testing.T) {
	f := startFake(t)
	var down atomic.Bool
	down.Store(true)
	f.Faults = func(int64, *fakeupstream.Received) fakeupstream.Fault {
		if down.Load() {
			return fakeupstream.Fault{Status: 502}
		}
		return fakeupstream.Fault{}
	}
	g := gt.Start(t, "", `models:
  - id: fragile
    name: Fragile
    endpoint: `+f.URL+`
    provider: openai
    retry: {attempts: 0}
    breaker: {failures: 3, cooldownMs: 300}
`)
	status := func() string { return g.Admin("GET", "/api/models/fragile", nil).JSON(t)["status"].(string) }
	for range 3 {
		if r := chatStatus(g, gt.Key, "fragile"); r.Status != 502 {
			t.Fatalf("failing upstream: %d", r.Status)
		}
	}
	if s := status(); s != "unavailable" {
		t.Fatalf("after 3 failures the breaker should be open: %s", s)
	}
	before := f.Count()
	r := chatStatus(g, gt.Key, "fragile")
	if r.Status != 503 || !strings.Contains(string(r.Body), "circuit open") || f.Count() != before {
		t.Fatalf("an open breaker must fail fast without calling: %d %s (%d calls)", r.Status, r.Body, f.Count()-before)
	}
	if ids := g.Admin("GET", "/api/models?status=unavailable", nil).JSON(t)["data"].([]any); len(ids) != 1 {
		t.Fatalf("discovery should filter on the breaker's status: %v", ids)
	}
	down.Store(false)
	gt.Eventually(t, 3*time.Second, "the breaker's cooldown", func() bool { return status() == "degraded" })
	if r := chatStatus(g, gt.Key, "fragile"); r.Status != 200 {
		t.Fatalf("the half-open probe call: %d %s", r.Status, r.Body)
	}
	if s := status(); s != "available" {
		t.Fatalf("after a successful probe the breaker closes: %s", s)
	}
}

func TestReplicasBalanceAndSkipFailures(t *testing.T) {
	a, b, dead := startFake(t), startFake(t), startFake(t)
	dead.Faults = func(int64, *fakeupstream.Received) fakeupstream.Fault { return fakeupstream.Fault{Status: 500} }
	g := gt.Start(t, "", `models:
  - id: pair
    name: Pair
    provider: openai
    replicas:
      - {endpoint: "`+a.URL+`"}
      - {endpoint: "`+b.URL+`", upstreamModel: other-name}
  - id: with-dead
    name: With a dead replica
    provider: openai
    retry: {attempts: 1, backoffMs: 1}
    replicas:
      - {endpoint: "`+dead.URL+`"}
      - {endpoint: "`+a.URL+`"}
  - id: weighted
    name: Weighted
    provider: openai
    loadBalancing: weighted
    replicas:
      - {endpoint: "`+a.URL+`", weight: 9}
      - {endpoint: "`+b.URL+`", weight: 1}
  - id: fastest
    name: Least latency
    provider: openai
    loadBalancing: least-latency
    replicas:
      - {endpoint: "`+dead.URL+`", weight: 1}
      - {endpoint: "`+b.URL+`"}
`)
	for range 10 {
		if r := chatStatus(g, gt.Key, "pair"); r.Status != 200 {
			t.Fatal(r.Status)
		}
	}
	if a.Count() != 5 || b.Count() != 5 || !strings.Contains(string(b.Last().Body), "other-name") {
		t.Fatalf("round robin: %d / %d", a.Count(), b.Count())
	}
	for range 10 {
		if r := chatStatus(g, gt.Key, "with-dead"); r.Status != 200 {
			t.Fatalf("a failing replica must be skipped: %d %s", r.Status, r.Body)
		}
	}
	a0, b0 := a.Count(), b.Count()
	for range 100 {
		chatStatus(g, gt.Key, "weighted")
	}
	if na, nb := a.Count()-a0, b.Count()-b0; na < 75 || nb < 3 {
		t.Fatalf("weights 9:1 gave %d:%d", na, nb)
	}
	// least-latency: the dead replica fails (its breaker opens after retries); the live one serves.
	for range 10 {
		if r := chatStatus(g, gt.Key, "fastest"); r.Status != 200 {
			t.Fatalf("least latency: %d %s", r.Status, r.Body)
		}
	}
	views := g.Admin("GET", "/api/models/pair", nil)
	if strings.Contains(string(views.Body), "apiKey\"") {
		t.Fatalf("replica keys must not be shown: %s", views.Body)
	}
}

func TestConcurrencyQueue(t *testing.T) {
	f := startFake(t)
	f.Faults = func(int64, *fakeupstream.Received) fakeupstream.Fault {
		return fakeupstream.Fault{Delay: 300 * time.Millisecond}
	}
	g := gt.Start(t, "", `models:
  - id: narrow
    name: Narrow
    endpoint: `+f.URL+`
    provider: openai
    concurrency: {max: 1, queue: 1, queueTimeoutMs: 5000}
`)
	var wg sync.WaitGroup
	statuses := make(chan gt.Response, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 50 * time.Millisecond)
			statuses <- chatStatus(g, gt.Key, "narrow")
		}()
	}
	wg.Wait()
	close(statuses)
	ok, limited := 0, 0
	for r := range statuses {
		switch r.Status {
		case 200:
			ok++
		case 429:
			limited++
			if r.Header.Get("Retry-After") == "" {
				t.Errorf("a full queue must say when to retry")
			}
		default:
			t.Errorf("unexpected %d %s", r.Status, r.Body)
		}
	}
	if ok != 2 || limited != 1 {
		t.Fatalf("max 1 + queue 1 with 3 callers: %d ok, %d limited", ok, limited)
	}
}

func TestKeyLimitsAreExact(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", `models:
  - id: echo
    name: Echo
    endpoint: `+f.URL+`
    provider: openai
    costPerToken: 0.001
orgs:
  - name: thrifty
    budget: {usd: 0.01, period: day}
`)
	key := func(body string) string {
		r := g.Admin("POST", "/api/keys", body)
		if r.Status != 201 {
			t.Fatalf("create key: %d %s", r.Status, r.Body)
		}
		return r.JSON(t)["key"].(string)
	}
	rps := key(`{"name":"rps","limits":{"rps":0.001,"burst":5}}`)
	for i := range 5 {
		if r := chatStatus(g, rps, "echo"); r.Status != 200 {
			t.Fatalf("request %d within the burst: %d", i, r.Status)
		}
	}
	if r := chatStatus(g, rps, "echo"); r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the 6th request over a burst of 5: %d", r.Status)
	}
	// Each call uses 1 input + 2 output tokens ("echo: x") = 3 tokens.
	tpm := key(`{"name":"tpm","limits":{"tokensPerMinute":9}}`)
	for i := range 3 {
		if r := chatStatus(g, tpm, "echo"); r.Status != 200 {
			t.Fatalf("request %d under 9 tokens a minute: %d", i, r.Status)
		}
	}
	if r := chatStatus(g, tpm, "echo"); r.Status != 429 || !strings.Contains(string(r.Body), "9 of its 9 tokens") {
		t.Fatalf("the minute's tokens used up: %d %s", r.Status, r.Body)
	}
	// Each call costs $0.003: a $0.009 budget allows three, then stops spending.
	budget := key(`{"name":"budget","limits":{"budget":{"usd":0.009,"period":"month"}}}`)
	for i := range 3 {
		if r := chatStatus(g, budget, "echo"); r.Status != 200 {
			t.Fatalf("request %d within budget: %d %s", i, r.Status, r.Body)
		}
	}
	before := f.Count()
	if r := chatStatus(g, budget, "echo"); r.Status != 402 || !strings.Contains(string(r.Body), "budget") {
		t.Fatalf("over budget: %d %s", r.Status, r.Body)
	}
	if f.Count() != before {
		t.Fatal("a request over budget reached the upstream")
	}
	// An organisation's budget is shared by its keys: $0.01 allows four calls ($0.012).
	k1, k2 := key(`{"name":"t1","org":"thrifty"}`), key(`{"name":"t2","org":"thrifty"}`)
	for i, k := range []string{k1, k2, k1, k2} {
		if r := chatStatus(g, k, "echo"); r.Status != 200 {
			t.Fatalf("org request %d: %d", i, r.Status)
		}
	}
	if r := chatStatus(g, k1, "echo"); r.Status != 402 {
		t.Fatalf("org over budget: %d %s", r.Status, r.Body)
	}
	list := string(g.Admin("GET", "/api/keys", nil).Body)
	if !strings.Contains(list, `"spentUsd":0.009`) {
		t.Fatalf("the keys API should show the spend: %s", list)
	}
}

func TestResponseCache(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", `models:
  - id: cached
    name: Cached
    endpoint: `+f.URL+`
    provider: openai
    costPerToken: 0.001
    cache: {ttlSeconds: 60}
`)
	body := `{"model":"cached","messages":[{"role":"user","content":"same question"}],"temperature":0}`
	r := g.Data("POST", "/v1/chat/completions", gt.Key, body)
	if r.Status != 200 || r.Header.Get("x-iom-cache") != "miss" {
		t.Fatalf("first call: %d %v", r.Status, r.Header)
	}
	g.Flush()
	calls := f.Count()
	r2 := g.Data("POST", "/v1/chat/completions", gt.Key, `{"temperature":0,"messages":[{"role":"user","content":"same question"}],"model":"cached"}`)
	if r2.Status != 200 || r2.Header.Get("x-iom-cache") != "hit" || string(r2.Body) != string(r.Body) || r2.Header.Get("x-iom-cost-usd") != "0" {
		t.Fatalf("second call (fields reordered): %d %v", r2.Status, r2.Header)
	}
	text, _, _ := streamText(t, g.Data("POST", "/v1/chat/completions", gt.Key, strings.Replace(body, `"model"`, `"stream":true,"model"`, 1)))
	if text != "echo: same question" {
		t.Fatalf("a stream from the cache: %q", text)
	}
	if f.Count() != calls {
		t.Fatalf("cache hits reached the upstream (%d calls)", f.Count()-calls)
	}
	r3 := doRaw(t, "POST", g.DataURL+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + gt.Key,
		"Cache-Control": "no-cache"}, body)
	if r3.Header.Get("x-iom-cache") != "miss" || f.Count() != calls+1 {
		t.Fatalf("Cache-Control: no-cache must bypass: %v, %d calls", r3.Header, f.Count()-calls)
	}
	g.Flush()
	hits := g.Admin("GET", "/api/executions?model=cached", nil).JSON(t)["data"].([]any)
	var cacheKinds []string
	for _, h := range hits {
		cacheKinds = append(cacheKinds, h.(map[string]any)["cache"].(string))
	}
	if strings.Join(cacheKinds, ",") != "miss,hit,hit,miss" {
		t.Fatalf("records: %v", cacheKinds)
	}
}

func TestCORS(t *testing.T) {
	f := startFake(t)
	preflight := func(g *gt.Gateway, origin string) gt.Response {
		r := doRaw(t, "OPTIONS", g.DataURL+"/v1/chat/completions", map[string]string{"Origin": origin,
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}, "")
		if r.Status != 204 {
			t.Fatalf("preflight: %d", r.Status)
		}
		return r
	}
	g := gt.Start(t, "", models(f, ""))
	if h := preflight(g, "https://app.example.com").Header; h.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("nothing is allowed by default: %v", h)
	}
	dir := t.TempDir()
	cfg := strings.Replace(gt.Header(dir+"/data"), "admin:\n", "  cors:\n    allowedOrigins: [\"https://app.example.com\"]\nadmin:\n", 1)
	path := dir + "/iom.yaml"
	if err := os.WriteFile(path, []byte(cfg+models(f, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	g = gt.StartFile(t, dir, path)
	calls := f.Count()
	h := preflight(g, "https://app.example.com").Header
	if h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "authorization") ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || f.Count() != calls {
		t.Fatalf("allowed preflight: %v", h)
	}
	if h := preflight(g, "https://evil.example.com").Header; h.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("another origin: %v", h)
	}
	r := doRaw(t, "POST", g.DataURL+"/v1/chat/completions", map[string]string{"Origin": "https://app.example.com",
		"Authorization": "Bearer " + gt.Key}, fmt.Sprintf(chatX, "echo"))
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "x-iom-cost-usd") {
		t.Fatalf("a cross-origin call: %d %v", r.Status, r.Header)
	}
}

// doRaw sends a request with the given headers.
func doRaw(t *testing.T, method, url string, headers map[string]string, body string) gt.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := gt.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return gt.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func TestHealthProbes(t *testing.T) {
	f := startFake(t)
	var down atomic.Bool
	down.Store(true)
	f.Faults = func(_ int64, r *fakeupstream.Received) fakeupstream.Fault {
		if down.Load() {
			return fakeupstream.Fault{Status: 503}
		}
		return fakeupstream.Fault{}
	}
	g := gt.Start(t, "", `models:
  - id: probed
    name: Probed
    endpoint: `+f.URL+`
    provider: openai
    healthCheck: {intervalSeconds: 1}
    breaker: {failures: 1, cooldownMs: 100000}
`)
	status := func() string { return g.Admin("GET", "/api/models/probed", nil).JSON(t)["status"].(string) }
	gt.Eventually(t, 5*time.Second, "a failing probe to mark the model unavailable", func() bool { return status() == "unavailable" })
	if f.Last().Path != "/v1/models" || f.Last().Authorization != "" && !strings.HasPrefix(f.Last().Authorization, "Bearer") {
		t.Fatalf("probe request: %+v", f.Last())
	}
	down.Store(false)
	gt.Eventually(t, 5*time.Second, "a good probe to close the breaker", func() bool { return status() == "available" })
}

func TestAutoRouting(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", `models:
  - id: cheap
    name: Cheap
    endpoint: `+f.URL+`
    provider: openai
    costPerToken: 0.000001
    latency: 900
    tags: [chat]
  - id: fast
    name: Fast
    endpoint: `+f.URL+`
    provider: openai
    costPerToken: 0.00001
    latency: 100
    tags: [chat]
  - id: premium
    name: Premium
    endpoint: `+f.URL+`
    provider: openai
    costPerToken: 0.0001
    latency: 2000
    tags: [chat, reasoning]
  - id: vectors
    name: Vectors
    endpoint: `+f.URL+`
    provider: openai
    modelType: embedding
  - id: down
    name: Down
    endpoint: https://api.openai.com/v1
    costPerToken: 0.0000001
`)
	auto := func(headers map[string]string) gt.Response {
		h := map[string]string{"Authorization": "Bearer " + gt.Key}
		for k, v := range headers {
			h[k] = v
		}
		return doRaw(t, "POST", g.DataURL+"/v1/chat/completions", h, fmt.Sprintf(chatX, "auto"))
	}
	f2 := func(headers map[string]string, want string) {
		t.Helper()
		r := auto(headers)
		if r.Status != 200 || r.Header.Get("x-iom-model") != want {
			t.Errorf("%v: %d %s answered by %q, want %q", headers, r.Status, r.Body, r.Header.Get("x-iom-model"), want)
		}
	}
	// Latency first: measured latencies, once there are any, replace declared ones.
	f2(map[string]string{"x-iom-prefer": "latency"}, "fast")
	f2(map[string]string{"x-iom-max-latency-ms": "500"}, "fast")
	f2(nil, "cheap") // the cheapest available: "down" has no key
	f2(map[string]string{"x-iom-prefer": "quality"}, "premium")
	f2(map[string]string{"x-iom-capability": "reasoning"}, "premium")
	r := auto(map[string]string{"x-iom-capability": "vision"})
	if r.Status != 404 || !strings.Contains(string(r.Body), `capability \"vision\"`) {
		t.Fatalf("no match: %d %s", r.Status, r.Body)
	}
	if r := auto(map[string]string{"x-iom-prefer": "vibes"}); r.Status != 400 {
		t.Fatalf("bad preference: %d", r.Status)
	}
	r = g.Data("POST", "/v1/embeddings", gt.Key, `{"model":"auto","input":"x"}`)
	if r.Status != 200 || r.Header.Get("x-iom-model") != "vectors" {
		t.Fatalf("auto embeddings: %d %v", r.Status, r.Header.Get("x-iom-model"))
	}
}
