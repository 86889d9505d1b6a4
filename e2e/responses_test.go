package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// weatherTool is the function the fake Anthropic upstream calls when asked about the weather.
var weatherTool = responses.ToolParamOfFunction("get_weather",
	map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}, false)

// apiStatus is the HTTP status of an SDK error.
func apiStatus(t *testing.T, err error) int {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("want an *openai.Error, got %T %v", err, err)
	}
	return apiErr.StatusCode
}

// The official openai-go SDK's Responses API, plain and streamed, with the stored response's
// retrieval, input items and deletion, against an OpenAI-style upstream ("echo").
func TestResponsesOpenAIGoSDK(t *testing.T) {
	g, _ := setup(t)
	c := client(g, gt.Key)
	ctx := context.Background()

	resp, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "echo", Instructions: openai.String("be brief"),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hello responses")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() != "echo: hello responses" || resp.Status != "completed" || !strings.HasPrefix(resp.ID, "resp_") ||
		resp.Usage.InputTokens != 4 || resp.Usage.OutputTokens != 3 || resp.Usage.TotalTokens != 7 {
		t.Fatalf("response %+v", resp)
	}

	got, err := c.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{})
	if err != nil || got.OutputText() != resp.OutputText() {
		t.Fatalf("get: %v %+v", err, got)
	}
	items, err := c.Responses.InputItems.List(ctx, resp.ID, responses.InputItemListParams{})
	if err != nil || len(items.Data) != 1 || items.Data[0].Role != "user" || items.HasMore {
		t.Fatalf("input items: %v %+v", err, items)
	}

	next, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "echo", PreviousResponseID: openai.String(resp.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("and again")}})
	if err != nil || next.OutputText() != "echo: and again" || next.PreviousResponseID != resp.ID {
		t.Fatalf("continued: %v %+v", err, next)
	}
	if next.Usage.InputTokens <= resp.Usage.InputTokens {
		t.Fatalf("the continuation should carry the earlier turn: %+v", next.Usage)
	}

	stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "echo",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("stream these words please")}})
	text, events := "", 0
	var final responses.Response
	for stream.Next() {
		ev := stream.Current()
		events++
		switch ev.Type {
		case "response.output_text.delta":
			text += ev.Delta
		case "response.completed":
			final = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text != "echo: stream these words please" || final.OutputText() != text || final.Status != "completed" || events < 10 {
		t.Fatalf("streamed %q in %d events, final %+v", text, events, final)
	}

	if err := c.Responses.Delete(ctx, resp.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{}); apiStatus(t, err) != 404 {
		t.Fatalf("a deleted response: %v", err)
	}
	if _, err := client(g, gt.OtherKey).Responses.Get(ctx, next.ID, responses.ResponseGetParams{}); apiStatus(t, err) != 404 {
		t.Fatalf("another org's key: %v", err)
	}
	_, err = c.Responses.New(ctx, responses.ResponseNewParams{Model: "nope",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("x")}})
	if apiStatus(t, err) != 404 {
		t.Fatalf("an unknown model: %v", err)
	}
}

// A function-calling round trip through the SDK: the call from an Anthropic-style upstream
// ("claude"), its output sent back with previous_response_id, streamed the first time.
func TestResponsesOpenAIGoSDKTools(t *testing.T) {
	g, _ := setup(t)
	c := client(g, gt.Key)
	ctx := context.Background()
	stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "claude", Tools: []responses.ToolUnionParam{weatherTool},
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("what is the weather?")}})
	var final responses.Response
	args := ""
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "response.function_call_arguments.delta":
			args += ev.Delta
		case "response.completed":
			final = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	var call responses.ResponseFunctionToolCall
	for _, item := range final.Output {
		if item.Type == "function_call" {
			call = item.AsFunctionCall()
		}
	}
	if call.Name != "get_weather" || call.Arguments != args || !strings.Contains(args, "Paris") || call.CallID == "" {
		t.Fatalf("the call: %+v (deltas %q)", call, args)
	}
	out := responses.ResponseInputItemParamOfFunctionCallOutput("sunny")
	out.OfFunctionCallOutput.CallID = openai.String(call.CallID)
	answer, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", PreviousResponseID: openai.String(final.ID),
		Tools: []responses.ToolUnionParam{weatherTool}, Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{out}}})
	if err != nil || answer.OutputText() != "the tool said sunny" {
		t.Fatalf("answer: %v %+v", err, answer)
	}

	// The same, the transcript sent back whole instead.
	fc := call.ToParam()
	whole, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Tools: []responses.ToolUnionParam{weatherTool},
		Store: openai.Bool(false), Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("what is the weather?", responses.EasyInputMessageRoleUser),
			{OfFunctionCall: &fc}, out}}})
	if err != nil || whole.OutputText() != "the tool said sunny" {
		t.Fatalf("whole transcript: %v %+v", err, whole)
	}
}

// text.format json_schema reaches the upstream as the chat response_format.
func TestResponsesOpenAIGoSDKTextFormat(t *testing.T) {
	g, f := setup(t)
	resp, err := client(g, gt.Key).Responses.New(context.Background(), responses.ResponseNewParams{Model: "echo",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("json please")},
		Text: responses.ResponseTextConfigParam{Format: responses.ResponseFormatTextConfigUnionParam{OfJSONSchema: &responses.ResponseFormatTextJSONSchemaConfigParam{
			Name: "answer", Schema: map[string]any{"type": "object"}, Strict: openai.Bool(true)}}}})
	if err != nil || resp.Text.Format.Type != "json_schema" {
		t.Fatalf("%v %+v", err, resp)
	}
	if body := string(f.Last().Body); !strings.Contains(body, `"response_format":{"json_schema":{"name":"answer","schema":{"type":"object"},"strict":true},"type":"json_schema"}`) {
		t.Fatalf("upstream body %s", body)
	}
}

// A local WASM model answers the Responses API too, plain and streamed.
func TestResponsesLocalWASMModel(t *testing.T) {
	dir := examplePlugins(t)
	g := gt.Start(t, "", `plugins:
  - {name: summarizer, path: `+dir+`/summarizer.wasm}
models:
  - {id: local-summarizer, name: Summarizer, provider: "wasm:summarizer", modelType: llm}
`)
	c := client(g, gt.Key)
	ctx := context.Background()
	text := "The gateway routes requests to models. It keeps records of every call. " +
		"Models can run locally as WASM modules. The weather was nice yesterday."
	resp, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "local-summarizer",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(text)}})
	if err != nil || resp.OutputText() == "" || resp.Status != "completed" {
		t.Fatalf("%v %+v", err, resp)
	}
	stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "local-summarizer",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(text)}})
	streamed := ""
	var final responses.Response
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "response.output_text.delta":
			streamed += ev.Delta
		case "response.completed":
			final = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if streamed != resp.OutputText() || final.OutputText() != streamed {
		t.Fatalf("streamed %q, plain %q", streamed, resp.OutputText())
	}
}

// openai-go against a model passed through to its upstream's own Responses API: a hosted tool
// reaches the upstream; a function call streamed, then its output sent back with
// previous_response_id, which the gateway turns into the whole conversation.
func TestResponsesOpenAIGoSDKPassthrough(t *testing.T) {
	f, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	g := gt.Start(t, "", `models:
  - {id: gpt, name: GPT, provider: openai, endpoint: `+f.URL+`, upstreamModel: gpt-up, costPerToken: 0.000001, config: {responses: passthrough}}
`)
	c := client(g, gt.Key)
	ctx := context.Background()
	resp, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt",
		Tools: []responses.ToolUnionParam{{OfWebSearch: &responses.WebSearchToolParam{Type: responses.WebSearchToolTypeWebSearch}}},
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hello upstream")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() != "echo: hello upstream" || !strings.HasPrefix(resp.ID, "resp_") || resp.ID == "resp_fake0123456789abcdef0123456789abcdef0123456789" ||
		!strings.Contains(string(f.Last().Body), `"web_search"`) {
		t.Fatalf("response %+v; upstream got %s", resp, f.Last().Body)
	}

	stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "gpt", Tools: []responses.ToolUnionParam{weatherTool},
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("what is the weather?")}})
	args := ""
	var final responses.Response
	for stream.Next() {
		switch ev := stream.Current(); ev.Type {
		case "response.function_call_arguments.delta":
			args += ev.Delta
		case "response.completed":
			final = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(final.Output) != 1 || final.Output[0].Type != "function_call" || args != `{"city":"Paris"}` {
		t.Fatalf("streamed call %q, final %+v", args, final)
	}
	call := final.Output[0].AsFunctionCall()
	out := responses.ResponseInputItemParamOfFunctionCallOutput("sunny")
	out.OfFunctionCallOutput.CallID = openai.String(call.CallID)
	done, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt", PreviousResponseID: openai.String(final.ID),
		Tools: []responses.ToolUnionParam{weatherTool}, Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{out}}})
	if err != nil || done.OutputText() != "the tool said sunny" || done.PreviousResponseID != final.ID {
		t.Fatalf("after the call: %v %+v", err, done)
	}
	if body := string(f.Last().Body); !strings.Contains(body, `"what is the weather?"`) || !strings.Contains(body, `"function_call"`) ||
		strings.Contains(body, "previous_response_id") {
		t.Fatalf("upstream got %s", body)
	}
}
