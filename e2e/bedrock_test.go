package e2e

import (
	"context"
	"errors"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// The official OpenAI Go SDK, unchanged, against a model on Amazon Bedrock: chat, a streamed
// tool call accumulated from its argument pieces, embeddings, and Bedrock's throttling as the
// SDK's 429. The fake Bedrock checks every request's Signature V4.
func TestBedrockOpenAIGoSDK(t *testing.T) {
	f, err := fakeupstream.StartBedrock("AKIDE2E00000", "e2e-secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	g := gt.Start(t, "", `models:
  - {id: claude, name: Claude on Bedrock, provider: bedrock, endpoint: `+f.URL+`, upstreamModel: "anthropic.claude-3-5-haiku-20241022-v1:0",
     apiKey: "AKIDE2E00000:e2e-secret", config: {region: us-east-1}, retry: {attempts: 0}}
  - {id: titan, name: Titan, provider: bedrock, endpoint: `+f.URL+`, upstreamModel: "amazon.titan-embed-text-v2:0",
     apiKey: "AKIDE2E00000:e2e-secret", config: {region: us-east-1}, modelType: embedding}
`)
	c := client(g, gt.Key)
	ctx := context.Background()

	resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "claude",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hello there")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "echo: hello there [system: be brief]" || resp.Usage.PromptTokens != 7 ||
		resp.Usage.PromptTokensDetails.CachedTokens != 2 || resp.Usage.CompletionTokens != 6 {
		t.Fatalf("chat %+v", resp)
	}

	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:         "claude",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("what is the weather?")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
			Name: "get_weather", Description: openai.String("weather by city"),
			Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		})},
	})
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city": "Paris"}` ||
		calls[0].ID != "tooluse_fake01" || acc.Choices[0].FinishReason != "tool_calls" || acc.Usage.CompletionTokens != 5 {
		t.Fatalf("streamed tool call %+v %+v", acc.Choices, acc.Usage)
	}

	emb, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "titan",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"one two", "three"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.Data) != 2 || emb.Data[0].Embedding[0] != 7 || emb.Usage.PromptTokens != 3 {
		t.Fatalf("embeddings %+v", emb)
	}

	f.Faults = func(int64, *fakeupstream.Received) fakeupstream.BedrockFault {
		return fakeupstream.BedrockFault{Status: 429, RetryAfter: "3"}
	}
	_, err = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Code != "upstream_rate_limited" {
		t.Fatalf("throttled: %v", err)
	}
}
