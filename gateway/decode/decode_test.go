package decode

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/secret"
)

type inner struct {
	Name  string   `json:"name"`
	Tags  []string `json:"tags"`
	Count uint     `json:"count"`
}

type doc struct {
	ID      string          `json:"id"`
	Latency float64         `json:"latency"`
	Retries int             `json:"retries"`
	On      bool            `json:"on"`
	Items   []inner         `json:"items"`
	ByName  map[string]int  `json:"byName"`
	Schema  any             `json:"schema"`
	Raw     json.RawMessage `json:"raw"`
	Key     secret.Secret   `json:"key"`
	Ptr     *inner          `json:"ptr"`
}

func TestJSONDecodes(t *testing.T) {
	var d doc
	es := JSON([]byte(`{"id":"a","latency":1.5,"retries":3,"on":true,"items":[{"name":"x","tags":["t"],"count":2}],
		"byName":{"k":1},"schema":{"type":"object","n":2},"raw":{"a":[1]},"key":"sk-1","ptr":{"name":"p"}}`), &d)
	if len(es) > 0 {
		t.Fatal(es)
	}
	if d.ID != "a" || d.Latency != 1.5 || d.Retries != 3 || !d.On || d.Items[0].Count != 2 || d.ByName["k"] != 1 ||
		d.Key.Reveal() != "sk-1" || d.Ptr.Name != "p" || string(d.Raw) != `{"a":[1]}` {
		t.Fatalf("decoded %+v", d)
	}
	if n := d.Schema.(map[string]any)["n"]; n != json.Number("2") {
		t.Fatalf("numbers under any should be json.Number, got %T", n)
	}
}

func TestErrorsNamePaths(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		var d doc
		got := JSON([]byte(in), &d).Error()
		if got != want {
			t.Errorf("JSON(%s)\n got: %s\nwant: %s", in, got, want)
		}
	}
	f(`{"idd":"a"}`, `idd: unknown field`)
	f(`{"ID":"a"}`, `ID: unknown field (did you mean "id"?)`)
	f(`{"latency":"fast"}`, `latency: expected a number, got string "fast"`)
	f(`{"retries":1.5}`, `retries: expected an integer, got number 1.5`)
	f(`{"items":[{"name":"ok"},{"count":-1,"tags":"x"}]}`,
		"items[1].count: expected a non-negative integer, got number -1\nitems[1].tags: expected a list, got string \"x\"")
	f(`{"items":{}}`, `items: expected a list, got an object`)
	f(`{"on":"yes"}`, `on: expected true or false, got string "yes"`)
	f(`{"id":"a","id":"b"}`, `invalid JSON: duplicate key "id"`)
	f(`{"id":"a"} x`, `invalid JSON: unexpected data after the top-level value`)
	if es := JSON([]byte(`{"items":[{"name":1}],"x":1}`), &doc{}); len(es) != 2 {
		t.Errorf("want every error reported, got %v", es)
	}
}

func TestYAMLNumbersNormalize(t *testing.T) {
	var d doc
	es := Into(map[string]any{"retries": uint64(3), "latency": 2, "schema": map[string]any{"max": 2.5}}, &d, "models[0]")
	if len(es) > 0 || d.Retries != 3 || d.Latency != 2 {
		t.Fatalf("%v %+v", es, d)
	}
	if d.Schema.(map[string]any)["max"] != json.Number("2.5") {
		t.Fatalf("got %#v", d.Schema)
	}
	es = Into(map[string]any{"on": 1}, &d, "models[0]")
	if !strings.HasPrefix(es.Error(), "models[0].on: ") {
		t.Fatalf("path not prefixed: %v", es)
	}
}
