package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

func setup(t *testing.T) (*gt.Gateway, *fakeupstream.OpenAI) {
	t.Helper()
	f, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	v, err := fakeupstream.StartVendors()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	g := gt.Start(t, "", `models:
  - id: claude
    name: Claude (Anthropic-style upstream)
    endpoint: `+v.URL+`/anthropic
    provider: anthropic
    securityPolicy: private
    allowedKeys: [app]
  - id: echo
    name: Echo
    endpoint: `+f.URL+`/chat/completions
    provider: openai
    modelType: llm
    owner: Fake
    costPerToken: 0.000001
  - id: embed
    name: Embedder
    endpoint: `+f.URL+`
    provider: openai
    modelType: embedding
  - id: globex-only
    name: Not for acme
    endpoint: `+f.URL+`
    provider: openai
    securityPolicy: organization
    org: globex
`)
	return g, f
}

func client(g *gt.Gateway, key string) *openai.Client {
	c := openai.NewClient(option.WithBaseURL(g.DataURL+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	return &c
}

func TestOpenAIGoSDK(t *testing.T) {
	g, f := setup(t)
	c := client(g, gt.Key)
	ctx := context.Background()

	page, err := c.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "claude,echo,embed" {
		t.Fatalf("models %v", ids)
	}

	resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "echo",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hello there")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "echo: hello there" || resp.Usage.PromptTokens != 4 || resp.Usage.CompletionTokens != 3 {
		t.Fatalf("chat %+v", resp)
	}

	f.Chunks.Store(20)
	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:    "echo",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream me twenty chunks please")},
	})
	acc := openai.ChatCompletionAccumulator{}
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "echo: stream me twenty chunks please" || chunks < 20 {
		t.Fatalf("streamed %q in %d chunks", got, chunks)
	}

	emb, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "embed",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"one two", "three"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.Data) != 2 || emb.Usage.PromptTokens != 3 {
		t.Fatalf("embeddings %+v", emb)
	}

	comp, err := c.Completions.New(ctx, openai.CompletionNewParams{Model: "echo",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("legacy prompt")}})
	if err != nil {
		t.Fatal(err)
	}
	if comp.Choices[0].Text != "echo: legacy prompt" {
		t.Fatalf("completion %+v", comp)
	}
}

func TestOpenAIGoSDKErrors(t *testing.T) {
	g, _ := setup(t)
	ctx := context.Background()
	status := func(err error) (int, string) {
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("want an *openai.Error, got %T %v", err, err)
		}
		return apiErr.StatusCode, apiErr.Message
	}
	_, err := client(g, "not-a-key-0000000000").Models.List(ctx)
	if code, _ := status(err); code != 401 {
		t.Fatalf("bad key: %d", code)
	}
	_, err = client(g, gt.Key).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "globex-only", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	if code, msg := status(err); code != 404 || !strings.Contains(msg, "does not exist") {
		t.Fatalf("a model the key may not use: %d %q", code, msg)
	}
	stream := client(g, gt.Key).Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model: "missing", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	for stream.Next() {
	}
	if code, _ := status(stream.Err()); code != 404 {
		t.Fatalf("streaming an unknown model: %d", code)
	}
}
