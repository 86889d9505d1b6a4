package server_test

import (
	"strings"
	"testing"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// Every request the data plane answers is counted in analytics and listed in executions, the
// refused ones too (401, 403/404, 429, 400): before, 20 requests for an unknown model showed as
// one error and no execution.
func TestRefusalsAreCounted(t *testing.T) {
	f, _ := fakeupstream.StartOpenAI()
	t.Cleanup(f.Close)
	g := gt.Start(t, "", `models:
  - {id: m, name: M, endpoint: `+f.URL+`, provider: openai}
`)
	chat := func(key, model string) int {
		return g.Data("POST", "/v1/chat/completions", key, `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`).Status
	}
	for range 20 {
		if s := chat(gt.Key, "no-such-model"); s != 404 {
			t.Fatalf("unknown model: %d", s)
		}
	}
	if s := chat("wrong-key-0000000000000000", "m"); s != 401 {
		t.Fatalf("bad key: %d", s)
	}
	k := g.Admin("POST", "/api/keys", `{"name":"slow","org":"acme","limits":{"rps":0.001,"burst":1}}`).JSON(t)
	slow := k["key"].(string)
	if s := chat(slow, "m"); s != 200 {
		t.Fatalf("first request of a limited key: %d", s)
	}
	if s := chat(slow, "m"); s != 429 {
		t.Fatalf("second request of a limited key: %d", s)
	}
	if s := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"m"}`).Status; s != 400 {
		t.Fatalf("no messages: %d", s)
	}
	g.Flush()

	rep := g.Admin("GET", "/api/analytics?range=1h&group=model", nil).JSON(t)
	overall := rep["overall"].(map[string]any)
	if overall["requests"].(float64) != 24 || overall["errors"].(float64) != 23 {
		t.Fatalf("analytics overall: %v", overall)
	}
	byModel := map[string]float64{}
	for _, tot := range rep["totals"].([]any) {
		m := tot.(map[string]any)
		byModel[m["key"].(string)] = m["errors"].(float64)
	}
	if byModel["unknown"] != 22 || byModel["m"] != 1 {
		t.Fatalf("errors by model: %v", byModel)
	}

	list := g.Admin("GET", "/api/executions?status=error&limit=100", nil).JSON(t)["data"].([]any)
	statuses := map[float64]int{}
	for _, raw := range list {
		rec := raw.(map[string]any)
		statuses[rec["httpStatus"].(float64)]++
		if rec["httpStatus"].(float64) == 404 && (rec["model"] != "unknown" || rec["key"] != "app" ||
			!strings.Contains(rec["error"].(string), "no-such-model")) {
			t.Fatalf("a refused request's record: %v", rec)
		}
		if rec["httpStatus"].(float64) == 429 && (rec["model"] != "m" || rec["key"] != "slow") {
			t.Fatalf("a rate-limited request's record: %v", rec)
		}
	}
	if statuses[404] != 20 || statuses[401] != 1 || statuses[429] != 1 || statuses[400] != 1 {
		t.Fatalf("refusals listed by status: %v", statuses)
	}
}
