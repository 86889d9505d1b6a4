package wasm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"reflect"
	"strings"
	"testing"
)

// The local-models example: one module serving the thirteen example local models, each
// answering as its own module does.

func init() {
	guests["local-models"] = "examples/plugins/local-models"
}

// localModels are the models local-models serves, in the order its unknown_model error lists them.
var localModels = []string{"summarizer", "sentiment", "langid", "embeddings", "writer", "editor", "quality",
	"image-features", "describer", "translator", "stats", "forecast", "report"}

// localModelCall is one representative call of each model.
func localModelCall(t *testing.T, name string) ModelCall {
	t.Helper()
	chat := func(text string) ModelCall {
		return ModelCall{Op: OpChat, Request: chatRequest("user", text), Model: ModelInfo{ID: "local-" + name, UpstreamModel: name}}
	}
	switch name {
	case "summarizer":
		return chat(`WebAssembly lets the gateway run plugins safely. Each plugin runs in a sandbox with a memory cap.
The weather was nice yesterday. A plugin that loops forever is stopped at its deadline, and the sandbox keeps
the gateway safe. Cats are popular pets. The gateway runs many plugins in pools of sandboxed instances.`)
	case "sentiment":
		return chat("The hotel was nice but the staff were rude and the room was dirty.")
	case "langid":
		return chat("Je voudrais réserver une table pour deux personnes ce soir.")
	case "embeddings":
		return ModelCall{Op: OpEmbedding, Request: json.RawMessage(`{"model":"emb","input":["The cat sat on the mat.","Stock markets fell sharply today."]}`),
			Model: ModelInfo{ID: "local-embeddings", UpstreamModel: name}}
	case "writer":
		return chat(`{"topic": "solar power", "audience": "students", "paragraphs": 3}`)
	case "editor":
		return chat("the the cat sat on the mat .it was very happy , really.\n\nwe went to the centre of town and i saw it")
	case "quality":
		return chat(strings.Repeat("The gateway runs small models offline. Each answer comes back in a few milliseconds. ", 6))
	case "image-features":
		var buf bytes.Buffer
		if err := png.Encode(&buf, testImage(40, 20)); err != nil {
			t.Fatal(err)
		}
		return chat(`{"image":"data:image/png;base64,` + base64.StdEncoding.EncodeToString(buf.Bytes()) + `"}`)
	case "describer":
		return chat(`{"format": "png", "width": 40, "height": 20, "orientation": "landscape", "brightness": 0.213,
			"contrast": 0.538, "colorfulness": 166.2, "dominantColors": [{"hex": "#000080", "name": "navy", "share": 0.75},
			{"hex": "#ffa500", "name": "orange", "share": 0.25}]}`)
	case "translator":
		return chat(`{"text": "A tiny landscape image, mostly navy with touches of orange. It is dark and high in contrast. The colors are vivid.", "to": "es"}`)
	case "stats":
		return chat(`{"label": "Weekly sales", "series": [12, 15, 14, 18, 21, 19, 24]}`)
	case "forecast":
		return chat(`{"label": "Weekly sales", "series": [12, 15, 14, 18, 21, 19, 24], "horizon": 2}`)
	case "report":
		return chat(`{"label": "Weekly sales",
			"stats": {"text": "{\"count\": 7, \"mean\": 17.57142857, \"median\": 18, \"stdev\": 4.197504928, \"min\": 12, \"max\": 24, \"q1\": 14.5, \"q3\": 20, \"sum\": 123, \"trend\": {\"slope\": 1.821428571, \"intercept\": 12.10714286, \"r2\": 0.8787162162}}"},
			"forecast": {"text": "{\"method\": \"holt\", \"horizon\": 2, \"forecast\": [{\"step\": 1, \"value\": 25.3872275, \"low\": 21.99129408, \"high\": 28.78316092}, {\"step\": 2, \"value\": 27.33863, \"low\": 23.2883476, \"high\": 31.3889124}]}"}}`)
	}
	t.Fatalf("no call for %s", name)
	return ModelCall{}
}

// sameAnswer fails unless two responses are the same JSON but for "created" (the guests' fake
// clock advances with each reading).
func sameAnswer(t *testing.T, combined, alone json.RawMessage) {
	t.Helper()
	var a, b map[string]any
	if err := json.Unmarshal(combined, &a); err != nil {
		t.Fatalf("local-models: %v: %.300s", err, combined)
	}
	if err := json.Unmarshal(alone, &b); err != nil {
		t.Fatalf("standalone: %v: %.300s", err, alone)
	}
	delete(a, "created")
	delete(b, "created")
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("local-models answered\n%.600s\nthe model's own module\n%.600s", combined, alone)
	}
}

func TestLocalModelsSameAsStandalone(t *testing.T) {
	skipUnderRace(t)
	combined := load(t, "local-models", Config{})
	if d := combined.Description(); d.Name != "local-models" || d.Language != "go" || !reflect.DeepEqual(d.Roles, []string{"infer"}) {
		t.Fatalf("describe: %+v", d)
	}
	standalone := int64(0)
	for _, name := range localModels {
		t.Run(name, func(t *testing.T) {
			alone := load(t, name, Config{})
			if fi, err := os.Stat(guestPath(t, name)); err == nil {
				standalone += fi.Size()
			}
			call := localModelCall(t, name)
			want, err := alone.Infer(context.Background(), call)
			if err != nil {
				t.Fatal(err)
			}
			got, err := combined.Infer(context.Background(), call)
			if err != nil {
				t.Fatal(err)
			}
			sameAnswer(t, got, want)
		})
	}
	if fi, err := os.Stat(guestPath(t, "local-models")); err == nil {
		t.Logf("local-models.wasm is %.1f MB; the 13 models' own modules are %.1f MB together",
			float64(fi.Size())/(1<<20), float64(standalone)/(1<<20))
	}
}

func TestLocalModelsConfig(t *testing.T) {
	skipUnderRace(t)
	ctx := context.Background()
	p := load(t, "local-models", Config{Name: "local-models-config",
		Config: []byte(`{"models": {"embeddings": {"dimensions": 64}, "summarizer": {"sentences": 1}}}`)})
	dims := func(p *Plugin, request string) int {
		t.Helper()
		resp, err := p.Infer(ctx, ModelCall{Op: OpEmbedding, Request: json.RawMessage(request), Model: ModelInfo{ID: "e", UpstreamModel: "embeddings"}})
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Data []struct{ Embedding []float64 }
		}
		if err := json.Unmarshal(resp, &list); err != nil || len(list.Data) != 1 {
			t.Fatalf("not an embedding list: %v: %.200s", err, resp)
		}
		return len(list.Data[0].Embedding)
	}
	if n := dims(p, `{"model":"emb","input":"hello world"}`); n != 64 {
		t.Fatalf("the embeddings' config gives 64 dimensions, got %d", n)
	}
	if n := dims(p, `{"model":"emb","input":"hello world","dimensions":32}`); n != 32 {
		t.Fatalf("the request's dimensions win over the config's, got %d", n)
	}
	// The same config as the standalone module's gives the same answer.
	alone := load(t, "embeddings", Config{Name: "embeddings-64", Config: []byte(`{"dimensions": 64}`)})
	call := localModelCall(t, "embeddings")
	want, err := alone.Infer(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Infer(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	sameAnswer(t, got, want)
	// Each model gets its own entry: the summarizer's, one sentence; the default's, 256 dimensions.
	resp, err := p.Infer(ctx, localModelCall(t, "summarizer"))
	if err != nil {
		t.Fatal(err)
	}
	if s := decodeChat(t, resp).Choices[0].Message.Content; strings.Count(s, ". ") != 0 || !strings.HasSuffix(s, ".") {
		t.Fatalf("the summarizer's config asks for one sentence: %q", s)
	}
	plain := load(t, "local-models", Config{Name: "local-models-plain"})
	if n := dims(plain, `{"model":"emb","input":"hello world"}`); n != 256 {
		t.Fatalf("without config, 256 dimensions, got %d", n)
	}

	// A config member that is not "model" or "models", or a "models" entry that is no model, is
	// an error, not a setting silently ignored.
	for i, conf := range []string{`{"embeddings": {"dimensions": 64}}`, `{"models": {"embedding": {"dimensions": 64}}}`,
		`{"models": [1]}`, `{"model": 3}`, `[1]`} {
		bad := load(t, "local-models", Config{Name: fmt.Sprintf("local-models-bad-%d", i), Config: []byte(conf)})
		_, err := bad.Infer(ctx, localModelCall(t, "sentiment"))
		wantGuestCode(t, err, "bad_config")
	}
}

func TestLocalModelsDispatch(t *testing.T) {
	skipUnderRace(t)
	ctx := context.Background()
	// {"model": …} pins a model for calls whose upstreamModel is none of them.
	pinned := load(t, "local-models", Config{Name: "local-models-pinned", Config: []byte(`{"model": "sentiment"}`)})
	call := ModelCall{Op: OpChat, Request: chatRequest("user", "I love this product, it is absolutely wonderful!"),
		Model: ModelInfo{ID: "local-sentiment", UpstreamModel: "local-sentiment"}}
	resp, err := pinned.Infer(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	if s := decodeChat(t, resp).Choices[0].Message.Content; !strings.Contains(s, `"label":"positive"`) {
		t.Fatalf("the pinned sentiment model answered %q", s)
	}
	// An upstreamModel that names a model wins over the pin.
	call.Model.UpstreamModel = "langid"
	resp, err = pinned.Infer(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	if s := decodeChat(t, resp).Choices[0].Message.Content; !strings.Contains(s, `"language":"en"`) {
		t.Fatalf("langid answered %q", s)
	}
	// Names match exactly.
	p := load(t, "local-models", Config{})
	for _, name := range []string{"x", "Sentiment", "local-sentiment", ""} {
		call.Model.UpstreamModel = name
		_, err := p.Infer(ctx, call)
		e := wantGuestCode(t, err, "unknown_model")
		want := `local-models has no model "` + name + `" (it has: ` + strings.Join(localModels, ", ") + `)`
		if e.Message != want {
			t.Fatalf("message %q, want %q", e.Message, want)
		}
	}
	// With an unknown pin, the error names the pin.
	call.Model.UpstreamModel = "x"
	_, err = load(t, "local-models", Config{Name: "local-models-pin-x", Config: []byte(`{"model": "y"}`)}).Infer(ctx, call)
	if e := wantGuestCode(t, err, "unknown_model"); !strings.HasPrefix(e.Message, `local-models has no model "y"`) {
		t.Fatalf("message %q", e.Message)
	}
}
