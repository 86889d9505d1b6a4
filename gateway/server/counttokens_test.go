package server_test

import (
	"strings"
	"testing"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// POST /v1/messages/count_tokens estimates a Messages request's input tokens for any model the
// key may use, without calling it, and answers errors in Anthropic's shape.
func TestMessagesCountTokens(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	text := strings.Repeat("count these words please ", 40) // 1,000 characters
	r := g.Data("POST", "/v1/messages/count_tokens", gt.Key, `{"model":"echo","system":"be brief",
		"messages":[{"role":"user","content":"`+text+`"}]}`)
	n, _ := r.JSON(t)["input_tokens"].(float64)
	if r.Status != 200 || n < 250 || n > 300 {
		t.Fatalf("estimate: %d %s", r.Status, r.Body)
	}
	if f.Count() != 0 {
		t.Fatal("counting tokens must not call the model")
	}
	for _, c := range []struct {
		key, body string
		status    int
		typ       string
	}{
		{gt.Key, `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 404, "not_found_error"},
		{"wrong-key-0000000000000000", `{"model":"echo","messages":[{"role":"user","content":"x"}]}`, 401, "authentication_error"},
		{gt.Key, `{"model":"echo","messages":[{"role":"system","content":"x"}]}`, 400, "invalid_request_error"},
	} {
		r := g.Data("POST", "/v1/messages/count_tokens", c.key, c.body)
		if r.Status != c.status || r.JSON(t)["type"] != "error" || !strings.Contains(string(r.Body), `"type":"`+c.typ+`"`) {
			t.Errorf("%s: %d %s", c.body, r.Status, r.Body)
		}
	}
}
