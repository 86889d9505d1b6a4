package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// The example plugins under examples/plugins, run by the host on real inputs.

// skipUnderRace skips an example's test in a -race build: each Go guest takes wazero's compiler,
// itself instrumented, some fifteen seconds to compile there, and the examples test the guests'
// logic, not the host's concurrency (the fault and concurrency tests run under -race).
func skipUnderRace(t *testing.T) {
	if raceEnabled {
		t.Skip("example guests are not compiled under -race; run go test without -race")
	}
}

func chatRequest(messages ...string) json.RawMessage {
	var b strings.Builder
	b.WriteString(`{"model":"local","temperature":0.2,"messages":[`)
	for i := 0; i+1 < len(messages); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		role, _ := json.Marshal(messages[i])
		content, _ := json.Marshal(messages[i+1])
		b.WriteString(`{"role":` + string(role) + `,"content":` + string(content) + `}`)
	}
	b.WriteString(`]}`)
	return json.RawMessage(b.String())
}

func requestEnv(body json.RawMessage) Envelope {
	return Envelope{Stage: StageRequest, Body: body,
		Metadata: Metadata{RequestID: "r1", Model: "local", Provider: "openai", Op: OpChat}}
}

// chatCompletion is the part of an OpenAI chat.completion the tests read.
type chatCompletion struct {
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		Text         string `json:"text"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

func decodeChat(t *testing.T, raw json.RawMessage) chatCompletion {
	t.Helper()
	var c chatCompletion
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("not a chat completion: %v: %s", err, raw)
	}
	if len(c.Choices) != 1 || c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens {
		t.Fatalf("bad chat completion: %s", raw)
	}
	return c
}

// infer runs a chat completion of one user message on a local model and returns its answer.
func inferChat(t *testing.T, p *Plugin, text string) (string, chatCompletion) {
	t.Helper()
	resp, err := p.Infer(context.Background(), ModelCall{Op: OpChat, Request: chatRequest("user", text), Model: ModelInfo{ID: "local"}})
	if err != nil {
		t.Fatal(err)
	}
	c := decodeChat(t, resp)
	if c.Object != "chat.completion" || c.Model != "local" || c.Choices[0].Message.Role != "assistant" || c.Usage.PromptTokens == 0 {
		t.Fatalf("bad chat completion: %s", resp)
	}
	return c.Choices[0].Message.Content, c
}

func TestPIIRedact(t *testing.T) {
	skipUnderRace(t)
	tests := []struct {
		name, in, want string
	}{
		{"email", "Write to jane.doe+work@example.co.uk today.", "Write to [REDACTED] today."},
		{"phone", "Call me at +1 (555) 123-4567 or 555-987-6543.", "Call me at [REDACTED] or [REDACTED]."},
		{"card", "My card is 4111 1111 1111 1111, expiry 12/27.", "My card is [REDACTED], expiry 12/27."},
		{"card without spaces", "Card 5555555555554444 please", "Card [REDACTED] please"},
		{"not luhn, too long for a phone", "Ref 4111 1111 1111 1112 stays", "Ref 4111 1111 1111 1112 stays"},
		{"plain numbers", "In 2024 I had 3 cats, 1234567 ants and pi is 3.14159265.", "In 2024 I had 3 cats, 1234567 ants and pi is 3.14159265."},
		{"unicode and escapes", "Élodie: \"élodie@exemple.fr\"\n— tel. 06 12 34 56 78", "Élodie: \"[REDACTED]\"\n— tel. [REDACTED]"},
		{"not an email", "user@localhost and a@b.c stay", "user@localhost and a@b.c stay"},
		{"number in an address", "Mail john+15551234567@example.com now", "Mail [REDACTED] now"},
	}
	for _, guest := range []string{"pii-redact", "pii-redact-go", "pii-redact-as", "pii-redact-rust"} {
		t.Run(guest, func(t *testing.T) {
			p := load(t, guest, Config{})
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					body := chatRequest("system", "Be helpful.", "user", tt.in)
					res, err := p.Transform(context.Background(), requestEnv(body))
					if err != nil {
						t.Fatal(err)
					}
					if tt.in == tt.want {
						if res.Body != nil {
							t.Fatalf("changed a request with no PII: %s", res.Body)
						}
						return
					}
					var got struct {
						Model       string  `json:"model"`
						Temperature float64 `json:"temperature"`
						Messages    []struct{ Role, Content string }
					}
					if err := json.Unmarshal(res.Body, &got); err != nil {
						t.Fatalf("output is not JSON: %v: %s", err, res.Body)
					}
					if got.Model != "local" || got.Temperature != 0.2 || len(got.Messages) != 2 || got.Messages[0].Content != "Be helpful." {
						t.Fatalf("the rest of the request changed: %s", res.Body)
					}
					if got.Messages[1].Content != tt.want {
						t.Fatalf("got  %q\nwant %q", got.Messages[1].Content, tt.want)
					}
				})
			}
			t.Run("content parts", func(t *testing.T) {
				body := json.RawMessage(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"mail bob@example.com"},{"type":"image_url","image_url":{"url":"https://x/a@b.png"}}]}]}`)
				res, err := p.Transform(context.Background(), requestEnv(body))
				if err != nil {
					t.Fatal(err)
				}
				want := `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"mail [REDACTED]"},{"type":"image_url","image_url":{"url":"https://x/a@b.png"}}]}]}`
				if string(res.Body) != want {
					t.Fatalf("got  %s\nwant %s", res.Body, want)
				}
			})
			t.Run("response stage untouched", func(t *testing.T) {
				env := requestEnv(chatRequest("user", "bob@example.com"))
				env.Stage = StageResponse
				res, err := p.Transform(context.Background(), env)
				if err != nil || res.Body != nil {
					t.Fatalf("%+v %v", res, err)
				}
			})
		})
	}
}

func TestPromptTemplate(t *testing.T) {
	skipUnderRace(t)
	p := load(t, "prompt-template", Config{Config: []byte(`{"system":"You are a pirate.","template":"Answer briefly: {{input}}"}`)})
	body := chatRequest("system", "old system", "user", "first", "assistant", "ok", "user", "What is \"WASM\"?")
	res, err := p.Transform(context.Background(), requestEnv(body))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"local","temperature":0.2,"messages":[{"role":"system","content":"You are a pirate."},{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":"Answer briefly: What is \"WASM\"?"}]}`
	if string(res.Body) != want {
		t.Fatalf("got  %s\nwant %s", res.Body, want)
	}

	// Without a config, and outside the request stage, requests go through unchanged.
	plain := load(t, "prompt-template", Config{Name: "prompt-template-plain"})
	if res, err := plain.Transform(context.Background(), requestEnv(body)); err != nil || res.Body != nil {
		t.Fatalf("no config: %+v %v", res, err)
	}
	env := requestEnv(body)
	env.Stage = StageResponse
	if res, err := p.Transform(context.Background(), env); err != nil || res.Body != nil {
		t.Fatalf("response stage: %+v %v", res, err)
	}
}

func TestJSONGuard(t *testing.T) {
	skipUnderRace(t)
	schema := `{"schema":{"type":"object","required":["name","age","tags"],"additionalProperties":false,
		"properties":{"name":{"type":"string","minLength":2,"maxLength":10},"age":{"type":"integer","minimum":0,"maximum":150},
		"tags":{"type":"array","items":{"enum":["a","b"]}},"nick":{"type":["string","null"]}}}}`
	p := load(t, "json-guard", Config{Config: []byte(schema)})
	tests := []struct {
		answer, err string
	}{
		{`{"name":"Ada","age":36,"tags":["a"]}`, ""},
		{"```json\n{\"name\":\"Ada\",\"age\":36,\"tags\":[],\"nick\":null}\n```", ""},
		{`Sure! {"name":"Ada"}`, "$: not JSON"},
		{`{"name":"Ada","age":36}`, `$: missing required property "tags"`},
		{`{"name":"A","age":36,"tags":[]}`, "$.name: is 1 characters long, shorter than 2"},
		{`{"name":"Ada","age":36.5,"tags":[]}`, "$.age: expected integer, got number"},
		{`{"name":"Ada","age":200,"tags":[]}`, "$.age: 200 is greater than the maximum 150"},
		{`{"name":"Ada","age":36,"tags":["c"]}`, `$.tags[0]: "c" is not one of ["a","b"]`},
		{`{"name":"Ada","age":36,"tags":[],"x":1}`, `$: property "x" is not allowed`},
		{`{"name":"Ada","age":36,"tags":[],"nick":5}`, "$.nick: expected string or null, got integer"},
		{`[1]`, "$: expected object, got array"},
	}
	for _, tt := range tests {
		t.Run(tt.answer, func(t *testing.T) {
			content, _ := json.Marshal(tt.answer)
			body := json.RawMessage(`{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":` + string(content) + `},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
			env := requestEnv(body)
			env.Stage = StageResponse
			res, err := p.Transform(context.Background(), env)
			if tt.err == "" {
				if err != nil || res.Body != nil {
					t.Fatalf("valid answer: %+v %v", res, err)
				}
				return
			}
			e := wantKind(t, err, KindGuest, "answer is not JSON matching the schema: "+tt.err)
			if e.Code != "json_guard" {
				t.Fatalf("code %q", e.Code)
			}
		})
	}
}

// fakeTextgen serves the text-generation API textgen-adapter speaks, on 127.0.0.1.
func fakeTextgen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		var req struct {
			Prompt       string `json:"prompt"`
			MaxNewTokens int    `json:"max_new_tokens"`
		}
		switch {
		case string(ctx.Path()) != "/v2/generate" || !ctx.IsPost():
			ctx.SetStatusCode(404)
			ctx.SetBodyString(`{"error":"no such route"}`)
		case string(ctx.Request.Header.Peek("Authorization")) != "Bearer sk-upstream":
			ctx.SetStatusCode(401)
			ctx.SetBodyString(`{"error":"bad key"}`)
		case json.Unmarshal(ctx.PostBody(), &req) != nil:
			ctx.SetStatusCode(400)
			ctx.SetBodyString("not json")
		case strings.Contains(req.Prompt, "slow down"):
			ctx.SetStatusCode(429)
			ctx.SetBodyString(`{"error":"rate limited"}`)
		default:
			words := strings.Fields(req.Prompt)
			out := "echo: " + words[len(words)-2]
			resp, _ := json.Marshal(map[string]any{"generated_text": out,
				"tokens": map[string]int{"input": len(words), "output": min(2, req.MaxNewTokens)}})
			ctx.SetContentType("application/json")
			ctx.SetBody(resp)
		}
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func TestTextgenAdapter(t *testing.T) {
	skipUnderRace(t)
	ctx := context.Background()
	p := load(t, "textgen-adapter", Config{Config: []byte(`{"path":"/v2/generate"}`)})
	if !p.Has(RoleAdapter) || p.Has(RoleTransform) {
		t.Fatalf("roles %v", p.Roles())
	}
	model := ModelInfo{ID: "tg", UpstreamModel: "tiny", Endpoint: fakeTextgen(t) + "/"}
	client := &fasthttp.Client{}

	// roundTrip does what the gateway does: the adapter builds the request, the host adds the
	// key and makes the call, the adapter reads the answer.
	roundTrip := func(p *Plugin, op Op, request string) (json.RawMessage, error) {
		call := ModelCall{Op: op, Request: json.RawMessage(request), Model: model}
		hr, err := p.AdapterRequest(ctx, call)
		if err != nil {
			return nil, err
		}
		if hr.Headers["Authorization"] != "Bearer ${apiKey}" {
			t.Fatalf("the adapter should leave the key to the host: %v", hr.Headers)
		}
		hr.SetAPIKey("sk-upstream")
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod(hr.Method)
		req.SetRequestURI(hr.URL)
		for k, v := range hr.Headers {
			req.Header.Set(k, v)
		}
		req.SetBody(hr.Body)
		if err := client.DoTimeout(req, resp, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		headers := map[string]string{}
		resp.Header.VisitAll(func(k, v []byte) { headers[strings.ToLower(string(k))] = string(v) })
		return p.AdapterResponse(ctx, UpstreamResponse{Op: op, Status: resp.StatusCode(), Headers: headers,
			Body: resp.Body(), Request: call.Request, Model: model})
	}

	resp, err := roundTrip(p, OpChat, `{"model":"tg","max_tokens":5,"messages":[{"role":"system","content":"Be nice."},{"role":"user","content":"say hello"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	c := decodeChat(t, resp)
	// The prompt was "system: Be nice.\nuser: say hello\nassistant:": 7 words, the second to last "hello".
	if c.Object != "chat.completion" || c.Model != "tg" || c.Choices[0].Message.Content != "echo: hello" ||
		c.Usage.PromptTokens != 7 || c.Usage.CompletionTokens != 2 {
		t.Fatalf("chat answer %s", resp)
	}

	resp, err = roundTrip(p, OpCompletion, `{"model":"tg","prompt":"once upon a time","max_tokens":1}`)
	if err != nil {
		t.Fatal(err)
	}
	c = decodeChat(t, resp)
	if c.Object != "text_completion" || c.Choices[0].Text != "echo: a" || c.Usage.CompletionTokens != 1 {
		t.Fatalf("completion answer %s", resp)
	}

	// An upstream error becomes a guest error with the status the gateway should answer.
	_, err = roundTrip(p, OpChat, `{"model":"tg","messages":[{"role":"user","content":"please slow down"}]}`)
	e := wantKind(t, err, KindGuest, "textgen upstream returned HTTP 429: rate limited")
	if e.Status != 429 || e.Code != "upstream_error" {
		t.Fatalf("error %+v", e)
	}
	// Without the config's path the adapter calls /generate, which this upstream lacks.
	defaultPath := load(t, "textgen-adapter", Config{Name: "textgen-default-path"})
	resp, err = roundTrip(defaultPath, OpChat, `{"messages":[]}`)
	e = wantKind(t, err, KindGuest, "textgen upstream returned HTTP 404: no such route")
	if e.Status != 404 {
		t.Fatalf("error %+v (%s)", e, resp)
	}
	_, err = p.AdapterRequest(ctx, ModelCall{Op: OpEmbedding, Request: json.RawMessage(`{"input":"x"}`), Model: model})
	e = wantKind(t, err, KindGuest, "serves chat and completion, not embedding")
	if e.Status != 400 {
		t.Fatalf("error %+v", e)
	}
}

func TestSummarizer(t *testing.T) {
	skipUnderRace(t)
	p := load(t, "summarizer", Config{Config: []byte(`{"sentences":2}`)})
	text := `WebAssembly lets the gateway run plugins safely. Each plugin runs in a sandbox with a memory cap.
The weather was nice yesterday. A plugin that loops forever is stopped at its deadline, and the sandbox keeps
the gateway safe. Cats are popular pets. The gateway runs many plugins in pools of sandboxed instances.`
	summary, c := inferChat(t, p, text)
	sentences := strings.SplitAfter(summary, ". ")
	if len(sentences) != 2 {
		t.Fatalf("want 2 sentences, got %q", summary)
	}
	for _, s := range sentences {
		if !strings.Contains(strings.Join(strings.Fields(text), " "), strings.TrimSpace(s)) {
			t.Fatalf("summary sentence %q is not from the text", s)
		}
	}
	if strings.Contains(summary, "Cats") || strings.Contains(summary, "weather") {
		t.Fatalf("the summary kept an off-topic sentence: %q", summary)
	}
	if c.Usage.PromptTokens != len(strings.Fields(text)) || c.Usage.CompletionTokens != len(strings.Fields(summary)) {
		t.Fatalf("usage %+v", c.Usage)
	}
	// A short text is its own summary; completions work too.
	resp, err := p.Infer(context.Background(), ModelCall{Op: OpCompletion, Request: json.RawMessage(`{"model":"s","prompt":"Just one sentence."}`)})
	if err != nil || decodeChat(t, resp).Choices[0].Text != "Just one sentence." {
		t.Fatalf("%s %v", resp, err)
	}
}

func TestSentiment(t *testing.T) {
	skipUnderRace(t)
	p := load(t, "sentiment", Config{})
	tests := []struct{ text, label string }{
		{"I love this product, it is absolutely wonderful!", "positive"},
		{"The service was terrible and the food was awful.", "negative"},
		{"This is not good at all.", "negative"},
		{"It was not bad, actually.", "positive"},
		{"The package arrived on Tuesday.", "neutral"},
		{"The hotel was nice but the staff were rude and the room was dirty.", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			answer, _ := inferChat(t, p, tt.text)
			var v struct {
				Label    string   `json:"label"`
				Score    *float64 `json:"score"`
				Compound float64  `json:"compound"`
			}
			if err := json.Unmarshal([]byte(answer), &v); err != nil || v.Score == nil {
				t.Fatalf("answer %q: %v", answer, err)
			}
			if v.Label != tt.label || *v.Score < 0 || *v.Score > 1 {
				t.Fatalf("got %s, want label %s", answer, tt.label)
			}
		})
	}
}

func TestLangID(t *testing.T) {
	skipUnderRace(t)
	p := load(t, "langid", Config{})
	tests := []struct{ lang, text string }{
		{"en", "Please send me the report before the end of the afternoon."},
		{"fr", "Je voudrais réserver une table pour deux personnes ce soir."},
		{"de", "Könnten Sie mir bitte helfen, meinen Koffer zu finden?"},
		{"es", "Mi hermana vive en una ciudad pequeña cerca de la montaña."},
		{"it", "Vorrei un caffè e un cornetto, per favore."},
		{"pt", "A minha irmã mora numa cidade pequena perto do mar."},
		{"nl", "Mijn zus woont in een kleine stad vlakbij de zee."},
		{"sv", "Min syster bor i en liten stad nära havet."},
		{"pl", "Moja siostra mieszka w małym mieście niedaleko morza."},
		{"und", "12345 !!! ..."},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			answer, _ := inferChat(t, p, tt.text)
			var v struct {
				Language   string   `json:"language"`
				Confidence *float64 `json:"confidence"`
			}
			if err := json.Unmarshal([]byte(answer), &v); err != nil || v.Confidence == nil {
				t.Fatalf("answer %q: %v", answer, err)
			}
			if v.Language != tt.lang {
				t.Fatalf("got %s, want %s", answer, tt.lang)
			}
			if tt.lang != "und" && (*v.Confidence < 0.5 || *v.Confidence > 1) {
				t.Fatalf("low confidence: %s", answer)
			}
		})
	}
}

func TestEmbeddings(t *testing.T) {
	skipUnderRace(t)
	p := load(t, "embeddings", Config{})
	embed := func(request string) (vecs [][]float64, promptTokens int) {
		t.Helper()
		resp, err := p.Infer(context.Background(), ModelCall{Op: OpEmbedding, Request: json.RawMessage(request)})
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Object string `json:"object"`
			Model  string `json:"model"`
			Data   []struct {
				Object    string    `json:"object"`
				Index     int       `json:"index"`
				Embedding []float64 `json:"embedding"`
			} `json:"data"`
			Usage struct {
				PromptTokens int `json:"prompt_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(resp, &list); err != nil || list.Object != "list" || list.Model != "emb" {
			t.Fatalf("not an embedding list: %v: %.200s", err, resp)
		}
		for i, d := range list.Data {
			if d.Object != "embedding" || d.Index != i {
				t.Fatalf("bad item %d", i)
			}
			vecs = append(vecs, d.Embedding)
		}
		return vecs, list.Usage.PromptTokens
	}
	cos := func(a, b []float64) float64 {
		s := 0.0
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	vecs, tokens := embed(`{"model":"emb","input":["The cat sat on the mat.","A cat sat on a mat!","Stock markets fell sharply today."]}`)
	if len(vecs) != 3 || len(vecs[0]) != 256 || tokens != 17 {
		t.Fatalf("%d vectors of %d, %d tokens", len(vecs), len(vecs[0]), tokens)
	}
	for _, v := range vecs {
		if n := cos(v, v); math.Abs(n-1) > 1e-5 {
			t.Fatalf("norm² %v, want 1", n)
		}
	}
	if near, far := cos(vecs[0], vecs[1]), cos(vecs[0], vecs[2]); near < 0.4 || far > 0.2 {
		t.Fatalf("similar texts %.3f, different texts %.3f", near, far)
	}
	again, _ := embed(`{"model":"emb","input":"The cat sat on the mat."}`)
	if cos(again[0], vecs[0]) < 0.99999 {
		t.Fatal("embeddings are not deterministic")
	}
	small, _ := embed(`{"model":"emb","input":"hello","dimensions":64}`)
	if len(small[0]) != 64 {
		t.Fatalf("dimensions %d", len(small[0]))
	}
	_, err := p.Infer(context.Background(), ModelCall{Op: OpEmbedding, Request: json.RawMessage(`{"input":"x","dimensions":100000}`)})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindGuest || e.Status != 400 {
		t.Fatalf("oversized dimensions: %v", err)
	}
}

// Without a schema in its config, json-guard checks the answer against the model's outputSchema,
// which the host sends in the metadata.
func TestJSONGuardModelSchema(t *testing.T) {
	skipUnderRace(t)
	p := load(t, "json-guard", Config{})
	answer := func(content string) Envelope {
		c, _ := json.Marshal(content)
		env := requestEnv(json.RawMessage(`{"choices":[{"index":0,"message":{"role":"assistant","content":` + string(c) + `}}]}`))
		env.Stage = StageResponse
		return env
	}
	env := answer(`{"score":1}`)
	_, err := p.Transform(context.Background(), env)
	wantKind(t, err, KindGuest, `json-guard: neither the config nor model "local" has a schema`)

	env.Metadata.OutputSchema = json.RawMessage(`{"type":"object","required":["score"],"properties":{"score":{"type":"number"}}}`)
	if res, err := p.Transform(context.Background(), env); err != nil || res.Body != nil {
		t.Fatalf("valid answer: %+v %v", res, err)
	}
	bad := answer(`{"score":"high"}`)
	bad.Metadata.OutputSchema = env.Metadata.OutputSchema
	_, err = p.Transform(context.Background(), bad)
	wantKind(t, err, KindGuest, "answer is not JSON matching the schema: $.score: expected number, got string")
}
