package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

func pipelineModels(f *fakeupstream.OpenAI, extra string) string {
	return `models:
  - id: writer
    name: Writer
    endpoint: ` + f.URL + `
    provider: openai
    costPerToken: 0.001
  - id: editor
    name: Editor
    endpoint: ` + f.URL + `
    provider: openai
    upstreamModel: editor-v2
    costPerToken: 0.002
  - id: broken
    name: Broken
    endpoint: ` + f.URL + `
    provider: openai
    upstreamModel: broken-upstream
    retry: {attempts: 0}
  - id: secret-model
    name: Only for other
    endpoint: ` + f.URL + `
    provider: openai
    securityPolicy: private
    allowedKeys: [other]
pipelines:
  - id: draft-edit
    name: Draft then edit
    nodes:
      - {id: in, type: input, position: {x: 0, y: 0}}
      - {id: draft, type: model, data: {model: writer}}
      - {id: edit, type: model, data: {model: editor, input: '"improve: " + steps.draft.output.text'}}
      - {id: out, type: output}
    edges:
      - {source: in, target: draft}
      - {source: draft, target: edit}
      - {source: edit, target: out}
` + extra
}

func brokenFaults(f *fakeupstream.OpenAI) {
	f.Faults = func(_ int64, r *fakeupstream.Received) fakeupstream.Fault {
		if strings.Contains(string(r.Body), "broken-upstream") {
			return fakeupstream.Fault{Status: 500}
		}
		if strings.Contains(string(r.Body), "slow please") {
			return fakeupstream.Fault{Delay: 300 * time.Millisecond}
		}
		return fakeupstream.Fault{}
	}
}

// run runs pipeline id on the data plane; an id ending in ?trace=1 asks for the steps.
func run(t *testing.T, g *gt.Gateway, id, input string) (int, map[string]any) {
	t.Helper()
	id, query, _ := strings.Cut(id, "?")
	if query != "" {
		query = "?" + query
	}
	r := g.Data("POST", "/v1/pipelines/"+id+"/run"+query, gt.Key, input)
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("run %s: %d %s", id, r.Status, r.Body)
	}
	return r.Status, m
}

func TestPipelineRunsAndRecords(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", pipelineModels(f, ""))
	status, res := run(t, g, "draft-edit", `"a story about a fox"`)
	if status != 200 || res["text"] != "echo: improve: echo: a story about a fox" {
		t.Fatalf("run: %d %v", status, res)
	}
	if !strings.Contains(string(f.Last().Body), `"editor-v2"`) {
		t.Fatalf("the edit step should call the editor model: %s", f.Last().Body)
	}
	id := res["executionId"].(string)
	g.Flush()
	x := g.Admin("GET", "/api/executions/"+id, nil).JSON(t)
	steps := x["steps"].([]any)
	if x["kind"] != "pipeline" || x["status"] != "ok" || len(steps) != 4 {
		t.Fatalf("execution: %v", x)
	}
	draft := steps[1].(map[string]any)
	// draft: 5 words in, 6 out, at $0.001; edit: 7 in, 8 out at $0.002
	if draft["id"] != "draft" || draft["status"] != "ok" || draft["inputTokens"] != 5.0 || draft["servedBy"] != "writer" {
		t.Fatalf("draft step: %v", draft)
	}
	if x["costUsd"] != 0.041 || x["inputTokens"] != 12.0 || x["outputTokens"] != 14.0 {
		t.Fatalf("totals: %v %v %v", x["costUsd"], x["inputTokens"], x["outputTokens"])
	}
	// The step calls are model invocations of their own, tied to the run.
	calls := g.Admin("GET", "/api/executions?kind=invocation&pipeline=draft-edit", nil).JSON(t)["data"].([]any)
	if len(calls) != 2 || calls[0].(map[string]any)["execution"] != id {
		t.Fatalf("step invocations: %v", calls)
	}
	runs := g.Admin("GET", "/api/executions?kind=pipeline&pipeline=draft-edit", nil).JSON(t)["data"].([]any)
	if len(runs) != 1 {
		t.Fatalf("pipeline runs: %v", runs)
	}
}

func TestPipelineValidation(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", pipelineModels(f, ""))
	r := g.Admin("POST", "/api/pipelines/validate", `{"id":"bad","name":"Bad","nodes":[
		{"id":"in","type":"input"},
		{"id":"a","type":"model","data":{"model":"gpt-9"}},
		{"id":"b","type":"model","data":{"model":"writer","input":"steps.a.output.txet +"}},
		{"id":"c","type":"condition","data":{"expression":"true"}},
		{"id":"lonely","type":"model","data":{"model":"writer"}},
		{"id":"out","type":"output"}],
		"edges":[{"source":"in","target":"a"},{"source":"a","target":"b"},{"source":"b","target":"c"},{"source":"c","target":"out"}]}`)
	res := r.JSON(t)
	if res["valid"] != false {
		t.Fatalf("%s", r.Body)
	}
	byNode := map[string]string{}
	for _, e := range res["errors"].([]any) {
		m := e.(map[string]any)
		node, _ := m["node"].(string)
		byNode[node] += m["message"].(string) + ";"
	}
	for node, want := range map[string]string{"a": `unknown model "gpt-9"`, "b": "invalid expression", "c": "sourceHandle true or false"} {
		if !strings.Contains(byNode[node], want) {
			t.Errorf("node %s: %q, want %q", node, byNode[node], want)
		}
	}
	r = g.Admin("POST", "/api/pipelines/validate", `{"id":"cyc","name":"Cycle","nodes":[
		{"id":"in","type":"input"},{"id":"a","type":"model","data":{"model":"writer"}},{"id":"b","type":"model","data":{"model":"editor"}},
		{"id":"x","type":"model","data":{"model":"writer"}},{"id":"out","type":"output"}],
		"edges":[{"source":"in","target":"a"},{"source":"a","target":"b"},{"source":"b","target":"a"},{"source":"b","target":"out"},{"source":"in","target":"x"}]}`)
	body := string(r.Body)
	if !strings.Contains(body, `"node":"a","message":"is part of a cycle"`) {
		t.Fatalf("cycle: %s", body)
	}
	r = g.Admin("POST", "/api/pipelines/validate", `{"id":"dead","name":"Dead end","nodes":[
		{"id":"in","type":"input"},{"id":"a","type":"model","data":{"model":"writer"}},{"id":"x","type":"model","data":{"model":"writer"}},{"id":"out","type":"output"}],
		"edges":[{"source":"in","target":"a"},{"source":"a","target":"out"},{"source":"in","target":"x"}]}`)
	if !strings.Contains(string(r.Body), `"node":"x","message":"has no path to the output node"`) {
		t.Fatalf("dead end: %s", r.Body)
	}
	if r := g.Admin("POST", "/api/pipelines", `{"name":"Broken","nodes":[{"id":"in","type":"input"}],"edges":[]}`); r.Status != 400 {
		t.Fatalf("creating an invalid pipeline: %d %s", r.Status, r.Body)
	}
	if r := g.Admin("PUT", "/api/pipelines/draft-edit", `{"name":"x","nodes":[],"edges":[]}`); r.Status != 409 {
		t.Fatalf("config pipelines are read-only: %d", r.Status)
	}
}

func TestPipelineBranchesConditionsAndMerge(t *testing.T) {
	f := startFake(t)
	brokenFaults(f)
	g := gt.Start(t, "", pipelineModels(f, ""))
	create := func(body string) {
		t.Helper()
		if r := g.Admin("POST", "/api/pipelines", body); r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
	}
	create(`{"id":"branchy","name":"Branchy","inputSchema":{"type":"object","required":["text"]},"nodes":[
		{"id":"in","type":"input"},
		{"id":"long","type":"condition","data":{"expression":"len(input.text) > 10"}},
		{"id":"summarize","type":"model","data":{"model":"writer","input":"\"summarize: \" + input.text"}},
		{"id":"keep","type":"model","data":{"model":"editor","input":"input.text"}},
		{"id":"out","type":"output","data":{"output":"steps.summarize.status == \"ok\" ? steps.summarize.output.text : steps.keep.output.text"}}],
		"edges":[{"source":"in","target":"long"},{"source":"long","sourceHandle":"true","target":"summarize"},
			{"source":"long","sourceHandle":"false","target":"keep"},{"source":"summarize","target":"out"},{"source":"keep","target":"out"}]}`)
	_, res := run(t, g, "branchy?trace=1", `{"text":"a rather long text"}`)
	if res["text"] != "echo: summarize: a rather long text" {
		t.Fatalf("true branch: %v", res)
	}
	steps := res["execution"].(map[string]any)["steps"].([]any)
	statuses := map[string]string{}
	for _, s := range steps {
		m := s.(map[string]any)
		statuses[m["id"].(string)] = m["status"].(string)
	}
	if statuses["keep"] != "skipped" || statuses["summarize"] != "ok" {
		t.Fatalf("statuses: %v", statuses)
	}
	if _, res := run(t, g, "branchy", `{"text":"short"}`); res["text"] != "echo: short" {
		t.Fatalf("false branch: %v", res)
	}
	if status, res := run(t, g, "branchy", `{"nope":1}`); status != 400 {
		t.Fatalf("input schema: %d %v", status, res)
	}

	// Two slow steps in parallel, merged as text.
	create(`{"id":"fanout","name":"Fan out","nodes":[
		{"id":"in","type":"input"},
		{"id":"a","type":"model","data":{"model":"writer","input":"\"slow please A\""}},
		{"id":"b","type":"model","data":{"model":"editor","input":"\"slow please B\""}},
		{"id":"m","type":"merge","data":{"mode":"text"}},
		{"id":"out","type":"output"}],
		"edges":[{"source":"in","target":"a"},{"source":"in","target":"b"},{"source":"a","target":"m"},{"source":"b","target":"m"},{"source":"m","target":"out"}]}`)
	t0 := time.Now()
	_, res = run(t, g, "fanout", `{}`)
	if d := time.Since(t0); d > 550*time.Millisecond {
		t.Fatalf("independent branches took %s; they should run in parallel", d)
	}
	if res["text"] != "echo: slow please A\n\necho: slow please B" {
		t.Fatalf("merge: %q", res["text"])
	}

	// Routers: by expression, and by cost among their model targets.
	create(`{"id":"routed","name":"Routed","nodes":[
		{"id":"in","type":"input"},
		{"id":"pick","type":"router","data":{"expression":"input.fancy ? \"fancy\" : \"plain\""}},
		{"id":"fancy","type":"model","data":{"model":"editor"}},
		{"id":"plain","type":"model","data":{"model":"writer"}},
		{"id":"cheapest","type":"router","data":{"strategy":"cost"}},
		{"id":"w","type":"model","data":{"model":"writer"}},
		{"id":"e","type":"model","data":{"model":"editor"}},
		{"id":"out","type":"output","data":{"output":"steps.w.status == \"ok\" ? \"writer\" : \"editor\""}}],
		"edges":[{"source":"in","target":"pick"},{"source":"pick","target":"fancy"},{"source":"pick","target":"plain"},
			{"source":"fancy","target":"cheapest"},{"source":"plain","target":"cheapest"},
			{"source":"cheapest","target":"w"},{"source":"cheapest","target":"e"},{"source":"w","target":"out"},{"source":"e","target":"out"}]}`)
	_, res = run(t, g, "routed?trace=1", `{"fancy":true,"text":"hi"}`)
	x := res["execution"].(map[string]any)
	if res["text"] != "writer" || !strings.Contains(fmt.Sprint(x["steps"]), "route:fancy") {
		t.Fatalf("routers: %v", res)
	}
}

func TestPipelineFailures(t *testing.T) {
	f := startFake(t)
	brokenFaults(f)
	g := gt.Start(t, "", pipelineModels(f, ""))
	g.Admin("POST", "/api/pipelines", `{"id":"fails","name":"Fails","nodes":[
		{"id":"in","type":"input"},{"id":"bad","type":"model","data":{"model":"broken"}},{"id":"out","type":"output"}],
		"edges":[{"source":"in","target":"bad"},{"source":"bad","target":"out"}]}`)
	status, res := run(t, g, "fails", `"x"`)
	if e, _ := res["error"].(map[string]any); status != 502 || res["status"] != "error" || e == nil ||
		!strings.Contains(e["message"].(string), `step "bad" failed`) || e["type"] == nil || res["execution"] != nil {
		t.Fatalf("failing step: %d %v", status, res)
	}
	g.Admin("POST", "/api/pipelines", `{"id":"handled","name":"Handled","nodes":[
		{"id":"in","type":"input"},{"id":"bad","type":"model","data":{"model":"broken","onError":"continue"}},
		{"id":"ok","type":"condition","data":{"expression":"steps.bad.status == \"ok\""}},
		{"id":"backup","type":"model","data":{"model":"writer","input":"\"backup\""}},{"id":"out","type":"output"}],
		"edges":[{"source":"in","target":"bad"},{"source":"bad","target":"ok"},{"source":"ok","sourceHandle":"false","target":"backup"},
			{"source":"ok","sourceHandle":"true","target":"out"},{"source":"backup","target":"out"}]}`)
	if status, res := run(t, g, "handled", `"x"`); status != 200 || res["text"] != "echo: backup" {
		t.Fatalf("a condition handles a failed step: %d %v", status, res)
	}
	g.Admin("POST", "/api/pipelines", `{"id":"fallback","name":"Step fallback","nodes":[
		{"id":"in","type":"input"},{"id":"bad","type":"model","data":{"model":"broken","fallbacks":["writer"]}},{"id":"out","type":"output"}],
		"edges":[{"source":"in","target":"bad"},{"source":"bad","target":"out"}]}`)
	status, res = run(t, g, "fallback?trace=1", `"y"`)
	step := res["execution"].(map[string]any)["steps"].([]any)[1].(map[string]any)
	if status != 200 || step["fallback"] != "writer" {
		t.Fatalf("step fallback: %d %v", status, step)
	}
	g.Admin("POST", "/api/pipelines", `{"id":"slow","name":"Slow","timeoutMs":100,"nodes":[
		{"id":"in","type":"input"},{"id":"s","type":"model","data":{"model":"writer","input":"\"slow please\""}},{"id":"out","type":"output"}],
		"edges":[{"source":"in","target":"s"},{"source":"s","target":"out"}]}`)
	status, res = run(t, g, "slow", `{}`)
	if status != 504 || !strings.Contains(fmt.Sprint(res), "did not answer") {
		t.Fatalf("deadline: %d %v", status, res)
	}
}

func TestPipelineAsChatModel(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", pipelineModels(f, `  - id: private-path
    name: Uses a private model
    nodes:
      - {id: in, type: input}
      - {id: s, type: model, data: {model: secret-model}}
      - {id: out, type: output}
    edges:
      - {source: in, target: s}
      - {source: s, target: out}
`))
	r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"pipeline:draft-edit","messages":[{"role":"user","content":"hello there"}]}`)
	if got := chatText(t, r); got != "echo: improve: echo: hello there" || r.Header.Get("x-iom-model") != "pipeline:draft-edit" {
		t.Fatalf("pipeline as a model: %q %v", got, r.Header)
	}
	text, usage, finish := streamText(t, g.Data("POST", "/v1/chat/completions", gt.Key,
		`{"model":"pipeline:draft-edit","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"stream it"}]}`))
	if text != "echo: improve: echo: stream it" || finish != "stop" || usage["completion_tokens"] != 8.0 {
		t.Fatalf("streamed pipeline: %q %v %q", text, usage, finish)
	}
	ids := func(key string) string {
		var out []string
		for _, m := range g.Data("GET", "/v1/models", key, nil).JSON(t)["data"].([]any) {
			if id := m.(map[string]any)["id"].(string); strings.HasPrefix(id, "pipeline:") {
				out = append(out, id)
			}
		}
		return strings.Join(out, ",")
	}
	if got := ids(gt.Key); got != "pipeline:draft-edit" {
		t.Fatalf("acme sees %s", got)
	}
	if got := ids(gt.OtherKey); got != "pipeline:draft-edit,pipeline:private-path" {
		t.Fatalf("globex sees %s", got)
	}
	if r := g.Data("POST", "/v1/pipelines/private-path/run", gt.Key, `"x"`); r.Status != 404 {
		t.Fatalf("a pipeline using a model the key may not use: %d", r.Status)
	}
}

func TestPipelineAsyncRun(t *testing.T) {
	f := startFake(t)
	brokenFaults(f)
	g := gt.Start(t, "", pipelineModels(f, ""))
	g.Admin("POST", "/api/pipelines", `{"id":"slow2","name":"Slow two steps","nodes":[
		{"id":"in","type":"input"},{"id":"a","type":"model","data":{"model":"writer","input":"\"slow please 1\""}},
		{"id":"b","type":"model","data":{"model":"editor","input":"\"slow please 2\""}},{"id":"out","type":"output"}],
		"edges":[{"source":"in","target":"a"},{"source":"a","target":"b"},{"source":"b","target":"out"}]}`)
	r := g.Data("POST", "/v1/pipelines/slow2/run", gt.Key, `{"input":{"q":1},"async":true}`)
	if r.Status != 202 {
		t.Fatalf("async: %d %s", r.Status, r.Body)
	}
	id := r.JSON(t)["executionId"].(string)
	sawRunning := false
	gt.Eventually(t, 5*time.Second, "the background run", func() bool {
		x := g.Admin("GET", "/api/executions/"+id, nil).JSON(t)
		if x["status"] == "running" {
			sawRunning = true
		}
		return x["status"] == "ok"
	})
	if !sawRunning {
		t.Fatal("progress of a running pipeline should be visible")
	}
}

// Shutdown waits for background runs until its deadline, not past it: a run that would take a
// minute leaves the gateway to stop on time, with an error that says why.
func TestShutdownDeadlineWithARunGoingOn(t *testing.T) {
	f := startFake(t)
	f.Faults = func(_ int64, r *fakeupstream.Received) fakeupstream.Fault {
		if strings.Contains(string(r.Body), "hang please") {
			return fakeupstream.Fault{Hang: true}
		}
		return fakeupstream.Fault{}
	}
	g := gt.Start(t, "", pipelineModels(f, ""))
	g.Admin("POST", "/api/pipelines", `{"id":"stuck","name":"Stuck","nodes":[
		{"id":"in","type":"input"},{"id":"a","type":"model","data":{"model":"writer","input":"\"hang please\""}},{"id":"out","type":"output"}],
		"edges":[{"source":"in","target":"a"},{"source":"a","target":"out"}]}`)
	if r := g.Data("POST", "/v1/pipelines/stuck/run", gt.Key, `{"input":"x","async":true}`); r.Status != 202 {
		t.Fatalf("async run: %d %s", r.Status, r.Body)
	}
	gt.Eventually(t, 5*time.Second, "the upstream call", func() bool { return len(f.Received()) > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := g.Shutdown(ctx)
	g.Gateway = nil
	if took := time.Since(start); err == nil || !strings.Contains(err.Error(), "still running") || took > 3*time.Second {
		t.Fatalf("shutdown with a run going on: %v after %v", err, took)
	}
}

// The data plane's run answer is the output and its totals; the steps come with ?trace=1 or
// x-iom-trace: 1, and always from the admin API and the stored execution.
func TestPipelineRunAnswer(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", pipelineModels(f, ""))
	status, res := run(t, g, "draft-edit", `"a story about a fox"`)
	var keys []string
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if status != 200 || strings.Join(keys, ",") != "costUsd,executionId,output,status,text,usage" {
		t.Fatalf("the default answer: %d %v", status, res)
	}
	// draft: 5 words in, 6 out; edit: 7 in, 8 out
	usage := res["usage"].(map[string]any)
	if usage["prompt_tokens"] != 12.0 || usage["completion_tokens"] != 14.0 || usage["total_tokens"] != 26.0 || res["costUsd"] != 0.041 {
		t.Fatalf("totals: %v %v", usage, res["costUsd"])
	}
	steps := func(r gt.Response) int {
		t.Helper()
		x, _ := r.JSON(t)["execution"].(map[string]any)
		if r.Status != 200 || x == nil {
			t.Fatalf("no execution: %d %s", r.Status, r.Body)
		}
		return len(x["steps"].([]any))
	}
	if n := steps(g.Data("POST", "/v1/pipelines/draft-edit/run?trace=1", gt.Key, `"x"`)); n != 4 {
		t.Fatalf("?trace=1: %d steps", n)
	}
	r := gt.Do(t, "POST", g.DataURL+"/v1/pipelines/draft-edit/run", gt.Key, `"x"`)
	if _, has := r.JSON(t)["execution"]; has {
		t.Fatal("no trace asked for")
	}
	r = doRaw(t, "POST", g.DataURL+"/v1/pipelines/draft-edit/run", map[string]string{"Authorization": "Bearer " + gt.Key,
		"Content-Type": "application/json", "x-iom-trace": "1"}, `"x"`)
	if n := steps(r); n != 4 {
		t.Fatalf("x-iom-trace: %d steps", n)
	}
	if n := steps(g.Admin("POST", "/api/pipelines/draft-edit/run", `"x"`)); n != 4 {
		t.Fatalf("the admin API: %d steps", n)
	}
	g.Flush()
	x := g.Admin("GET", "/api/executions/"+res["executionId"].(string), nil).JSON(t)
	if len(x["steps"].([]any)) != 4 {
		t.Fatalf("the stored execution: %v", x)
	}
}

// A chat request fills a pipeline's chat property from its last user message: chatInput, or
// the inputSchema's one required string property; other properties come as members.
func TestPipelineChatInput(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", pipelineModels(f, `  - id: ask
    name: One required string
    inputSchema:
      type: object
      properties:
        question: {type: string, minLength: 3}
        tone: {type: string}
      required: [question]
    nodes:
      - {id: in, type: input}
      - {id: a, type: model, data: {model: writer, input: '"(" + (input.tone ?? "plain") + ") " + input.question + " [" + string(len(input.messages)) + " messages]"'}}
      - {id: out, type: output}
    edges:
      - {source: in, target: a}
      - {source: a, target: out}
  - id: relay
    name: The chat as it is
    inputSchema:
      type: object
      properties:
        question: {type: string}
      required: [question]
    nodes:
      - {id: in, type: input}
      - {id: a, type: model, data: {model: writer}}
      - {id: out, type: output, data: {output: steps.a.output.text}}
    edges:
      - {source: in, target: a}
      - {source: a, target: out}
  - id: sum
    name: Numbers
    chatInput: values
    inputSchema:
      type: object
      properties:
        values: {type: array, items: {type: number}, minItems: 2}
      required: [values]
    nodes:
      - {id: in, type: input}
      - {id: a, type: model, data: {model: writer, input: 'string(sum(input.values))'}}
      - {id: out, type: output}
    edges:
      - {source: in, target: a}
      - {source: a, target: out}
  - id: two
    name: Two required strings
    inputSchema:
      type: object
      properties:
        a: {type: string}
        b: {type: string}
      required: [a, b]
    nodes:
      - {id: in, type: input}
      - {id: m, type: model, data: {model: writer, input: 'input.a + input.b'}}
      - {id: out, type: output}
    edges:
      - {source: in, target: m}
      - {source: m, target: out}
`))
	chat := func(model, extra, content string) gt.Response {
		b, _ := json.Marshal(content)
		return g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"pipeline:`+model+`"`+extra+`,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":`+string(b)+`}]}`)
	}
	if got := chatText(t, chat("ask", "", "why is the sky blue?")); got != "echo: (plain) why is the sky blue? [4 messages]" {
		t.Fatalf("the last user message fills the one required string: %q", got)
	}
	if got := chatText(t, chat("ask", `,"tone":"warm"`, "why?")); got != "echo: (warm) why? [4 messages]" {
		t.Fatalf("other properties as members: %q", got)
	}
	if got := chatText(t, chat("ask", `,"question":"given"`, "ignored")); got != "echo: (plain) given [4 messages]" {
		t.Fatalf("a property the request sets: %q", got)
	}
	text, _, finish := streamText(t, chat("ask", `,"stream":true`, "streamed?"))
	if text != "echo: (plain) streamed? [4 messages]" || finish != "stop" {
		t.Fatalf("streamed: %q %q", text, finish)
	}
	r := chat("ask", "", "ab")
	if r.Status != 400 || !strings.Contains(string(r.Body), `the last user message fills \"question\"`) {
		t.Fatalf("a message the schema refuses: %d %s", r.Status, r.Body)
	}

	// A step that takes the input as a chat request sends the messages, not the property.
	text, _, _ = streamText(t, chat("relay", `,"stream":true`, "relayed"))
	if text != "echo: relayed" || strings.Contains(string(f.Last().Body), `"question"`) || !strings.Contains(string(f.Last().Body), `"be brief"`) {
		t.Fatalf("relay: %q %s", text, f.Last().Body)
	}

	if got := chatText(t, chat("sum", "", "add 1.5, 2 and 3")); got != "echo: 6.5" {
		t.Fatalf("numbers from the text: %q", got)
	}
	if r := chat("sum", "", "nothing to add"); r.Status != 400 || !strings.Contains(string(r.Body), `takes \"values\", a list of numbers`) {
		t.Fatalf("no numbers: %d %s", r.Status, r.Body)
	}
	if r := chat("two", "", "hello"); r.Status != 400 || !strings.Contains(string(r.Body), "missing properties") ||
		!strings.Contains(string(r.Body), "set its inputSchema's properties as members of the request") {
		t.Fatalf("no chat property: %d %s", r.Status, r.Body)
	}
	if got := chatText(t, chat("two", `,"a":"x","b":"y"`, "hello")); got != "echo: xy" {
		t.Fatalf("the properties as members: %q", got)
	}
	if r := g.Admin("POST", "/api/pipelines/validate", `{"id":"p","name":"P","chatInput":"nope","inputSchema":{"type":"object","properties":{"q":{"type":"string"}}},
		"nodes":[{"id":"in","type":"input"},{"id":"out","type":"output"}],"edges":[{"source":"in","target":"out"}]}`); !strings.Contains(string(r.Body), `"field":"chatInput","message":"the inputSchema declares no property \"nope\""`) {
		t.Fatalf("chatInput is validated: %s", r.Body)
	}
}
