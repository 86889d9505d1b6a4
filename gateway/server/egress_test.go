package server_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

func hostPort(t *testing.T, url string) string {
	t.Helper()
	hp := strings.TrimPrefix(url, "http://")
	hp, _, _ = strings.Cut(hp, "/")
	if _, _, err := net.SplitHostPort(hp); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return hp
}

func chatBody(model string) string {
	return `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
}

// A stored key goes only to the endpoint it was given for: a PUT that moves the model to another
// host, or to another provider, without sending apiKey drops the stored key, and says so.
func TestKeyStaysWithItsEndpoint(t *testing.T) {
	a, b := startFake(t), startFake(t)
	g := gt.Start(t, "", "")
	r := g.Admin("POST", "/api/models", `{"id":"m","name":"M","endpoint":"`+a.URL+`","provider":"openai","apiKey":"sk-bound-to-a","securityPolicy":"public"}`)
	if r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	if r := g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("m")); r.Status != 200 || a.Last().Authorization != "Bearer sk-bound-to-a" {
		t.Fatalf("the first host: %d %s (%q)", r.Status, r.Body, a.Last().Authorization)
	}

	// Same host, another path: the key stays.
	r = g.Admin("PUT", "/api/models/m", `{"name":"M","endpoint":"`+a.URL+`/chat/completions","provider":"openai","securityPolicy":"public"}`)
	if r.Status != 200 || r.JSON(t)["hasApiKey"] != true || r.JSON(t)["warnings"] != nil {
		t.Fatalf("a PUT on the same host: %d %s", r.Status, r.Body)
	}

	// Another host: the key is dropped, and the answer says so.
	r = g.Admin("PUT", "/api/models/m", `{"name":"M","endpoint":"`+b.URL+`","provider":"openai","securityPolicy":"public"}`)
	if r.Status != 200 {
		t.Fatalf("move to another host: %d %s", r.Status, r.Body)
	}
	if v := r.JSON(t); v["hasApiKey"] != false || !strings.Contains(string(r.Body), "apiKey was dropped") {
		t.Fatalf("the answer must say the key was dropped: %s", r.Body)
	}
	if r := g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("m")); r.Status != 200 {
		t.Fatalf("call the new host: %d %s", r.Status, r.Body)
	}
	if got := b.Last().Authorization; got != "" {
		t.Fatalf("the new host got the old host's key: %q", got)
	}
	if strings.Contains(string(g.Admin("GET", "/api/models/m", nil).Body), `"hasApiKey":true`) {
		t.Error("the model still shows a key")
	}

	// A key sent with the move goes to the new host.
	r = g.Admin("PUT", "/api/models/m", `{"name":"M","endpoint":"`+b.URL+`","provider":"openai","apiKey":"sk-for-b","securityPolicy":"public"}`)
	if r.Status != 200 || r.JSON(t)["hasApiKey"] != true || r.JSON(t)["warnings"] != nil {
		t.Fatalf("move with a key: %d %s", r.Status, r.Body)
	}
	g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("m"))
	if got := b.Last().Authorization; got != "Bearer sk-for-b" {
		t.Fatalf("the new key: %q", got)
	}

	// Another provider on the same host: dropped too.
	r = g.Admin("PUT", "/api/models/m", `{"name":"M","endpoint":"`+b.URL+`","provider":"ollama","securityPolicy":"public"}`)
	if r.Status != 200 || r.JSON(t)["hasApiKey"] != false || !strings.Contains(string(r.Body), "apiKey was dropped") {
		t.Fatalf("a change of provider: %d %s", r.Status, r.Body)
	}
}

// A provider-wide key goes to the vendor's own host and the hosts providers.<name>.keyHosts
// lists, never to wherever a model points.
func TestProviderKeyOnlyToListedHosts(t *testing.T) {
	f := startFake(t)
	body := func(keyHosts string) string {
		return `providers:
  openai:
    apiKey: sk-provider-wide-000
` + keyHosts + `models:
  - id: near
    name: Near
    endpoint: ` + f.URL + `
    provider: openai
  - id: groq
    name: Groq
    endpoint: https://api.groq.com/openai/v1
    provider: openai
`
	}
	g := gt.Start(t, "", body(""))
	if r := g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("near")); r.Status != 200 {
		t.Fatalf("call: %d %s", r.Status, r.Body)
	}
	if got := f.Last().Authorization; got != "" {
		t.Fatalf("a host not listed got the provider-wide key: %q", got)
	}
	groq := g.Admin("GET", "/api/models/groq", nil).JSON(t)
	if groq["status"] != "unavailable" || groq["hasApiKey"] != false {
		t.Fatalf("a cloud model whose host does not get the provider-wide key must show as needing a key: %v", groq)
	}
	r := g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("groq"))
	if r.Status != 503 {
		t.Fatalf("calling it: %d %s", r.Status, r.Body)
	}
	g.Stop()

	g = gt.Start(t, "", body("    keyHosts: [\""+hostPort(t, f.URL)+"\"]\n"))
	if r := g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("near")); r.Status != 200 {
		t.Fatalf("call: %d %s", r.Status, r.Body)
	}
	if got := f.Last().Authorization; got != "Bearer sk-provider-wide-000" {
		t.Fatalf("a listed host must get the provider-wide key: %q", got)
	}
}

// No model may reach the gateway's own listeners or a link-local address: a literal address is
// refused when the model is registered, a name when it is dialed (to whatever it resolves to),
// with an error that names no address.
func TestEgressPolicy(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", "")
	register := func(id, endpoint, extra string) gt.Response {
		t.Helper()
		return g.Admin("POST", "/api/models", `{"id":"`+id+`","name":"`+id+`","endpoint":"`+endpoint+`","securityPolicy":"public"`+extra+`}`)
	}
	metrics := `,"provider":"http","http":{"method":"GET","text":"response"}`
	_, adminPort, _ := net.SplitHostPort(g.AdminAddr())
	_, dataPort, _ := net.SplitHostPort(g.DataAddr())
	for _, c := range []struct{ id, endpoint, extra string }{
		{"admin-metrics", "http://127.0.0.1:" + adminPort + "/metrics", metrics},
		{"admin-v6", "http://[::1]:" + adminPort + "/metrics", metrics},
		{"data-plane", "http://127.0.0.1:" + dataPort + "/v1", `,"provider":"openai"`},
		{"metadata", "http://169.254.169.254/latest/meta-data", metrics},
		{"metadata-v6", "http://[fe80::a9fe:a9fe]/latest/meta-data", metrics},
	} {
		r := register(c.id, c.endpoint, c.extra)
		if r.Status != 400 || !strings.Contains(string(r.Body), "egress policy") {
			t.Errorf("register %s at %s: %d %s", c.id, c.endpoint, r.Status, r.Body)
		}
	}
	// A replica is checked like the endpoint.
	if r := register("replica", f.URL, `,"provider":"openai","replicas":[{"endpoint":"http://169.254.169.254/v1"}]`); r.Status != 400 ||
		!strings.Contains(string(r.Body), "replicas[0].endpoint") {
		t.Errorf("a replica at a link-local address: %d %s", r.Status, r.Body)
	}

	// A name is checked where it leads when dialed.
	if r := register("named-metrics", "http://localhost:"+adminPort+"/metrics", metrics); r.Status != 201 {
		t.Fatalf("register by name: %d %s", r.Status, r.Body)
	}
	r := g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("named-metrics"))
	if r.Status != 403 || !strings.Contains(string(r.Body), `"egress_denied"`) || !strings.Contains(string(r.Body), "egress policy") {
		t.Fatalf("a model aimed at the admin listener: %d %s", r.Status, r.Body)
	}
	for _, leak := range []string{"iom_", "# TYPE", "localhost", "127.0.0.1", adminPort} {
		if strings.Contains(string(r.Body), leak) {
			t.Errorf("the answer shows %q: %s", leak, r.Body)
		}
	}
	if r := register("named-self", "http://localhost:"+dataPort+"/v1", `,"provider":"openai"`); r.Status != 201 {
		t.Fatalf("register by name: %d %s", r.Status, r.Body)
	}
	if r := g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("named-self")); r.Status != 403 {
		t.Fatalf("a model aimed at the data plane: %d %s", r.Status, r.Body)
	}

	// Local model servers stay reachable, by address and by name.
	_, fakePort, _ := net.SplitHostPort(hostPort(t, f.URL))
	for id, endpoint := range map[string]string{"local": f.URL, "local-name": "http://localhost:" + fakePort + "/v1"} {
		if r := register(id, endpoint, `,"provider":"openai"`); r.Status != 201 {
			t.Fatalf("register %s: %d %s", id, r.Status, r.Body)
		}
		if r := g.Data("POST", "/v1/chat/completions", gt.Key, chatBody(id)); r.Status != 200 {
			t.Errorf("a local model server at %s: %d %s", endpoint, r.Status, r.Body)
		}
	}
}

// A model that leads back to the gateway ends after a few hops with 508, not in a storm of
// calls: every upstream request carries the hop header, and a request that came back too often
// is refused.
func TestLoopStopsAfterFewHops(t *testing.T) {
	f := startFake(t)
	dir := t.TempDir()
	g := gt.Start(t, dir, "")
	_, dataPort, _ := net.SplitHostPort(g.DataAddr())
	// Open the egress policy to the data plane, so that the loop guard is what stops the loop.
	cfg := gt.Header(filepath.Join(dir, "data")) + `egress:
  allow: ["127.0.0.1:` + dataPort + `"]
models:
  - id: self
    name: Myself
    endpoint: http://127.0.0.1:` + dataPort + `/v1
    provider: openai
    upstreamModel: self
    apiKey: ` + gt.Key + `
    timeoutMs: 5000
  - id: fake
    name: Fake
    endpoint: ` + f.URL + `
    provider: openai
`
	if err := os.WriteFile(g.Config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	r := g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("self"))
	if r.Status != 508 || !strings.Contains(string(r.Body), `"loop_detected"`) {
		t.Fatalf("a model that leads back to the gateway: %d %s", r.Status, r.Body)
	}
	g.Flush()
	calls := len(g.Admin("GET", "/api/executions?model=self&limit=500", nil).JSON(t)["data"].([]any))
	t.Logf("%d calls of model self", calls)
	if calls == 0 || calls > 4 {
		t.Fatalf("%d calls of model self, want the first and at most 3 more", calls)
	}

	// Upstream calls carry the hop header: this gateway's first hop, after those it came with.
	if r := g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("fake")); r.Status != 200 {
		t.Fatalf("call: %d %s", r.Status, r.Body)
	}
	hop := f.Last().Header["x-iom-hop"]
	if !regexp.MustCompile(`^[0-9a-f]{16};n=1$`).MatchString(hop) {
		t.Fatalf("hop header %q", hop)
	}
	id, _, _ := strings.Cut(hop, ";")
	sendTo := func(path, hops string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("POST", g.DataURL+path, strings.NewReader(`{"model":"fake","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+gt.Key)
		req.Header.Set("X-Iom-Hop", hops)
		resp, err := gt.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	send := func(hops string) int {
		t.Helper()
		s, _ := sendTo("/v1/chat/completions", hops)
		return s
	}
	if s := send("other;n=2"); s != 200 || f.Last().Header["x-iom-hop"] != "other;n=2, "+id+";n=1" {
		t.Fatalf("a request from another gateway: %d, hop %q", s, f.Last().Header["x-iom-hop"])
	}
	if s := send("other;n=2, " + id + ";n=2"); s != 200 || f.Last().Header["x-iom-hop"] != "other;n=2, "+id+";n=3" {
		t.Fatalf("a request back the second time: %d, hop %q", s, f.Last().Header["x-iom-hop"])
	}
	if s, body := sendTo("/v1/chat/completions", id+";n=3"); s != 508 || !strings.Contains(body, `"code":"loop_detected"`) {
		t.Fatalf("a request back the third time: %d %s", s, body)
	}
	if s, body := sendTo("/v1/messages", id+";n=3"); s != 508 || !strings.Contains(body, `"type":"error"`) {
		t.Fatalf("an Anthropic request back the third time: %d %s", s, body)
	}
}
