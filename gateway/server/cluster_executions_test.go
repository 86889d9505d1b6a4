package server_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

const relayPipeline = `{"id":"relay","name":"Relay","nodes":[
	{"id":"in","type":"input"},{"id":"m","type":"model","data":{"model":"priced","input":"input.text"}},{"id":"out","type":"output"}],
	"edges":[{"source":"in","target":"m"},{"source":"m","target":"out"}]}`

// runRelay runs the relay pipeline on n and returns its execution id.
func runRelay(t *testing.T, n *gt.Gateway, text string) string {
	t.Helper()
	r := n.Data("POST", "/v1/pipelines/relay/run", budgetedKey, `{"text":"`+text+`"}`)
	id, _ := r.JSON(t)["executionId"].(string)
	if r.Status != 200 || id == "" {
		t.Fatalf("run: %d %s", r.Status, r.Body)
	}
	return id
}

// executions lists every page of /api/executions?query on n.
func executions(t *testing.T, n *gt.Gateway, query string) []map[string]any {
	t.Helper()
	var out []map[string]any
	before := ""
	for range 100 {
		q, _ := url.ParseQuery(query)
		if before != "" {
			q.Set("before", before)
		}
		r := n.Admin("GET", "/api/executions?"+q.Encode(), nil)
		if r.Status != 200 {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var page struct {
			Data []map[string]any `json:"data"`
			Next string           `json:"next"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Data...)
		if before = page.Next; before == "" {
			return out
		}
	}
	t.Fatal("the listing does not end")
	return nil
}

// A pipeline run on one node is listed, with its node, and readable on the others; Redis holds
// it sealed. Listings merge every node's runs once each, newest first, page by page, with the
// same filters as alone.
func TestClusterSharesExecutions(t *testing.T) {
	rs, _, nodes := newCluster(t, 3)
	a, b := nodes[0], nodes[1]
	if r := a.Admin("POST", "/api/pipelines", relayPipeline); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	gt.Eventually(t, time.Second, "node b knows the pipeline", func() bool {
		return b.Admin("GET", "/api/pipelines/relay", nil).Status == 200
	})
	const prompt = "a private question about the quarterly numbers"
	id := runRelay(t, a, prompt)

	var x map[string]any
	gt.Eventually(t, 2*time.Second, "node b shows node a's run", func() bool {
		r := b.Admin("GET", "/api/executions/"+id, nil)
		x = r.JSON(t)
		return r.Status == 200
	})
	if x["node"] != "gw-a" || x["pipeline"] != "relay" || x["status"] != "ok" || !strings.Contains(string(mustJSON(t, x["input"])), prompt) {
		t.Fatalf("node a's run as node b shows it: %v", x)
	}
	a.Flush()
	if own := a.Admin("GET", "/api/executions/"+id, nil).JSON(t); own["node"] != "gw-a" {
		t.Fatalf("node a's own run: %v", own)
	}
	listed := executions(t, b, "kind=pipeline")
	if len(listed) != 1 || listed[0]["id"] != id || listed[0]["node"] != "gw-a" {
		t.Fatalf("node b lists %v", listed)
	}
	blob := rs.Client().Get(t.Context(), "iom:execution:"+id).Val()
	if blob == "" || strings.Contains(blob, prompt) || strings.Contains(blob, "relay") {
		t.Fatalf("Redis holds the run in the clear (or not at all): %q", blob)
	}

	// Runs on every node: each listed once everywhere, newest first, through pages of two.
	ids := map[string]string{id: "gw-a"}
	for i, n := range []*gt.Gateway{b, a, nodes[2], b, a} {
		ids[runRelay(t, n, "run")] = []string{"gw-b", "gw-a", "gw-c", "gw-b", "gw-a"}[i]
	}
	for _, n := range nodes {
		n.Flush()
	}
	for _, n := range nodes {
		var got []map[string]any
		gt.Eventually(t, 2*time.Second, "every node lists every run", func() bool {
			got = executions(t, n, "kind=pipeline&limit=2")
			return len(got) == len(ids)
		})
		seen := map[string]bool{}
		var last time.Time
		for i, e := range got {
			eid := e["id"].(string)
			if seen[eid] || ids[eid] == "" || e["node"] != ids[eid] {
				t.Fatalf("listed twice, unknown or on the wrong node: %v", e)
			}
			seen[eid] = true
			at, _ := time.Parse(time.RFC3339Nano, e["time"].(string))
			if i > 0 && at.After(last.Add(time.Second)) {
				t.Fatalf("not newest first: %v", got)
			}
			last = at
		}
		if n := executions(t, n, "kind=invocation&pipeline=relay"); len(n) == 0 {
			t.Fatal("the node's own model calls of its runs are missing")
		}
		if errs := executions(t, n, "kind=pipeline&status=error"); len(errs) != 0 {
			t.Fatalf("the status filter lets through %v", errs)
		}
	}
	if r := b.Admin("GET", "/api/executions?before=nonsense", nil); r.Status != 400 {
		t.Fatalf("a bad cursor: %d %s", r.Status, r.Body)
	}

	// Redis away: each node lists its own, and says the others' are missing.
	rs.Stop()
	r := b.Admin("GET", "/api/executions?kind=pipeline", nil)
	body := r.JSON(t)
	if r.Status != 200 || body["clusterError"] == nil || len(body["data"].([]any)) != 2 || strings.Contains(string(r.Body), rs.Addr) {
		t.Fatalf("with Redis down: %d %s", r.Status, r.Body)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
